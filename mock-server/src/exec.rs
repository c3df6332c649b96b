//! `coreweave-mock exec [FLAGS] -- CMD [ARGS...]`: the mock around one command, for test
//! suites in any language.

use std::{
    collections::VecDeque,
    io::Write,
    net::{Ipv4Addr, SocketAddr},
    process::ExitCode,
    sync::{Arc, Mutex, PoisonError},
};

use crate::Args;

/// The most log lines kept for a failed command; older ones are dropped.
const KEPT_LOG_LINES: usize = 200;
/// The longest log line kept, in bytes; longer ones are cut.
const MAX_LOG_LINE_BYTES: usize = 2048;
/// The exit code for a command that could not be started, as shells use.
const CANNOT_RUN: u8 = 127;

/// The mock's log while the command runs: its last lines, in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl Log {
    fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect()
    }
}

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        for line in text.lines().filter(|line| !line.is_empty()) {
            if lines.len() == KEPT_LOG_LINES {
                lines.pop_front();
            }
            lines.push_back(coreweave_api::text::cut(line, MAX_LOG_LINE_BYTES).into_owned());
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Starts the mock, runs `command` against it, stops the mock, and exits as the command did.
pub(crate) async fn run(args: Args, command: Vec<String>, log: Log) -> ExitCode {
    let free_port = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0);
    let server = match crate::start(args, free_port).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("coreweave-mock exec: the mock did not start: {error}");
            print_log(&log);
            return ExitCode::FAILURE;
        }
    };
    let endpoint = server.endpoint();
    tracing::info!(%endpoint, ?command, "coreweave-mock listening; running the command");
    let code = run_command(&command, &endpoint).await;
    if let Err(error) = server.shutdown().await {
        tracing::warn!(%error, "the mock did not stop cleanly");
    }
    if code != 0 {
        let program = command.first().map_or("the command", String::as_str);
        eprintln!("coreweave-mock exec: {program} exited with {code}; the mock's log:");
        print_log(&log);
    }
    ExitCode::from(code)
}

/// Runs `command` with `COREWEAVE_API_ENDPOINT` set; its exit code, 128 + N for a signal N,
/// [`CANNOT_RUN`] when it cannot be started. A SIGINT or SIGTERM to `exec` ends it too.
async fn run_command(command: &[String], endpoint: &str) -> u8 {
    let Some((program, arguments)) = command.split_first() else {
        return CANNOT_RUN;
    };
    let child = tokio::process::Command::new(program)
        .args(arguments)
        .env("COREWEAVE_API_ENDPOINT", endpoint)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            eprintln!("coreweave-mock exec: cannot run {program}: {error}");
            return CANNOT_RUN;
        }
    };
    let stop = match crate::shutdown_signal() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("coreweave-mock exec: cannot watch for signals: {error}");
            return CANNOT_RUN;
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        () = stop => {
            // Ours is the same signal the command's group was sent, or one for us alone:
            // either way the command ends with the mock.
            let _ = child.start_kill();
            child.wait().await
        }
    };
    match status {
        Ok(status) => exit_code(status),
        Err(error) => {
            eprintln!("coreweave-mock exec: cannot wait for {program}: {error}");
            CANNOT_RUN
        }
    }
}

/// The shell's exit code for how a process ended.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(u8::MAX),
        (None, Some(signal)) => u8::try_from(signal.saturating_add(128)).unwrap_or(u8::MAX),
        (None, None) => u8::MAX,
    }
}

fn print_log(log: &Log) {
    let mut stderr = std::io::stderr().lock();
    for line in log.lines() {
        let _ = writeln!(stderr, "  {line}");
    }
}
