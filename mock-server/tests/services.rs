//! The mock as a server: concurrency, size limits and quotas, scripted faults, health,
//! graceful shutdown and reflection.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{bodies::*, *};
use coreweave_api::networking::v1beta1::{
    CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, ListVpCsRequest, UpdateVpcRequest,
};
use coreweave_mock::{Fault, Method, MockServer};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn concurrent_calls_leave_exactly_the_acknowledged_state() {
    let mock = instant_mock().await;
    let tokens: Vec<String> = (0..4).map(|i| unique_token(&format!("conc{i}"))).collect();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let mut stub = vpc_stub(&mock, &tokens[i % tokens.len()]);
        tasks.push(tokio::spawn(async move {
            let name = format!("vpc-{i}");
            let vpc = created_vpc(&mut stub, json!({"name": name, "zone": "US-EAST-06A"})).await;
            if i % 3 == 0 {
                let update = json!({"id": vpc.id, "updateMask": "dhcp.dns.servers", "dhcp": {"dns": {"servers": [format!("10.0.0.{i}")]}}});
                stub.update_vpc(parse::<UpdateVpcRequest>(update)).await.unwrap();
            }
            if i % 4 == 0 {
                stub.delete_vpc(DeleteVpcRequest { id: vpc.id.clone() }).await.unwrap();
            }
            (i, vpc.id)
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.push(task.await.unwrap());
    }
    for (t, token) in tokens.iter().enumerate() {
        let items = vpc_stub(&mock, token)
            .list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items;
        let actual: BTreeMap<String, Vec<String>> = items
            .into_iter()
            .map(|v| {
                (
                    v.name,
                    v.dhcp
                        .and_then(|d| d.dns)
                        .map(|d| d.servers)
                        .unwrap_or_default(),
                )
            })
            .collect();
        let expected: BTreeMap<String, Vec<String>> = acknowledged
            .iter()
            .filter(|(i, _)| i % tokens.len() == t && i % 4 != 0)
            .map(|(i, _)| {
                (
                    format!("vpc-{i}"),
                    if i % 3 == 0 {
                        vec![format!("10.0.0.{i}")]
                    } else {
                        vec![]
                    },
                )
            })
            .collect();
        assert_eq!(actual, expected, "organization {t}");
    }
}

#[tokio::test]
async fn oversized_requests_and_quotas_are_resource_exhausted() {
    let mock = mock_with_vpc_quota(2).await;
    let mut stub = vpc_stub(&mock, &unique_token("limits"));
    let huge = CreateVpcRequest {
        name: "x".repeat(5 * 1024 * 1024),
        zone: "US-EAST-04A".into(),
        ..Default::default()
    };
    let status = stub.create_vpc(huge).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("exceeds the limit"),
        "{}",
        status.message()
    );

    for name in ["one", "two"] {
        stub.create_vpc(parse::<CreateVpcRequest>(
            json!({"name": name, "zone": "US-EAST-04A"}),
        ))
        .await
        .unwrap();
    }
    let status = stub
        .create_vpc(parse::<CreateVpcRequest>(
            json!({"name": "three", "zone": "US-EAST-04A"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(!status
        .get_details_quota_failure()
        .unwrap()
        .violations
        .is_empty());
}

#[tokio::test]
async fn scripted_faults_fail_delay_and_lose_replies() {
    let mock = start(
        MockServer::builder()
            .transition_delay(Duration::ZERO)
            .fault(Fault::fail(Method::ListVpcs, 2, Code::Unavailable))
            .fault(Fault::lose_reply(Method::CreateVpc, 1))
            .fault(Fault::delay(Method::GetVpc, Duration::from_secs(30))),
    )
    .await;
    let mut stub = vpc_stub(&mock, &unique_token("faults"));
    for _ in 0..2 {
        assert_eq!(
            stub.list_vp_cs(ListVpCsRequest {})
                .await
                .unwrap_err()
                .code(),
            Code::Unavailable
        );
    }
    assert!(list_vpcs(&mut stub).await.is_empty());

    // The lost reply still created the VPC.
    let status = stub
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let items = list_vpcs(&mut stub).await;
    assert_eq!(items.len(), 1);

    // The caller's deadline cuts an injected delay short.
    let mut request = tonic::Request::new(GetVpcRequest {
        id: items[0].id.clone(),
    });
    request.set_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let status = refused(stub.get_vpc(request).await);
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the deadline was not honoured"
    );
}

#[tokio::test]
async fn health_and_graceful_shutdown() {
    let mock = start(
        MockServer::builder().fault(Fault::delay(Method::ListVpcs, Duration::from_millis(300))),
    )
    .await;
    let channel = channel(&mock);
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in [
        "",
        "coreweave.networking.v1beta1.VPCService",
        "coreweave.inference.v1alpha1.GatewayService",
    ] {
        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }

    // An in-flight call finishes during shutdown.
    let mut stub = vpc_stub(&mock, &unique_token("shutdown"));
    let in_flight = tokio::spawn(async move { stub.list_vp_cs(ListVpCsRequest {}).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    mock.shutdown().await.expect("clean shutdown");
    assert!(
        in_flight.await.unwrap().is_ok(),
        "the in-flight call was cut off"
    );
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service_and_error_details() {
    use tonic_reflection::pb::{v1, v1alpha};
    let mock = instant_mock().await;
    let channel = channel(&mock);
    let expected = [
        "coreweave.inference.v1alpha1.GatewayService",
        "coreweave.networking.v1beta1.VPCService",
        "grpc.health.v1.Health",
    ];

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let requests = [
        v1::ServerReflectionRequest {
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
            ..Default::default()
        },
        v1::ServerReflectionRequest {
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "google.rpc.BadRequest".into(),
                ),
            ),
            ..Default::default()
        },
    ];
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1 list services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in expected {
        assert!(
            names.contains(&service.to_owned()),
            "v1 lacks {service}: {names:?}"
        );
    }
    let details = responses.message().await.unwrap().unwrap().message_response;
    assert!(
        matches!(
            details,
            Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "google.rpc.BadRequest is not served: {details:?}"
    );

    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
        ..Default::default()
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1alpha list services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in expected {
        assert!(
            names.contains(&service.to_owned()),
            "v1alpha lacks {service}: {names:?}"
        );
    }
}
