//! Request bodies written as JSON, for readable test tables.
#![allow(dead_code)]

use serde_json::{json, Value};

pub fn parse<T: prost::Message + prost::Name + Default>(value: Value) -> T {
    coreweave_api::json::from_value(value, coreweave_api::json::Unknown::Reject)
        .expect("test body parses")
        .message
}

pub fn primary(prefixes: &[&str]) -> Value {
    json!({"name": "primary", "type": "PRIMARY", "prefixes": prefixes})
}

pub fn secondary(name: &str, kind: &str, prefixes: &[&str], ipam: Option<Value>) -> Value {
    let mut value = json!({"name": name, "type": kind, "prefixes": prefixes});
    if let Some(ipam) = ipam {
        value["ipam"] = ipam;
    }
    value
}

pub fn vpc_body(extra: Value) -> Value {
    let mut body = json!({"name": "test-vpc", "zone": "US-EAST-04A"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// Each case: a label, a create body, and the exact sorted field paths expected in the
/// BadRequest (empty for a valid request).
pub fn vpc_create_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let dns: Vec<String> = (0..17).map(|i| format!("10.0.0.{i}")).collect();
    vec![
        ("minimal", vpc_body(json!({})), vec![]),
        (
            "lowercase zone",
            vpc_body(json!({"zone": "us-east-04a"})),
            vec![],
        ),
        (
            "30-char name",
            vpc_body(json!({"name": "a".repeat(30)})),
            vec![],
        ),
        (
            "legacy host prefix",
            vpc_body(json!({"hostPrefix": "10.0.0.0/16"})),
            vec![],
        ),
        (
            "legacy ipv6 host prefix",
            vpc_body(json!({"hostPrefix": "fd00::/48"})),
            vec![],
        ),
        (
            "dual stack with secondaries",
            vpc_body(json!({"hostPrefixes": [
                primary(&["10.0.0.0/18", "fd00:1::/48"]),
                secondary("pods", "ROUTED", &["10.64.0.0/16"], Some(json!({"prefixLength": 24, "gatewayAddressPolicy": "FIRST_IP"}))),
                secondary("pods6", "ATTACHED", &["fd00:2::/48"], Some(json!({"prefixLength": 64, "gatewayAddressPolicy": "EUI64"}))),
                secondary("more", "ROUTED", &["10.65.0.0/16", "10.66.0.0/16"], None),
            ]})),
            vec![],
        ),
        (
            "16 dns servers",
            vpc_body(json!({"dhcp": {"dns": {"servers": dns[..16]}}})),
            vec![],
        ),
        (
            "vpc prefixes",
            vpc_body(
                json!({"vpcPrefixes": [{"name": "a", "value": "172.16.0.0/16"}, {"name": "b", "value": "172.17.0.0/24"}]}),
            ),
            vec![],
        ),
        ("missing name and zone", json!({}), vec!["name", "zone"]),
        (
            "31-char name",
            vpc_body(json!({"name": "a".repeat(31)})),
            vec!["name"],
        ),
        (
            "uppercase name",
            vpc_body(json!({"name": "My-VPC"})),
            vec!["name"],
        ),
        (
            "leading dash",
            vpc_body(json!({"name": "-vpc"})),
            vec!["name"],
        ),
        (
            "trailing dash",
            vpc_body(json!({"name": "vpc-"})),
            vec!["name"],
        ),
        (
            "underscore",
            vpc_body(json!({"name": "my_vpc"})),
            vec!["name"],
        ),
        (
            "unknown zone",
            vpc_body(json!({"zone": "MARS-01A"})),
            vec!["zone"],
        ),
        (
            "both host prefix fields",
            vpc_body(
                json!({"hostPrefix": "10.0.0.0/16", "hostPrefixes": [primary(&["10.0.0.0/16"])]}),
            ),
            vec!["host_prefix"],
        ),
        (
            "legacy host bits",
            vpc_body(json!({"hostPrefix": "10.0.0.1/16"})),
            vec!["host_prefix"],
        ),
        (
            "legacy too small",
            vpc_body(json!({"hostPrefix": "10.0.0.0/24"})),
            vec!["host_prefix"],
        ),
        (
            "not a cidr",
            vpc_body(json!({"hostPrefixes": [primary(&["banana"])]})),
            vec!["host_prefixes[0].prefixes[0]"],
        ),
        (
            "ipv6 too small",
            vpc_body(json!({"hostPrefixes": [primary(&["fd00::/56"])]})),
            vec!["host_prefixes[0].prefixes[0]"],
        ),
        (
            "ipv6 /51 is fine, /52 is not",
            vpc_body(
                json!({"hostPrefixes": [primary(&["fd00::/51"]), secondary("r", "ROUTED", &["fd01::/52"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes[0]"],
        ),
        (
            "no primary",
            vpc_body(json!({"hostPrefixes": [secondary("r", "ROUTED", &["10.0.0.0/16"], None)]})),
            vec!["host_prefixes"],
        ),
        (
            "two primaries",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), {"name": "p2", "type": "PRIMARY", "prefixes": ["10.1.0.0/16"]}]}),
            ),
            vec!["host_prefixes"],
        ),
        (
            "primary with two ipv4",
            vpc_body(json!({"hostPrefixes": [primary(&["10.0.0.0/16", "10.1.0.0/16"])]})),
            vec!["host_prefixes[0].prefixes"],
        ),
        (
            "primary with ipam",
            vpc_body(
                json!({"hostPrefixes": [{"name": "p", "type": "PRIMARY", "prefixes": ["10.0.0.0/16"], "ipam": {"prefixLength": 24, "gatewayAddressPolicy": "FIRST_IP"}}]}),
            ),
            vec!["host_prefixes[0].ipam"],
        ),
        (
            "mixed routed families",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16", "fd00::/48"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes"],
        ),
        (
            "mixed attached families",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("a", "ATTACHED", &["10.1.0.0/16", "fd00::/48"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes"],
        ),
        (
            "unspecified type",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), {"name": "x", "prefixes": ["10.1.0.0/16"]}]}),
            ),
            vec!["host_prefixes[1].type"],
        ),
        (
            "empty and duplicate names",
            vpc_body(
                json!({"hostPrefixes": [{"type": "PRIMARY", "prefixes": ["10.0.0.0/16"]}, secondary("r", "ROUTED", &["10.1.0.0/16"], None), secondary("r", "ROUTED", &["10.2.0.0/16"], None)]}),
            ),
            vec!["host_prefixes[0].name", "host_prefixes[2].name"],
        ),
        (
            "no cidrs",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &[], None)]}),
            ),
            vec!["host_prefixes[1].prefixes"],
        ),
        (
            "overlap",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.0.0.0/17"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes[0]"],
        ),
        (
            "ipam shorter than aggregate",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 8, "gatewayAddressPolicy": "LAST_IP"})))]}),
            ),
            vec!["host_prefixes[1].ipam.prefix_length"],
        ),
        (
            "ipam longer than 32",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 33, "gatewayAddressPolicy": "LAST_IP"})))]}),
            ),
            vec!["host_prefixes[1].ipam.prefix_length"],
        ),
        (
            "ipam 128 on ipv6 is fine",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["fd00::/48"], Some(json!({"prefixLength": 128, "gatewayAddressPolicy": "LAST_IP"})))]}),
            ),
            vec![],
        ),
        (
            "eui64 on ipv4",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 24, "gatewayAddressPolicy": "EUI64"})))]}),
            ),
            vec!["host_prefixes[1].ipam.gateway_address_policy"],
        ),
        (
            "ipam without policy",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 24})))]}),
            ),
            vec!["host_prefixes[1].ipam.gateway_address_policy"],
        ),
        (
            "bad vpc prefixes",
            vpc_body(
                json!({"vpcPrefixes": [{"name": "", "value": "172.16.0.0/16"}, {"name": "b", "value": "fd00::/64"}, {"name": "b", "value": "172.16.0.1/16"}, {"name": "c"}]}),
            ),
            vec![
                "vpc_prefixes[0].name",
                "vpc_prefixes[1].value",
                "vpc_prefixes[2].name",
                "vpc_prefixes[2].value",
                "vpc_prefixes[3].value",
            ],
        ),
        (
            "17 dns servers",
            vpc_body(json!({"dhcp": {"dns": {"servers": dns}}})),
            vec!["dhcp.dns.servers"],
        ),
        (
            "dns not an ip",
            vpc_body(json!({"dhcp": {"dns": {"servers": ["1.1.1.1", "dns.google"]}}})),
            vec!["dhcp.dns.servers[1]"],
        ),
        (
            "every violation at once",
            json!({"name": "Bad_Name", "zone": "nowhere", "hostPrefix": "banana", "dhcp": {"dns": {"servers": ["x"]}}}),
            vec!["dhcp.dns.servers[0]", "host_prefix", "name", "zone"],
        ),
    ]
}

