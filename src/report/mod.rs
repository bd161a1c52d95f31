//! A case's outcome, decided once from its attempts ([`Outcome::of`], [`CaseReport::new`]), and
//! every rendering of it, each a [`Reporter`]: terminal lines and the Markdown matrix
//! ([`terminal`]), JSON ([`json`]), JUnit XML ([`junit`]) and the HTML report ([`html`]). No
//! renderer sorts a `RunError` into pass/skip/fail itself, and nothing here runs a case: the
//! runner's attempts (`runner::attempts`) are handed in, and the caller's loop hands every
//! reporter the run's events in order (nextest's runner/reporter split).

pub mod html;
pub mod json;
pub mod junit;
mod outcome;
pub mod progress;
pub mod terminal;

pub use outcome::{failure_details, Attempt, CaseReport, FailedCheck, Failure, Outcome, Tally};

use crate::scenario::Case;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a run is about to do: how many cases, how many of them admission expects to run (the
/// rest are left out), and how many run at once.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub cases: usize,
    pub to_run: usize,
    pub jobs: usize,
    /// Cases that may run beyond `jobs` while the CPU is idle.
    pub idle_jobs: usize,
}

/// The run as it ended: every case's report in the cases' order, when it started, how long it took.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    pub cases: &'a [CaseReport],
    pub started: SystemTime,
    pub took: Duration,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Its file or folder could not be written.
    #[error("{}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Junit(#[from] quick_junit::SerializeError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// One rendering of a run. Events come in order: [`Reporter::begin`], then per case
/// [`Reporter::started`] as each attempt begins running and [`Reporter::attempt`] as it ends,
/// then [`Reporter::case`] (cases run at once interleave), then [`Reporter::finish`]. A case left
/// out never starts. A reporter only reads what it is handed.
pub trait Reporter {
    /// The run is about to start its cases.
    fn begin(&mut self, _plan: &Plan) {}
    /// An attempt at `case` began running: it holds its browser slots and a job (the time before
    /// was spent waiting for them). Once per attempt.
    fn started(&mut self, _case: &Case) {}
    /// One attempt at `case` ended.
    fn attempt(&mut self, _case: &Case, _attempt: &Attempt) {}
    /// A case ended with its outcome; `expected_to_run` when admission expected it to run.
    fn case(&mut self, _report: &CaseReport, _expected_to_run: bool) {}
    /// The run ended: write what is written at the end.
    fn finish(&mut self, _run: &Run<'_>) -> Result<(), ReportError> {
        Ok(())
    }
}

/// Every reporter of a run, each event handed to each in order; `finish` stops at the first error.
impl Reporter for Vec<Box<dyn Reporter + '_>> {
    fn begin(&mut self, plan: &Plan) {
        self.iter_mut().for_each(|r| r.begin(plan));
    }

    fn started(&mut self, case: &Case) {
        self.iter_mut().for_each(|r| r.started(case));
    }

    fn attempt(&mut self, case: &Case, attempt: &Attempt) {
        self.iter_mut().for_each(|r| r.attempt(case, attempt));
    }

    fn case(&mut self, report: &CaseReport, expected_to_run: bool) {
        self.iter_mut().for_each(|r| r.case(report, expected_to_run));
    }

    fn finish(&mut self, run: &Run<'_>) -> Result<(), ReportError> {
        self.iter_mut().try_for_each(|r| r.finish(run))
    }
}

/// Writes `text` to `path`, creating its folder, and says so: `{what} written to {path}`.
fn write_file(path: &Path, text: &str, what: &str) -> Result<(), ReportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Write { path: dir.to_path_buf(), source })?;
    }
    std::fs::write(path, text).map_err(|source| ReportError::Write { path: path.to_path_buf(), source })?;
    println!("{what} written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_decide_passed_failed_flaky() {
        let fail = || Outcome::Failed(Failure::Error { at: "setup".into(), message: "boom".into() });
        assert_eq!(Outcome::of_attempts(&[Outcome::Passed, Outcome::Passed]), Outcome::Passed);
        assert_eq!(Outcome::of_attempts(&[fail(), fail()]), fail());
        let flaky = Outcome::of_attempts(&[fail(), Outcome::Passed]);
        assert!(matches!(flaky, Outcome::Flaky { passed: 1, runs: 2, .. }), "{flaky:?}");
        assert!(!flaky.is_failure() && flaky.ran());
        assert_eq!(Outcome::of_attempts(&[Outcome::Excluded("bug".into())]), Outcome::Excluded("bug".into()));
        assert!(matches!(Outcome::of_attempts(&[]), Outcome::Skipped(_)), "no attempt is never a pass");
        let t = Tally::of(&[Outcome::Passed, fail(), flaky]);
        assert_eq!((t.passed, t.failed, t.flaky, t.total()), (1, 1, 1, 3));
    }

    /// Records the events it sees; `fail` makes its `finish` fail.
    struct Recorder<'a>(&'a std::cell::RefCell<Vec<String>>, &'static str, bool);

    impl Reporter for Recorder<'_> {
        fn begin(&mut self, plan: &Plan) {
            self.0.borrow_mut().push(format!("{} begin {}", self.1, plan.cases));
        }

        fn finish(&mut self, _run: &Run<'_>) -> Result<(), ReportError> {
            self.0.borrow_mut().push(format!("{} finish", self.1));
            match self.2 {
                true => Err(ReportError::Write { path: "x".into(), source: std::io::Error::other("full") }),
                false => Ok(()),
            }
        }
    }

    #[test]
    fn every_event_goes_to_every_reporter_in_order_until_one_fails() {
        let seen = std::cell::RefCell::new(Vec::new());
        let mut all: Vec<Box<dyn Reporter + '_>> = vec![Box::new(Recorder(&seen, "a", false)), Box::new(Recorder(&seen, "b", true)), Box::new(Recorder(&seen, "c", false))];
        all.begin(&Plan { cases: 2, to_run: 1, jobs: 1, idle_jobs: 0 });
        let e = all.finish(&Run { cases: &[], started: std::time::SystemTime::now(), took: Duration::ZERO }).expect_err("b fails");
        assert_eq!(e.to_string(), "x: full");
        assert_eq!(*seen.borrow(), ["a begin 2", "b begin 2", "c begin 2", "a finish", "b finish"]);
    }

    #[test]
    fn a_failure_summary_leads_with_the_first_check() {
        let f = Failure::Checks(vec![FailedCheck { name: "connected".into(), line: 12, expected: "connected".into(), actual: "failed".into(), excerpt: vec![] }]);
        assert_eq!(f.summary(), "check failed: connected: EXPECTED connected ACTUAL failed");
        let e = Failure::Error { at: "a.yaml:3: alice: start".into(), message: "refused\nmore".into() };
        assert_eq!(e.summary(), "a.yaml:3: alice: start: refused");
    }
}
