//! A case's outcome, decided once from its attempts ([`Outcome::of`], [`CaseReport::new`]), with
//! what a failed attempt shows (the failed check or error first, then the transcript lines that
//! matter) and the counts of a run ([`Tally`]).

use crate::runner::attempts::AttemptRun;
use crate::runner::RunErrorKind;
use crate::runner::{CaseRun, RunError};
use crate::scenario::Case;
use crate::stats::median;
use crate::transcript::Transcript;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A failed check of a verdict: its name, the scenario line (0 for a built-in invariant), and the
/// EXPECTED / ACTUAL it reported.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedCheck {
    pub name: String,
    pub line: u64,
    pub expected: String,
    pub actual: String,
    pub excerpt: Vec<String>,
}

/// Why a case that ran did not pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// It ran to a verdict, and these checks failed.
    Checks(Vec<FailedCheck>),
    /// It stopped before a verdict: a step failed or a wait ran out (`at` is `file:line: peer:
    /// step`), or the relay or a peer could not be set up (`at` is `setup`).
    Error { at: String, message: String },
}

impl Failure {
    /// One line: the first failed check with EXPECTED / ACTUAL, or where it errored and why.
    pub fn summary(&self) -> String {
        match self {
            Failure::Checks(checks) => match checks.first() {
                Some(c) => format!("check failed: {}: EXPECTED {} ACTUAL {}", c.name, c.expected, c.actual),
                None => "failed".into(),
            },
            Failure::Error { at, message } => format!("{at}: {}", message.lines().next().unwrap_or("")),
        }
    }
}

impl std::fmt::Display for Failure {
    /// Every failed check with EXPECTED / ACTUAL, or the whole error.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Checks(checks) => {
                for c in checks {
                    writeln!(f, "check failed: {}\nEXPECTED: {}\nACTUAL:   {}", c.name, c.expected, c.actual)?;
                }
                Ok(())
            }
            Failure::Error { at, message } => write!(f, "{at}: {message}"),
        }
    }
}

/// What became of a case. Every consumer (CLI lines, summary, matrix, test harness, JSON, JUnit,
/// HTML, bench) renders this.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(Failure),
    /// Failed at least once and passed at least once (a retry passed, or some repeats failed).
    /// `known`: every failure was a known intermittent finding (its reason); such a case does
    /// not fail a test run either.
    Flaky {
        failure: Failure,
        passed: usize,
        runs: usize,
        known: Option<String>,
    },
    /// A peer's stack is not installed here.
    Skipped(String),
    /// A peer kind lacks a capability the scenario needs.
    Ignored(String),
    /// The scenario excludes the pair, with its cause.
    Excluded(String),
}

impl Outcome {
    /// The outcome of one attempt.
    pub fn of(result: &Result<CaseRun, RunError>) -> Outcome {
        match result {
            Ok(run) if run.passed() => Outcome::Passed,
            Ok(run) => Outcome::Failed(Failure::Checks(
                run.verdict
                    .failures()
                    .filter_map(|c| c.outcome.as_ref().err().map(|m| (c, m)))
                    .map(|(c, m)| FailedCheck { name: c.name.clone(), line: c.line, expected: m.expected.clone(), actual: m.actual.clone(), excerpt: m.excerpt.clone() })
                    .collect(),
            )),
            Err(e) => match e.kind() {
                RunErrorKind::Unavailable(why) => Outcome::Skipped(why.to_string()),
                RunErrorKind::Unsupported(why) => Outcome::Ignored(why.to_string()),
                RunErrorKind::Excluded(why) => Outcome::Excluded(why.to_string()),
                RunErrorKind::Failed { at, message } => Outcome::Failed(Failure::Error { at, message: message.to_string() }),
            },
        }
    }

    /// The outcome of a case from its attempts, in order: a case left out by its first attempt is
    /// left out; all passed is passed; none passed is the first failure; a mix is flaky.
    pub fn of_attempts(attempts: &[Outcome]) -> Outcome {
        Outcome::of_attempts_known(attempts, &[])
    }

