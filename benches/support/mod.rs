//! What the side-by-side benchmarks share: server processes pinned to CPU 0, h2load rounds,
//! samples and their table rows, and instruction counts from callgrind.
#![allow(dead_code)] // Each benchmark uses its own part.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The token every call of the benchmarks sends.
pub const TOKEN: &str = "CW-SECRET-bench";
/// An id no VPC has, for the NOT_FOUND rows.
pub const MISSING_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A server process under test.
pub struct Server {
    pub name: &'static str,
    pub child: Child,
    pub addr: String,
    /// When it was spawned.
    pub spawned: Instant,
}

impl Server {
    /// Starts `program args`, pinned to CPU 0 when `taskset` is available, and waits for its
    /// `listening` line.
    pub fn spawn(name: &'static str, program: &str, args: &[&str]) -> Self {
        let pinned = Command::new("taskset").arg("--version").output().is_ok();
        let spawned = Instant::now();
        let mut command = if pinned {
            let mut command = Command::new("taskset");
            command.args(["-c", "0", program]);
            command
        } else {
            Command::new(program)
        };
        let mut child = command
            .args(args)
            // The mock's default level, as its users run it; a successful call writes no line.
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a listening line");
        let event: serde_json::Value = serde_json::from_str(&line).expect("the listening event");
        let addr = event["addr"].as_str().expect("addr").to_owned();
        Self {
            name,
            child,
            addr,
            spawned,
        }
    }

    pub fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start one of the two servers.
#[derive(Clone, Copy)]
pub struct Contender<'a> {
    pub name: &'static str,
    pub program: &'a str,
    pub args: &'a [&'a str],
}

impl Contender<'_> {
    /// Starts it, waiting only for its `listening` line.
    pub fn spawn(self) -> Server {
        Server::spawn(self.name, self.program, self.args)
    }

    /// The same server under callgrind, writing its counts to `out`.
    pub fn under_callgrind(self, out: &std::path::Path) -> Server {
        let out_arg = format!("--callgrind-out-file={}", out.display());
        let mut args = vec!["--tool=callgrind", &out_arg, self.program];
        args.extend(self.args);
        Server::spawn(self.name, "valgrind", &args)
    }
}

/// h2load, if it runs here: `$H2LOAD`, else `h2load` on the PATH.
pub fn find_h2load() -> Option<String> {
    let program = std::env::var("H2LOAD").unwrap_or_else(|_| "h2load".into());
    let runs = Command::new(&program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    runs.then_some(program)
}

/// One request that h2load sends over and over, and the HTTP status class it expects.
#[derive(Clone, Debug)]
pub struct Target {
    /// The whole URL.
    pub url: String,
    /// Headers as `name: value`.
    pub headers: Vec<String>,
    /// The body, for a POST; none for a GET.
    pub body: Option<Vec<u8>>,
    /// The expected status's first digit: `2` for success, `4` for a refusal.
    pub status_class: u8,
}

/// How h2load loads a server: over HTTP/1.1 with one call at a time per connection, or over
/// HTTP/2 with many streams on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    Http1 { connections: usize },
    Http2 { connections: usize, streams: usize },
}

impl Load {
    /// How a table row names it.
    pub fn label(self) -> String {
        match self {
            Self::Http1 { connections } => format!("HTTP/1.1 ×{connections}"),
            Self::Http2 {
                connections: 1,
                streams,
            } => format!("HTTP/2 ×{streams} streams"),
            Self::Http2 {
                connections,
                streams,
            } => format!("HTTP/2 {connections} conn ×{streams}"),
        }
    }

    fn args(self) -> Vec<String> {
        match self {
            Self::Http1 { connections } => {
                vec![
                    "--h1".into(),
                    "-c".into(),
                    connections.to_string(),
                    "-m".into(),
                    "1".into(),
                ]
            }
            Self::Http2 {
                connections,
                streams,
            } => vec![
                "-c".into(),
                connections.to_string(),
                "-m".into(),
                streams.to_string(),
            ],
        }
    }
}

/// What one h2load run printed: requests done with the expected status, and how long.
struct H2loadRun {
    answered: usize,
    elapsed: Duration,
}

