//! Runs the `coreweave-mock` binary and third-party command-line clients against it.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
};

/// The `coreweave-mock` binary: `$COREWEAVE_MOCK_BIN`, else the one cargo built next to the
/// test executable (`cargo test --workspace` builds it for the mock crate's own tests).
pub fn mock_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("COREWEAVE_MOCK_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile_dir.join("coreweave-mock");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p coreweave-mock` (the README's test command does)",
        binary.display()
    );
    binary
}

/// A third-party tool: `$<NAME>` (upper case), else `.tools/bin/<name>`, else `PATH`.
pub fn tool(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(name.to_uppercase()) {
        return PathBuf::from(path);
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".tools/bin")
        .join(name);
    if local.exists() {
        return local;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.exists());
    on_path.unwrap_or_else(|| panic!("{name} is not installed: run scripts/install-tools.sh"))
}

/// A running mock binary, killed when dropped.
pub struct MockProcess {
    child: Child,
    /// The address it listens on, from its `listening` line.
    pub addr: String,
}

impl MockProcess {
    /// Starts the binary on port 0 with extra arguments and waits for its `listening` line.
    pub fn start(extra_args: &[&str]) -> Self {
        let mut child = Command::new(mock_binary())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mock binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("listening line");
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(event["event"], "listening", "{line}");
        let addr = event["addr"].as_str().expect("addr").to_owned();
        Self { child, addr }
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.child.wait().expect("mock exits")
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command and returns its output, whatever its exit status.
pub fn run(program: &PathBuf, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} fails to start: {e}", program.display()))
}

/// Runs a command that must succeed and returns its stdout.
pub fn run_ok(program: &PathBuf, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{} {args:?} failed:\nstdout: {}\nstderr: {}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