pub fn gateway_body(extra: Value) -> Value {
    let mut body = json!({"name": "test-gateway", "coreWeaveAuth": {}, "bodyBasedRouting": {"apiType": "API_TYPE_OPENAI"}});
    let object = body.as_object_mut().unwrap();
    for (key, value) in extra.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    body
}

pub fn gateway_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let wandb = json!({"apiKey": "secret", "serverUrl": "https://api.wandb.ai", "enableUsageReports": true});
    vec![
        ("minimal", gateway_body(json!({})), vec![]),
        (
            "zones any case",
            gateway_body(json!({"zones": ["us-east-04a", "US-WEST-09B"]})),
            vec![],
        ),
        (
            "wandb and header routing",
            gateway_body(
                json!({"coreWeaveAuth": null, "weightsAndBiasesAuth": wandb, "bodyBasedRouting": null, "headerBasedRouting": {"headerName": "x-model"}}),
            ),
            vec![],
        ),
        (
            "path routing and dns",
            gateway_body(
                json!({"bodyBasedRouting": null, "pathBasedRouting": {}, "endpointConfiguration": {"additionalDns": ["models.example.com"]}}),
            ),
            vec![],
        ),
        (
            "63-char name",
            gateway_body(json!({"name": "n".repeat(63)})),
            vec![],
        ),
        (
            "no auth, no routing",
            gateway_body(json!({"coreWeaveAuth": null, "bodyBasedRouting": null})),
            vec!["auth", "routing"],
        ),
        (
            "empty name",
            gateway_body(json!({"name": ""})),
            vec!["name"],
        ),
        (
            "64-char name",
            gateway_body(json!({"name": "n".repeat(64)})),
            vec!["name"],
        ),
        (
            "unknown zone",
            gateway_body(json!({"zones": ["MARS-01A"]})),
            vec!["zones[0]"],
        ),
        (
            "duplicate zone",
            gateway_body(json!({"zones": ["US-EAST-04A", "us-east-04a"]})),
            vec!["zones[1]"],
        ),
        (
            "empty header",
            gateway_body(
                json!({"bodyBasedRouting": null, "headerBasedRouting": {"headerName": ""}}),
            ),
            vec!["header_based_routing.header_name"],
        ),
        (
            "invalid header",
            gateway_body(
                json!({"bodyBasedRouting": null, "headerBasedRouting": {"headerName": "x model"}}),
            ),
            vec!["header_based_routing.header_name"],
        ),
        (
            "101-char header",
            gateway_body(
                json!({"bodyBasedRouting": null, "headerBasedRouting": {"headerName": "h".repeat(101)}}),
            ),
            vec!["header_based_routing.header_name"],
        ),
        (
            "unspecified api type",
            gateway_body(json!({"bodyBasedRouting": {}})),
            vec!["body_based_routing.api_type"],
        ),
        (
            "wandb key without url",
            gateway_body(json!({"coreWeaveAuth": null, "weightsAndBiasesAuth": {"apiKey": "k"}})),
            vec!["weights_and_biases_auth.server_url"],
        ),
        (
            "bad dns",
            gateway_body(
                json!({"endpointConfiguration": {"additionalDns": ["ok.example.com", "not a name"]}}),
            ),
            vec!["endpoint_configuration.additional_dns[1]"],
        ),
    ]
}
