//! `--junit FILE`: JUnit XML (written by `quick-junit`) as GitLab, GitHub's JUnit actions, Jenkins
//! and Buildkite read it. One `<testsuite>` per area (the scenario's directory) and one
//! `<testcase>` per case with `classname` = area; a failure's `message` is the first failed check
//! with EXPECTED / ACTUAL (or the step that errored), its body the full details; `system-out` is
//! the condensed transcript; cases left out are `<skipped>` with their reason. A flaky case is a
//! success whose `system-out` starts with `FLAKY`: the schema CI systems validate against has no
//! element for it (surefire's `flakyFailure` is an extension Jenkins' schema rejects).

use super::outcome::{CaseReport, Outcome};
use super::{write_file, ReportError, Reporter, Run};
use crate::transcript;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

/// `--junit FILE`: the run's JUnit XML ([`render`]), written when it ends.
pub struct JUnit {
    pub path: PathBuf,
}

impl Reporter for JUnit {
    fn finish(&mut self, run: &Run<'_>) -> Result<(), ReportError> {
        write_file(&self.path, &render(run.cases, run.started)?, "JUnit XML")
    }
}

/// The XML for the run; quick-junit's error when it cannot write it.
pub fn render(cases: &[CaseReport], started: SystemTime) -> Result<String, quick_junit::SerializeError> {
    let mut suites: BTreeMap<&str, Vec<&CaseReport>> = BTreeMap::new();
    for c in cases {
        suites.entry(c.area()).or_default().push(c);
    }
    let mut report = Report::new("rtc-harness");
    report.set_time(cases.iter().map(|c| c.duration()).sum());
    for (area, cases) in suites {
        let mut suite = TestSuite::new(area);
        suite.set_timestamp(chrono::DateTime::<chrono::Utc>::from(started));
        suite.set_time(cases.iter().map(|c| c.duration()).sum());
        suite.add_test_cases(cases.into_iter().map(test_case));
        report.add_test_suite(suite);
    }
    let xml = report.to_string()?;
    Ok(without_testsuites_skipped(&xml))
}

/// Jenkins' `junit-10.xsd` (what its plugins validate against) allows no `skipped` attribute on
/// `<testsuites>`, and quick-junit 0.8 always writes one; the per-suite counts carry it anyway.
fn without_testsuites_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites") else { return xml.to_string() };
    let end = start + xml[start..].find('>').unwrap_or(0);
    let tag = &xml[start..end];
    let cleaned = regex::Regex::new(r#"\s+skipped="\d+""#).expect("pattern").replace(tag, "");
    format!("{}{cleaned}{}", &xml[..start], &xml[end..])
}

fn test_case(c: &CaseReport) -> TestCase {
    let name = c.case.name();
    let short = name.strip_prefix(&format!("{}::", c.area())).unwrap_or(&name).to_string();
    let status = match &c.outcome {
        Outcome::Passed | Outcome::Flaky { .. } => TestCaseStatus::success(),
        Outcome::Failed(f) => {
            let mut s = TestCaseStatus::non_success(match f {
                super::outcome::Failure::Checks(_) => NonSuccessKind::Failure,
                super::outcome::Failure::Error { .. } => NonSuccessKind::Error,
            });
            s.set_message(f.summary());
            s.set_type(if matches!(f, super::outcome::Failure::Checks(_)) { "check" } else { "error" });
            if let Some(details) = c.shown().and_then(|a| a.details.as_ref()) {
                s.set_description(details.as_str());
            }
            s
        }
        left_out => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("{}: {}", left_out.status(), left_out.reason().unwrap_or("")));
            s
        }
    };
    let mut tc = TestCase::new(short, status);
    tc.set_classname(c.area());
    tc.set_time(c.duration());
    let mut out = String::new();
    match (&c.outcome, c.pass_rate()) {
        (Outcome::Flaky { failure, passed, runs, known }, _) => {
            let known = known.as_ref().map(|k| format!(" (a known intermittent finding: {k})")).unwrap_or_default();
            out.push_str(&format!("FLAKY: passed {passed} of {runs} attempts{known}; a failing attempt: {}\n\n", failure.summary()))
        }
        (_, (passed, runs)) if runs > 1 => out.push_str(&format!("passed {passed} of {runs} attempts\n\n")),
        _ => {}
    }
    if let Some(dir) = c.shown().and_then(|a| a.artifacts.as_ref()) {
        out.push_str(&format!("artifacts: {}\n", dir.display()));
    }
    if let Some(t) = c.shown().and_then(|a| a.transcript.as_ref()) {
        let entries: Vec<&transcript::Entry> = t.entries.iter().collect();
        out.push_str(&transcript::lines(&entries, true).join("\n"));
        out.push('\n');
        out.push_str(&t.relay_lines());
        out.push('\n');
    }
    if !out.is_empty() {
        tc.set_system_out(out);
    }
    tc
}

#[cfg(test)]
mod tests {
    use super::super::{Attempt, CaseReport, FailedCheck, Failure, Outcome};
    use crate::scenario::{self, PeerKind};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            outcome,
            started: SystemTime::now(),
            duration: Duration::from_millis(1500),
            timings: None,
            checks: vec![],
            details: Some("EXPECTED: x\nACTUAL: y".into()),
            transcript: None,
            artifacts: None,
            known_flake: None,
        }
    }

    #[test]
    fn one_testcase_per_case_with_its_outcome() {
        let kinds: Vec<PeerKind> =
            ["rust", "chrome", "firefox", "aiortc", "libdatachannel", "libwebrtc", "werift", "gstreamer"].iter().map(|k| PeerKind::new(k).unwrap()).collect();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/negotiation/basic.yaml");
        let s = Arc::new(scenario::load_file(&path, Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")), &kinds).expect("loads"));
        let cases: Vec<_> = scenario::expand(&s).into_iter().take(4).collect();
        let failure = Failure::Checks(vec![FailedCheck { name: "media(bob, video)".into(), line: 18, expected: "10 frames".into(), actual: "none".into(), excerpt: vec![] }]);
        let outcomes = [
            vec![Outcome::Passed, Outcome::Passed],
            vec![Outcome::Failed(failure.clone())],
            vec![Outcome::Skipped("chrome: not installed".into())],
            vec![Outcome::Failed(failure), Outcome::Passed],
        ];
        let reports: Vec<CaseReport> = cases.into_iter().zip(outcomes).map(|(c, os)| CaseReport::new(c, os.into_iter().map(attempt).collect())).collect();
        let xml = super::render(&reports, SystemTime::now()).expect("renders");
        assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert!(xml.contains(r#"message="check failed: media(bob, video): EXPECTED 10 frames ACTUAL none""#), "{xml}");
        assert!(xml.contains(r#"<skipped message="skipped: chrome: not installed"/>"#), "{xml}");
        assert!(xml.contains("FLAKY: passed 1 of 2 attempts"), "{xml}");
        assert!(xml.contains("passed 2 of 2 attempts"), "a repeated case shows its pass rate: {xml}");
        assert!(xml.contains(r#"classname="negotiation""#));
        let head = &xml[xml.find("<testsuites").unwrap()..];
        assert!(!head[..head.find('>').unwrap()].contains("skipped="), "no skipped on <testsuites>: {xml}");
    }

    #[test]
    fn only_the_testsuites_tag_loses_skipped() {
        let xml = r#"<testsuites name="x" tests="2" skipped="1" failures="0"><testsuite name="a" tests="2" skipped="1">"#;
        assert_eq!(super::without_testsuites_skipped(xml), r#"<testsuites name="x" tests="2" failures="0"><testsuite name="a" tests="2" skipped="1">"#);
    }
}
