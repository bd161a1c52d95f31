//! The validated scenario: its peers ([`PeerSpec`]) with their ICE servers and paths, steps,
//! expectations, exclusions and fault rules.

use super::expectation::Expectation;
use super::flows::{CodecPreferences, FaultRule};
use super::kinds::{DataChannelSpec, MediaKind, Negotiation, PeerKind};
use super::network::Path;
use super::step::{Action, Step, StepKind};
use serde::Deserialize;
use std::path::PathBuf;

/// Whether a peer trickles its candidates (RFC 8838). A scenario that is not about trickle works
/// with either side trickling or not (the seed's flow handles both), so a peer's trickle follows
/// its kind unless the scenario says otherwise or its point is the trickled candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trickle {
    /// It trickles: written `trickle: true`, or the scenario checks its trickled candidates (a
    /// `trickle` expectation naming it or every peer, a signaling fault on its candidates or its
    /// end-of-candidates). Its kind must be able to.
    On,
    /// It sends complete descriptions only: `trickle: false`, or a `non_trickle` expectation.
    Off,
    /// Not written and not the scenario's point: it trickles when its kind can. Resolved per case
    /// (`Case::resolved`) before the case runs.
    AsKind,
}

/// A peer as declared; `kinds` is expanded by the matrix.
#[derive(Clone, Debug)]
pub struct PeerSpec {
    pub name: String,
    pub kinds: Vec<PeerKind>,
    pub media: Vec<MediaKind>,
    pub data_channels: Vec<DataChannelSpec>,
    pub trickle: Trickle,
    pub negotiation: Negotiation,
    pub echo: bool,
    /// The harness's STUN/TURN server as this peer is given it (through its own network path).
    pub ice_servers: Vec<IceServer>,
    pub ice_transport_policy: IcePolicy,
    /// The conditions of the path between the peer and the TURN server at the start.
    pub network: Path,
    /// Perfect negotiation's role (webrtc-pc section 10.7); `None`: the seed's flow.
    pub polite: Option<bool>,
    pub codecs: CodecPreferences,
}

impl PeerSpec {
    /// Whether the peer trickles in the case as it runs (after `Case::resolved`).
    pub fn trickles(&self) -> bool {
        self.trickle == Trickle::On
    }
}

impl Trickle {
    /// What [`Trickle::AsKind`] becomes for a kind that can trickle or not.
    pub fn as_kind(can: bool) -> Trickle {
        if can {
            Trickle::On
        } else {
            Trickle::Off
        }
    }
}

/// One ICE server a peer is given: the harness's own, reached through the peer's network path.
#[derive(Clone, Debug, PartialEq)]
pub enum IceServer {
    Stun,
    /// `username` / `credential` override the peer's real credentials (a scenario of refusal).
    Turn {
        username: Option<String>,
        credential: Option<String>,
    },
}

/// RTCIceTransportPolicy (W3C webrtc-pc section 4.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IcePolicy {
    #[default]
    All,
    Relay,
}

impl IcePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            IcePolicy::All => "all",
            IcePolicy::Relay => "relay",
        }
    }
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `negotiation::basic` for `scenarios/negotiation/basic.yaml`.
    pub id: String,
    pub path: PathBuf,
    pub description: String,
    pub peers: Vec<PeerSpec>,
    pub offerer: String,
    pub steps: Vec<Step>,
    pub expect: Vec<Expectation>,
    /// `(pair, reason)`: pairs such as `firefox-rust` left out of the matrix.
    pub exclude: Vec<(String, String)>,
    /// `(pair, flake)`: pairs that run, with an intermittent finding known by its signature.
    pub flaky: Vec<(String, Flake)>,
    /// In the extended suite (long cases; see `RunOptions::extended_kinds`).
    pub extended: bool,
    /// A fixed port for the built-in STUN/TURN server.
    pub turn_port: Option<u16>,
    /// The seed of the network conditions' random choices.
    pub seed: u64,
    /// The relay's signaling fault rules, in file order.
    pub faults: Vec<FaultRule>,
}

impl Scenario {
    pub fn peer(&self, name: &str) -> Option<&PeerSpec> {
        self.peers.iter().find(|p| p.name == name)
    }
    /// Whether the case's senders paint the frame marker: a `markers`, `freezes` or `latency`
    /// expectation reads it, and a `stall_video` step holds it.
    pub fn uses_markers(&self) -> bool {
        use super::expectation::ExpectKind;
        self.expect.iter().any(|e| matches!(e.kind, ExpectKind::Markers { .. } | ExpectKind::Freezes { .. } | ExpectKind::Latency { .. }))
            || self.steps.iter().any(|s| matches!(s.kind, super::step::StepKind::Do { action: super::step::Action::StallVideo(_), .. }))
    }
    /// Whether the case's senders send their tone (docs/markers.md, "Audio"): an `audio` or
    /// `silence` expectation reads it. The tone's sender is the marker's ([`Self::marker_sender`]).
    pub fn uses_tones(&self) -> bool {
        use super::expectation::ExpectKind;
        self.expect.iter().any(|e| matches!(e.kind, ExpectKind::Audio { .. } | ExpectKind::Silence { .. }))
    }
    /// The marker's sender number of `peer` (docs/markers.md): its place in `peers`.
    pub fn marker_sender(&self, peer: &str) -> Option<u8> {
        self.peers.iter().position(|p| p.name == peer).and_then(|i| u8::try_from(i).ok())
    }
    /// Whether a case of this scenario needs the built-in STUN/TURN server.
    pub fn uses_ice_servers(&self) -> bool {
        self.peers.iter().any(|p| !p.ice_servers.is_empty())
    }
    /// Whether `peer` closes its connection in a `close` step (a hang-up).
    pub fn closes(&self, peer: &str) -> bool {
        self.steps.iter().any(|s| matches!(&s.kind, StepKind::Do { peer: who, action: Action::Close } if who == peer))
    }
    /// Whether any path of the case drops packets at some point: loss in a peer's conditions,
    /// from the start or from a `network` step, or a blackout.
    pub fn loses_packets(&self) -> bool {
        let lossy = |p: &Path| p.uplink.loss > 0.0 || p.downlink.loss > 0.0;
        self.peers.iter().any(|p| lossy(&p.network))
            || self.steps.iter().any(|s| match &s.kind {
                StepKind::Network { path, .. } => lossy(path),
                StepKind::Blackout { .. } => true,
                _ => false,
            })
    }
    pub fn answerer(&self) -> &str {
        self.peers.iter().map(|p| p.name.as_str()).find(|n| *n != self.offerer).unwrap_or("")
    }
}

/// An intermittent finding known by its signature: a failure whose text contains `signature` is
/// this finding (the runner retries the case and reports it as the known flake); any other
/// failure of the case is a failure.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Flake {
    pub signature: String,
    pub reason: String,
}

impl Flake {
    /// Whether a failure's text shows this finding.
    pub fn matches(&self, failure: &str) -> bool {
        failure.contains(&self.signature)
    }
}
