//! `rtc-harness bench`: measure every pair, print the table, write and compare JSON.

use super::floor::Signaling;
use super::table::{regressed, render, BenchReport, PairResult};
use super::{default_pairs, dither_delays, measure, parse_pair, Phases};
use crate::peer::FloorRun;
use crate::runner::Env;
use crate::runner::RunError;
use crate::scenario::PeerKind;
use crate::stats::median;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
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
    let baseline = match baseline
        .map(|p| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display())).and_then(|t| serde_json::from_str::<BenchReport>(&t).map_err(|e| e.to_string())))
    {
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
    let regressions = baseline
        .map(|b| report.pairs.iter().filter(|p| p.skipped.is_none()).filter(|p| b.pairs.iter().any(|q| q.pair == p.pair && q.skipped.is_none() && regressed(p, q))).count());
    if failed || regressions.unwrap_or(0) > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One pair's iterations so far.
struct PairRuns {
    pair: (PeerKind, PeerKind),
    name: String,
    samples: Vec<Phases>,
    delays: Vec<f64>,
    skipped: Option<String>,
    /// The same call with frame markers, side by side (`None` skip reason while it runs).
    marked: Vec<Phases>,
    unmarked: Option<String>,
}

/// One run of the bench, interleaved: iteration i measures each receiver's floor once, then every
/// pair once, all with the same offer delay. The machine's drift over a run (2 shared cores, a
/// neighbour's load) then moves floor and pair alike instead of landing on whichever was measured
/// later.
async fn measure_all(
    pairs: &[(PeerKind, PeerKind)],
    plan: &Plan,
    network: Option<&crate::scenario::network::Path>,
    profile: Option<String>,
    env: &Env,
    bar: &ProgressBar,
) -> (BenchReport, bool) {
    let mut report = BenchReport { iterations: plan.iterations, profile, dither_ms: plan.dither_ms, ..BenchReport::default() };
    let mut failed = false;
    let mut receivers: Vec<PeerKind> = pairs.iter().map(|p| p.1.clone()).collect();
    receivers.sort();
    receivers.dedup();
    let mut floors: BTreeMap<String, Vec<FloorRun>> = BTreeMap::new();
    // Kinds whose floor through the relay is missing or failed: not asked again this run.
    let mut no_relay_floor: Vec<PeerKind> = Vec::new();
    let mut runs: Vec<PairRuns> = pairs
        .iter()
        .map(|p| PairRuns { pair: p.clone(), name: format!("{}-{}", p.0, p.1), samples: Vec::new(), delays: Vec::new(), skipped: None, marked: Vec::new(), unmarked: None })
        .collect();
    for delay in dither_delays(plan.iterations, plan.dither_ms) {
        // A kind without a floor, or whose floor failed, is dropped from the rest of the run.
        let mut still: Vec<PeerKind> = Vec::new();
        for kind in receivers {
            if !measure_floor(&kind, Signaling::Direct, delay, env, bar, &mut floors).await {
                continue;
            }
            if !no_relay_floor.contains(&kind) && !measure_floor(&kind, Signaling::Relay, delay, env, bar, &mut floors).await {
                no_relay_floor.push(kind.clone());
            }
            still.push(kind);
        }
        receivers = still;
        for r in runs.iter_mut() {
            bar.inc(1);
            if r.skipped.is_some() {
                continue;
            }
            bar.set_message(r.name.clone());
            // The marked call beside the plain one, in alternating order so that neither is
            // always the second of the two.
            let order = if r.samples.len() % 2 == 0 { [false, true] } else { [true, false] };
            for marked in order {
                if marked && r.unmarked.is_some() {
                    continue;
                }
                match measure(&r.pair, env, network, delay, marked).await {
                    Ok(p) if marked => r.marked.push(p),
                    Ok(p) => {
                        r.samples.push(p);
                        r.delays.push(delay);
                    }
                    Err(RunError::Unavailable(why) | RunError::Unsupported(why) | RunError::Excluded(why)) if marked => r.unmarked = Some(why),
                    Err(RunError::Unavailable(why) | RunError::Unsupported(why) | RunError::Excluded(why)) => r.skipped = Some(why),
                    Err(e) => {
                        bar.println(format!("{}{}: {e}", r.name, if marked { " (marked)" } else { "" }));
                        failed = true;
                    }
                }
                if r.skipped.is_some() {
                    break;
                }
            }
        }
    }
    for (key, floor_runs) in floors {
        summarize_floor(&key, floor_runs, &mut report);
    }
    for r in runs {
        let floor = report.floors.get(r.pair.1.as_str()).copied();
        let floor_phases = report.floor_phases.get(r.pair.1.as_str()).cloned();
        report.pairs.push(match (r.skipped, r.samples.is_empty()) {
            (Some(why), _) => PairResult::skipped(&r.name, &why),
            (None, true) => PairResult::skipped(&r.name, "every iteration failed"),
            (None, false) => {
                let mut result = PairResult { delays: r.delays, ..PairResult::from_samples(&r.name, &r.samples, floor, floor_phases.as_ref()) };
                result.marked = super::results::Marked::of(&r.marked, result.median, r.unmarked);
                result
            }
        });
    }
    (report, failed)
}

/// One floor run of `kind` with this offer delay, added to `floors` under its key; false when the
/// kind has no such floor or it failed (said on the progress bar).
async fn measure_floor(kind: &PeerKind, signaling: Signaling, delay: f64, env: &Env, bar: &ProgressBar, floors: &mut BTreeMap<String, Vec<FloorRun>>) -> bool {
    let key = signaling.key(kind);
    bar.set_message(format!("floor-{key}"));
    match super::floor::measure(kind, &[delay], signaling, env).await {
        Some(Ok(mut r)) => {
            floors.entry(key).or_default().append(&mut r);
            true
        }
        None => false,
        Some(Err(why)) => {
            bar.println(format!("floor-{key}: not measured: {why}"));
            false
        }
    }
}

/// A floor's median first frame, its phase medians (where the floor reports them) and its runs,
/// under `key` (`chrome`, `chrome+relay`).
fn summarize_floor(key: &str, runs: Vec<FloorRun>, report: &mut BenchReport) {
    let first: Vec<f64> = runs.iter().map(|r| r.first_frame).collect();
    let Some(median_first) = median(&first) else { return };
    report.floors.insert(key.to_string(), median_first);
    let complete: Vec<Phases> = runs.iter().filter_map(super::floor::phases).collect();
    if !complete.is_empty() {
        report.floor_phases.insert(key.to_string(), PairResult::from_samples(key, &complete, None, None).phases);
    }
    report.floor_runs.insert(key.to_string(), runs);
}
