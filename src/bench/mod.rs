//! Time-to-first-frame measurement (the CLI's `bench` and `benches/ttff.rs`) and its phases.
//!
//! TTFF runs from the offerer's `createOffer` call (media already captured, peers already loaded)
//! to the receiver's first rendered video frame (browser: `requestVideoFrameCallback`; Rust peer:
//! first complete VP8 keyframe). Phases: offer -> answer applied at the offerer, -> ICE connected at
//! the receiver, -> DTLS connected (`connectionState` connected) at the receiver, -> first frame.

pub mod cli;
pub mod floor;
pub mod handshake;
pub mod overhead;
pub mod relay_load;
pub mod results;
pub mod table;

use crate::clock::Millis;
use crate::runner::{run_case, Env, RunError};
use crate::scenario::{load_str, Case, PeerKind, Scenario};
use crate::transcript::{Event, Transcript};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The bench scenario, embedded so that the definition cannot drift with the suite's scenarios.
pub const TTFF_SCENARIO: &str = include_str!("ttff.yaml");

/// The default span of `bench --dither` (ms): three ticks of either fake camera at the bench's
/// 30 fps (two of Chrome's at its own 20 fps), so that every phase of a tick is covered evenly.
pub const DITHER_PERIOD_MS: f64 = 100.0;

/// How often the bench calls an idle browser page (ms; `bench --browser-poll`): the heartbeat of
/// `limits::BROWSER_POLL`. Pages used to be drained by a WebDriver script every 20 ms, which took a
/// measurable share of the two cores from the call (chrome-chrome 1.23 / 1.17 / 1.10x its floor
/// with 20 ms, 1.11 / 1.10 / 1.11x with 1000 ms, `--iterations 20 --runs 3`); they now push their
/// events (peer/browser/outlet.rs), and the bench's figures are the pages' own stamps.
pub const BROWSER_POLL_MS: u64 = 1000;

/// Chrome's fake camera rate in the bench (fps; `bench --camera-fps`): Firefox's, which its fake
/// source fixes at 30. A mixed pair is compared with its receiver's floor, whose sender is the
/// receiver's own browser; with Chrome at its default 20 fps a Chrome sender waits 25 ms for its
/// tick on average against a Firefox floor's 16.7, so chrome-firefox measured 1.31-1.42x the
/// Firefox floor and firefox-chrome 0.96-1.03x the Chrome floor. At 30 fps both: 1.04-1.06x
/// and 1.26-1.57x, the latter now showing Firefox's dropped ClientHello (docs/benchmarks.md).
pub const CAMERA_FPS: u32 = 30;

/// The pause between capture start and `createOffer` for iteration `i`, spread over
/// `[0, period)`.
///
/// A fake camera ticks from the moment `getUserMedia` starts it, and both the floor and a pair
/// offer right after that: the first frame leaves at the first tick after DTLS connects, so TTFF
/// moves in whole frame intervals (33 or 50 ms) and a few ms of overhead either cost nothing or a
/// whole tick. Spreading the offer's start over the tick's phases (a golden-ratio sequence:
/// evenly spread for any number of iterations) turns that step into its mean, the same for the
/// floor and the pair, so their difference is the harness's own cost.
pub fn dither(i: usize, period_ms: f64) -> f64 {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    if period_ms <= 0.0 {
        return 0.0;
    }
    ((i as f64 + 1.0) * INV_PHI).fract() * period_ms
}

/// The pauses of `n` iterations in order (`dither(0..n, period_ms)`).
pub fn dither_delays(n: usize, period_ms: f64) -> Vec<f64> {
    (0..n).map(|i| dither(i, period_ms)).collect()
}

/// One measured run, in milliseconds from `createOffer`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Phases {
    pub answer_applied: Millis,
    pub ice_connected: Millis,
    pub dtls_connected: Millis,
    pub first_frame: Millis,
    /// The answer phase's steps, where the peers stamp them: the offer set at the offerer
    /// (`setLocalDescription` done), applied at the answerer (`setRemoteDescription` done), and
    /// the answer set there. Between them lie the relay's two hops and each side's own work;
    /// the floor page stamps the same steps without a relay.
    #[serde(default)]
    pub offer_set: Option<Millis>,
    #[serde(default)]
    pub offer_applied: Option<Millis>,
    #[serde(default)]
    pub answer_set: Option<Millis>,
    /// Inside the receiving peer, where it says (the agent page does): how long each description
    /// waited there before `setRemoteDescription` was called, and how long that call took.
    /// Durations, not times from `createOffer`.
    #[serde(default)]
    pub offer_queued: Option<Millis>,
    #[serde(default)]
    pub offer_apply: Option<Millis>,
    #[serde(default)]
    pub answer_queued: Option<Millis>,
    #[serde(default)]
    pub answer_apply: Option<Millis>,
    /// A marked call's glass-to-glass latency at bob: median and 95th percentile of its sampled
    /// frames (painted by alice, shown by bob, on the case clock).
    #[serde(default)]
    pub glass_p50: Option<Millis>,
    #[serde(default)]
    pub glass_p95: Option<Millis>,
}

