//! `coreweave-mock exec -- CMD`: the mock around one command, for any language's tests.

mod common;

use std::process::{Command, Output};

use common::process::{mock_binary, tool};

fn exec(args: &[&str]) -> Output {
    Command::new(mock_binary())
        .arg("exec")
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .expect("the mock binary runs")
}

#[test]
fn the_command_reaches_the_mock_through_coreweave_api_endpoint() {
    let curl = tool("curl");
    let script = format!(
        r#"{} --silent --fail -H "authorization: Bearer CW-SECRET-exec" \
             -H "content-type: application/json" -d '{{"name": "from-exec", "zone": "US-EAST-04A"}}' \
             "$COREWEAVE_API_ENDPOINT/v1beta1/networking/vpcs" >/dev/null &&
           {} --silent --fail -H "authorization: Bearer CW-SECRET-exec" \
             "$COREWEAVE_API_ENDPOINT/v1beta1/networking/vpcs""#,
        curl.display(),
        curl.display()
    );
    let output = exec(&["--transition-delay", "0s", "--", "sh", "-c", &script]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(r#""name":"from-exec""#), "{stdout}");
    assert!(
        output.stderr.is_empty(),
        "the mock's log stays in memory: {output:?}"
    );
}

#[test]
fn a_failing_command_passes_its_exit_code_through_with_the_mocks_log() {
    let output = exec(&["--", "sh", "-c", "exit 3"]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sh exited with 3"), "{stderr}");
    assert!(
        stderr.contains("listening"),
        "the mock's last log lines: {stderr}"
    );
}

#[test]
fn a_command_ended_by_a_signal_exits_128_plus_the_signal() {
    let output = exec(&["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(output.status.code(), Some(128 + 15), "{output:?}");
}

#[test]
fn a_command_that_cannot_run_exits_127_saying_why() {
    let output = exec(&["--", "/nonexistent/command"]);
    assert_eq!(output.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot run /nonexistent/command"),
        "{stderr}"
    );
}

#[test]
fn the_readme_example_runs_as_written() {
    let readme = std::fs::read_to_string(common::process::repo_root().join("README.md")).unwrap();
    let section = readme.split("### From any language").nth(1).unwrap();
    let example = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let binary_dir = mock_binary().parent().unwrap().to_owned();
    let curl_dir = tool("curl").parent().unwrap().to_owned();
    let path = std::env::join_paths(
        [binary_dir, curl_dir]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let output = Command::new("sh")
        .args(["-c", example])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), r#"{"items":[]}"#);
}
