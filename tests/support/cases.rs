//! One trial per scenario x peer pair, each checked against its verdict and its named snapshot.

use super::{block_on, env};
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::report::{self, Outcome};
use rtc_harness::runner::run_case;
use rtc_harness::scenario::{self, Case};
use rtc_harness::transcript::normalize::normalize;
use std::path::Path;
use std::sync::Arc;

fn repeat() -> usize {
    std::env::var("RTC_HARNESS_REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

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

fn run(case: &Case) -> Result<Completion, Failed> {
    for _ in 0..repeat() {
        let result = block_on(async { Ok(run_case(case, env()).await) })?;
        match Outcome::of(&result) {
            Outcome::Passed => {}
            Outcome::Failed(_) => {
                let details = report::failure_details(&result).unwrap_or_default();
                return Err(Failed::from(details));
            }
            left_out => {
                let reason = left_out.reason().unwrap_or_default();
                return Ok(Completion::ignored_with(format!("{}: {reason}", left_out.label().to_lowercase())));
            }
        }
        let run = result.expect("a passed case ran");
        let text = normalize(case, &run.transcript, &run.verdict.summary());
        snapshot(&case.name().replace("::", "__"), &text)?;
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
