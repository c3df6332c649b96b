//! `coreweave-mock`: runs the mock CoreWeave API server, or (`exec`) runs a command against
//! one.

mod exec;

use std::{
    io::IsTerminal,
    net::{Ipv4Addr, SocketAddr},
    process::ExitCode,
    time::Duration,
};

use clap::{Parser, Subcommand, ValueEnum};
use coreweave_mock::{
    ConnectionLimits, Limits, ManualClock, MockError, MockServer, Zone, DEFAULT_QUOTA,
};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// jemalloc rather than the system allocator: a call allocates a few dozen times, and with
/// glibc's allocator that was an eighth of a CreateVPC's instructions and two fifths of a
/// ListVPCs'. jemalloc rather than mimalloc, which executes as few: jemalloc hands a freed
/// block out again first, while it is still in the cache, and mimalloc walks its whole page
/// first. At 64 connections that brought REST and Connect calls 3–4 points nearer a bare
/// server's rate (and 12% fewer L1 misses under cachegrind's simulation). Only the binary
/// chooses; the library leaves the choice to its users. Without the `jemalloc` feature, and
/// on Windows' MSVC targets, which jemalloc does not support, the binary uses the system
/// allocator.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (the crate prefixes jemalloc's symbols with
/// `_rjem_`): memory freed after large requests goes back to the system about a second
/// later, by one background thread of jemalloc's, even if the server then idles. Without it
/// the server kept what twenty bodies of 1.5 MB had used (25 MB against 14 MB idle) until it
/// next allocated in earnest; with it, 16 MB two seconds later.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_OPTIONS: &u8 =
    &b"background_thread:true,max_background_threads:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

/// An in-memory mock of CoreWeave's VPC and inference gateway APIs.
///
/// Prints one line of JSON, such as `{"addr":"127.0.0.1:50051","event":"listening"}`, to
/// stdout once it accepts connections (parse it as JSON: the order of its keys is not fixed);
/// logs go to stderr. Stops gracefully on SIGINT or SIGTERM.
///
/// Tests drive it through the control API: `GET http://ADDR/_mock/v1/` lists every route
/// (reset, clock, faults, the journal of calls, verify, snapshots), also served over gRPC as
/// coreweave.mock.v1.ControlService. A read-only dashboard of its organizations, resources
/// and live calls is at http://ADDR/_mock/ui/ (both off with --no-control).
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    server: Args,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts the mock on a free port, runs CMD with COREWEAVE_API_ENDPOINT set to the mock's
    /// endpoint, stops the mock when CMD ends, and exits with CMD's exit code (128 + N when a
    /// signal N ended it). The mock's log is kept in memory; when CMD fails, its last lines
    /// go to stderr. Example: coreweave-mock exec --transition-delay 0s -- go test ./...
    Exec {
        #[command(flatten)]
        server: Args,
        /// The command to run and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
}

/// The server's settings.
#[derive(Debug, clap::Args)]
struct Args {
    /// The address to listen on; port 0 picks a free port. [default: 127.0.0.1:50051, and a
    /// free port on 127.0.0.1 for exec]
    #[arg(long, env = "COREWEAVE_MOCK_LISTEN")]
    listen: Option<SocketAddr>,

    /// A zone to offer, as NAME or NAME=IPV4-CIDR (its default PRIMARY /18). Repeatable;
    /// replaces the default set of zones.
    #[arg(long = "zone", env = "COREWEAVE_MOCK_ZONES", value_delimiter = ',')]
    zones: Vec<Zone>,

    /// A bearer token to accept. Repeatable; without it any well-formed token is accepted.
    #[arg(
        long = "token",
        env = "COREWEAVE_MOCK_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    tokens: Vec<String>,

    /// A name (or address) that control requests from browsers' protocols may be addressed to,
    /// besides loopback ones and the bound address, such as a docker-compose service name.
    /// Repeatable.
    #[arg(
        long = "allowed-host",
        env = "COREWEAVE_MOCK_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,

    /// An origin whose pages may call the control API (CORS), such as
    /// http://localhost:3000. Repeatable; by default no page may.
    #[arg(
        long = "cors-origin",
        env = "COREWEAVE_MOCK_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,

    /// A token that grants the whole-server scope on the control API. With --token it is the
    /// only way to act on every organization; without, the header `x-mock-scope: server` also
    /// asks for it.
    #[arg(long, env = "COREWEAVE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// How long CREATING, UPDATING and DELETING last, such as 0s, 250ms or 1s.
    #[arg(long, env = "COREWEAVE_MOCK_TRANSITION_DELAY", default_value = "1s", value_parser = parse_duration)]
    transition_delay: Duration,

    /// Reject unknown keys in JSON request bodies (REST and Connect) with INVALID_ARGUMENT
    /// instead of ignoring them with an `x-mock-warning` header.
    #[arg(long, env = "COREWEAVE_MOCK_STRICT_JSON")]
    strict_json: bool,

    /// The most connections open at once; further clients wait in the listen backlog.
    #[arg(long, env = "COREWEAVE_MOCK_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections)]
    max_connections: usize,

    /// Close a connection on which nothing is read or written for this long.
    #[arg(long, env = "COREWEAVE_MOCK_IDLE_TIMEOUT", default_value = "300s", value_parser = parse_duration)]
    idle_timeout: Duration,

