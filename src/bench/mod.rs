//! Time-to-first-frame measurement (the CLI's `bench` and `benches/ttff.rs`) and its phases.
//!
//! TTFF runs from the offerer's `createOffer` call (media already captured, peers already loaded)
//! to the receiver's first rendered video frame (browser: `requestVideoFrameCallback`; Rust peer:
//! first complete VP8 keyframe). Phases: offer -> answer applied at the offerer, -> ICE connected at
//! the receiver, -> DTLS connected (`connectionState` connected) at the receiver, -> first frame.

pub mod cli;
pub mod floor;
pub mod relay_load;
pub mod table;

use crate::clock::Millis;
use crate::runner::{run_case, Env, RunError};
use crate::scenario::{load::load_str, Case, PeerKind, Scenario};
use crate::transcript::{Event, Transcript};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The bench scenario, embedded so that the definition cannot drift with the suite's scenarios.
pub const TTFF_SCENARIO: &str = include_str!("ttff.yaml");

/// One measured run, in milliseconds from `createOffer`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Phases {
    pub answer_applied: Millis,
    pub ice_connected: Millis,
    pub dtls_connected: Millis,
    pub first_frame: Millis,
}

pub fn scenario() -> Arc<Scenario> {
    Arc::new(
        load_str(TTFF_SCENARIO, "src/bench/ttff.yaml", "bench::ttff", PathBuf::from("src/bench/ttff.yaml"))
            .expect("the embedded bench scenario is valid"),
    )
}

/// The case for `offerer-receiver`, e.g. `chrome-rust`.
pub fn case(pair: (PeerKind, PeerKind)) -> Case {
    Case { scenario: scenario(), kinds: vec![pair.0, pair.1], excluded: None }
}

/// Parses `rust-chrome`.
pub fn parse_pair(s: &str) -> Option<(PeerKind, PeerKind)> {
    let (a, b) = s.split_once('-')?;
    let k = |s: &str| PeerKind::ALL.iter().copied().find(|k| k.as_str() == s);
    Some((k(a)?, k(b)?))
}

/// Every pair the issue asks for, in table order.
pub fn default_pairs() -> Vec<(PeerKind, PeerKind)> {
    use PeerKind::*;
    vec![(Rust, Rust), (Rust, Chrome), (Chrome, Rust), (Rust, Firefox), (Firefox, Rust), (Chrome, Firefox), (Firefox, Chrome), (Chrome, Chrome), (Firefox, Firefox)]
}

/// The phases of a transcript of the bench scenario.
pub fn phases(t: &Transcript) -> Option<Phases> {
    let at = |peer: &str, f: &dyn Fn(&Event) -> bool| t.first(peer, f).map(|e| e.at);
    let start = at("alice", &|e| matches!(e, Event::CreateOffer))?;
    Some(Phases {
        answer_applied: at("alice", &|e| matches!(e, Event::RemoteDescription { sdp_type, .. } if sdp_type == "answer"))? - start,
        ice_connected: at("bob", &|e| matches!(e, Event::IceConnectionState { state } if state == "connected" || state == "completed"))? - start,
        dtls_connected: at("bob", &|e| matches!(e, Event::ConnectionState { state } if state == "connected"))? - start,
        first_frame: at("bob", &|e| matches!(e, Event::FirstFrame { .. }))? - start,
    })
}

/// Runs the bench case once and returns its phases.
pub async fn measure(pair: (PeerKind, PeerKind), env: &Env) -> Result<Phases, RunError> {
    let case = case(pair);
    let run = run_case(&case, env).await?;
    if !run.passed() {
        return Err(RunError::Setup(format!("{}: the bench case failed:\n{}", case.name(), run.verdict)));
    }
    phases(&run.transcript).ok_or_else(|| RunError::Setup(format!("{}: a phase is missing from the transcript", case.name())))
}
