//! A case's outcome, decided once ([`Outcome::of`]), and what the CLI prints of it: the line per
//! case, failure details, the summary, and the matrix table.

use crate::runner::{CaseRun, RunError};
use crate::scenario::Case;
use std::fmt::Write as _;

/// What became of a case. Every consumer (CLI lines, summary, matrix, test harness) renders this
/// rather than sorting a `RunError` itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    /// The first line of what failed.
    Failed(String),
    /// A peer's stack is not installed here.
    Skipped(String),
    /// A peer kind lacks a capability the scenario needs.
    Ignored(String),
    /// The scenario excludes the pair, with its cause.
    Excluded(String),
}

impl Outcome {
    pub fn of(result: &Result<CaseRun, RunError>) -> Outcome {
        match result {
            Ok(run) if run.passed() => Outcome::Passed,
            Ok(run) => Outcome::Failed(first_line(&run.verdict.to_string()).to_string()),
            Err(RunError::Unavailable(why)) => Outcome::Skipped(why.clone()),
            Err(RunError::Unsupported(why)) => Outcome::Ignored(why.clone()),
            Err(RunError::Excluded(why)) => Outcome::Excluded(why.clone()),
            Err(e) => Outcome::Failed(first_line(&e.to_string()).to_string()),
        }
    }

    /// Whether the case ran (passed or failed) rather than being left out.
    pub fn ran(&self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Failed(_))
    }

    /// The reason a case that did not run was left out.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Skipped(r) | Outcome::Ignored(r) | Outcome::Excluded(r) => Some(r),
            _ => None,
        }
    }

    /// `PASS`, `FAIL`, `SKIP`, `IGNORED`, `EXCLUDED`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Failed(_) => "FAIL",
            Outcome::Skipped(_) => "SKIP",
            Outcome::Ignored(_) => "IGNORED",
            Outcome::Excluded(_) => "EXCLUDED",
        }
    }
}

/// Counts of outcomes: `12 passed, 0 failed, 3 skipped, 5 ignored, 2 excluded`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub ignored: usize,
    pub excluded: usize,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Ignored(_) => self.ignored += 1,
            Outcome::Excluded(_) => self.excluded += 1,
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped, {} ignored, {} excluded", self.passed, self.failed, self.skipped, self.ignored, self.excluded)
    }
}

/// The matrix as Markdown: one row per pair, one column per scenario, a cell per case
/// (`pass`, `FAIL`, `skip`, `n/a` for a capability the kind lacks, `excl` for an exclusion), and
/// the reasons below the table.
pub fn matrix_markdown(cells: &[(Case, Outcome)]) -> String {
    let mut scenarios: Vec<String> = Vec::new();
    let mut pairs: Vec<String> = Vec::new();
    for (case, _) in cells {
        if !scenarios.contains(&case.scenario.id) {
            scenarios.push(case.scenario.id.clone());
        }
        if !pairs.contains(&case.pair()) {
            pairs.push(case.pair());
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "| pair | {} |", scenarios.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(scenarios.len()));
    let mut reasons: Vec<String> = Vec::new();
    for pair in &pairs {
        let row: Vec<String> = scenarios
            .iter()
            .map(|id| match cells.iter().find(|(c, _)| &c.scenario.id == id && &c.pair() == pair) {
                None => " ".to_string(),
                Some((_, o)) => {
                    let cell = match o {
                        Outcome::Passed => "pass",
                        Outcome::Failed(_) => "FAIL",
                        Outcome::Skipped(_) => "skip",
                        Outcome::Ignored(_) => "n/a",
                        Outcome::Excluded(_) => "excl",
                    };
                    match o {
                        Outcome::Failed(why) | Outcome::Excluded(why) => {
                            reasons.push(format!("- {id}::{pair}: {} {why}", o.label()));
                            format!("{cell} [{}]", reasons.len())
                        }
                        _ => cell.to_string(),
                    }
                }
            })
            .collect();
        let _ = writeln!(out, "| {pair} | {} |", row.join(" | "));
    }
    if !reasons.is_empty() {
        let _ = writeln!(out);
        for (i, r) in reasons.iter().enumerate() {
            let _ = writeln!(out, "[{}] {}", i + 1, r.trim_start_matches("- "));
        }
    }
    out
}

/// `PASS negotiation::basic::rust-rust  connected 31.2 ms  first frame 45.0 ms`; the label comes
/// from the case's [`Outcome`].
pub fn case_line(name: &str, result: &Result<CaseRun, RunError>) -> String {
    let outcome = Outcome::of(result);
    let label = outcome.label();
    if let Some(why) = outcome.reason() {
        return format!("{label} {name}  ({why})");
    }
    match result {
        Ok(run) => {
            let ms = |v: Option<f64>| v.map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "-".into());
            let stacks = run.stacks();
            let stacks = if stacks.is_empty() { String::new() } else { format!("  [{}]", stacks.join("; ")) };
            format!("{label} {name}  connected {}  first frame {}{stacks}", ms(run.timings.to_connected), ms(run.timings.to_first_frame))
        }
        Err(e) => format!("{label} {name}  {}", first_line(&e.to_string())),
    }
}

/// The details printed under a failed case: the verdict's EXPECTED / ACTUAL blocks, or the error
/// with the transcript's last events; `None` unless the case's [`Outcome`] is a failure.
pub fn failure_details(result: &Result<CaseRun, RunError>) -> Option<String> {
    if !matches!(Outcome::of(result), Outcome::Failed(_)) {
        return None;
    }
    match result {
        Ok(run) => Some(run.verdict.to_string()),
        Err(RunError::Step { message, transcript, .. }) => {
            Some(format!("{message}\nlast events of each peer:\n{}\n", transcript.tail_by_peer(15)))
        }
        Err(e) => Some(format!("{e}\n")),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Median of `values` (None when empty).
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Nearest-rank percentile.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_use_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(super::median(&v), Some(3.0));
        assert_eq!(super::percentile(&v, 90.0), Some(5.0));
        assert_eq!(super::percentile(&v, 0.0), Some(1.0));
        assert_eq!(super::median(&[]), None);
    }
}