pub fn scenario(env: &Env) -> Arc<Scenario> {
    Arc::new(
        load_str(TTFF_SCENARIO, "src/bench/ttff.yaml", "bench::ttff", PathBuf::from("src/bench/ttff.yaml"), &env.registry.kinds()).expect("the embedded bench scenario is valid"),
    )
}

/// The case for `offerer-receiver`, e.g. `chrome-rust`.
/// A peer whose kind cannot trickle (aiortc) sends its description once gathering is complete, as
/// it would in a call; the pair is measured all the same.
///
/// With `network`, both peers are relay-only through the harness's TURN server and each one's
/// path has those conditions (`bench --profile`). With a `delay_ms` over zero the offerer
/// negotiates manually: `start` (capture begins), a pause of `delay_ms`, then `send_offer`
/// (see `dither`).
///
/// `marked`: the same call with frame markers (docs/markers.md): alice paints them, bob reads
/// them, and the case settles once bob showed `MARKED_FRAMES` of alice's marked frames, so that
/// glass-to-glass latency has a few sampled frames (one a second).
pub fn case(pair: &(PeerKind, PeerKind), env: &Env, network: Option<&crate::scenario::network::Path>, delay_ms: f64, marked: bool) -> Case {
    let mut scenario = (*scenario(env)).clone();
    if marked {
        let within = std::time::Duration::from_secs(15);
        let kind = crate::scenario::ExpectKind::Markers { at: "bob".into(), from: "alice".into(), source: None, frames: MARKED_FRAMES, latency: None, within };
        scenario.expect.push(crate::scenario::Expectation { line: 0, kind });
    }
    if delay_ms > 0.0 {
        let offerer = scenario.peers[0].name.clone();
        scenario.peers[0].negotiation = crate::scenario::Negotiation::Manual;
        let act = |action| crate::scenario::Step { line: 0, kind: crate::scenario::StepKind::Do { peer: offerer.clone(), action } };
        scenario.steps = vec![
            act(crate::scenario::Action::Start),
            crate::scenario::Step { line: 0, kind: crate::scenario::StepKind::Pause(std::time::Duration::from_secs_f64(delay_ms / 1000.0)) },
            act(crate::scenario::Action::SendOffer),
        ];
    }
    for peer in &mut scenario.peers {
        // Each side as its kind can: the bench measures the stacks' own flows.
        peer.trickle = crate::scenario::Trickle::AsKind;
        if let Some(path) = network {
            peer.ice_servers = vec![crate::scenario::IceServer::Turn { username: None, credential: None }];
            peer.ice_transport_policy = crate::scenario::IcePolicy::Relay;
            peer.network = path.clone();
        }
    }
    let case = Case { scenario: Arc::new(scenario), kinds: vec![pair.0.clone(), pair.1.clone()], excluded: None, flakes: Vec::new() };
    crate::runner::resolve(&case, &env.registry)
}

/// Parses `rust-chrome` against the registry's kinds.
pub fn parse_pair(s: &str, env: &Env) -> Option<(PeerKind, PeerKind)> {
    let (a, b) = s.split_once('-')?;
    let k = |s: &str| env.registry.kinds().into_iter().find(|k| k.as_str() == s);
    Some((k(a)?, k(b)?))
}

/// The default pairs: every pair of the first three kinds (`rust`, `chrome`, `firefox`), and each
/// further kind with `rust` both ways and with itself.
pub fn default_pairs(env: &Env) -> Vec<(PeerKind, PeerKind)> {
    let kinds = env.registry.kinds();
    let (core, rest) = kinds.split_at(kinds.len().min(3));
    let mut pairs: Vec<(PeerKind, PeerKind)> = Vec::new();
    for a in core {
        for b in core {
            pairs.push((a.clone(), b.clone()));
        }
    }
    let rust = core.first().cloned();
    for k in rest {
        if let Some(r) = &rust {
            pairs.push((k.clone(), r.clone()));
            pairs.push((r.clone(), k.clone()));
        }
        pairs.push((k.clone(), k.clone()));
    }
    pairs
}

