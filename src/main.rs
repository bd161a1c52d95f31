//! The `rtc-harness` command line: run, list and check scenarios; run the relay standalone.

use clap::{Parser, Subcommand};
use rtc_harness::report;
use rtc_harness::runner::{self, Env, RunOptions};
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
        /// Write the matrix of outcomes (pair x scenario) as a Markdown table to this file.
        #[arg(long)]
        matrix: Option<PathBuf>,
        /// Run each case this many times (timings are reported as medians).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Print every case's full transcript.
        #[arg(long)]
        transcript: bool,
    },
    /// Time to first frame per peer pair, against each browser's floor.
    Bench {
        /// Pairs as offerer-receiver (default: every pair whose peers are installed).
        #[arg(long, value_delimiter = ',')]
        pairs: Option<Vec<String>>,
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// Write the results as JSON (a later run's --baseline).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Compare with an earlier --json: a median more than 10% and 5 ms slower is a regression
        /// (exit code 1).
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Run Chrome's fake camera at this frame rate (default: Chrome's 20 fps, whose 50 ms
        /// capture tick quantizes a Chrome sender's TTFF; Firefox's camera is not changed).
        #[arg(long)]
        camera_fps: Option<u32>,
    },
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
    /// Run the signaling relay standalone (any room and peer name is admitted).
    Relay {
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("RTC_HARNESS_LOG")).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    // Ctrl-C or a kill: no browser, driver or stack program may outlive the run.
    rt.spawn(rtc_harness::peer::procs::kill_all_on_signal());
    // Options are read here, once: the environment, then the command line.
    let mut options = RunOptions::from_env();
    options.kinds_files.extend(cli.kinds_files.iter().cloned());
    if let Command::Bench { camera_fps: Some(fps), .. } = &cli.command {
        options.browsers.camera_fps = Some(*fps);
        println!("Chrome's fake camera runs at {fps} fps");
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
            Command::Run { paths, filter, kinds, repeat, transcript, matrix } => run(paths, filter, kinds, repeat, transcript, matrix, &env).await,
            Command::List { kinds: true, .. } => kinds_table(&env).await,
            Command::List { paths, .. } => list(paths, &env),
            Command::Kinds => kinds_table(&env).await,
            Command::Bench { pairs, iterations, json, baseline, .. } => rtc_harness::bench::cli::run(pairs, iterations, json, baseline, env.clone()).await,
            Command::Check { paths } => check(paths, &env),
            Command::Relay { port, host } => relay(&host, port, &env).await,
        }
    });
    rt.block_on(env.shutdown());
    code
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() { vec![PathBuf::from("scenarios")] } else { paths }
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
        match &case.excluded {
            Some(why) => println!("{}  (excluded: {why})", case.name()),
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

async fn run(paths: Vec<PathBuf>, filter: Option<String>, kinds: Option<Vec<String>>, repeat: usize, show: bool, matrix: Option<PathBuf>, env: &Env) -> ExitCode {
    let Some(scenarios) = load(paths, env) else { return ExitCode::FAILURE };
    let selected = |c: &Case| {
        filter.as_ref().is_none_or(|f| c.name().contains(f.as_str()))
            && kinds.as_ref().is_none_or(|ks| c.kinds.iter().all(|k| ks.iter().any(|s| s == k.as_str())))
    };
    let mut tally = report::Tally::default();
    let mut cells: Vec<(Case, report::Outcome)> = Vec::new();
    for case in scenario::expand_all(&scenarios).into_iter().filter(selected) {
        let mut ttff = Vec::new();
        let mut conn = Vec::new();
        let mut last = None;
        for _ in 0..repeat.max(1) {
            let result = runner::run_case(&case, env).await;
            let outcome = report::Outcome::of(&result);
            println!("{}", report::case_line(&case.name(), &result));
            if let (true, Ok(r)) = (show, &result) {
                println!("{}\n{}", r.transcript.tail(usize::MAX), r.transcript.relay_lines());
            }
            if let Some(details) = report::failure_details(&result) {
                println!("{details}");
            }
            tally.add(&outcome);
            if let Ok(r) = &result {
                if r.passed() {
                    ttff.extend(r.timings.to_first_frame);
                    conn.extend(r.timings.to_connected);
                }
            }
            let stop = !outcome.ran();
            last = Some(outcome);
            if stop {
                break;
            }
        }
        if repeat > 1 && !conn.is_empty() {
            let ms = |v: Option<f64>| v.map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "-".into());
            println!("     median of {}: connected {}  first frame {}", conn.len(), ms(report::median(&conn)), ms(report::median(&ttff)));
        }
        if let Some(o) = last {
            cells.push((case, o));
        }
    }
    println!("\n{tally}");
    if let Some(path) = matrix {
        if let Err(e) = std::fs::write(&path, report::matrix_markdown(&cells)) {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("matrix written to {}", path.display());
    }
    if tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
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
        let flags: Vec<&str> = [(c.data_channels, "datachannels"), (c.trickle, "trickle"), (c.restart_ice, "restartIce"), (c.renegotiation, "renegotiation")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        println!("{:<15} {}\n{:<15} version: {state}\n{:<15} sends {}, receives {}; {}; codecs {}", info.kind, info.stack, "", "", list(&c.send), list(&c.receive), flags.join(", "), c.codecs.join(", "));
    }
    ExitCode::SUCCESS
}