    /// [`Outcome::of_attempts`], where `known[i]` is the known intermittent finding attempt `i`'s
    /// failure showed: a flaky case all of whose failures were known says which.
    pub fn of_attempts_known(attempts: &[Outcome], known: &[Option<String>]) -> Outcome {
        let Some(first) = attempts.first() else { return Outcome::Skipped("no attempt was made".into()) };
        if !first.ran() {
            return first.clone();
        }
        let runs = attempts.iter().filter(|o| o.ran()).count();
        let passed = attempts.iter().filter(|o| **o == Outcome::Passed).count();
        let failure = attempts.iter().find_map(|o| match o {
            Outcome::Failed(f) => Some(f.clone()),
            _ => None,
        });
        match failure {
            None => Outcome::Passed,
            Some(failure) if passed == 0 => Outcome::Failed(failure),
            Some(failure) => {
                let failed = attempts.iter().enumerate().filter(|(_, o)| matches!(o, Outcome::Failed(_)));
                let reasons: Option<Vec<&String>> = failed.map(|(i, _)| known.get(i).and_then(|k| k.as_ref())).collect();
                Outcome::Flaky { failure, passed, runs, known: reasons.and_then(|r| r.first().map(|s| s.to_string())) }
            }
        }
    }

    /// Whether the case ran (passed, failed or flaky) rather than being left out.
    pub fn ran(&self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Failed(_) | Outcome::Flaky { .. })
    }

    /// Whether the run as a whole fails because of this case (flaky cases do not fail a run; they
    /// are reported as flaky everywhere).
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// The reason a case that did not run was left out.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Skipped(r) | Outcome::Ignored(r) | Outcome::Excluded(r) => Some(r),
            _ => None,
        }
    }

    /// The failure of a failed or flaky case.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Failed(f) | Outcome::Flaky { failure: f, .. } => Some(f),
            _ => None,
        }
    }

    /// `PASS`, `FAIL`, `FLAKY`, `SKIP`, `IGNORED`, `EXCLUDED`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Failed(_) => "FAIL",
            Outcome::Flaky { .. } => "FLAKY",
            Outcome::Skipped(_) => "SKIP",
            Outcome::Ignored(_) => "IGNORED",
            Outcome::Excluded(_) => "EXCLUDED",
        }
    }

    /// `passed`, `failed`, `flaky`, `skipped`, `ignored`, `excluded` (the JSON `outcome`).
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed(_) => "failed",
            Outcome::Flaky { .. } => "flaky",
            Outcome::Skipped(_) => "skipped",
            Outcome::Ignored(_) => "ignored",
            Outcome::Excluded(_) => "excluded",
        }
    }
}

/// One attempt at a case: its outcome, when and how long, and what it recorded.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    pub started: SystemTime,
    pub duration: Duration,
    /// Time to connected / first frame when it ran to a verdict.
    pub timings: Option<crate::runner::Timings>,
    /// Every check's name and whether it passed (empty unless it ran to a verdict).
    pub checks: Vec<(String, bool)>,
    /// The full terminal text of a failure (EXPECTED / ACTUAL, or the error and last events).
    pub details: Option<String>,
    /// What was recorded until the end (or until the failing step).
    pub transcript: Option<Transcript>,
    /// Where this attempt's failure artifacts were written.
    pub artifacts: Option<PathBuf>,
    /// The known intermittent finding its failure showed (its reason).
    pub known_flake: Option<String>,
}

impl Attempt {
    /// An attempt as the runner reports it.
    pub fn new(run: AttemptRun) -> Attempt {
        let AttemptRun { result, started, duration, artifacts, known_flake } = run;
        let outcome = Outcome::of(&result);
        let details = failure_details(&result).map(|d| match &known_flake {
            Some(f) => format!("a known intermittent finding (retried): {}\n{d}", f.reason),
            None => d,
        });
        let (timings, checks, transcript) = match result {
            Ok(run) => (Some(run.timings), run.verdict.summary(), Some(run.transcript)),
            Err(RunError::Step { transcript, .. }) => (None, Vec::new(), Some(*transcript)),
            Err(_) => (None, Vec::new(), None),
        };
        Attempt { outcome, started, duration, timings, checks, details, transcript, artifacts, known_flake: known_flake.map(|f| f.reason) }
    }
}

