//! One trial per scenario x peer pair, each checked against its verdict and its named snapshot.

use super::{block_on, env};
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::report;
use rtc_harness::runner::{run_case, RunError};
use rtc_harness::scenario::{self, Case};
use rtc_harness::transcript::normalize::normalize;
use std::path::Path;
use std::sync::Arc;

fn required() -> Vec<String> {
    std::env::var("RTC_HARNESS_REQUIRE")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn repeat() -> usize {
    std::env::var("RTC_HARNESS_REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

pub fn trials() -> Vec<Trial> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    for loaded in scenario::load_dir(&dir) {
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

fn run(case: &Case) -> Result<Completion, Failed> {
    let required = required();
    for _ in 0..repeat() {
        let result = block_on(async { Ok(run_case(case, env()).await) })?;
        match result {
            Err(RunError::Unavailable(why)) => {
                let missing = case.browsers().into_iter().find(|k| required.iter().any(|r| r == k.as_str()));
                return match missing {
                    Some(k) => Err(Failed::from(format!("{k} is required (RTC_HARNESS_REQUIRE) but unavailable: {why}"))),
                    None => Ok(Completion::ignored_with(why)),
                };
            }
            Err(RunError::Excluded(why)) => return Ok(Completion::ignored_with(format!("excluded: {why}"))),
            Err(e) => return Err(Failed::from(report::failure_details(&Err(e)).unwrap_or_default())),
            Ok(run) => {
                if !run.passed() {
                    return Err(Failed::from(run.verdict.to_string()));
                }
                let text = normalize(case, &run.transcript, &run.verdict);
                snapshot(&case.name().replace("::", "__"), &text)?;
            }
        }
    }
    Ok(Completion::Completed)
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
