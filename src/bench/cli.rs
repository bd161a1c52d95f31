//! `rtc-harness bench`: measure every pair, print the table, write and compare JSON.

use super::table::{regressed, render, BenchReport, PairResult};
use super::{default_pairs, dither, measure, parse_pair, Phases};
use crate::scenario::PeerKind;
use crate::report::{median, Outcome};
use crate::runner::Env;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// How much to measure: `iterations` calls per pair and floor, the whole measurement `runs`
/// times, each iteration's offer `dither(i, dither_ms)` after capture starts.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub iterations: usize,
    pub runs: usize,
    pub dither_ms: f64,
}

impl Plan {
    /// The pause before each iteration's offer.
    fn delays(&self) -> Vec<f64> {
        (0..self.iterations).map(|i| dither(i, self.dither_ms)).collect()
    }
}

/// Runs the bench; exit code 1 on a regression against `baseline` or a failed pair.
/// `runs` > 1 repeats the whole measurement and prints how far the runs agree (see
/// `table::agreement`).
pub async fn run(pairs: Option<Vec<String>>, plan: Plan, json: Option<PathBuf>, baseline: Option<PathBuf>, profile: Option<String>, env: Env) -> ExitCode {
    let network = match profile.as_deref().map(|p| crate::scenario::network::profile(p).ok_or(p)) {
        None => None,
        Some(Ok(path)) => Some(path),
        Some(Err(bad)) => {
            eprintln!("error: unknown network profile '{bad}' (profiles: {})", crate::scenario::network::profile_names().join(", "));
            return ExitCode::FAILURE;
        }
    };
    let pairs: Vec<(PeerKind, PeerKind)> = match pairs {
        None => default_pairs(&env),
        Some(list) => match list.iter().map(|p| parse_pair(p, &env).ok_or(p)).collect::<Result<Vec<_>, _>>() {
            Ok(v) => v,
            Err(bad) => {
                eprintln!("error: '{bad}' is not a pair like rust-chrome (kinds: {})", env.registry.names());
                return ExitCode::FAILURE;
            }
        },
    };
    let baseline = match baseline.map(|p| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display())).and_then(|t| serde_json::from_str::<BenchReport>(&t).map_err(|e| e.to_string()))) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            eprintln!("error: baseline: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = Plan { iterations: plan.iterations.max(1), runs: plan.runs.max(1), dither_ms: plan.dither_ms.max(0.0) };
    let runs = plan.runs;
    let bar = ProgressBar::new((pairs.len() * plan.iterations * runs) as u64);
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("template"));
    let mut reports = Vec::new();
    let mut failed = false;
    for _ in 0..runs {
        let (report, run_failed) = measure_all(&pairs, &plan, network.as_ref(), profile.clone(), &env, &bar).await;
        failed |= run_failed;
        reports.push(report);
    }
    bar.finish_and_clear();
    for (i, report) in reports.iter().enumerate() {
        if runs > 1 {
            println!("run {} of {runs}:", i + 1);
        }
        println!("{}", render(report, baseline.as_ref()));
    }
    if runs > 1 {
        println!("{}", super::table::agreement(&reports));
    }
    let report = reports.pop().expect("at least one run");
    if let Some(path) = json {
        if let Err(e) = std::fs::write(&path, serde_json::to_string_pretty(&report).expect("serializable")) {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let regressions = baseline.map(|b| {
        report.pairs.iter().filter(|p| p.skipped.is_none()).filter(|p| b.pairs.iter().any(|q| q.pair == p.pair && q.skipped.is_none() && regressed(p, q))).count()
    });
    if failed || regressions.unwrap_or(0) > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// One run of the bench: every receiver's floor, then every pair `iterations` times.
async fn measure_all(
    pairs: &[(PeerKind, PeerKind)],
    plan: &Plan,
    network: Option<&crate::scenario::network::Path>,
    profile: Option<String>,
    env: &Env,
    bar: &ProgressBar,
) -> (BenchReport, bool) {
    let delays = plan.delays();
    let mut report = BenchReport { iterations: plan.iterations, profile, dither_ms: plan.dither_ms, ..BenchReport::default() };
    let mut failed = false;
    measure_floors(pairs, &delays, env, bar, &mut report).await;
    for pair in pairs.iter().cloned() {
        let name = format!("{}-{}", pair.0, pair.1);
        let mut samples: Vec<Phases> = Vec::new();
        let mut sample_delays: Vec<f64> = Vec::new();
        let mut skipped = None;
        for &delay in &delays {
            bar.set_message(name.clone());
            match measure(&pair, env, network, delay).await {
                Ok(p) => {
                    samples.push(p);
                    sample_delays.push(delay);
                }
                Err(e) => match Outcome::of(&Err(e)) {
                    left_out if !left_out.ran() => {
                        skipped = left_out.reason().map(str::to_string);
                        break;
                    }
                    failed_run => {
                        bar.println(format!("{name}: {}", failed_run.failure().map(|f| f.to_string()).unwrap_or_default()));
                        failed = true;
                    }
                },
            }
            bar.inc(1);
        }
        let floor = report.floors.get(pair.1.as_str()).copied();
        let floor_phases = report.floor_phases.get(pair.1.as_str()).cloned();
        report.pairs.push(match (skipped, samples.is_empty()) {
            (Some(why), _) => PairResult::skipped(&name, &why),
            (None, true) => PairResult::skipped(&name, "every iteration failed"),
            (None, false) => PairResult { delays: sample_delays, ..PairResult::from_samples(&name, &samples, floor, floor_phases.as_ref()) },
        });
    }
    (report, failed)
}

/// Each receiver's floor (median first frame, and its phases where the floor reports them).
async fn measure_floors(pairs: &[(PeerKind, PeerKind)], delays: &[f64], env: &Env, bar: &ProgressBar, report: &mut BenchReport) {
    let mut receivers: Vec<PeerKind> = pairs.iter().map(|p| p.1.clone()).collect();
    receivers.sort();
    receivers.dedup();
    for kind in receivers {
        bar.set_message(format!("floor-{kind}"));
        match super::floor::measure(&kind, delays, env).await {
            None => {}
            Some(Ok(runs)) => {
                let first: Vec<f64> = runs.iter().map(|r| r.first_frame).collect();
                report.floors.insert(kind.to_string(), median(&first).unwrap_or(f64::NAN));
                report.floor_runs.insert(kind.to_string(), runs.clone());
                let phase = |f: fn(&crate::peer::FloorRun) -> Option<f64>| median(&runs.iter().filter_map(f).collect::<Vec<_>>());
                if let (Some(a), Some(i), Some(d)) = (phase(|r| r.answer_applied), phase(|r| r.ice_connected), phase(|r| r.dtls_connected)) {
                    report.floor_phases.insert(
                        kind.to_string(),
                        Phases {
                            answer_applied: a,
                            ice_connected: i,
                            dtls_connected: d,
                            first_frame: median(&first).unwrap_or(f64::NAN),
                            offer_set: phase(|r| r.offer_set),
                            offer_applied: phase(|r| r.offer_applied),
                            answer_set: phase(|r| r.answer_set),
                        },
                    );
                }
            }
            Some(Err(why)) => bar.println(format!("floor-{kind}: not measured: {why}")),
        }
    }
}
