//! The `rtc-harness` command line: run, list and check scenarios; run the relay standalone.

use clap::{Parser, Subcommand};
use futures::StreamExt;
use rtc_harness::report::{self, Reporter};
use rtc_harness::runner::{Env, RunOptions};
use rtc_harness::scenario::{self, Case};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "rtc-harness", version, about = "WebRTC interop and conformance test harness")]
struct Cli {
    /// More peer kinds: a kinds file (see stacks/kinds.yaml and stacks/PROTOCOL.md); repeatable.
    /// `RTC_HARNESS_KINDS` (`:`-separated) adds files too.
    #[arg(long = "kinds-file", global = true)]
    kinds_files: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Where `run` writes its reports besides the terminal.
#[derive(clap::Args)]
struct Outputs {
    /// Write the matrix of outcomes (pair x scenario) as a Markdown table to this file.
    #[arg(long)]
    matrix: Option<PathBuf>,
    /// Write JUnit XML (one testcase per case, classname = area) to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write every case's outcome, timings, checks, peers and transcript as JSON (schema:
    /// docs/results.md) to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report (matrix, per-case timelines) into this directory
    /// (index.html); failure artifacts go to DIR/artifacts unless --artifacts says otherwise.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write each failed attempt's artifacts (transcript, failure, stats, console logs,
    /// screenshots, stderr) under this directory. Default: RTC_HARNESS_ARTIFACTS.
    #[arg(long)]
    artifacts: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios (files or directories; default: scenarios/) and print a verdict per case.
    Run {
        paths: Vec<PathBuf>,
        /// Only cases whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Peer kinds to run (default: every kind; cases of a kind that is not installed are
        /// skipped with the reason).
        #[arg(long, value_delimiter = ',')]
        kinds: Option<Vec<String>>,
        /// Run each case this many times: a pass rate per case (all passed: passed; some: flaky;
        /// none: failed); timings are medians. Default: RTC_HARNESS_REPEAT or 1.
        #[arg(long)]
        repeat: Option<usize>,
        /// Rerun a failed case up to this many times; one that passes on a retry is reported as
        /// flaky, not passed. Default: RTC_HARNESS_RETRIES or 1.
        #[arg(long)]
        retries: Option<usize>,
        /// Run this many cases at once (browsers are bounded by their pool besides). Default:
        /// RTC_HARNESS_JOBS or the measured default for two cores.
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// Run up to this many cases more while the machine's CPU is idle (a stretch where every
        /// running case waits on a timer); 0: never. Default: RTC_HARNESS_IDLE_JOBS or 4.
        #[arg(long)]
        idle_jobs: Option<usize>,
        /// Print every case's full transcript.
        #[arg(long)]
        transcript: bool,
        #[command(flatten)]
        out: Outputs,
    },
    /// Time to first frame per peer pair, against each browser's floor.
    Bench {
        /// Pairs as offerer-receiver (default: every pair whose peers are installed).
        #[arg(long, value_delimiter = ',')]
        pairs: Option<Vec<String>>,
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// Repeat the whole measurement this many times and show whether the runs agree (each
        /// pair's ratio within 0.05, its DTLS overhead within 10 ms).
        #[arg(long, default_value_t = 1)]
        runs: usize,
        /// Write the results as JSON (a later run's --baseline).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Compare with an earlier --json: a median more than 10% and 5 ms slower is a regression
        /// (exit code 1).
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Run Chrome's fake camera at this frame rate. The default, 30 fps, is the rate of
        /// Firefox's fake camera (which cannot be changed), so that a mixed pair's sender ticks
        /// as its receiver's floor's sender does; Chrome's own default is 20 fps.
        #[arg(long, default_value_t = rtc_harness::bench::CAMERA_FPS)]
        camera_fps: u32,
        /// What each browser's agent page does before the measured call: `call` (two throwaway
        /// connections in the page call each other until a frame is rendered, as the floor page's
        /// later iterations have had) or `offer` (a throwaway offer only, as every test case does).
        #[arg(long, default_value = "call")]
        warm_up: rtc_harness::peer::browser::WarmUp,
        /// Measure under a network profile (`4g`, `3g`, ...: `rtc-harness profiles`): both peers
        /// relay-only through the built-in TURN server, each path with the profile's conditions.
        #[arg(long)]
        profile: Option<String>,
        /// Spread each iteration's offer over this many ms after capture starts (0: offer at
        /// once, locked to the fake camera's tick). The default covers two Chrome and three
        /// Firefox camera ticks, so that floor and pair pay the tick's mean, not a whole tick
        /// or none.
        #[arg(long, default_value_t = rtc_harness::bench::DITHER_PERIOD_MS)]
        dither: f64,
        /// Drain each browser page's events this often (ms). Each drain is a WebDriver script on
        /// the page's main thread, run during the call being measured; every figure is the
        /// pages' own stamps, so the interval changes no figure's meaning, only how much of the
        /// two cores the harness's observing takes from the call (tests drain every 20 ms).
        #[arg(long, default_value_t = rtc_harness::bench::BROWSER_POLL_MS)]
        browser_poll: u64,
    },
    /// The named network profiles and their figures (for `network:` and `bench --profile`).
    Profiles,
    /// List the cases of the scenarios (with --kinds: the peer kinds instead, as `kinds` does).
    List {
        paths: Vec<PathBuf>,
        #[arg(long)]
        kinds: bool,
    },
    /// List the peer kinds: stack, version (each installed stack is started once), capabilities.
    Kinds,
    /// Validate scenario files.
    Check { paths: Vec<PathBuf> },
    /// Check a command-peer program (a kind of a kinds file) against stacks/PROTOCOL.md: its
    /// hello, then a fixed battery of cases against the Rust peer both ways and against itself,
    /// one per duty and per claimed capability; each failure names the rule it breaks.
    AdapterCheck {
        /// The kind to check (declare it with --kinds-file).
        kind: String,
        /// Run this many cases at once. Default: RTC_HARNESS_JOBS or the measured default.
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
    },
    /// Run the signaling relay standalone (any room and peer name is admitted).
    Relay {
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match log_filter(std::env::var_os("RTC_HARNESS_LOG")) {
        Ok(filter) => tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    // Ctrl-C or a kill: no browser, driver or stack program may outlive the run.
    rt.spawn(rtc_harness::peer::procs::kill_all_on_signal());
    // Options are read here, once: the environment, then the command line.
    let mut options = match RunOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    options.kinds_files.extend(cli.kinds_files.iter().cloned());
    if let Command::Bench { camera_fps, warm_up, browser_poll, .. } = &cli.command {
        options.browsers.poll = Some(std::time::Duration::from_millis(*browser_poll));
        options.browsers.camera_fps = Some(*camera_fps);
        println!("Chrome's fake camera runs at {camera_fps} fps");
        options.browsers.warm_up = *warm_up;
    }
    if let Command::Run { repeat, retries, jobs, idle_jobs, out, .. } = &cli.command {
        options.repeat = repeat.unwrap_or(options.repeat).max(1);
        options.jobs = jobs.unwrap_or(options.jobs).max(1);
        options.idle_jobs = idle_jobs.unwrap_or(options.idle_jobs);
        options.retries = retries.unwrap_or(options.retries);
        if let Some(dir) = out.artifacts.clone().or_else(|| out.html.as_ref().map(|h| h.join("artifacts"))) {
            options.artifacts = Some(dir);
        }
    }
    if let Command::AdapterCheck { jobs: Some(jobs), .. } = &cli.command {
        options.jobs = (*jobs).max(1);
    }
    let env = match rt.block_on(async { Env::new(options) }) {
        Ok(env) => env,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(async {
        match cli.command {
            Command::Run { paths, filter, kinds, transcript, out, .. } => run(paths, filter, kinds, transcript, out, &env).await,
            Command::List { kinds: true, .. } => kinds_table(&env).await,
            Command::List { paths, .. } => list(paths, &env),
            Command::Kinds => kinds_table(&env).await,
            Command::Bench { pairs, iterations, runs, json, baseline, profile, dither, .. } => {
                let plan = rtc_harness::bench::cli::Plan { iterations, runs, dither_ms: dither };
                rtc_harness::bench::cli::run(pairs, plan, json, baseline, profile, env.clone()).await
            }
            Command::Profiles => profiles(),
            Command::Check { paths } => check(paths, &env),
            Command::AdapterCheck { kind, .. } => adapter_check(&kind, &env).await,
            Command::Relay { port, host } => relay(&host, port, &env).await,
        }
    });
    rt.block_on(env.shutdown());
    code
}

async fn adapter_check(kind: &str, env: &Env) -> ExitCode {
    use rtc_harness::adapter_check as kit;
    let kind = match scenario::PeerKind::new(kind) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("adapter-check {kind}: hello, then {} items, each against the Rust peer both ways and against itself (stacks/PROTOCOL.md)", kit::BATTERY.len());
    match kit::hello(&kind, env).await {
        Ok(version) => println!("  ok    {:<22} {version}", "hello"),
        Err((why, rules)) => {
            println!("  FAIL  {:<22} {why}", "hello");
            for r in rules {
                println!("          breaks PROTOCOL.md, \"{}\": {}", r.section, r.says);
            }
            return ExitCode::FAILURE;
        }
    }
    let results = match kit::run(&kind, env, None, |r| println!("{}", kit::render(r))).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let failed = results.iter().filter(|r| r.failed()).count();
    let unclaimed = results.iter().filter(|r| r.not_claimed().is_some()).count();
    println!("{kind}: {} of {} items passed, {failed} failed, {unclaimed} not claimed", results.len() - failed - unclaimed, results.len());
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn profiles() -> ExitCode {
    use rtc_harness::scenario::network::{profile, profile_names};
    println!("{:<14} conditions (one-way latency applies to each direction; uplink is what the peer sends)", "profile");
    for name in profile_names() {
        let p = profile(name).expect("listed");
        println!("{name:<14} {}", p.describe());
    }
    ExitCode::SUCCESS
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths
    }
}

/// Loads scenarios, printing load errors; `None` if any failed.
fn load(paths: Vec<PathBuf>, env: &Env) -> Option<Vec<Arc<scenario::Scenario>>> {
    let mut ok = Vec::new();
    let mut failed = false;
    for r in scenario::load_paths(&default_paths(paths), &env.registry.kinds()) {
        match r {
            Ok(s) => ok.push(Arc::new(s)),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    (!failed).then_some(ok)
}

fn check(paths: Vec<PathBuf>, env: &Env) -> ExitCode {
    match load(paths, env) {
        Some(s) => {
            println!("{} scenario(s), {} case(s): ok", s.len(), scenario::expand_all(&s).len());
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

fn list(paths: Vec<PathBuf>, env: &Env) -> ExitCode {
    let Some(scenarios) = load(paths, env) else { return ExitCode::FAILURE };
    for case in scenario::expand_all(&scenarios) {
        let finding = rtc_harness::runner::known_finding(&case, &env.registry).map(|f| f.reason);
        let flakes = rtc_harness::runner::attempts::known_flakes(&case, env);
        match case.excluded.clone().or(finding) {
            Some(why) => println!("{}  (excluded: {why})", case.name()),
            None if !flakes.is_empty() => {
                let known: Vec<String> = flakes.iter().map(|f| format!("\"{}\": {}", f.signature, f.reason)).collect();
                println!("{}  (runs; a failure showing a known intermittent finding is retried: {})", case.name(), known.join("; "))
            }
            None => println!("{}", case.name()),
        }
    }
    ExitCode::SUCCESS
}

async fn relay(host: &str, port: u16, env: &Env) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind((host, port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot bind {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().expect("bound");
    let rooms = Arc::new(rtc_harness::relay::Rooms::new(rtc_harness::clock::Clock::start(), true));
    println!("relay listening on ws://{addr}/ws/<room>/<peer>  (agent page: http://{addr}/agent)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match rtc_harness::relay::serve(listener, rooms, env.registry.pages(), shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(paths: Vec<PathBuf>, filter: Option<String>, kinds: Option<Vec<String>>, show: bool, out: Outputs, env: &Env) -> ExitCode {
    let Some(scenarios) = load(paths, env) else { return ExitCode::FAILURE };
    let selected =
        |c: &Case| filter.as_ref().is_none_or(|f| c.name().contains(f.as_str())) && kinds.as_ref().is_none_or(|ks| c.kinds.iter().all(|k| ks.iter().any(|s| s == k.as_str())));
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let several = env.options.repeat > 1 || env.options.retries > 0;
    let cases: Vec<Case> = scenario::expand_all(&scenarios).into_iter().filter(selected).collect();
    // Which cases will run (not left out), for the estimate of the time left; admission is
    // cheap (each kind's install check runs once).
    let will_run: Vec<bool> = cases.iter().map(|c| rtc_harness::runner::admit(c, env).is_ok()).collect();
    let (jobs, idle_jobs) = (env.options.jobs, env.options.idle_jobs);
    let reporters = std::cell::RefCell::new(reporters(&out, show, several));
    reporters.borrow_mut().begin(&report::Plan { cases: cases.len(), to_run: will_run.iter().filter(|r| **r).count(), jobs, idle_jobs });
    // Up to `jobs` cases run at once (the runner's job permits), and up to `idle_jobs` more
    // while the CPU is idle; `jobs` more may wait for browser slots or a job meanwhile
    // (`RunOptions::in_flight`). Every event goes to every reporter as it happens
    // (never across an await); reports keep the cases' order, whatever order they end in.
    let reporters = &reporters;
    // Started with each class of case spread over the run (runner/order.rs); reported in order.
    let order = rtc_harness::runner::order::start_order(&cases, &env.registry);
    let started_in_order = rtc_harness::runner::order::arrange(cases.into_iter().zip(will_run).collect(), order);
    let mut reports: Vec<(usize, report::CaseReport)> = futures::stream::iter(started_in_order)
        .map(|(i, (case, counted))| async move {
            let mut attempts = Vec::new();
            let began = || reporters.borrow_mut().started(&case);
            rtc_harness::runner::attempts::run(&case, env, began, |run| {
                let attempt = report::Attempt::new(run);
                reporters.borrow_mut().attempt(&case, &attempt);
                attempts.push(attempt);
            })
            .await;
            let r = report::CaseReport::new(case, attempts);
            reporters.borrow_mut().case(&r, counted);
            (i, r)
        })
        .buffer_unordered(env.options.in_flight())
        .collect()
        .await;
    reports.sort_by_key(|(i, _)| *i);
    let reports: Vec<report::CaseReport> = reports.into_iter().map(|(_, r)| r).collect();
    let run = report::Run { cases: &reports, started, took: clock.elapsed() };
    if let Err(e) = reporters.borrow_mut().finish(&run) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if report::Tally::of(reports.iter().map(|r| &r.outcome)).failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The run's reporters, in the order they print: the terminal, then each report `out` asks for.
fn reporters(out: &Outputs, show: bool, several: bool) -> Vec<Box<dyn Reporter>> {
    let mut all: Vec<Box<dyn Reporter>> = vec![Box::new(report::terminal::Terminal::new(show, several))];
    if let Some(path) = &out.matrix {
        all.push(Box::new(report::terminal::Matrix { path: path.clone() }));
    }
    if let Some(path) = &out.junit {
        all.push(Box::new(report::junit::JUnit { path: path.clone() }));
    }
    if let Some(path) = &out.json {
        all.push(Box::new(report::json::Json { path: path.clone() }));
    }
    if let Some(dir) = &out.html {
        all.push(Box::new(report::html::Html { dir: dir.clone() }));
    }
    all
}

/// `rtc-harness kinds`: every kind with its stack, version, install state and capabilities.
async fn kinds_table(env: &Env) -> ExitCode {
    for launcher in env.registry.launchers() {
        let info = launcher.info();
        let state = match launcher.availability() {
            Ok(()) => launcher.version().await.unwrap_or_else(|e| format!("version unknown: {e}")),
            Err(why) => format!("not installed: {why}"),
        };
        let c = &info.capabilities;
        let list = |v: &[scenario::MediaKind]| if v.is_empty() { "-".to_string() } else { v.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("+") };
        // Every flag, as the kinds file spells it: what it can and what it cannot do.
        let flags = serde_json::to_value(c).unwrap_or_default();
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        for (name, value) in flags.as_object().into_iter().flatten() {
            match value.as_bool() {
                Some(true) => yes.push(name.as_str()),
                Some(false) => no.push(name.as_str()),
                None => {}
            }
        }
        println!(
            "{:<15} {}\n{:<15} version: {state}\n{:<15} sends {}, receives {}; codecs {}",
            info.kind,
            info.stack,
            "",
            "",
            list(&c.send),
            list(&c.receive),
            c.codecs.join(", ")
        );
        println!("{:<15} can: {}\n{:<15} cannot: {}", "", yes.join(", "), "", if no.is_empty() { "-".to_string() } else { no.join(", ") });
        for f in &info.findings {
            let what = if f.signature.is_some() { "known intermittent finding" } else { "known finding (excluded)" };
            println!("{:<15} {what} for {}: {}", "", f.pairs.join(", "), f.reason);
        }
    }
    ExitCode::SUCCESS
}

/// The tracing filter when `RTC_HARNESS_LOG` is unset or blank: errors, without the TURN server's
/// per-datagram errors (a retransmitted Allocate is "relay already allocated": normal traffic) and
/// webrtc's RTP-before-track errors (the crate logs every early packet of a new track). webrtc's
/// TCP transport logs every refused connection to a link-local candidate, and its SCTP association
/// every ABORT a remote sends when it closes (aiortc, the browsers): the case records what a peer
/// saw; these lines say nothing more.
const DEFAULT_LOG: &str = "error,turn=off,webrtc::peer_connection::driver=off,webrtc::peer_connection::transport::tcp_transport=off,rtc_sctp::association=off";

/// A `RTC_HARNESS_LOG` that is not a tracing filter.
#[derive(Debug, thiserror::Error)]
enum LogFilterError {
    #[error("RTC_HARNESS_LOG={value:?}: {source} (tracing's filter syntax, e.g. `warn,rtc_harness=debug`)")]
    Invalid { value: String, source: tracing_subscriber::filter::ParseError },
    #[error("RTC_HARNESS_LOG={0:?}: not UTF-8")]
    NotUnicode(std::ffi::OsString),
}

/// The tracing filter from `RTC_HARNESS_LOG`'s value (tracing's filter syntax): every directive
/// must parse; unset or blank is [`DEFAULT_LOG`].
fn log_filter(value: Option<std::ffi::OsString>) -> Result<tracing_subscriber::EnvFilter, LogFilterError> {
    let value = value.map(|v| v.into_string().map_err(LogFilterError::NotUnicode)).transpose()?;
    match value {
        Some(v) if !v.trim().is_empty() => tracing_subscriber::EnvFilter::try_new(&v).map_err(|source| LogFilterError::Invalid { value: v, source }),
        _ => Ok(tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_log_filter_names_the_variable_and_its_value() {
        let e = log_filter(Some("warn,webrtc=loud".into())).expect_err("an unknown level");
        assert!(e.to_string().starts_with("RTC_HARNESS_LOG=\"warn,webrtc=loud\": "), "{e}");
        assert!(log_filter(Some("warn,rtc_harness=debug".into())).is_ok());
        assert!(log_filter(Some("  ".into())).is_ok() && log_filter(None).is_ok(), "blank or unset: the default");
        assert!(tracing_subscriber::EnvFilter::try_new(DEFAULT_LOG).is_ok(), "the default parses strictly");
    }
}
