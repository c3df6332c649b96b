//! Every validation rule of the API (spec section 5), as plain functions over the request
//! messages. They know nothing of tonic or HTTP: gRPC, REST and Connect all call these.
//!
//! Each function reports every violation it finds, named by proto field path.

use std::{fmt, net::IpAddr};

use coreweave_api::{
    inference::v1alpha1::{
        body_based_routing::ApiType, gateway_spec, GatewaySpec, WeightsAndBiasesAuth,
    },
    networking::v1beta1::{
        host_prefix::Type as HostPrefixType, ip_address_management_policy::GatewayAddressPolicy,
        CreateVpcRequest, Dhcp, HostPrefix, IpAddressManagementPolicy, Prefix,
    },
};
use ipnet::IpNet;

use crate::{
    model::error::{ApiError, Violations},
    model::store::RequestedId,
    model::zones::Zones,
};

/// The most host prefixes a VPC may have. Every count limit is far above what a real VPC
/// uses, and is checked before any per-item work, so a request's cost is bounded whatever
/// its size.
pub(crate) const MAX_HOST_PREFIXES: usize = 64;
/// The most CIDRs one host prefix may hold.
pub(crate) const MAX_PREFIXES_PER_HOST_PREFIX: usize = 16;
/// The most VPC prefixes a VPC may have.
pub(crate) const MAX_VPC_PREFIXES: usize = 64;
/// The most zones a gateway may name.
pub(crate) const MAX_GATEWAY_ZONES: usize = 64;
/// The most additional DNS names a gateway may have.
pub(crate) const MAX_ADDITIONAL_DNS: usize = 32;
/// The most paths an update mask may name.
pub(crate) const MAX_MASK_PATHS: usize = 16;
/// The longest host prefix or VPC prefix name.
pub(crate) const MAX_PREFIX_NAME_LEN: usize = 63;
/// The longest W&B server URL.
pub(crate) const MAX_URL_LEN: usize = 2048;

/// The name the server gives a PRIMARY host prefix it creates itself.
pub(crate) const DEFAULT_PRIMARY_NAME: &str = "host primary";
/// The longest VPC name.
pub(crate) const MAX_VPC_NAME_LEN: usize = 30;
/// The most DNS servers a VPC may list.
pub(crate) const MAX_DNS_SERVERS: usize = 16;
/// The longest gateway name.
pub(crate) const MAX_GATEWAY_NAME_LEN: usize = 63;
/// The longest routing header name.
pub(crate) const MAX_HEADER_NAME_LEN: usize = 100;
/// The longest IPv4 host prefix allowed (a /18 or larger).
const MAX_HOST_PREFIX_LEN_V4: u8 = 18;
/// The longest IPv6 host prefix allowed (a /51 or larger).
const MAX_HOST_PREFIX_LEN_V6: u8 = 51;

/// A create request that passed validation, with server-side defaults applied.
#[derive(Debug, Clone)]
pub(crate) struct ValidVpcCreate {
    /// The VPC name.
    pub name: String,
    /// The zone in its canonical spelling.
    pub zone: String,
    /// The host prefixes, including the default PRIMARY when none was given.
    pub host_prefixes: Vec<HostPrefix>,
    /// The request, for the fields that pass through unchanged.
    pub request: CreateVpcRequest,
}

/// Validates a `CreateVPC` request and applies the server-side defaults.
pub(crate) fn validate_create_vpc(
    mut request: CreateVpcRequest,
    zones: &Zones,
) -> Result<ValidVpcCreate, ApiError> {
    let mut violations = Violations::new();
    check_vpc_name(&request.name, &mut violations);

    let zone = if request.zone.is_empty() {
        violations.add("zone", "is required");
        None
    } else {
        let zone = zones.find(&request.zone);
        if zone.is_none() {
            violations.add("zone", unknown_zone(&request.zone, zones));
        }
        zone
    };

    #[allow(deprecated)]
    let legacy = request.host_prefix.clone();
    let host_prefixes = match (legacy.is_empty(), request.host_prefixes.is_empty()) {
        (false, false) => {
            violations.add(
                "host_prefix",
                "host_prefix and host_prefixes are mutually exclusive; set only host_prefixes",
            );
            Vec::new()
        }
        (false, true) => {
            check_host_cidr("host_prefix", &legacy, &mut violations);
            vec![primary(vec![legacy])]
        }
        (true, false) => {
            if within_limit(
                "host_prefixes",
                &request.host_prefixes,
                MAX_HOST_PREFIXES,
                &mut violations,
            ) {
                check_host_prefixes(&request.host_prefixes, &mut violations);
            }
            std::mem::take(&mut request.host_prefixes)
        }
        (true, true) => zone
            .map(|z| vec![primary(vec![z.default_primary.to_string()])])
            .unwrap_or_default(),
    };

    check_vpc_prefixes(&request.vpc_prefixes, &mut violations);
    check_dhcp(request.dhcp.as_ref(), &mut violations);

    // The zone as the server spells it: the request's own string when it already is.
    let zone = match zone {
        Some(zone) if zone.name == request.zone => std::mem::take(&mut request.zone),
        Some(zone) => zone.name.clone(),
        None => String::new(),
    };
    violations.into_result(ValidVpcCreate {
        name: std::mem::take(&mut request.name),
        zone,
        host_prefixes,
        request,
    })
}

