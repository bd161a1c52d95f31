//! One trial per scenario x peer pair, each checked against its verdict and its named snapshot.

use super::{block_on, env};
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::report::{self, Outcome};
use rtc_harness::scenario::{self, Case};
use rtc_harness::transcript::normalize::normalize;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The cases that passed only on a retry, each with its failed attempt, for the run's end.
static FLAKY: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Prints the flaky cases again after the run's summary, where a CI log's reader looks.
pub fn print_flaky() {
    let flaky = FLAKY.lock().unwrap_or_else(|e| e.into_inner());
    if !flaky.is_empty() {
        println!("\n{} FLAKY case(s): failed, then passed on a retry (RTC_HARNESS_RETRIES):", flaky.len());
        for text in flaky.iter() {
            println!("{text}");
        }
    }
}

/// Every case, started as `rtc-harness run` starts them: each class of case (the browsers it
/// needs) spread over the run (runner/order.rs), since libtest-mimic runs trials in list order.
pub fn trials() -> Vec<Trial> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    let mut cases = Vec::new();
    for loaded in scenario::load_dir(&dir, &env().registry.kinds()) {
        match loaded {
            Ok(s) => cases.extend(scenario::expand(&Arc::new(s))),
            // A broken scenario in the suite is a failing test of its own, with the load error.
            Err(e) => {
                let name = format!("load::{}", e.file);
                out.push(Trial::test(name, move || Err(Failed::from(e.to_string()))));
            }
        }
    }
    let order = rtc_harness::runner::order::start_order(&cases, &env().registry);
    for (_, case) in rtc_harness::runner::order::arrange(cases, order) {
        let name = case.name();
        out.push(Trial::ignorable_test(name, move || run(&case)).with_kind("scenario"));
    }
    out
}

/// Runs the case as the options say (`RTC_HARNESS_REPEAT`, `RTC_HARNESS_RETRIES`), each passed
/// attempt against the same snapshot. A flaky case fails here (libtest has no flaky outcome)
/// unless retries were asked for, as nextest's `retries` makes it FLAKY and not failed, or every
/// failure was a known intermittent finding (its signature), which the runner retries.
///
/// A passed attempt whose transcript differs from the snapshot is retried like a failed one
/// (within the same retries): when the next attempt matches, the case is FLAKY with the diff
/// printed, as a failure that then passes is; when the last attempt differs, it fails. Repeats
/// (`RTC_HARNESS_REPEAT`, the stability check) stay strict: any difference fails.
fn run(case: &Case) -> Result<Completion, Failed> {
    let mut mismatches: Vec<String> = Vec::new();
    let mut attempts = Vec::new();
    let mut last_matched = false;
    block_on(async {
        rtc_harness::runner::attempts::run_judged(
            case,
            env(),
            || {},
            |run| {
                let attempt = report::Attempt::new(run);
                last_matched = false;
                if let (Outcome::Passed, Some(t)) = (&attempt.outcome, &attempt.transcript) {
                    // The case as it ran: each peer's trickle as its kind can, where it follows the kind.
                    let text = normalize(&rtc_harness::runner::resolve(case, &env().registry), t, &attempt.checks);
                    match snapshot(&case.name().replace("::", "__"), &text) {
                        Ok(()) => last_matched = true,
                        Err(e) => mismatches.push(e.message().unwrap_or("snapshot mismatch").to_string()),
                    }
                }
                attempts.push(attempt);
                last_matched
            },
        )
        .await;
        Ok(())
    })?;
    let report = report::CaseReport::new(case.clone(), attempts);
    let details = || {
        let shown = report.shown();
        let artifacts = shown.and_then(|a| a.artifacts.as_ref()).map(|d| format!("artifacts: {}\n", d.display())).unwrap_or_default();
        format!("{}{artifacts}", shown.and_then(|a| a.details.clone()).unwrap_or_default())
    };
    // Retries asked for (`RTC_HARNESS_RETRIES`, as nextest's `retries`) and no repeats: a case that
    // failed or differed and then passed against the same snapshot is FLAKY, which does not fail
    // the run but is printed with what went wrong and listed again at the end of the run.
    let flaky_passes = env().options.retries > 0 && env().options.repeat == 1;
    match &report.outcome {
        Outcome::Passed if mismatches.is_empty() => Ok(Completion::Completed),
        Outcome::Passed if last_matched && flaky_passes => {
            let (runs, differed) = (report.attempts.len(), mismatches.len());
            flaky(format!("FLAKY {}: {} of {runs} attempts matched the snapshot; the one that differed:\n{}", case.name(), runs - differed, mismatches.join("\n")))
        }
        Outcome::Passed => Err(Failed::from(mismatches.join("\n"))),
        Outcome::Failed(_) => Err(Failed::from(details())),
        // A known intermittent finding that passed on its retry is the finding, not a failure.
        Outcome::Flaky { known: Some(finding), passed, runs, .. } if mismatches.is_empty() => {
            eprintln!("{}: passed {passed} of {runs}: a known intermittent finding: {finding}", case.name());
            Ok(Completion::Completed)
        }
        Outcome::Flaky { passed, runs, .. } if mismatches.is_empty() && flaky_passes => {
            flaky(format!("FLAKY {}: passed {passed} of {runs}; the failed attempt:\n{}", case.name(), details()))
        }
        Outcome::Flaky { passed, runs, .. } => Err(Failed::from(format!("FLAKY: passed {passed} of {runs}\n{}{}", details(), mismatches.join("\n")))),
        left_out => Ok(Completion::ignored_with(format!("{}: {}", left_out.label().to_lowercase(), left_out.reason().unwrap_or_default()))),
    }
}

/// A FLAKY case (or trial): printed as it ends and kept for the list after the summary; it does
/// not fail.
pub fn flaky(text: String) -> Result<Completion, Failed> {
    eprintln!("{text}");
    FLAKY.lock().unwrap_or_else(|e| e.into_inner()).push(text);
    Ok(Completion::Completed)
}

/// Compares `text` with `tests/snapshots/<name>.snap` (insta; `INSTA_UPDATE=always` records).
/// A mismatch carries its own line diff: insta prints its diff to stderr, which a CI log may cut,
/// and the failure message is the one part every reporter keeps.
pub fn snapshot(name: &str, text: &str) -> Result<(), Failed> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let owned = (name.to_string(), text.to_string());
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || settings.bind(|| insta::assert_snapshot!(owned.0, owned.1)))).map_err(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        let stored = std::fs::read_to_string(dir.join(format!("{name}.snap"))).ok();
        let diff = stored.map(|s| line_diff(snapshot_body(&s), text)).unwrap_or_else(|| "(no stored snapshot: `INSTA_UPDATE=always cargo test` records it)\n".into());
        Failed::from(format!("snapshot mismatch: {}\n-stored +this run:\n{diff}", msg.unwrap_or_default()))
    })
}

/// The body of a `.snap` file: what follows its `---`-fenced metadata header.
fn snapshot_body(file: &str) -> &str {
    file.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")).map_or(file, |(_, body)| body)
}

/// The changed lines of `new` against `old`, each with one line of context either side.
fn line_diff(old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old.trim_end(), new.trim_end());
    let mut out = String::new();
    for group in diff.grouped_ops(1) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                out.push_str(&format!("{sign} {}", change.value()));
                if change.missing_newline() {
                    out.push('\n');
                }
            }
        }
    }
    out
}
