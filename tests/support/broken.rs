//! Broken command peers (`fixtures/broken-stacks/`): each way a program can fail must fail its case
//! with the program's stderr and exit status, never hang the run, and leave no process behind.

use super::block_on;
use libtest_mimic::{Failed, Trial};
use rtc_harness::report::failure_details;
use rtc_harness::runner::{run_case, Env, RunOptions};
use rtc_harness::scenario::{self, Case, PeerKind};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// `(kind, what the failure must say)`.
const CASES: &[(&str, &[&str])] = &[
    ("crash_at_start", &["no hello", "exit status: 3", "cannot load the stack (on purpose)"]),
    ("crash_mid_call", &["is gone: it exited", "exit status: 7", "segfault in the media loop (on purpose)"]),
    ("garbage", &["not the protocol", "this is not a protocol line"]),
    ("never_answers", &["no answer to perform within"]),
];

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut options = RunOptions::from_env();
        // Beside the repository's kinds (the scenarios' exclusions name them), not instead.
        options.kinds_files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/broken-stacks/kinds.yaml"));
        super::runtime().block_on(async { Env::new(options) }).expect("the broken kinds load")
    })
}

pub fn trials() -> Vec<Trial> {
    CASES.iter().map(|(kind, says)| Trial::test(format!("broken::{kind}"), move || check(kind, says)).with_kind("broken")).collect()
}

fn check(kind: &str, says: &[&str]) -> Result<(), Failed> {
    let env = env();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/datachannel/echo.yaml");
    let scenario = Arc::new(scenario::load_file(&path, None, &env.registry.kinds()).map_err(|e| e.to_string())?);
    let case = Case { scenario, kinds: vec![PeerKind::new(kind).expect("valid"), PeerKind::new("rust").expect("valid")], excluded: None };
    let result = block_on(async { Ok(run_case(&case, env).await) })?;
    let text = match &result {
        Ok(run) if run.passed() => return Err(format!("{kind}: the case passed with a broken peer").into()),
        _ => failure_details(&result).unwrap_or_default(),
    };
    for s in says {
        if !text.contains(s) {
            return Err(format!("{kind}: the failure does not say '{s}':\n{text}").into());
        }
    }
    block_on(async {
        env.shutdown().await;
        Ok(())
    })?;
    let left = leftover(kind);
    if !left.is_empty() {
        return Err(format!("{kind}: processes left behind: {left:?}").into());
    }
    Ok(())
}

/// Live processes whose command line runs `broken.py <kind>`.
fn leftover(kind: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok().map(|c| (e.file_name(), c)))
        .map(|(pid, c)| (pid, String::from_utf8_lossy(&c).replace('\0', " ")))
        .filter(|(_, c)| c.contains("broken.py") && c.contains(kind))
        .filter(|(pid, _)| {
            // A zombie is not a process left running; the harness reaps its own, so this is belt
            // and braces.
            std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).is_ok_and(|s| !s.contains(") Z "))
        })
        .map(|(pid, c)| format!("{} {c}", pid.to_string_lossy()))
        .collect()
}