/// Runs h2load for `length` (or, with `count`, for that many requests).
fn run_h2load(
    h2load: &str,
    target: &Target,
    load: Load,
    length: Duration,
    count: Option<u64>,
    log: Option<&std::path::Path>,
) -> H2loadRun {
    let stem =
        std::env::temp_dir().join(format!("bench-{}-{:?}", std::process::id(), Instant::now()));
    let body_file = stem.with_extension("body");
    let mut command = Command::new(h2load);
    command.args(load.args());
    match count {
        Some(count) => command.args(["-n", &count.to_string()]),
        None => command.args(["-D", &format!("{}ms", length.as_millis().max(1))]),
    };
    for header in &target.headers {
        command.args(["-H", header]);
    }
    if let Some(body) = &target.body {
        std::fs::write(&body_file, body).expect("the request file");
        command.arg("-d").arg(&body_file);
    }
    if let Some(log) = log {
        command.arg(format!("--log-file={}", log.display()));
    }
    let output = command.arg(&target.url).output().expect("h2load runs");
    let _ = std::fs::remove_file(&body_file);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // "finished in 3.00s, 59202.33 req/s, 9.80MB/s" (or "100.39ms", "950us")
    let elapsed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("finished in "))
        .and_then(|rest| rest.split(',').next())
        .and_then(seconds)
        .unwrap_or_else(|| panic!("h2load printed no duration:\n{stdout}"));
    // "status codes: 59202 2xx, 0 3xx, 0 4xx, 0 5xx"
    let class = format!(" {}xx", target.status_class);
    let answered = stdout
        .lines()
        .find_map(|line| line.strip_prefix("status codes: "))
        .and_then(|rest| rest.split(',').find_map(|part| part.strip_suffix(&class)))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("h2load printed no status codes:\n{stdout}"));
    H2loadRun { answered, elapsed }
}

/// One h2load round of `target` for `length`, counted by h2load; then a quarter as long again
/// with h2load's per-request log, for the latencies. Writing that log changes the pace at
/// which h2load sends (and moved the ratio by about 6 points here), so the rate comes from
/// the run without it.
pub fn h2load_round(h2load: &str, target: &Target, load: Load, length: Duration) -> Samples {
    let run = run_h2load(h2load, target, load, length, None, None);
    let log_file = std::env::temp_dir().join(format!("bench-{}.log", std::process::id()));
    run_h2load(h2load, target, load, length / 4, None, Some(&log_file));
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let _ = std::fs::remove_file(&log_file);
    let class = target.status_class.to_string();
    let latencies = log
        .lines()
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let (_, status, micros) = (columns.next(), columns.next()?, columns.next()?);
            status
                .starts_with(&class)
                .then(|| Duration::from_micros(micros.trim().parse().unwrap_or(0)))
        })
        .collect();
    Samples {
        latencies,
        requests: run.answered,
        elapsed: run.elapsed,
    }
}

/// Sends `count` requests of `target` and returns how many were answered as expected.
pub fn h2load_count(h2load: &str, target: &Target, load: Load, count: u64) -> usize {
    run_h2load(h2load, target, load, Duration::ZERO, Some(count), None).answered
}

/// h2load's durations: a decimal number and s, ms or us.
fn seconds(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(us) = text.strip_suffix("us") {
        (us, 1e-6)
    } else {
        (text.strip_suffix('s')?, 1.0)
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| Duration::from_secs_f64(n * scale))
}

/// What one round measured.
#[derive(Default)]
pub struct Samples {
    pub latencies: Vec<Duration>,
    /// The requests answered in `elapsed`.
    pub requests: usize,
    pub elapsed: Duration,
}

impl Samples {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort();
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }

    /// The samples of a round: `call(task, n)` made from `concurrency` tasks, each making
    /// calls until `length` is spent; a call that answers `true` succeeded and is timed.
    pub async fn of_tasks<C, F>(concurrency: usize, length: Length, call: C) -> Self
    where
        C: Fn(usize, u64) -> F + Clone + Send + 'static,
        F: std::future::Future<Output = bool> + Send,
    {
        let started = Instant::now();
        let tasks: Vec<_> = (0..concurrency)
            .map(|task| {
                let call = call.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut n = 0u64;
                    while length.goes_on(started, n) {
                        n += 1;
                        let at = Instant::now();
                        if call(task, n).await {
                            latencies.push(at.elapsed());
                        }
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap_or_default());
        }
        Self {
            requests: latencies.len(),
            latencies,
            elapsed: started.elapsed(),
        }
    }

    /// Pools another round's samples into these.
    pub fn add(&mut self, round: Samples) {
        self.latencies.extend(round.latencies);
        self.requests += round.requests;
        self.elapsed += round.elapsed;
    }
}

/// One row of the table: each server's rounds pooled, mock first, and the mock/bare ratio of
/// each pair of rounds.
#[derive(Default)]
pub struct Row {
    pub pooled: [Samples; 2],
    pub pair_ratios: Vec<f64>,
}

