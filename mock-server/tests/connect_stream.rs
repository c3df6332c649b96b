//! Connect streaming calls (`application/connect+proto`), over HTTP/1.1 and HTTP/2: answers
//! end with an end-of-stream message that carries the status and its details, and a call to a
//! procedure that does not exist is a well-formed `unimplemented`.

mod common;

use common::{
    process::MockProcess,
    wire::{body_file, curl, envelope, envelopes},
};
use coreweave_api::networking::v1beta1::GetVpcRequest;
use prost::Message;

const AUTH: &str = "authorization: Bearer CW-SECRET-connect-stream";

/// A Connect stream call of `url` with `message`, over HTTP/2 when `http2`: the status code,
/// and the end-of-stream message's JSON.
/// With no `message`, the request has no body: an answer that comes before the server reads
/// the body may otherwise race curl's sending of it (HTTP/2 resets such a stream).
fn call(url: &str, message: Option<&[u8]>, http2: bool) -> (u16, serde_json::Value) {
    let body = message.map(|message| body_file("connect-stream", &envelope(0, message)));
    let mut args = vec!["-H", AUTH, "-H", "content-type: application/connect+proto"];
    match &body {
        Some(body) => args.extend(["--data-binary", body.as_str()]),
        None => args.extend(["-X", "POST"]),
    }
    args.push(url);
    if http2 {
        args.insert(0, "--http2-prior-knowledge");
    }
    let (code, headers, body) = curl(&args);
    assert!(
        headers.contains("content-type: application/connect+proto"),
        "{headers}"
    );
    let messages = envelopes(&body);
    let (flags, end) = messages.last().expect("an end-of-stream message");
    assert_eq!(flags & 2, 2, "the last message ends the stream");
    (code, serde_json::from_slice(end).unwrap())
}

#[test]
fn errors_end_the_stream_with_their_details_over_both_http_versions() {
    let mock = MockProcess::start(&[]);
    let id = "3f6c2c1e-1111-4222-8333-444455556666";
    let request = GetVpcRequest { id: id.into() }.encode_to_vec();
    for http2 in [false, true] {
        let (code, end) = call(&mock.vpc_method_url("GetVPC"), Some(&request), http2);
        assert_eq!(code, 200, "errors travel in the end of the stream");
        let error = &end["error"];
        assert_eq!(error["code"], "not_found", "{end}");
        let detail = &error["details"][0];
        assert_eq!(detail["type"], "google.rpc.ResourceInfo", "{end}");
        assert_eq!(detail["debug"]["resourceName"], id, "{end}");
    }
}

#[test]
fn an_unknown_procedure_is_a_well_formed_unimplemented_over_both_http_versions() {
    let mock = MockProcess::start(&["--no-control"]);
    let unknown = [
        format!("http://{}/no.such.Service/Method", mock.addr),
        format!(
            "http://{}/coreweave.mock.v1.ControlService/Reset",
            mock.addr
        ),
    ];
    for url in &unknown {
        for http2 in [false, true] {
            let (code, end) = call(url, None, http2);
            assert_eq!(code, 200, "{url}");
            assert_eq!(end["error"]["code"], "unimplemented", "{url}: {end}");
        }
    }
}
