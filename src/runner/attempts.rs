//! A case's attempts, decided here and nowhere else: `repeat` runs, each failed run retried up
//! to `retries` times, and a failure that shows a known intermittent finding (its signature)
//! retried up to [`KNOWN_FLAKE_RETRIES`] times. Each attempt is handed to the caller as it ends
//! (nextest's runner emits events to its reporters the same way); rendering is the caller's.

use super::{begin, CaseRun, Env, RunError};
use crate::scenario::{Case, Flake};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Reruns of a case whose failure is a known intermittent finding. Its rate is a few percent alone
/// (docs/findings.md gives each one's) and higher on a loaded machine (libdatachannel's DTLS race
/// against str0m: 1 of 11 alone, 3 attempts in a row under a full run's load), so three more runs
/// make a run that fails from a known cause about as likely as four such calls failing in a row.
pub const KNOWN_FLAKE_RETRIES: usize = 3;

/// One attempt as it ended.
#[derive(Debug)]
pub struct AttemptRun {
    pub result: Result<CaseRun, RunError>,
    pub started: SystemTime,
    pub duration: Duration,
    /// Where its failure artifacts were written.
    pub artifacts: Option<PathBuf>,
    /// The known intermittent finding its failure showed.
    pub known_flake: Option<Flake>,
}

impl AttemptRun {
    /// It ran (passed or failed), rather than being left out.
    pub fn ran(&self) -> bool {
        self.result.as_ref().err().is_none_or(|e| !e.left_out())
    }

    pub fn passed(&self) -> bool {
        matches!(&self.result, Ok(run) if run.passed())
    }
}

/// The intermittent findings that apply to `case`: the scenario's own (an `exclude:` entry with a
/// signature) and its kinds' (a kinds-file finding with a signature).
pub fn known_flakes(case: &Case, env: &Env) -> Vec<Flake> {
    let mut flakes = case.flakes.clone();
    for kind in case.distinct_kinds() {
        if let Some(launcher) = env.registry.get(&kind) {
            flakes.extend(launcher.info().findings.iter().filter_map(|f| f.flake(case)));
        }
    }
    flakes
}

/// The text a signature is looked for in: the failed checks, or the error with every peer
/// error the transcript holds (a stack's own message is where a signature usually is).
pub fn failure_text(result: &Result<CaseRun, RunError>) -> Option<String> {
    match result {
        Ok(run) if run.passed() => None,
        Ok(run) => Some(format!("{}\n{}{}", run.verdict, run.transcript.errors().join("\n"), run.logs)),
        Err(RunError::Step { message, transcript, .. }) => Some(format!("{message}\n{}", transcript.errors().join("\n"))),
        Err(RunError::Setup(m)) => Some(m.clone()),
        Err(_) => None,
    }
}

/// Runs `case`'s attempts as the run's options say; `on_begin` sees each attempt begin running
/// (admitted: it holds its browser slots and a job, so a progress display can tell running cases
/// from waiting ones), `on_attempt` sees each as it ends. A failed attempt's artifacts go to
/// `<artifacts>/<case>/attempt-<n>/`.
pub async fn run(case: &Case, env: &Env, on_begin: impl FnMut(), mut on_attempt: impl FnMut(AttemptRun)) {
    run_judged(case, env, on_begin, |attempt| {
        on_attempt(attempt);
        true
    })
    .await
}

/// As [`run`], with the caller judging each attempt as it ends: a passed attempt it refuses
/// (`false`: the test suite's snapshot differs) is retried as a failed one is, within the same
/// `retries`, and is never a known intermittent finding.
pub async fn run_judged(case: &Case, env: &Env, mut on_begin: impl FnMut(), mut on_attempt: impl FnMut(AttemptRun) -> bool) {
    let options = &env.options;
    let slug = case.name().replace("::", "__");
    let flakes = known_flakes(case, env);
    let mut n = 0;
    for _ in 0..options.repeat.max(1) {
        let (mut retries, mut flake_retries) = (options.retries, KNOWN_FLAKE_RETRIES);
        loop {
            n += 1;
            let dir = options.artifacts.as_ref().map(|root| root.join(&slug).join(format!("attempt-{n}")));
            // An attempt's time is its run's, not its wait for browser slots and a job.
            let (result, artifacts, started, duration) = match begin(case, env).await {
                Ok(admitted) => {
                    on_begin();
                    let (began, began_at) = (admitted.began, admitted.began_at);
                    let (result, artifacts) = admitted.run(env, dir).await;
                    (result, artifacts, began_at, began.elapsed())
                }
                Err(e) => (Err(e), None, SystemTime::now(), Duration::ZERO),
            };
            let known_flake = failure_text(&result).and_then(|text| flakes.iter().find(|f| f.matches(&text)).cloned());
            let attempt = AttemptRun { result, started, duration, artifacts, known_flake };
            let (ran, passed, known) = (attempt.ran(), attempt.passed(), attempt.known_flake.is_some());
            let accepted = on_attempt(attempt);
            if !ran {
                return;
            }
            if passed && accepted {
                break;
            }
            if known && flake_retries > 0 {
                flake_retries -= 1;
            } else if retries > 0 {
                retries -= 1;
            } else {
                break;
            }
        }
    }
}