impl Row {
    /// The pooled figures and their ratio, then the median and range of the pairs' ratios:
    /// on a shared machine the pooled ratio can lean on one slow round, the median cannot.
    pub fn print(mut self, label: &str, load: &str) {
        let [mock, bare] = &mut self.pooled;
        let ratios = &mut self.pair_ratios;
        ratios.sort_by(f64::total_cmp);
        let median = match ratios.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => ratios[n / 2],
            n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
        };
        let low = ratios.first().copied().unwrap_or(f64::NAN);
        let high = ratios.last().copied().unwrap_or(f64::NAN);
        println!(
            "| {label}: req/s, p50, p99 | {:.0}, {:?}, {:?} | {:.0}, {:?}, {:?} | **{:.0}%** | {:.0}% ({:.0}–{:.0}%) of {} | {load} |",
            bare.rate(),
            bare.percentile(0.5),
            bare.percentile(0.99),
            mock.rate(),
            mock.percentile(0.5),
            mock.percentile(0.99),
            100.0 * mock.rate() / bare.rate().max(1e-9),
            100.0 * median,
            100.0 * low,
            100.0 * high,
            ratios.len(),
        );
    }
}

/// How long a round goes on.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// For this long.
    Time(Duration),
    /// For this many calls from each task.
    Calls(u64),
}

impl From<Duration> for Length {
    fn from(time: Duration) -> Self {
        Self::Time(time)
    }
}

impl Length {
    /// Whether a task that started at `started` and has made `calls` calls makes another.
    pub fn goes_on(self, started: Instant, calls: u64) -> bool {
        match self {
            Self::Time(time) => started.elapsed() < time,
            Self::Calls(count) => calls < count,
        }
    }
}

pub fn callgrind_control(command: &str, pid: u32) -> Result<(), Box<dyn std::error::Error>> {
    let status = Command::new("callgrind_control")
        .args([command, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("callgrind_control {command} {pid} failed: {status}").into());
    }
    Ok(())
}

/// The instruction total of a callgrind dump, once the dump is written whole.
pub async fn callgrind_total(dump: &std::path::Path) -> Result<u64, Box<dyn std::error::Error>> {
    for _ in 0..300 {
        let text = std::fs::read_to_string(dump).unwrap_or_default();
        let total = text
            .lines()
            .find_map(|line| line.strip_prefix("totals:"))
            .and_then(|total| total.trim().parse().ok());
        if let Some(total) = total {
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("no totals in {} after 30 s", dump.display()).into())
}

/// The instructions a callgrind-run server executes for `work`: counts zeroed before, dumped
/// after, read from dump number `dump_number` of `out`.
pub async fn instructions_for<F: std::future::Future<Output = ()>>(
    server: &Server,
    out: &std::path::Path,
    dump_number: usize,
    work: F,
) -> Result<u64, Box<dyn std::error::Error>> {
    let pid = server.child.id();
    callgrind_control("-z", pid)?;
    work.await;
    callgrind_control("-d", pid)?;
    let dump = out.with_extension(format!("callgrind.{dump_number}"));
    let total = callgrind_total(&dump).await?;
    let _ = std::fs::remove_file(&dump);
    Ok(total)
}

/// What both benchmarks read from their command line.
pub struct Settings {
    /// `--smoke`: tiny rounds that only prove the benchmark runs.
    pub smoke: bool,
    /// How long a round goes on (`--seconds`, 2 by default).
    pub length: Duration,
    /// Pairs of rounds per row (`--pairs`, 8 by default).
    pub pairs: usize,
    /// Calls counted under callgrind (`--calls`, 4,096 by default).
    pub calls: u64,
    /// The mock binary (`--mock`).
    pub mock: String,
    /// This benchmark's own binary, which is also the bare server.
    pub me: String,
}

/// The mock's arguments: any port, transitions that settle at once, and a quota that no
/// create round meets.
pub const MOCK_ARGS: [&str; 6] = [
    "--listen",
    "127.0.0.1:0",
    "--transition-delay",
    "0s",
    "--quota",
    "10000000",
];

impl Settings {
    pub fn from_args() -> Result<Self, Box<dyn std::error::Error>> {
        let smoke = std::env::args().any(|a| a == "--smoke");
        let seconds: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(2.0);
        let number = |name: &str, default: u64| match arg(name).and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => default,
        };
        let me = std::env::current_exe()?;
        Ok(Self {
            smoke,
            length: match smoke {
                true => Duration::from_millis(100),
                false => Duration::from_secs_f64(seconds),
            },
            pairs: if smoke {
                1
            } else {
                usize::try_from(number("--pairs", 8))?
            },
            calls: if smoke { 64 } else { number("--calls", 4096) },
            mock: arg("--mock").ok_or("--mock PATH is required")?,
            me: me.to_str().ok_or("a UTF-8 path")?.to_owned(),
        })
    }

    /// The two servers: the mock, and this binary as the bare server.
    pub fn contenders(&self) -> [Contender<'_>; 2] {
        [
            Contender {
                name: "mock",
                program: &self.mock,
                args: &MOCK_ARGS,
            },
            Contender {
                name: "bare",
                program: &self.me,
                args: &["--serve-bare"],
            },
        ]
    }
}

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

/// The median of `values` (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
