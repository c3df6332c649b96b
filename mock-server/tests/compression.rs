//! Compression on every protocol: gzip requests are read (and inflated only up to the size
//! limit, so a small bomb never grows in memory), responses are compressed for clients that
//! ask, and an unknown coding is refused naming the supported ones.

mod common;

use std::io::Write;

use common::{
    process::MockProcess,
    wire::{body_file, curl, envelope},
};
use coreweave_api::networking::v1beta1::{
    vpc_service_client::VpcServiceClient, CreateVpcRequest, GetVpcRequest,
};
use tonic::{codec::CompressionEncoding, Code, Request};

const TOKEN: &str = "CW-SECRET-compression";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn authorized<T>(message: T) -> Request<T> {
    common::process::with_token(message, TOKEN)
}

async fn gzip_stub(addr: &str) -> VpcServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    VpcServiceClient::new(channel)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(usize::MAX)
}

/// A `CreateVPC` whose name alone is `bytes` long: it compresses to almost nothing.
fn create_of(bytes: usize) -> CreateVpcRequest {
    CreateVpcRequest {
        name: "a".repeat(bytes),
        zone: "US-EAST-04A".into(),
        ..CreateVpcRequest::default()
    }
}

#[tokio::test]
async fn grpc_reads_gzip_requests_and_answers_gzip_to_clients_that_ask() {
    let mock = MockProcess::start(&[]);
    let mut stub = gzip_stub(&mock.addr).await;
    let created = stub.create_vpc(authorized(create_of(8))).await.unwrap();
    let encoding = created
        .metadata()
        .get("grpc-encoding")
        .map(|v| v.to_str().unwrap());
    assert_eq!(encoding, Some("gzip"), "the answer is compressed");
    let id = created.into_inner().vpc.unwrap().id;
    let got = stub
        .get_vpc(authorized(GetVpcRequest { id: id.clone() }))
        .await;
    assert_eq!(got.unwrap().into_inner().vpc.unwrap().id, id);
}

#[tokio::test]
async fn a_grpc_gzip_bomb_is_refused_without_growing_in_memory() {
    let mock = MockProcess::start(&[]);
    let mut stub = gzip_stub(&mock.addr).await;
    // Warm up, so that the peak below is the steady state's.
    stub.create_vpc(authorized(create_of(8))).await.unwrap();
    let before = mock.peak_rss_kib();
    for _ in 0..20 {
        // 16 MiB, four times the limit, that compress to about 16 KiB.
        let refused = stub
            .create_vpc(authorized(create_of(16 << 20)))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        assert!(refused.message().contains("decompressed"), "{refused:?}");
    }
    let grown_mib = (mock.peak_rss_kib() - before) / 1024;
    assert!(
        grown_mib < 16,
        "the mock's peak RSS grew by {grown_mib} MiB"
    );
}

#[test]
fn connect_and_rest_read_gzip_bodies_and_compress_answers_for_clients_that_ask() {
    let mock = MockProcess::start(&[]);
    let auth = format!("authorization: Bearer {TOKEN}");
    let json = br#"{"name": "zipped", "zone": "US-EAST-04A"}"#;
    let connect = mock.vpc_method_url("CreateVPC");
    let rest = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    for (url, name) in [(&connect, "connect-zipped"), (&rest, "rest-zipped")] {
        let json = String::from_utf8_lossy(json).replace("zipped", name);
        let file = body_file(name, &gzip(json.as_bytes()));
        let (code, headers, body) = curl(&[
            "-H",
            &auth,
            "-H",
            "content-type: application/json",
            "-H",
            "content-encoding: gzip",
            "-H",
            "accept-encoding: gzip",
            "--data-binary",
            &file,
            url,
        ]);
        assert_eq!(code, 200, "{url}: {headers}");
        assert!(
            headers.contains("content-encoding: gzip"),
            "{url}: {headers}"
        );
        let mut inflated = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut inflated)
            .unwrap();
        let created: serde_json::Value = serde_json::from_str(&inflated).unwrap();
        assert_eq!(created["vpc"]["name"], name, "{url}");
    }
}

