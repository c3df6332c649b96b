//! Runs the `coreweave-mock` binary and third-party command-line clients against it.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    sync::OnceLock,
};

/// The `coreweave-mock` binary cargo built for these tests, or `$COREWEAVE_MOCK_BIN`.
pub fn mock_binary() -> PathBuf {
    match std::env::var_os("COREWEAVE_MOCK_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_BIN_EXE_coreweave-mock")),
    }
}

/// The repository's root, where `scripts/` and `.tools/` are.
pub fn repo_root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().map(PathBuf::from).unwrap_or(crate_dir)
}

/// Runs `scripts/install-tools.sh` once per test binary and returns the directory it
/// installed into, or why it could not.
fn installed_tools() -> Result<&'static PathBuf, &'static String> {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let script = repo_root().join("scripts/install-tools.sh");
            let output = Command::new("bash")
                .arg(&script)
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            match (output.status.success(), stdout.lines().last()) {
                (true, Some(dir)) => Ok(PathBuf::from(dir.trim())),
                _ => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
            }
        })
        .as_ref()
}

/// A third-party tool: `$<NAME>` (upper case), else the one `scripts/install-tools.sh`
/// installs (run at most once per test binary). `curl` comes from `PATH`. A tool that
/// cannot be had fails the test with one line that says what to do.
pub fn tool(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(name.to_uppercase()) {
        return PathBuf::from(path);
    }
    if name == "curl" {
        return on_path("curl").unwrap_or_else(|| {
            panic!("curl is not installed: install it with your package manager (apt-get install curl)")
        });
    }
    match installed_tools() {
        Ok(dir) if dir.join(name).exists() => dir.join(name),
        Ok(dir) => panic!(
            "{name} is not in {} and scripts/install-tools.sh could not install it here: install it yourself and set {}=/path/to/{name}",
            dir.display(),
            name.to_uppercase()
        ),
        Err(why) => panic!("{name} could not be installed by scripts/install-tools.sh: {why}"),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.exists())
}

/// A running mock binary, killed when dropped.
pub struct MockProcess {
    child: Child,
    /// The address it listens on, from its `listening` line.
    pub addr: String,
}

impl MockProcess {
    /// The URL of a VPC service method, such as `ListVPCs`, for Connect and gRPC-Web.
    pub fn vpc_method_url(&self, method: &str) -> String {
        format!(
            "http://{}/coreweave.networking.v1beta1.VPCService/{method}",
            self.addr
        )
    }

    /// Starts the binary on port 0 with extra arguments and waits for its `listening` line.
    pub fn start(extra_args: &[&str]) -> Self {
        Self::start_with_env(extra_args, &[])
    }

    /// Like [`start`](Self::start), with these environment variables set too.
    pub fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(mock_binary())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra_args)
            .envs(env.iter().copied())
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

    /// The most memory the process has held so far (its peak RSS), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the mock's /proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .expect("VmHWM");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// A request carrying `authorization: Bearer <token>`, for stubs on a plain channel to the
/// binary.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .expect("a token is printable");
    request.metadata_mut().insert("authorization", value);
    request
}