/// The phases of a transcript of the bench scenario.
pub fn phases(t: &Transcript) -> Option<Phases> {
    let at = |peer: &str, f: &dyn Fn(&Event) -> bool| t.first(peer, f).map(|e| e.at);
    let start = at("alice", &|e| matches!(e, Event::CreateOffer))?;
    // Each remote description once: when it was applied, and the receiver's own stamps.
    let applied = |peer: &str, kind: &str| {
        t.first(peer, |e| matches!(e, Event::RemoteDescription { sdp_type, .. } if sdp_type == kind)).map(|e| match &e.event {
            Event::RemoteDescription { queued_ms, apply_ms, .. } => (e.at, *queued_ms, *apply_ms),
            _ => unreachable!("first() matched a remote description"),
        })
    };
    let (answer_at, answer_queued, answer_apply) = applied("alice", "answer")?;
    let offer = applied("bob", "offer");
    Some(Phases {
        answer_applied: answer_at - start,
        ice_connected: at("bob", &|e| matches!(e, Event::IceConnectionState { state } if state == "connected" || state == "completed"))? - start,
        dtls_connected: at("bob", &|e| matches!(e, Event::ConnectionState { state } if state == "connected"))? - start,
        first_frame: at("bob", &|e| matches!(e, Event::FirstFrame { .. }))? - start,
        offer_set: at("alice", &|e| matches!(e, Event::LocalDescription { sdp_type, .. } if sdp_type == "offer")).map(|t| t - start),
        offer_applied: offer.map(|(at, ..)| at - start),
        answer_set: at("bob", &|e| matches!(e, Event::LocalDescription { sdp_type, .. } if sdp_type == "answer")).map(|t| t - start),
        offer_queued: offer.and_then(|(_, queued, _)| queued),
        offer_apply: offer.and_then(|(.., apply)| apply),
        answer_queued,
        answer_apply,
        glass_p50: None,
        glass_p95: None,
    })
}

/// Marked frames bob must show in a marked bench call: 3 s at 30 fps, 3 sampled frames or more.
pub const MARKED_FRAMES: u32 = 90;

/// Runs the bench case once, its offer `delay_ms` after capture starts, and returns its phases
/// (with the glass-to-glass latency of a `marked` call).
pub async fn measure(pair: &(PeerKind, PeerKind), env: &Env, network: Option<&crate::scenario::network::Path>, delay_ms: f64, marked: bool) -> Result<Phases, RunError> {
    let case = case(pair, env, network, delay_ms, marked);
    let run = run_case(&case, env).await?;
    if !run.passed() {
        return Err(RunError::Setup(format!("{}: the bench case failed:\n{}", case.name(), run.verdict)));
    }
    let mut p = phases(&run.transcript).ok_or_else(|| RunError::Setup(format!("{}: a phase is missing from the transcript", case.name())))?;
    if let Some(stream) = run.timings.streams.iter().find(|s| s.from == "alice" && s.at == "bob") {
        p.glass_p50 = stream.latency_p50_ms;
        p.glass_p95 = stream.latency_p95_ms;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dither_covers_the_period_evenly() {
        assert_eq!(dither(3, 0.0), 0.0);
        for n in [10usize, 20, 30] {
            let d = dither_delays(n, DITHER_PERIOD_MS);
            assert!(d.iter().all(|v| (0.0..DITHER_PERIOD_MS).contains(v)), "{d:?}");
            // Each fifth of the period (a tenth of a Chrome tick pair) holds n/5 of them, give or
            // take one: no phase of a tick is left out or favoured.
            for bin in 0..5 {
                let lo = bin as f64 * 20.0;
                let count = d.iter().filter(|v| (lo..lo + 20.0).contains(*v)).count();
                assert!(count.abs_diff(n / 5) <= 1, "n={n} bin {bin}: {count} of {d:?}");
            }
            // And each third (one Firefox tick) too.
            for bin in 0..3 {
                let lo = bin as f64 * 100.0 / 3.0;
                let count = d.iter().filter(|v| (lo..lo + 100.0 / 3.0).contains(*v)).count();
                assert!(count.abs_diff(n / 3) <= 1, "n={n} third {bin}: {count} of {d:?}");
            }
        }
    }
}
