//! One trial per scenario x peer pair, each checked against its verdict and its named snapshot.

use super::{block_on, env};
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::report::{self, Outcome};
use rtc_harness::scenario::{self, Case};
use rtc_harness::transcript::normalize::normalize;
use std::path::Path;
use std::sync::Arc;

pub fn trials() -> Vec<Trial> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    for loaded in scenario::load_dir(&dir, &env().registry.kinds()) {
        match loaded {
            Ok(s) => {
                for case in scenario::expand(&Arc::new(s)) {
                    let name = case.name();
                    out.push(Trial::ignorable_test(name, move || run(&case)).with_kind("scenario"));
                }
            }
            // A broken scenario in the suite is a failing test of its own, with the load error.
            Err(e) => {
                let name = format!("load::{}", e.file);
                out.push(Trial::test(name, move || Err(Failed::from(e.to_string()))));
            }
        }
    }
    out
}

/// Runs the case as the options say (`RTC_HARNESS_REPEAT`, `RTC_HARNESS_RETRIES`), each passed
/// attempt against the same snapshot. A flaky case fails here (libtest has no flaky outcome;
/// nextest's retries report it as such).
fn run(case: &Case) -> Result<Completion, Failed> {
    let mut mismatches: Vec<String> = Vec::new();
    let report = block_on(async {
        Ok(report::run(case, env(), |attempt| {
            if let (Outcome::Passed, Some(t)) = (&attempt.outcome, &attempt.transcript) {
                let text = normalize(case, t, &attempt.checks);
                if let Err(e) = snapshot(&case.name().replace("::", "__"), &text) {
                    mismatches.push(e.message().unwrap_or("snapshot mismatch").to_string());
                }
            }
        })
        .await)
    })?;
    let details = || {
        let shown = report.shown();
        let artifacts = shown.and_then(|a| a.artifacts.as_ref()).map(|d| format!("artifacts: {}\n", d.display())).unwrap_or_default();
        format!("{}{artifacts}", shown.and_then(|a| a.details.clone()).unwrap_or_default())
    };
    match &report.outcome {
        Outcome::Passed if mismatches.is_empty() => Ok(Completion::Completed),
        Outcome::Passed => Err(Failed::from(mismatches.join("\n"))),
        Outcome::Failed(_) => Err(Failed::from(details())),
        Outcome::Flaky { passed, runs, .. } => Err(Failed::from(format!("FLAKY: passed {passed} of {runs}\n{}", details()))),
        left_out => Ok(Completion::ignored_with(format!("{}: {}", left_out.label().to_lowercase(), left_out.reason().unwrap_or_default()))),
    }
}

/// Compares `text` with `tests/snapshots/<name>.snap` (insta; `INSTA_UPDATE=always` records).
pub fn snapshot(name: &str, text: &str) -> Result<(), Failed> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let name = name.to_string();
    let text = text.to_string();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || settings.bind(|| insta::assert_snapshot!(name, text))))
        .map_err(|p| {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Failed::from(format!("snapshot mismatch: {}", msg.unwrap_or_default()))
        })
}