/// Everything the reporters need of one case.
#[derive(Debug)]
pub struct CaseReport {
    pub case: Case,
    pub outcome: Outcome,
    pub attempts: Vec<Attempt>,
}

impl CaseReport {
    pub fn new(case: Case, attempts: Vec<Attempt>) -> CaseReport {
        let outcomes: Vec<Outcome> = attempts.iter().map(|a| a.outcome.clone()).collect();
        let known: Vec<Option<String>> = attempts.iter().map(|a| a.known_flake.clone()).collect();
        CaseReport { case, outcome: Outcome::of_attempts_known(&outcomes, &known), attempts }
    }

    /// `negotiation` for `negotiation::basic::rust-chrome` (the scenario's directory).
    pub fn area(&self) -> &str {
        self.case.scenario.id.split("::").next().unwrap_or("")
    }

    /// The attempt to show: the first failing one, else the last.
    pub fn shown(&self) -> Option<&Attempt> {
        self.attempts.iter().find(|a| matches!(a.outcome, Outcome::Failed(_))).or(self.attempts.last())
    }

    /// `(passed, ran)` over the attempts.
    pub fn pass_rate(&self) -> (usize, usize) {
        let ran = self.attempts.iter().filter(|a| a.outcome.ran()).count();
        (self.attempts.iter().filter(|a| a.outcome == Outcome::Passed).count(), ran)
    }

    pub fn duration(&self) -> Duration {
        self.attempts.iter().map(|a| a.duration).sum()
    }

    /// Median time to connected and to first frame over the passed attempts.
    pub fn median_timings(&self) -> (Option<f64>, Option<f64>) {
        let passed = self.attempts.iter().filter(|a| a.outcome == Outcome::Passed).filter_map(|a| a.timings.as_ref());
        let (c, f): (Vec<_>, Vec<_>) = passed.map(|t| (t.to_connected, t.to_first_frame)).unzip();
        (median(&c.into_iter().flatten().collect::<Vec<_>>()), median(&f.into_iter().flatten().collect::<Vec<_>>()))
    }

    /// `(peer, kind, stack, version)` per peer, from the `hello` each peer gave.
    pub fn peers(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        let transcript = self.attempts.iter().rev().find_map(|a| a.transcript.as_ref());
        self.case
            .scenario
            .peers
            .iter()
            .zip(&self.case.kinds)
            .map(|(p, k)| {
                let hello = transcript.and_then(|t| t.hello(&p.name));
                (p.name.clone(), k.to_string(), hello.map(|h| h.0.to_string()), hello.map(|h| h.1.to_string()))
            })
            .collect()
    }
}

/// Counts of outcomes: `12 passed, 0 failed, 1 flaky, 3 skipped, 5 ignored, 2 excluded`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub flaky: usize,
    pub skipped: usize,
    pub ignored: usize,
    pub excluded: usize,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Flaky { .. } => self.flaky += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Ignored(_) => self.ignored += 1,
            Outcome::Excluded(_) => self.excluded += 1,
        }
    }

    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Tally {
        let mut t = Tally::default();
        outcomes.into_iter().for_each(|o| t.add(o));
        t
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.flaky + self.skipped + self.ignored + self.excluded
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed, {} flaky, {} skipped, {} ignored, {} excluded", self.passed, self.failed, self.flaky, self.skipped, self.ignored, self.excluded)
    }
}

/// The details printed under a failed attempt: the verdict's EXPECTED / ACTUAL blocks, or the
/// error with each peer's last events (progress runs collapsed); `None` unless it failed.
pub fn failure_details(result: &Result<CaseRun, RunError>) -> Option<String> {
    if !Outcome::of(result).is_failure() {
        return None;
    }
    match result {
        Ok(run) => Some(format!("{}{}", run.verdict, run.logs)),
        Err(RunError::Step { message, transcript, .. }) => Some(format!("{message}\nlast events of each peer:\n{}\n", transcript.tail_by_peer(15))),
        Err(e) => Some(format!("{e}\n")),
    }
}
