//! The adapter kernels' own unit tests (`kernels::...`), so that CI runs them: the Node kernel
//! (`node stacks/node/kernel/test.js`) and the Python kernel (`python3 -m unittest discover -s
//! stacks/python/kernel`, standard library only; the audio marker's `tone_tests.py` with the aiortc
//! virtualenv's Python, which has numpy). Node and Python are on every machine this runs
//! on (the README's set-up starts from them), so a missing interpreter fails.

use libtest_mimic::{Failed, Trial};
use std::path::Path;
use std::process::Command;

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("kernels::node", || passes("node", &["stacks/node/kernel/test.js"])),
        Trial::test("kernels::python", || passes("python3", &["-m", "unittest", "discover", "-s", "stacks/python/kernel"])),
        // The audio marker's kernel needs numpy, which the aiortc kind's virtualenv has: ignored
        // with the aiortc kind where it is not installed, as its cases are.
        Trial::ignorable_test("kernels::python_tone", || {
            if let Some(skipped) = super::skip_unless_installed(&rtc_harness::scenario::PeerKind::new("aiortc").expect("a kind name"))? {
                return Ok(skipped);
            }
            passes("stacks/aiortc/.venv/bin/python", &["-m", "unittest", "stacks/python/kernel/tone_tests.py"]).map(|()| libtest_mimic::Completion::Completed)
        }),
    ]
}

fn passes(program: &str, args: &[&str]) -> Result<(), Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program).args(args).current_dir(root).output().map_err(|e| Failed::from(format!("{program} could not be started: {e} (the adapters need it)")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Err(format!("{program} {}: {}\n{text}", args.join(" "), out.status).into())
}
