//! What a check reports: a [`Check`] passes or fails with a [`Mismatch`] (EXPECTED / ACTUAL and the
//! transcript lines that show it), and the helpers the invariants and expectations build them with.

use crate::transcript::{Event, Transcript};

/// A failed check.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub expected: String,
    pub actual: String,
    /// The transcript lines that show it.
    pub excerpt: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    /// The scenario line of an expectation; 0 for built-in invariants.
    pub line: u64,
    pub outcome: Result<(), Mismatch>,
}

impl Check {
    pub(crate) fn new(name: impl Into<String>, line: u64, outcome: Result<(), Mismatch>) -> Check {
        Check { name: name.into(), line, outcome }
    }
    pub fn passed(&self) -> bool {
        self.outcome.is_ok()
    }
}

pub(crate) fn mismatch(expected: impl Into<String>, actual: impl Into<String>, excerpt: Vec<String>) -> Result<(), Mismatch> {
    Err(Mismatch { expected: expected.into(), actual: actual.into(), excerpt })
}

/// The last lines of a peer's events that `pick` selects: the excerpt of a mismatch.
pub(crate) fn lines_of(t: &Transcript, peer: &str, pick: impl Fn(&Event) -> bool) -> Vec<String> {
    let picked: Vec<&crate::transcript::Entry> = t.of(peer).filter(|e| pick(&e.event)).collect();
    let all: Vec<String> = crate::transcript::lines(&picked, true).into_iter().map(|l| l.trim_start().to_string()).collect();
    all[all.len().saturating_sub(12)..].to_vec()
}
