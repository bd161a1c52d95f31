//! The adapter author's kit (`rtc-harness adapter-check`): a bundled adapter passes its battery,
//! and each broken program fails it with the `stacks/PROTOCOL.md` rule it breaks named (checked
//! inside that program's `broken::` test).

use super::block_on;
use libtest_mimic::{Failed, Trial};
use rtc_harness::adapter_check as kit;
use rtc_harness::runner::Env;
use rtc_harness::scenario::PeerKind;

/// `(kind, the items to run, the section its failure must name)`; no items: the hello fails.
const BROKEN: &[(&str, &[&str], &str)] = &[
    ("crash_at_start", &[], "Start and `hello`"),
    ("crash_mid_call", &["call"], "Reuse, failures and exit"),
    ("garbage", &["call"], "Lines and common rules"),
    ("never_answers", &["call"], "`perform` (harness to program)"),
    ("mute_at_end", &["call"], "`collect_stats` (harness to program)"),
    ("no_negotiationneeded", &["restart_ice"], "What `restart_ice` means"),
    ("quiet_channel", &["data_channel"], "Events"),
    ("stats_shape", &["call"], "`stats.summary`"),
    ("foreign_marker", &["markers"], "The configuration"),
    // The battery has no tones case: the scenario's `audio` check (broken.rs) is what catches it.
    ("foreign_tone", &[], ""),
    // A camera that stalls breaks no rule of the specification: no kit verdict to check.
    ("frozen_sender", &[], ""),
];

/// The bundled adapter whose whole battery runs here (the fastest to start; every bundled kind
/// passes it, see docs/stacks.md, and the matrix runs the same cases for each).
const BUNDLED: &str = "libwebrtc";

/// The bundled adapter's battery; each broken program's kit check runs inside its `broken::` test.
pub fn trials() -> Vec<Trial> {
    vec![Trial::test(format!("adapter_check::{BUNDLED}"), || bundled(BUNDLED)).with_kind("kit")]
}

/// The kit's verdict on a broken program of `BROKEN` (called by its `broken::` test).
pub fn broken(kind: &str, env: &Env) -> Result<(), Failed> {
    let Some((_, items, section)) = BROKEN.iter().find(|(k, ..)| *k == kind) else {
        return Err(format!("{kind}: no kit expectation in tests/support/kit.rs").into());
    };
    if section.is_empty() {
        return Ok(());
    }
    let k = PeerKind::new(kind).expect("valid");
    block_on(async {
        let hello = kit::hello(&k, env).await;
        if items.is_empty() {
            return match hello {
                Ok(v) => Err(format!("{kind}: hello passed ({v})").into()),
                Err((_, rules)) if rules.iter().any(|r| r.section == *section) => Ok(()),
                Err((why, rules)) => Err(format!("{kind}: the hello failed without naming '{section}': {why} {rules:?}").into()),
            };
        }
        hello.map_err(|(why, _)| format!("{kind}: hello failed: {why}"))?;
        let results = kit::run(&k, env, Some(items), |_| {}).await?;
        let named = results.iter().flat_map(|r| &r.pairs).any(|(_, v)| matches!(v, kit::Verdict::Failed { rules, .. } if rules.iter().any(|r| r.section == *section)));
        match named {
            true => Ok(()),
            false => Err(format!("{kind}: adapter-check names no '{section}':\n{}", results.iter().map(kit::render).collect::<Vec<_>>().join("\n")).into()),
        }
    })
}

fn bundled(kind: &str) -> Result<(), Failed> {
    let env = super::env();
    let k = PeerKind::new(kind).expect("valid");
    block_on(async {
        kit::hello(&k, env).await.map_err(|(why, _)| format!("{kind}: hello failed: {why}"))?;
        let results = kit::run(&k, env, None, |_| {}).await?;
        let failed: Vec<String> = results.iter().filter(|r| r.failed()).map(kit::render).collect();
        if !failed.is_empty() {
            return Err(format!("{kind} fails its own kit:\n{}", failed.join("\n")).into());
        }
        let passed = results.iter().filter(|r| r.pairs.iter().any(|(_, v)| matches!(v, kit::Verdict::Passed))).count();
        if passed < results.len() / 2 {
            return Err(format!("{kind}: only {passed} of {} items ran a pair that passed", results.len()).into());
        }
        Ok(())
    })
}
