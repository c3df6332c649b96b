//! Raw HTTP for the protocol tests: curl with every header and body byte under the test's
//! control, and the envelopes of the streaming protocols.

use serde_json::Value;

use super::process::{run_ok, tool, MockProcess};

/// Where the tests' files go: Cargo's directory for them in the target directory, so that
/// no run leaves files in the system's temporary directory.
fn scratch_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// `curl` with `args`, returning the HTTP status line's code, the headers and the body.
pub fn curl(args: &[&str]) -> (u16, String, Vec<u8>) {
    let dir = scratch_dir();
    let unique = format!("{}-{:?}", std::process::id(), std::thread::current().id());
    let headers = dir.join(format!("wire-headers-{unique}"));
    let body = dir.join(format!("wire-body-{unique}"));
    let output = std::process::Command::new(tool("curl"))
        .args(["--silent", "--show-error", "--dump-header"])
        .arg(&headers)
        .arg("--output")
        .arg(&body)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (header_file, body_file) = (headers, body);
    let headers = std::fs::read_to_string(&header_file).unwrap();
    let body = std::fs::read(&body_file).unwrap();
    let _ = std::fs::remove_file(header_file);
    let _ = std::fs::remove_file(body_file);
    let code = headers.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, headers.to_ascii_lowercase(), body)
}

/// Writes `bytes` to a file for curl's `--data-binary @file`.
pub fn body_file(label: &str, bytes: &[u8]) -> String {
    let unique = format!("{}-{:?}", std::process::id(), std::thread::current().id());
    let path = scratch_dir().join(format!("wire-{label}-{unique}"));
    std::fs::write(&path, bytes).unwrap();
    format!("@{}", path.display())
}

/// A Connect (or gRPC) envelope: flags, big-endian length, message.
pub fn envelope(flags: u8, message: &[u8]) -> Vec<u8> {
    let mut framed = vec![flags];
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

/// The messages of a streamed answer, each as its flags and bytes.
pub fn envelopes(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut messages = Vec::new();
    while body.len() >= 5 {
        let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        messages.push((body[0], body[5..5 + length].to_vec()));
        body = &body[5 + length..];
    }
    assert!(body.is_empty(), "a partial envelope at the end: {body:?}");
    messages
}

/// Runs curl against the control API, in a token's organization or (for `None`) the whole
/// server; returns the HTTP status and the JSON body.
pub fn control(
    mock: &MockProcess,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let scope = match token {
        Some(token) => format!("Authorization: Bearer {token}"),
        None => "x-mock-scope: server".to_owned(),
    };
    control_with(mock, method, path, &[&scope], body)
}

/// Runs curl against the control API with exactly these headers.
pub fn control_with(
    mock: &MockProcess,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("http://{}{path}", mock.addr);
    let data = body.map(|b| b.to_string());
    let mut args = vec!["--silent", "--write-out", "\n%{http_code}", "-X", method];
    for header in headers {
        args.extend(["-H", header]);
    }
    if let Some(data) = &data {
        args.extend(["-H", "content-type: application/json", "-d", data.as_str()]);
    }
    args.push(&url);
    let output = run_ok(&tool("curl"), &args);
    let (body, status) = output.rsplit_once('\n').unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status.parse().unwrap(), body)
}