/// What an unknown zone is told: where the zones are listed, and every zone.
fn unknown_zone(name: &str, zones: &Zones) -> String {
    format!(
        "unknown zone {:?} (GET {} lists the zones): {}",
        crate::model::quoted(name),
        coreweave_api::rpc::Method::GetGatewayParameters.http().path,
        zones.names().join(", ")
    )
}

fn primary(prefixes: Vec<String>) -> HostPrefix {
    HostPrefix {
        name: DEFAULT_PRIMARY_NAME.to_owned(),
        prefixes,
        r#type: HostPrefixType::Primary as i32,
        ipam: None,
    }
}

/// The deprecated `host_prefix` output: the PRIMARY's IPv4 CIDR, else its IPv6 CIDR.
pub(crate) fn legacy_host_prefix(host_prefixes: &[HostPrefix]) -> String {
    let Some(primary) = host_prefixes
        .iter()
        .find(|h| h.r#type == HostPrefixType::Primary as i32)
    else {
        return String::new();
    };
    // The prefixes were validated when stored: an IPv6 one has colons, an IPv4 one none.
    let is_v4 = |p: &&String| !p.contains(':');
    primary
        .prefixes
        .iter()
        .find(is_v4)
        .or_else(|| primary.prefixes.first())
        .cloned()
        .unwrap_or_default()
}

/// How many characters `text` has, when that is more than `max`. A text no longer than
/// `max` bytes has no more characters than that, so most texts are never counted.
fn chars_over(text: &str, max: usize) -> Option<usize> {
    if text.len() <= max {
        return None;
    }
    let len = text.chars().count();
    (len > max).then_some(len)
}

fn check_vpc_name(name: &str, violations: &mut Violations) {
    if name.is_empty() {
        violations.add("name", "is required");
        return;
    }
    if let Some(len) = chars_over(name, MAX_VPC_NAME_LEN) {
        violations.add(
            "name",
            format!("must be at most {MAX_VPC_NAME_LEN} characters, got {len}"),
        );
    }
    // Every allowed character is ASCII, so checking bytes checks characters.
    let allowed = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ends_ok = !name.starts_with('-') && !name.ends_with('-');
    if !allowed || !ends_ok {
        violations.add(
            "name",
            "must contain only lowercase letters, digits and '-', and start and end with a letter or digit",
        );
    }
}

/// A field's path in a request, such as `host_prefixes[0].prefixes[1]`, kept as its parts
/// and written out only when a violation names it: a valid request formats no paths.
#[derive(Debug, Clone, Copy)]
struct Path<'a> {
    list: &'a str,
    index: usize,
    member: &'a str,
    inner: Option<usize>,
}

impl<'a> Path<'a> {
    /// `list[index]`.
    fn item(list: &'a str, index: usize) -> Self {
        Self {
            list,
            index,
            member: "",
            inner: None,
        }
    }

    /// `list[index].member`, where `member` may be dotted.
    fn member(self, member: &'a str) -> Self {
        Self { member, ..self }
    }

    /// `list[index].member[inner]`.
    fn at(self, inner: usize) -> Self {
        Self {
            inner: Some(inner),
            ..self
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.list, self.index)?;
        if !self.member.is_empty() {
            write!(f, ".{}", self.member)?;
        }
        match self.inner {
            Some(inner) => write!(f, "[{inner}]"),
            None => Ok(()),
        }
    }
}

