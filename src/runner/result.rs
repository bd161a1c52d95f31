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
