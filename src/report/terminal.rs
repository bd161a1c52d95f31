//! What the terminal shows of outcomes ([`Terminal`]: a line per attempt, a case's summary line,
//! the progress and the tally), and the pair x scenario matrix ([`Matrix`], `--matrix`); a
//! failure's details are decided with the outcome (`outcome::failure_details`).

use super::outcome::{Attempt, CaseReport, Outcome, Tally};
use super::progress::Progress;
use super::{write_file, Plan, ReportError, Reporter, Run};
use crate::scenario::Case;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The terminal: the plan, each attempt's line (its failure's details, with `transcript` every
/// attempt's full transcript), a case's summary line when `several` attempts may be made, the
/// progress (a bar on a terminal) and the tally at the end.
pub struct Terminal {
    transcript: bool,
    several: bool,
    progress: Option<Progress>,
}

impl Terminal {
    pub fn new(transcript: bool, several: bool) -> Terminal {
        Terminal { transcript, several, progress: None }
    }

    fn println(&self, line: &str) {
        match &self.progress {
            Some(p) => p.println(line),
            None => println!("{line}"),
        }
    }
}

impl Reporter for Terminal {
    fn begin(&mut self, plan: &Plan) {
        self.progress = Some(Progress::new(plan.cases, plan.to_run));
        let idle = match plan.idle_jobs {
            0 => String::new(),
            n => format!(", {n} more while the CPU is idle (--idle-jobs)"),
        };
        self.println(&format!("{} cases, {} to run, {} at a time (--jobs, RTC_HARNESS_JOBS){idle}", plan.cases, plan.to_run, plan.jobs));
    }

    fn started(&mut self, case: &Case) {
        if let Some(p) = &self.progress {
            p.started(&case.name());
        }
    }

    fn attempt(&mut self, case: &Case, attempt: &Attempt) {
        if let Some(p) = &self.progress {
            p.attempt_ended(&case.name());
        }
        let mut text = attempt_line(&case.name(), attempt);
        if let (true, Some(t)) = (self.transcript, &attempt.transcript) {
            text.push_str(&format!("\n{}\n{}", t.tail(usize::MAX), t.relay_lines()));
        }
        if let Some(details) = &attempt.details {
            text.push_str(&format!("\n{}", details.trim_end()));
        }
        if let Some(dir) = &attempt.artifacts {
            text.push_str(&format!("\n     artifacts: {}", dir.display()));
        }
        self.println(&text);
    }

    fn case(&mut self, report: &CaseReport, expected_to_run: bool) {
        if self.several && report.attempts.len() > 1 {
            self.println(&summary_line(report));
        }
        if let Some(p) = &self.progress {
            p.finished(&report.case.name(), &report.outcome, expected_to_run);
        }
    }

    fn finish(&mut self, run: &Run<'_>) -> Result<(), ReportError> {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
        println!("\n{}", Tally::of(run.cases.iter().map(|r| &r.outcome)));
        Ok(())
    }
}

/// `--matrix FILE`: the outcomes as a Markdown table ([`matrix_markdown`]).
pub struct Matrix {
    pub path: PathBuf,
}

impl Reporter for Matrix {
    fn finish(&mut self, run: &Run<'_>) -> Result<(), ReportError> {
        let cells: Vec<(Case, Outcome)> = run.cases.iter().map(|r| (r.case.clone(), r.outcome.clone())).collect();
        write_file(&self.path, &matrix_markdown(&cells), "matrix")
    }
}

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
