//! The `rtc-harness` command line: run, list and check scenarios; run the relay standalone.

use clap::{Parser, Subcommand};
use rtc_harness::report;
use rtc_harness::runner::{self, Env, RunError};
use rtc_harness::scenario::{self, Case};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "rtc-harness", version, about = "WebRTC interop and conformance test harness")]
struct Cli {
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
        /// Peer kinds to run (default: rust, plus every installed browser).
        #[arg(long, value_delimiter = ',')]
        kinds: Option<Vec<String>>,
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
    /// List the cases of the scenarios.
    List { paths: Vec<PathBuf> },
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
    // Ctrl-C or a kill: no browser or driver may outlive the run.
    rt.spawn(rtc_harness::peer::browser::kill_all_on_signal());
    let code = rt.block_on(async {
        match cli.command {
            Command::Run { paths, filter, kinds, repeat, transcript } => run(paths, filter, kinds, repeat, transcript).await,
            Command::List { paths } => list(paths),
            Command::Bench { pairs, iterations, json, baseline, camera_fps } => {
                if let Some(fps) = camera_fps {
                    rtc_harness::peer::browser::set_fake_camera_fps(fps);
                    println!("Chrome's fake camera runs at {fps} fps");
                }
                rtc_harness::bench::cli::run(pairs, iterations, json, baseline, env()).await
            }
            Command::Check { paths } => check(paths),
            Command::Relay { port, host } => relay(&host, port).await,
        }
    });
    rt.block_on(runner::shutdown_env(&env()));
    code
}

/// Browsers are driven when their binaries are installed.
fn env() -> Env {
    runner::default_env()
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() { vec![PathBuf::from("scenarios")] } else { paths }
}

/// Loads scenarios, printing load errors; `None` if any failed.
fn load(paths: Vec<PathBuf>) -> Option<Vec<Arc<scenario::Scenario>>> {
    let mut ok = Vec::new();
    let mut failed = false;
    for r in scenario::load_paths(&default_paths(paths)) {
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

fn check(paths: Vec<PathBuf>) -> ExitCode {
    match load(paths) {
        Some(s) => {
            println!("{} scenario(s), {} case(s): ok", s.len(), scenario::expand_all(&s).len());
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

fn list(paths: Vec<PathBuf>) -> ExitCode {
    let Some(scenarios) = load(paths) else { return ExitCode::FAILURE };
    for case in scenario::expand_all(&scenarios) {
        match &case.excluded {
            Some(why) => println!("{}  (excluded: {why})", case.name()),
            None => println!("{}", case.name()),
        }
    }
    ExitCode::SUCCESS
}

async fn relay(host: &str, port: u16) -> ExitCode {
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
    match rtc_harness::relay::serve(listener, rooms, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(paths: Vec<PathBuf>, filter: Option<String>, kinds: Option<Vec<String>>, repeat: usize, show: bool) -> ExitCode {
    let Some(scenarios) = load(paths) else { return ExitCode::FAILURE };
    let env = env();
    let selected = |c: &Case| {
        filter.as_ref().is_none_or(|f| c.name().contains(f.as_str()))
            && kinds.as_ref().is_none_or(|ks| c.kinds.iter().all(|k| ks.iter().any(|s| s == k.as_str())))
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for case in scenario::expand_all(&scenarios).into_iter().filter(selected) {
        let mut ttff = Vec::new();
        let mut conn = Vec::new();
        for _ in 0..repeat.max(1) {
            let result = runner::run_case(&case, &env).await;
            println!("{}", report::case_line(&case.name(), &result));
            if let (true, Ok(r)) = (show, &result) {
                println!("{}", r.transcript.tail(usize::MAX));
            }
            if let Some(details) = report::failure_details(&result) {
                println!("{details}");
            }
            match &result {
                Ok(r) if r.passed() => {
                    passed += 1;
                    ttff.extend(r.timings.to_first_frame);
                    conn.extend(r.timings.to_connected);
                }
                Err(RunError::Unavailable(_)) | Err(RunError::Excluded(_)) => {
                    skipped += 1;
                    break;
                }
                _ => failed += 1,
            }
        }
        if repeat > 1 && !conn.is_empty() {
            let ms = |v: Option<f64>| v.map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "-".into());
            println!("     median of {}: connected {}  first frame {}", conn.len(), ms(report::median(&conn)), ms(report::median(&ttff)));
        }
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