/// POSTs the body file `data` as JSON to `url` in `encoding`: status code, headers, body.
fn post_encoded(url: &str, encoding: &str, data: &str) -> (u16, String, String) {
    let auth = format!("authorization: Bearer {TOKEN}");
    let encoding = format!("content-encoding: {encoding}");
    let json = "content-type: application/json";
    let args = [
        "-H",
        &auth,
        "-H",
        json,
        "-H",
        &encoding,
        "--data-binary",
        data,
        url,
    ];
    let (code, headers, body) = curl(&args);
    (code, headers, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn connect_and_rest_refuse_a_gzip_bomb_and_an_unknown_coding() {
    let mock = MockProcess::start(&[]);
    let connect = mock.vpc_method_url("CreateVPC");
    let rest = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let bomb = {
        let name = "a".repeat(16 << 20);
        let json = format!(r#"{{"name": "{name}", "zone": "US-EAST-04A"}}"#);
        body_file("bomb", &gzip(json.as_bytes()))
    };
    let before = mock.peak_rss_kib();
    for url in [&connect, &rest] {
        for _ in 0..10 {
            let (code, headers, body) = post_encoded(url, "gzip", &bomb);
            assert_eq!(code, 429, "{url}: {headers}{body}");
            assert!(body.contains("exceeds the limit"), "{url}: {body}");
        }
    }
    let grown_mib = (mock.peak_rss_kib() - before) / 1024;
    assert!(
        grown_mib < 16,
        "the mock's peak RSS grew by {grown_mib} MiB"
    );

    let plain = body_file("plain", br#"{"name": "x", "zone": "US-EAST-04A"}"#);
    for (url, expected) in [(&connect, 501), (&rest, 415)] {
        let (code, headers, body) = post_encoded(url, "br", &plain);
        assert_eq!(code, expected, "{url}: {headers}{body}");
        assert!(
            body.contains("br") && body.contains("gzip"),
            "{url}: {body}"
        );
        assert!(
            headers.contains("accept-encoding: gzip, identity"),
            "{url}: {headers}"
        );

        let (code, _, body) = post_encoded(url, "gzip", &plain);
        assert_eq!(code, 400, "{url}: gzip that does not inflate: {body}");
        assert!(body.contains("cannot be read"), "{url}: {body}");
    }
}

#[test]
fn connect_streams_and_grpc_web_read_and_write_gzip_envelopes() {
    use prost::Message;
    let mock = MockProcess::start(&[]);
    let auth = format!("authorization: Bearer {TOKEN}");
    let protocols = [
        (
            "application/connect+proto",
            "connect-content-encoding",
            "connect-accept-encoding",
        ),
        (
            "application/grpc-web+proto",
            "grpc-encoding",
            "grpc-accept-encoding",
        ),
    ];
    for (content_type, encoding, accept) in protocols {
        let create = CreateVpcRequest {
            name: format!("streamed-{}", &encoding[..4]),
            zone: "US-EAST-04A".into(),
            ..CreateVpcRequest::default()
        };
        let body = body_file("stream", &envelope(1, &gzip(&create.encode_to_vec())));
        let (code, headers, body) = curl(&[
            "-H",
            &auth,
            "-H",
            &format!("content-type: {content_type}"),
            "-H",
            &format!("{encoding}: gzip"),
            "-H",
            &format!("{accept}: gzip"),
            "--data-binary",
            &body,
            &mock.vpc_method_url("CreateVPC"),
        ]);
        assert_eq!(code, 200, "{headers}");
        assert!(headers.contains(&format!("{encoding}: gzip")), "{headers}");
        assert_eq!(
            body[0], 1,
            "{content_type}: the answer's message is compressed"
        );
        let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let mut inflated = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&body[5..5 + length]),
            &mut inflated,
        )
        .unwrap();
        let created = coreweave_api::networking::v1beta1::CreateVpcResponse::decode(&inflated[..]);
        assert_eq!(created.unwrap().vpc.unwrap().name, create.name);
        let end = String::from_utf8_lossy(&body[5 + length + 5..]).to_ascii_lowercase();
        match content_type {
            "application/connect+proto" => assert_eq!(end, "{}", "then an OK end of stream"),
            _ => assert!(end.contains("grpc-status:0"), "then OK trailers: {end}"),
        }
    }
}
