//! What the terminal shows of outcomes: a line per attempt, a case's summary line, and the pair x
//! scenario matrix (a failure's details are decided with the outcome: `outcome::failure_details`).

use super::outcome::{Attempt, CaseReport, Outcome};
use crate::scenario::Case;
use std::fmt::Write as _;

/// The matrix as Markdown: one row per pair, one column per scenario, a cell per case
/// (`pass`, `FAIL`, `flaky`, `skip`, `n/a` for a capability the kind lacks, `excl` for an
/// exclusion), and the reasons below the table.
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
                        Outcome::Flaky { .. } => "flaky",
                        Outcome::Skipped(_) => "skip",
                        Outcome::Ignored(_) => "n/a",
                        Outcome::Excluded(_) => "excl",
                    };
                    let why = o.failure().map(|f| f.summary()).or_else(|| matches!(o, Outcome::Excluded(_)).then(|| o.reason().unwrap_or("").to_string()));
                    match why {
                        Some(why) => {
                            reasons.push(format!("{id}::{pair}: {} {why}", o.label()));
                            format!("{cell} [{}]", reasons.len())
                        }
                        None => cell.to_string(),
                    }
                }
            })
            .collect();
        let _ = writeln!(out, "| {pair} | {} |", row.join(" | "));
    }
    if !reasons.is_empty() {
        let _ = writeln!(out);
        for (i, r) in reasons.iter().enumerate() {
            let _ = writeln!(out, "[{}] {r}", i + 1);
        }
    }
    out
}

/// `PASS negotiation::basic::rust-rust  connected 31.2 ms  first frame 45.0 ms  [alice: ...]`:
/// one attempt, labelled by its [`Outcome`].
pub fn attempt_line(name: &str, attempt: &Attempt) -> String {
    let outcome = &attempt.outcome;
    let label = outcome.label();
    if let Some(why) = outcome.reason() {
        return format!("{label} {name}  ({why})");
    }
    if let (Some(f), None) = (outcome.failure(), &attempt.timings) {
        return format!("{label} {name}  {}", f.summary());
    }
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "-".into());
    let t = attempt.timings.clone().unwrap_or_default();
    let stacks = attempt.transcript.as_ref().map(|t| t.stacks()).unwrap_or_default();
    let stacks = if stacks.is_empty() { String::new() } else { format!("  [{}]", stacks.join("; ")) };
    format!("{label} {name}  connected {}  first frame {}{stacks}", ms(t.to_connected), ms(t.to_first_frame))
}

/// The line under a case's attempts when there were several: `FLAKY negotiation::basic::rust-chrome
/// passed 7 of 8; median connected 31.2 ms, first frame 45.0 ms`.
pub fn summary_line(report: &CaseReport) -> String {
    let (passed, ran) = report.pass_rate();
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "-".into());
    let (c, f) = report.median_timings();
    format!("{} {}  passed {passed} of {ran}; median connected {}, first frame {}", report.outcome.label(), report.case.name(), ms(c), ms(f))
}
