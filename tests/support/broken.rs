//! Broken command peers (`fixtures/broken-stacks/`): each way a program can fail must fail its case
//! with the program's stderr and exit status, never hang the run, and leave no process behind; and
//! `adapter-check` must fail the program naming the rule it breaks (`kit.rs`).

use super::block_on;
use libtest_mimic::{Failed, Trial};
use rtc_harness::report::failure_details;
use rtc_harness::runner::{run_case, Env, RunOptions};
use rtc_harness::scenario::{self, Case, PeerKind};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// `(kind, scenario, what the failure must say)`; the kind offers, the Rust peer answers (but for
/// `quiet_channel`).
const CASES: &[(&str, &str, &[&str])] = &[
    ("crash_at_start", ECHO, &["no hello", "exit status: 3", "cannot load the stack (on purpose)"]),
    ("crash_mid_call", ECHO, &["is gone: it exited", "exit status: 7", "segfault in the media loop (on purpose)"]),
    ("garbage", ECHO, &["not the protocol", "this is not a protocol line"]),
    ("never_answers", ECHO, &["no answer to perform within"]),
    // A real stack behind a proxy (fixtures/broken-stacks/proxy.py), wrong in one way each.
    ("mute_at_end", "negotiation/basic.yaml", &["collect_stats did not finish within", "stopped answering"]),
    ("no_negotiationneeded", "ice/restart_negotiationneeded.yaml", &["negotiation_needed(alice after restart_ice)", "no negotiationneeded before the offer"]),
    // Each stats summary reshaped: the harness checks every line against PROTOCOL.md's schemas.
    ("stats_shape", "negotiation/basic.yaml", &["a `stats` event breaks its schema", "at /summary/candidate_pair/local", "/inbound_rtp/0/packetsReceived"]),
    // Here the Rust peer offers and the broken kind answers: the runner waits for bob's open.
    ("quiet_channel", ECHO, &["waited 10s for bob: channel_open(chat)", "stderr of bob (this case", "proxy.py: dropped data_channel_open of chat (on purpose)"]),
    // Frame markers (docs/markers.md), against libwebrtc (`MARKERS_PARTNER`): another sender's
    // identity, and a sender that stalls for 2 s.
    ("foreign_marker", "media/markers.yaml", &["frame(s) of another sender: sender 9 (no peer of this case) source 0", "proxy.py: the adapter paints sender 9 (on purpose)"]),
    // The audio marker (docs/markers.md, "Audio"), against libwebrtc too: another sender's tone.
    (
        "foreign_tone",
        "media/audio_tones.yaml",
        &["another sender's tone: sender 9 (no peer of this case, 1500 Hz)", "proxy.py: the adapter sends the tone of sender 9 (on purpose)"],
    ),
    ("frozen_sender", FROZEN_NONE, &["freezes(bob, count ..0)", "freeze(s), ", " ms in all, in ", "proxy.py: stalling the video for 2 s from frame 60 (on purpose)"]),
];

/// The kinds of `CASES` that paint frame markers, and the reading kind they call.
const MARKERS_KINDS: &[&str] = &["foreign_marker", "foreign_tone", "frozen_sender"];
const MARKERS_PARTNER: &str = "libwebrtc";
const FROZEN_NONE: &str = "../fixtures/broken-stacks/scenarios/frozen_none.yaml";
/// The same stalled sender under a bound it meets: the case must pass.
const FROZEN_WITHIN: &str = "../fixtures/broken-stacks/scenarios/frozen_within_3s.yaml";

const ECHO: &str = "datachannel/echo.yaml";

pub(super) fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut options = RunOptions::from_env().unwrap_or_else(|e| panic!("{e}"));
        // Beside the repository's kinds (the scenarios' exclusions name them), not instead.
        options.kinds_files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/broken-stacks/kinds.yaml"));
        super::runtime().block_on(async { Env::new(options) }).expect("the broken kinds load")
    })
}

pub fn trials() -> Vec<Trial> {
    let mut trials: Vec<Trial> = CASES.iter().map(|(kind, file, says)| Trial::test(format!("broken::{kind}"), move || check(kind, file, says)).with_kind("broken")).collect();
    trials.push(Trial::test("broken::frozen_sender_within_bound", within_bound).with_kind("broken"));
    trials
}

/// The kinds of a broken kind's case: it offers and the Rust peer answers, but for
/// `quiet_channel` (the Rust peer offers) and the markers kinds (libwebrtc reads their frames).
fn pair(kind: &str) -> Vec<PeerKind> {
    let broken = PeerKind::new(kind).expect("valid");
    let partner = PeerKind::new(if MARKERS_KINDS.contains(&kind) { MARKERS_PARTNER } else { "rust" }).expect("valid");
    if kind == "quiet_channel" {
        vec![partner, broken]
    } else {
        vec![broken, partner]
    }
}

fn case_of(kind: &str, file: &str, env: &Env) -> Result<Case, Failed> {
    for k in [kind, MARKERS_PARTNER] {
        if let Some(launcher) = env.registry.get(&PeerKind::new(k).expect("valid")) {
            if let Err(why) = launcher.availability() {
                return Err(format!("{kind}: the stack behind it is not installed: {why}").into());
            }
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let scenario = Arc::new(scenario::load_file(&path, None, &env.registry.kinds()).map_err(|e| e.to_string())?);
    Ok(Case { scenario, kinds: pair(kind), excluded: None, flakes: Vec::new() })
}

/// A 2 s stall passes `freezes: {max_freeze: 3s}`: the bound, not the freeze, decides.
fn within_bound() -> Result<(), Failed> {
    let env = env();
    let case = case_of("frozen_sender", FROZEN_WITHIN, env)?;
    let result = block_on(async { Ok(run_case(&case, env).await) })?;
    block_on(async {
        env.shutdown().await;
        Ok(())
    })?;
    match &result {
        Ok(run) if run.passed() => Ok(()),
        _ => Err(format!("frozen_sender under a 3 s bound failed:\n{}", failure_details(&result).unwrap_or_default()).into()),
    }
}

fn check(kind: &str, file: &str, says: &[&str]) -> Result<(), Failed> {
    let env = env();
    let case = case_of(kind, file, env)?;
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
    // The adapter author's kit on the same program, here rather than in a test of its own: two
    // tests of one program side by side would each see the other's processes as left behind.
    super::kit::broken(kind, env)?;
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

/// Live processes whose command line runs `broken.py <kind>` or `proxy.py <kind>`.
fn leftover(kind: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok().map(|c| (e.file_name(), c)))
        .map(|(pid, c)| (pid, String::from_utf8_lossy(&c).replace('\0', " ")))
        .filter(|(_, c)| (c.contains("broken.py") || c.contains("proxy.py")) && c.contains(kind))
        .filter(|(pid, _)| {
            // A zombie is not a process left running; the harness reaps its own, so this is belt
            // and braces.
            std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).is_ok_and(|s| !s.contains(") Z "))
        })
        .map(|(pid, c)| format!("{} {c}", pid.to_string_lossy()))
        .collect()
}
