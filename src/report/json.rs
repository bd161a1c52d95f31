//! `--json FILE`: every case with its outcome, attempts, timings, checks, each peer's stack and
//! version, the path of its artifacts and its transcript. The schema is documented in
//! `docs/results.md`; `schema_version` changes only when a field changes meaning or goes away
//! (fields may be added within a version).

use super::outcome::{Attempt, CaseReport, Failure, Tally};
use super::{write_file, ReportError, Reporter, Run};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub const SCHEMA_VERSION: u32 = 1;

/// `--json FILE`: the run's [`document`], written when it ends.
pub struct Json {
    pub path: PathBuf,
}

impl Reporter for Json {
    fn finish(&mut self, run: &Run<'_>) -> Result<(), ReportError> {
        let doc = document(run.cases, run.started, run.took);
        write_file(&self.path, &serde_json::to_string_pretty(&doc)?, "JSON results")
    }
}

/// The whole run as one JSON document.
pub fn document(cases: &[CaseReport], started: SystemTime, duration: Duration) -> Value {
    let tally = Tally::of(cases.iter().map(|c| &c.outcome));
    json!({
        "schema": "rtc-harness/results",
        "schema_version": SCHEMA_VERSION,
        "tool": { "name": "rtc-harness", "version": env!("CARGO_PKG_VERSION") },
        "started_at": rfc3339(started),
        "duration_ms": ms(duration),
        "summary": {
            "total": tally.total(), "passed": tally.passed, "failed": tally.failed, "flaky": tally.flaky,
            "skipped": tally.skipped, "ignored": tally.ignored, "excluded": tally.excluded,
        },
        "cases": cases.iter().map(case).collect::<Vec<_>>(),
    })
}

fn case(report: &CaseReport) -> Value {
    let (passed, ran) = report.pass_rate();
    let (connected, first_frame) = report.median_timings();
    let shown = report.shown();
    json!({
        "name": report.case.name(),
        "scenario": report.case.scenario.id,
        "area": report.area(),
        "file": report.case.scenario.path.display().to_string(),
        "description": report.case.scenario.description,
        "pair": report.case.pair(),
        "peers": report.peers().into_iter().map(|(name, kind, stack, version)| json!({"name": name, "kind": kind, "stack": stack, "version": version})).collect::<Vec<_>>(),
        "outcome": report.outcome.status(),
        "reason": report.outcome.reason(),
        "failure": report.outcome.failure().map(failure),
        "runs": ran,
        "passes": passed,
        "pass_rate": (ran > 0).then(|| passed as f64 / ran as f64),
        "duration_ms": ms(report.duration()),
        "timings": { "connected_ms": connected, "first_frame_ms": first_frame },
        "streams": shown.and_then(|a| a.timings.as_ref()).map(|t| &t.streams),
        "attempts": report.attempts.iter().map(attempt).collect::<Vec<_>>(),
        "artifacts": shown.and_then(|a| a.artifacts.as_ref()).map(|p| p.display().to_string()),
        "transcript": shown.and_then(|a| a.transcript.as_ref()),
    })
}

fn attempt(a: &Attempt) -> Value {
    json!({
        "outcome": a.outcome.status(),
        "started_at": rfc3339(a.started),
        "duration_ms": ms(a.duration),
        "connected_ms": a.timings.as_ref().and_then(|t| t.to_connected),
        "first_frame_ms": a.timings.as_ref().and_then(|t| t.to_first_frame),
        "streams": a.timings.as_ref().map(|t| &t.streams),
        "checks": a.checks.iter().map(|(name, passed)| json!({"name": name, "passed": passed})).collect::<Vec<_>>(),
        "failure": a.outcome.failure().map(failure),
        "details": a.details,
        "artifacts": a.artifacts.as_ref().map(|p| p.display().to_string()),
    })
}

fn failure(f: &Failure) -> Value {
    match f {
        Failure::Checks(checks) => json!({
            "kind": "checks",
            "message": f.summary(),
            "checks": checks.iter().map(|c| json!({"name": c.name, "line": c.line, "expected": c.expected, "actual": c.actual, "excerpt": c.excerpt})).collect::<Vec<_>>(),
        }),
        Failure::Error { at, message } => json!({ "kind": "error", "message": f.summary(), "at": at, "error": message }),
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// `2026-11-27T00:24:25.123Z` (UTC).
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_739_065_123)), "2026-11-27T00:24:25.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }
}