/// Whether `items` has at most `max` entries; if not, records one violation for `field`.
pub(crate) fn within_limit<T>(
    field: impl fmt::Display,
    items: &[T],
    max: usize,
    violations: &mut Violations,
) -> bool {
    if items.len() <= max {
        return true;
    }
    violations.add(
        field,
        format!("at most {max} entries are allowed, got {}", items.len()),
    );
    false
}

fn check_host_prefixes(host_prefixes: &[HostPrefix], violations: &mut Violations) {
    let primaries = host_prefixes
        .iter()
        .filter(|h| h.r#type == HostPrefixType::Primary as i32)
        .count();
    if primaries != 1 {
        violations.add(
            "host_prefixes",
            format!("exactly one PRIMARY host prefix is required, found {primaries}"),
        );
    }

    // Every host prefix's CIDRs, in one list; each host prefix checks its own slice of it.
    let mut all = Vec::new();
    for (i, host_prefix) in host_prefixes.iter().enumerate() {
        let path = Path::item("host_prefixes", i);
        let earlier = host_prefixes[..i].iter().map(|h| h.name.as_str());
        check_unique_name(path, &host_prefix.name, earlier, violations);
        if !within_limit(
            path.member("prefixes"),
            &host_prefix.prefixes,
            MAX_PREFIXES_PER_HOST_PREFIX,
            violations,
        ) {
            continue;
        }
        let start = all.len();
        parse_host_cidrs(path, &host_prefix.prefixes, &mut all, violations);
        let nets = &all[start..];
        check_family_rules(path, host_prefix, nets, violations);
        if let Some(ipam) = &host_prefix.ipam {
            check_ipam(path, ipam, nets, violations);
        }
    }
    check_no_overlaps(all, violations);
}

/// Reports every CIDR that overlaps an earlier one, in O(n log n): CIDRs either nest or are
/// disjoint, so after sorting by family and first address a CIDR overlaps an earlier one
/// exactly when it starts before the furthest end seen so far.
fn check_no_overlaps(mut nets: Vec<(Path<'_>, IpNet)>, violations: &mut Violations) {
    let order = |net: &IpNet| (net.network().is_ipv6(), net.network(), net.prefix_len());
    nets.sort_by_key(|(_, net)| order(net));
    let mut widest: Option<&(Path<'_>, IpNet)> = None;
    for entry in &nets {
        let (field, net) = entry;
        match widest {
            Some((_, earlier))
                if earlier.network().is_ipv6() == net.network().is_ipv6()
                    && earlier.broadcast() >= net.network() =>
            {
                violations.add(field, format!("{net} overlaps {earlier}"));
                if net.broadcast() > earlier.broadcast() {
                    widest = Some(entry);
                }
            }
            _ => widest = Some(entry),
        }
    }
}

/// Checks a prefix's name: present, short enough, and unlike the `earlier` ones. The lists
/// are at most [`MAX_HOST_PREFIXES`] or [`MAX_VPC_PREFIXES`] long (checked first), so the
/// comparisons with earlier names stay bounded without a map to allocate.
fn check_unique_name<'a>(
    path: Path<'_>,
    name: &str,
    mut earlier: impl Iterator<Item = &'a str>,
    violations: &mut Violations,
) {
    let field = path.member("name");
    if name.is_empty() {
        violations.add(field, "is required");
    } else if let Some(len) = chars_over(name, MAX_PREFIX_NAME_LEN) {
        violations.add(
            field,
            format!("must be at most {MAX_PREFIX_NAME_LEN} characters, got {len}"),
        );
    } else if earlier.any(|other| other == name) {
        violations.add(
            field,
            format!("duplicate name {name:?}: names must be unique within the VPC"),
        );
    }
}

/// Adds to `nets` the valid CIDRs of one host prefix.
fn parse_host_cidrs<'a>(
    path: Path<'a>,
    prefixes: &[String],
    nets: &mut Vec<(Path<'a>, IpNet)>,
    violations: &mut Violations,
) {
    if prefixes.is_empty() {
        violations.add(path.member("prefixes"), "at least one CIDR is required");
    }
    for (j, cidr) in prefixes.iter().enumerate() {
        let field = path.member("prefixes").at(j);
        if let Some(net) = check_host_cidr(field, cidr, violations) {
            nets.push((field, net));
        }
    }
}

/// Checks one host-prefix CIDR: it parses, has no host bits and is large enough.
fn check_host_cidr(
    field: impl fmt::Display + Copy,
    cidr: &str,
    violations: &mut Violations,
) -> Option<IpNet> {
    let net = parse_cidr(field, cidr, violations)?;
    let (max_len, family) = match net {
        IpNet::V4(_) => (MAX_HOST_PREFIX_LEN_V4, "IPv4"),
        IpNet::V6(_) => (MAX_HOST_PREFIX_LEN_V6, "IPv6"),
    };
    if net.prefix_len() > max_len {
        violations.add(
            field,
            format!(
                "{family} host prefixes must be a /{max_len} or larger, got /{}",
                net.prefix_len()
            ),
        );
        return None;
    }
    Some(net)
}

/// Parses a CIDR and rejects one with host bits set.
fn parse_cidr(
    field: impl fmt::Display + Copy,
    cidr: &str,
    violations: &mut Violations,
) -> Option<IpNet> {
    let Some(net) = read_cidr(cidr) else {
        violations.add(field, format!("{cidr:?} is not a valid CIDR"));
        return None;
    };
    if net.trunc() != net {
        violations.add(
            field,
            format!("{cidr} has host bits set; did you mean {}?", net.trunc()),
        );
        return None;
    }
    Some(net)
}

/// Reads `address/length` in one pass, strictly: the address by the standard library's
/// parser, which refuses leading zeros (`010.000.000.000/16`, read as octal by some tools),
/// and the length as plain digits (at most 2 for IPv4, 3 for IPv6) that fit the family.
fn read_cidr(cidr: &str) -> Option<IpNet> {
    let (address, length) = cidr.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let max_digits = if address.is_ipv4() { 2 } else { 3 };
    let digits_only = length.bytes().all(|b| b.is_ascii_digit());
    if length.is_empty() || length.len() > max_digits || !digits_only {
        return None;
    }
    IpNet::new(address, length.parse().ok()?).ok()
}

fn check_family_rules(
    path: Path<'_>,
    host_prefix: &HostPrefix,
    nets: &[(Path<'_>, IpNet)],
    violations: &mut Violations,
) {
    let v4 = nets
        .iter()
        .filter(|(_, n)| matches!(n, IpNet::V4(_)))
        .count();
    let v6 = nets.len() - v4;
    match HostPrefixType::try_from(host_prefix.r#type) {
        Ok(HostPrefixType::Primary) => {
            if v4 > 1 || v6 > 1 {
                violations.add(
                    path.member("prefixes"),
                    "a PRIMARY host prefix holds one IPv4 CIDR, one IPv6 CIDR, or one of each",
                );
            }
            if host_prefix.ipam.is_some() {
                violations.add(
                    path.member("ipam"),
                    "must not be set on a PRIMARY host prefix",
                );
            }
        }
        Ok(HostPrefixType::Routed | HostPrefixType::Attached) => {
            if v4 > 0 && v6 > 0 {
                violations.add(
                    path.member("prefixes"),
                    "ROUTED and ATTACHED host prefixes hold one address family; use one host prefix per family",
                );
            }
        }
        Ok(HostPrefixType::Unspecified) | Err(_) => {
            violations.add(path.member("type"), "must be PRIMARY, ROUTED or ATTACHED")
        }
    }
}

fn check_ipam(
    path: Path<'_>,
    ipam: &IpAddressManagementPolicy,
    nets: &[(Path<'_>, IpNet)],
    violations: &mut Violations,
) {
    let field = path.member("ipam.prefix_length");
    for (_, net) in nets {
        let max = match net {
            IpNet::V4(_) => 32,
            IpNet::V6(_) => 128,
        };
        let length = ipam.prefix_length;
        if length < i32::from(net.prefix_len()) || length > max {
            violations.add(
                field,
                format!(
                    "must be between {} and {max} for {net}, got {length}",
                    net.prefix_len()
                ),
            );
        }
    }
    let policy_field = path.member("ipam.gateway_address_policy");
    match GatewayAddressPolicy::try_from(ipam.gateway_address_policy) {
        Ok(GatewayAddressPolicy::Eui64) => {
            if nets.iter().any(|(_, n)| matches!(n, IpNet::V4(_))) {
                violations.add(policy_field, "EUI64 requires every prefix to be IPv6");
            }
        }
        Ok(GatewayAddressPolicy::FirstIp | GatewayAddressPolicy::LastIp) => {}
        Ok(GatewayAddressPolicy::Unspecified) | Err(_) => {
            violations.add(policy_field, "must be EUI64, FIRST_IP or LAST_IP")
        }
    }
}

/// Checks VPC prefixes: unique non-empty names and IPv4 CIDRs without host bits.
pub(crate) fn check_vpc_prefixes(prefixes: &[Prefix], violations: &mut Violations) {
    if !within_limit("vpc_prefixes", prefixes, MAX_VPC_PREFIXES, violations) {
        return;
    }
    for (i, prefix) in prefixes.iter().enumerate() {
        let path = Path::item("vpc_prefixes", i);
        let earlier = prefixes[..i].iter().map(|p| p.name.as_str());
        check_unique_name(path, &prefix.name, earlier, violations);
        let field = path.member("value");
        if prefix.value.is_empty() {
            violations.add(field, "is required");
        } else if let Some(net) = parse_cidr(field, &prefix.value, violations) {
            if !matches!(net, IpNet::V4(_)) {
                violations.add(field, "VPC prefixes must be IPv4 CIDRs");
            }
        }
    }
}

/// Checks the DHCP settings: at most 16 DNS servers, each an IP address.
pub(crate) fn check_dhcp(dhcp: Option<&Dhcp>, violations: &mut Violations) {
    let Some(servers) = dhcp.and_then(|d| d.dns.as_ref()).map(|dns| &dns.servers) else {
        return;
    };
    if !within_limit("dhcp.dns.servers", servers, MAX_DNS_SERVERS, violations) {
        return;
    }
    for (i, server) in servers.iter().enumerate() {
        if server.parse::<IpAddr>().is_err() {
            violations.add(
                format!("dhcp.dns.servers[{i}]"),
                format!("{server:?} is not an IP address"),
            );
        }
    }
}

/// The fields of `UpdateVPC` that a mask may name, in snake_case.
pub(crate) const VPC_UPDATABLE_PATHS: &[&str] = &coreweave_api::rpc::vpc_update_paths::ALL;

/// Validates a gateway spec built from a create or update request, and returns its zones in
/// their canonical spelling.
pub(crate) fn validate_gateway(
    spec: &GatewaySpec,
    zones: &Zones,
    violations: &mut Violations,
) -> Vec<String> {
    check_gateway_name(&spec.name, violations);
    let canonical = check_gateway_zones(&spec.zones, zones, violations);
    match &spec.auth {
        None => violations.add(
            "auth",
            "exactly one of core_weave_auth or weights_and_biases_auth is required",
        ),
        Some(gateway_spec::Auth::WeightsAndBiasesAuth(wandb)) => check_wandb(wandb, violations),
        Some(gateway_spec::Auth::CoreWeaveAuth(_)) => {}
    }
    match &spec.routing {
        None => violations.add(
            "routing",
            "exactly one of body_based_routing, header_based_routing or path_based_routing is required",
        ),
        Some(gateway_spec::Routing::BodyBasedRouting(body)) => {
            if body.api_type != ApiType::Openai as i32 {
                violations.add("body_based_routing.api_type", "must be API_TYPE_OPENAI");
            }
        }
        Some(gateway_spec::Routing::HeaderBasedRouting(header)) => {
            check_header_name(&header.header_name, violations)
        }
        Some(gateway_spec::Routing::PathBasedRouting(_)) => {}
    }
    let additional_dns = spec
        .endpoint_configuration
        .as_ref()
        .map(|config| config.additional_dns.as_slice())
        .unwrap_or_default();
    let field = "endpoint_configuration.additional_dns";
    if within_limit(field, additional_dns, MAX_ADDITIONAL_DNS, violations) {
        for (i, dns) in additional_dns.iter().enumerate() {
            if !is_dns_name(dns) {
                violations.add(
                    format!("endpoint_configuration.additional_dns[{i}]"),
                    format!("{dns:?} is not a valid DNS name"),
                );
            }
        }
    }
    canonical
}

fn check_gateway_name(name: &str, violations: &mut Violations) {
    if name.is_empty() {
        violations.add("name", "is required");
    } else if let Some(len) = chars_over(name, MAX_GATEWAY_NAME_LEN) {
        violations.add(
            "name",
            format!("must be at most {MAX_GATEWAY_NAME_LEN} characters, got {len}"),
        );
    }
}

fn check_gateway_zones(
    requested: &[String],
    zones: &Zones,
    violations: &mut Violations,
) -> Vec<String> {
    if !within_limit("zones", requested, MAX_GATEWAY_ZONES, violations) {
        return Vec::new();
    }
    let mut canonical: Vec<String> = Vec::with_capacity(requested.len());
    for (i, name) in requested.iter().enumerate() {
        let field = format!("zones[{i}]");
        match zones.find(name) {
            None => violations.add(field, unknown_zone(name, zones)),
            Some(zone) if canonical.contains(&zone.name) => {
                violations.add(field, format!("duplicate zone {}", zone.name));
            }
            Some(zone) => canonical.push(zone.name.clone()),
        }
    }
    canonical
}

fn check_wandb(wandb: &WeightsAndBiasesAuth, violations: &mut Violations) {
    if !wandb.api_key.is_empty() && wandb.server_url.is_empty() {
        violations.add(
            "weights_and_biases_auth.server_url",
            "is required when api_key is set",
        );
    }
    if wandb.server_url.len() > MAX_URL_LEN {
        violations.add(
            "weights_and_biases_auth.server_url",
            format!(
                "must be at most {MAX_URL_LEN} bytes, got {}",
                wandb.server_url.len()
            ),
        );
    } else if !wandb.server_url.is_empty() && !is_http_url(&wandb.server_url) {
        violations.add(
            "weights_and_biases_auth.server_url",
            format!("{:?} is not an http(s) URL", wandb.server_url),
        );
    }
}

fn is_http_url(text: &str) -> bool {
    text.parse::<http::Uri>()
        .is_ok_and(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some())
}

fn check_header_name(name: &str, violations: &mut Violations) {
    let field = "header_based_routing.header_name";
    let len = name.chars().count();
    if len == 0 || len > MAX_HEADER_NAME_LEN {
        violations.add(
            field,
            format!("must be 1 to {MAX_HEADER_NAME_LEN} characters, got {len}"),
        );
    } else if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        violations.add(field, format!("{name:?} is not a valid HTTP header name"));
    }
}

/// Whether `name` is a valid DNS name: dot-separated labels of 1 to 63 letters, digits and
/// '-', not starting or ending with '-', at most 253 characters in all.
pub(crate) fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The resource id a request names: required; a UUID in either case finds the resource
/// stored under it, and any other id finds nothing.
pub(crate) fn requested_id(id: &str) -> Result<RequestedId<'_>, ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid("id", "is required"));
    }
    Ok(RequestedId::parse(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule `read_cidr` replaced: ipnet's parser, plus the standard library's stricter
    /// one for the address.
    fn ipnet_then_strict_address(cidr: &str) -> Option<IpNet> {
        let address = cidr.split_once('/').map_or(cidr, |(address, _)| address);
        let net = cidr.parse::<IpNet>().ok()?;
        address.parse::<IpAddr>().ok().map(|_| net)
    }

    #[test]
    fn cidrs_read_as_ipnet_reads_them_but_strictly() {
        let cases = [
            "10.0.0.0/8",
            "10.0.0.0/08",
            "10.0.0.0/008",
            "10.0.0.0/32",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "10.0.0.0",
            "/8",
            "010.000.000.000/16",
            "10.0.0.0/8/8",
            " 10.0.0.0/8",
            "fd00::/8",
            "fd00::/008",
            "fd00::/128",
            "fd00::/129",
            "fd00::/0128",
            "::ffff:10.0.0.0/104",
            "fe80::1%eth0/64",
        ];
        for cidr in cases {
            assert_eq!(read_cidr(cidr), ipnet_then_strict_address(cidr), "{cidr}");
        }
    }

    /// CIDRs near the edge: real addresses with lengths in and out of range, spelled with
    /// and without leading zeros or signs, and short strings of CIDR characters.
    fn cidr_like() -> impl Strategy<Value = String> {
        let length = "[+0]?[0-9]{1,3}";
        prop_oneof![
            (any::<u32>(), length)
                .prop_map(|(a, l)| format!("{}/{l}", std::net::Ipv4Addr::from(a))),
            (any::<u128>(), length)
                .prop_map(|(a, l)| format!("{}/{l}", std::net::Ipv6Addr::from(a))),
            "[0-9a-f:.]{0,12}/[0-9+]{0,4}",
            "[0-9a-f:./+ ]{0,16}",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_cidrs_read_as_before(cidr in cidr_like()) {
            prop_assert_eq!(read_cidr(&cidr), ipnet_then_strict_address(&cidr), "{}", cidr);
        }
    }
}
