//! A case's outcome, decided once from its attempts ([`Outcome::of`], [`CaseReport::new`]), and
//! every rendering of it: terminal lines ([`terminal`]), JSON ([`json`]), JUnit XML ([`junit`]) and
//! the HTML report ([`html`]). No renderer sorts a `RunError` into pass/skip/fail itself, and
//! nothing here runs a case: the runner's attempts (`runner::attempts`) are handed in.

pub mod html;
pub mod json;
pub mod junit;
mod outcome;
pub mod progress;
pub mod terminal;

pub use outcome::{failure_details, Attempt, CaseReport, FailedCheck, Failure, Outcome, Tally};
pub use terminal::{attempt_line, matrix_markdown, summary_line};

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

    #[test]
    fn a_failure_summary_leads_with_the_first_check() {
        let f = Failure::Checks(vec![FailedCheck { name: "connected".into(), line: 12, expected: "connected".into(), actual: "failed".into(), excerpt: vec![] }]);
        assert_eq!(f.summary(), "check failed: connected: EXPECTED connected ACTUAL failed");
        let e = Failure::Error { at: "a.yaml:3: alice: start".into(), message: "refused\nmore".into() };
        assert_eq!(e.summary(), "a.yaml:3: alice: start: refused");
    }
}
