//! What running a case gives: a [`CaseRun`] with its verdict and timings, or the [`RunError`]
//! that kept it from one.

use crate::clock::Millis;
use crate::transcript::Transcript;
use crate::verdict::Verdict;

/// Why a case could not run to a verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The relay or a peer could not be started, or a required kind is missing.
    #[error("setup: {0}")]
    Setup(String),
    /// A peer of this case is not installed (skipped; a failure when the kind is required).
    #[error("{0}")]
    Unavailable(String),
    /// A peer kind lacks a capability the scenario needs (ignored with the reason).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The scenario excludes this pair (`exclude:`), with its reason.
    #[error("excluded: {0}")]
    Excluded(String),
    /// A step failed or its wait ran out; `transcript` holds what was seen until then.
    #[error("{}: step '{step}' failed: {message}", location(file, *line))]
    Step { file: String, line: u64, step: String, message: String, transcript: Box<Transcript> },
}

/// What a [`RunError`] means for its case: left out (and why), or run and failed (where and why).
/// [`RunError::kind`] is the one place a run error is sorted so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunErrorKind<'a> {
    /// A peer's stack is not installed here (the case is skipped).
    Unavailable(&'a str),
    /// A peer kind lacks a capability the scenario needs (the case is ignored).
    Unsupported(&'a str),
    /// The scenario excludes the pair.
    Excluded(&'a str),
    /// It ran and failed before a verdict: `at` is `file:line: step` for a step, `setup` else.
    Failed { at: String, message: &'a str },
}

impl RunErrorKind<'_> {
    /// The case was left out rather than run.
    pub fn left_out(&self) -> bool {
        !matches!(self, RunErrorKind::Failed { .. })
    }
}

impl RunError {
    /// Whether the case was left out (and why) or ran and failed.
    pub fn kind(&self) -> RunErrorKind<'_> {
        match self {
            RunError::Unavailable(why) => RunErrorKind::Unavailable(why),
            RunError::Unsupported(why) => RunErrorKind::Unsupported(why),
            RunError::Excluded(why) => RunErrorKind::Excluded(why),
            RunError::Step { file, line, step, message, .. } => RunErrorKind::Failed { at: format!("{}: {step}", location(file, *line)), message },
            RunError::Setup(message) => RunErrorKind::Failed { at: "setup".into(), message },
        }
    }

    /// The case was left out (not installed, unsupported, excluded) rather than run and failed.
    pub fn left_out(&self) -> bool {
        self.kind().left_out()
    }
}

/// Where a step is written: `file:line`, or the file alone for what no line of it says (line 0:
/// the seed's steps of a file without `steps:`, the end of the case, the expectations).
pub fn location(file: &str, line: u64) -> String {
    match line {
        0 => file.to_string(),
        n => format!("{file}:{n}"),
    }
}

/// Time to connected and to first frame, from the offerer's first `createOffer`; and, in a case
/// that paints frame markers, each video stream's glass-to-glass latency and freezes.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Timings {
    pub to_connected: Option<Millis>,
    pub to_first_frame: Option<Millis>,
    pub streams: Vec<crate::verdict::figures::StreamFigures>,
}

/// A case that ran to a verdict.
#[derive(Debug)]
pub struct CaseRun {
    pub name: String,
    pub transcript: Transcript,
    pub verdict: Verdict,
    pub timings: Timings,
    /// The peers' own logs of this case (command peers' stderr), kept when it failed.
    pub logs: String,
}

impl CaseRun {
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_error_is_left_out_or_failed() {
        assert_eq!(RunError::Unavailable("chrome: not installed".into()).kind(), RunErrorKind::Unavailable("chrome: not installed"));
        assert_eq!(RunError::Unsupported("no video".into()).kind(), RunErrorKind::Unsupported("no video"));
        assert!(RunError::Excluded("bug".into()).left_out());
        let setup = RunError::Setup("relay: refused".into());
        assert_eq!(setup.kind(), RunErrorKind::Failed { at: "setup".into(), message: "relay: refused" });
        assert!(!setup.left_out());
        let step = RunError::Step { file: "a.yaml".into(), line: 3, step: "alice: start".into(), message: "boom".into(), transcript: Box::default() };
        assert_eq!(step.kind(), RunErrorKind::Failed { at: "a.yaml:3: alice: start".into(), message: "boom" });
    }
}
