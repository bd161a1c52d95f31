//! The verdict on a transcript: built-in invariants plus the scenario's expectations, each a check
//! that passes or reports EXPECTED / ACTUAL with the relevant part of the transcript.

mod check;
mod expectations;
pub mod figures;
pub mod flows;
pub mod freezes;
mod invariants;
mod latency;
mod markers;
pub mod network;
pub mod tones;

pub use check::{Check, Mismatch};

use crate::scenario::{ExpectKind, Scenario};
use crate::transcript::Transcript;
use std::fmt;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Each check's name and whether it passed (what the snapshot pins).
    pub fn summary(&self) -> Vec<(String, bool)> {
        self.checks.iter().map(|c| (c.name.clone(), c.passed())).collect()
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.failures() {
            let Err(m) = &c.outcome else { continue };
            let at = if c.line > 0 { format!(" (line {})", c.line) } else { " (invariant)".to_string() };
            writeln!(f, "check failed: {}{at}", c.name)?;
            writeln!(f, "EXPECTED: {}", m.expected)?;
            writeln!(f, "ACTUAL:   {}", m.actual)?;
            if !m.excerpt.is_empty() {
                writeln!(f, "transcript:")?;
                for l in &m.excerpt {
                    writeln!(f, "  {l}")?;
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Every invariant and expectation, checked on `t`; the expectations' time budgets multiplied by
/// the run's `limits`, as the waits were.
pub fn check(scenario: &Scenario, t: &Transcript, limits: crate::limits::Limits) -> Verdict {
    let mut checks = invariants::check(scenario, t);
    for e in &scenario.expect {
        checks.push(Check::new(e.kind.label(), e.line, expectations::check(scenario, &e.kind, t, limits)));
    }
    // Which signaling faults were in force: every relayed message a rule (or the glare gate)
    // touched before the failure, so that the reader sees what the stack was reacting to.
    let touched: Vec<String> = t
        .relay
        .iter()
        .filter_map(|r| {
            r.fault.as_ref().map(|f| format!("{:>9.1} ms  relay  {} -> {}  {}  [{f}]", r.at, r.from, r.to.join(","), serde_json::to_string(&r.kind).unwrap_or_default()))
        })
        .collect();
    if !touched.is_empty() {
        for c in checks.iter_mut() {
            if let Err(m) = &mut c.outcome {
                m.excerpt.push("signaling faults in force:".into());
                m.excerpt.extend(touched.iter().take(12).cloned());
            }
        }
    }
    Verdict { checks }
}

/// How long the settle phase may wait for this expectation.
pub fn within(kind: &ExpectKind) -> Option<Duration> {
    match kind {
        ExpectKind::Track { within, .. }
        | ExpectKind::Media { within, .. }
        | ExpectKind::Markers { within, .. }
        | ExpectKind::DataChannel { within, .. }
        | ExpectKind::Connection { within, .. }
        | ExpectKind::Hangup { within, .. } => Some(*within),
        ExpectKind::Timing { connected, first_frame } => [*connected, first_frame.as_ref().map(|f| f.1)].into_iter().flatten().max(),
        _ => None,
    }
}