    /// The same for an HTTP/1.1 keep-alive connection, which holds a slot for one client.
    #[arg(long = "http1-idle-timeout", env = "COREWEAVE_MOCK_HTTP1_IDLE_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    http1_idle_timeout: Duration,

    /// The most VPCs, and the most gateways, each organization may hold.
    #[arg(long, env = "COREWEAVE_MOCK_QUOTA", default_value_t = DEFAULT_QUOTA)]
    quota: usize,

    /// A snapshot to start with, in the format GET /_mock/v1/state writes. A bad file stops
    /// the start with an error that names it.
    #[arg(long, env = "COREWEAVE_MOCK_SEED")]
    seed: Option<std::path::PathBuf>,

    /// Keep the state in this redb file across restarts (kill -9 included). A missing file
    /// is created; a corrupt or newer one stops the start and is left untouched.
    #[arg(long, env = "COREWEAVE_MOCK_STATE_FILE")]
    state_file: Option<std::path::PathBuf>,

    /// Turn off the control API under /_mock/v1/ (for a shared deployment).
    #[arg(long, env = "COREWEAVE_MOCK_NO_CONTROL")]
    no_control: bool,

    /// Where time comes from: the wall clock, or a clock that moves only when advanced
    /// through the control API (POST /_mock/v1/clock/advance).
    #[arg(long, env = "COREWEAVE_MOCK_CLOCK", value_enum, default_value_t = ClockKind::Wall)]
    clock: ClockKind,

    /// On SIGTERM, keep serving this long with health checks reporting NOT_SERVING (so an
    /// orchestrator can take the mock out of rotation) before draining.
    #[arg(long, env = "COREWEAVE_MOCK_SHUTDOWN_NOTICE", default_value = "0s", value_parser = parse_duration)]
    shutdown_notice: Duration,

    /// The log format on stderr. The level comes from RUST_LOG (default: info).
    #[arg(long, env = "COREWEAVE_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClockKind {
    Wall,
    Frozen,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Logging into `log` instead of stderr (for `exec`, whose command owns the terminal).
fn init_logging_to(format: LogFormat, log: exec::Log) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log)
        .with_ansi(false);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Where the mock listens unless told otherwise.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 50051);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Exec { server, command }) = cli.command {
        let log = exec::Log::default();
        init_logging_to(server.log_format, log.clone());
        return exec::run(server, command, log).await;
    }
    init_logging(cli.server.log_format);
    match run(cli.server).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "coreweave-mock stopped");
            eprintln!("coreweave-mock: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let stop = shutdown_signal()?;
    let server = start(args, DEFAULT_LISTEN).await?;
    let line = serde_json::json!({ "event": "listening", "addr": server.addr().to_string() });
    println!("{line}");
    tracing::info!(addr = %server.addr(), "coreweave-mock listening");

    stop.await;
    tracing::info!("shutting down: health is NOT_SERVING, finishing in-flight calls");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Binds `args.listen` (or `default_listen`) and starts the server as `args` say.
async fn start(
    args: Args,
    default_listen: SocketAddr,
) -> Result<MockServer, Box<dyn std::error::Error>> {
    let listen = args.listen.unwrap_or(default_listen);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let mut builder = MockServer::builder()
        .transition_delay(args.transition_delay)
        .strict_json(args.strict_json)
        .limits(Limits {
            max_vpcs_per_org: Some(args.quota),
            max_gateways_per_org: Some(args.quota),
            ..Limits::default()
        })
        .connection_limits(ConnectionLimits {
            max_connections: args.max_connections,
            idle_timeout: args.idle_timeout,
            http1_idle_timeout: args.http1_idle_timeout,
            ..ConnectionLimits::default()
        })
        .tokens(args.tokens);
    for host in args.allowed_hosts {
        builder = builder.allowed_host(host);
    }
    for origin in args.cors_origins {
        builder = builder.cors_origin(origin);
    }
    if let Some(admin) = args.admin_token {
        builder = builder.admin_token(admin);
    }
    if !args.zones.is_empty() {
        builder = builder.zones(args.zones);
    }
    builder = builder
        .control(!args.no_control)
        .shutdown_notice(args.shutdown_notice);
    if let Some(path) = &args.seed {
        builder = builder.seed(read_seed(path)?);
    }
    if let Some(path) = &args.state_file {
        builder = builder.state_file(path);
    }
    if args.clock == ClockKind::Frozen {
        builder = builder.clock(ManualClock::new());
    }
    let server = builder
        .start_on(listener)
        .await
        .map_err(|error| match (error, &args.seed) {
            (MockError::Seed(error), Some(path)) => format!(
                "the seed file {} is not a valid snapshot: {error}",
                path.display()
            )
            .into(),
            (error, _) => Box::<dyn std::error::Error>::from(error),
        })?;
    Ok(server)
}

/// Reads a seed snapshot file as JSON; errors name the file.
fn read_seed(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("cannot read the seed file {}: {e}", path.display()))?;
    let snapshot = serde_json::from_slice(&text)
        .map_err(|e| format!("the seed file {} is not JSON: {e}", path.display()))?;
    coreweave_mock::snapshot::import(&snapshot, None).map_err(|e| {
        format!(
            "the seed file {} is not a valid snapshot: {e}",
            path.display()
        )
    })?;
    Ok(snapshot)
}

/// Waits for SIGINT or SIGTERM. The handlers are installed when this is called, so call it
/// before announcing the server: a signal sent right after the listening line is not lost.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Waits for Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
