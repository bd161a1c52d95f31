//! Every file in `fixtures/invalid/` must fail to load with exactly the error its snapshot holds.

use super::cases::snapshot;
use libtest_mimic::{Failed, Trial};
use rtc_harness::scenario;
use std::path::{Path, PathBuf};

pub fn trials() -> Vec<Trial> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures/invalid"))
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            Trial::test(format!("invalid::{stem}"), move || check(&rel, &stem)).with_kind("invalid")
        })
        .collect()
}

/// The port `fixtures/invalid/turn_port_in_use.yaml` names.
const TURN_PORT_HELD: u16 = 34781;

fn check(rel: &Path, stem: &str) -> Result<(), Failed> {
    // `turn_port_in_use.yaml` names the port held here, so that it is in use while it loads.
    let _held = (stem == "turn_port_in_use").then(|| std::net::UdpSocket::bind(("0.0.0.0", TURN_PORT_HELD)));
    // Relative to the crate root (cargo runs tests there), so messages read `fixtures/invalid/...`.
    let result =
        std::panic::catch_unwind(|| scenario::load_file(rel, None, &super::env().registry.kinds())).map_err(|_| Failed::from(format!("loading {} panicked", rel.display())))?;
    match result {
        Ok(_) => Err(Failed::from(format!("{} loaded, but it is invalid", rel.display()))),
        Err(e) => snapshot(&format!("invalid__{stem}"), &e.to_string()),
    }
}
