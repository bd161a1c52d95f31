//! Scenarios: the validated model ([`Scenario`]), strict loading ([`load`]) and the matrix of cases.

mod expect;
pub mod load;
pub mod matrix;
pub mod model;
mod needs;

pub use load::{load_dir, load_file, load_paths, LoadError};
pub use matrix::Case;
pub use model::{DataChannelSpec, MediaKind, Negotiation, PeerKind, ALL_KINDS};
pub use needs::{Capabilities, Needs};

use std::path::PathBuf;
use std::time::Duration;

/// A step a peer is asked to perform (the `do` half of the language; `peer` implements it).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Attach the configured media and data channels.
    Start,
    AddTrack(MediaKind),
    CreateDataChannel { label: String },
    /// createOffer, setLocalDescription, send it.
    SendOffer,
    RestartIce,
    SendMessage { label: String, text: String },
    Close,
}

impl Action {
    /// The action as pages and programs take it (`{"type": "add_track", "kind": "audio"}`): the
    /// agent page's `agent.perform` and the command-peer protocol's `perform`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Action::Start => json!({"type": "start"}),
            Action::AddTrack(kind) => json!({"type": "add_track", "kind": kind.as_str()}),
            Action::CreateDataChannel { label } => json!({"type": "create_data_channel", "label": label}),
            Action::SendOffer => json!({"type": "send_offer"}),
            Action::RestartIce => json!({"type": "restart_ice"}),
            Action::SendMessage { label, text } => json!({"type": "send_message", "label": label, "text": text}),
            Action::Close => json!({"type": "close"}),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Action::Start => "start".into(),
            Action::AddTrack(k) => format!("add_track({k})"),
            Action::CreateDataChannel { label } => format!("create_data_channel({label})"),
            Action::SendOffer => "send_offer".into(),
            Action::RestartIce => "restart_ice".into(),
            Action::SendMessage { label, .. } => format!("send_message({label})"),
            Action::Close => "close".into(),
        }
    }
}

/// A peer as declared; `kinds` is expanded by the matrix.
#[derive(Clone, Debug)]
pub struct PeerSpec {
    pub name: String,
    pub kinds: Vec<PeerKind>,
    pub media: Vec<MediaKind>,
    pub data_channels: Vec<DataChannelSpec>,
    pub trickle: bool,
    pub negotiation: Negotiation,
    pub echo: bool,
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
}

impl Scenario {
    pub fn peer(&self, name: &str) -> Option<&PeerSpec> {
        self.peers.iter().find(|p| p.name == name)
    }
    pub fn answerer(&self) -> &str {
        self.peers.iter().map(|p| p.name.as_str()).find(|n| *n != self.offerer).unwrap_or("")
    }
}

/// A step with the line it was written on (1-based; 0 for the default steps).
#[derive(Clone, Debug)]
pub struct Step {
    pub line: u64,
    pub kind: StepKind,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    Do { peer: String, action: Action },
    Wait { peer: String, condition: Condition, within: Duration },
    Sleep(Duration),
}

/// What a `wait` step waits for, as seen in the peer's own events.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Connected,
    IceConnected,
    Stable,
    GatheringComplete,
    Track(MediaKind),
    FirstFrame,
    FirstPacket,
    /// At least this many distinct video frames.
    Frames(u64),
    ChannelOpen(String),
    Message(String),
}

impl Condition {
    pub const SYNTAX: &'static str = "connected, ice_connected, stable, gathering_complete, \
        track(audio|video), first_frame, first_packet, frames(N), channel_open(LABEL), message(LABEL)";

    pub fn parse(s: &str) -> Option<Condition> {
        let s = s.trim();
        let arg = |prefix: &str| -> Option<String> {
            s.strip_prefix(prefix)?.strip_prefix('(')?.strip_suffix(')').map(|a| a.trim().to_string())
        };
        Some(match s {
            "connected" => Condition::Connected,
            "ice_connected" => Condition::IceConnected,
            "stable" => Condition::Stable,
            "gathering_complete" => Condition::GatheringComplete,
            "first_frame" => Condition::FirstFrame,
            "first_packet" => Condition::FirstPacket,
            _ => {
                if let Some(k) = arg("track") {
                    Condition::Track(MediaKind::parse(&k)?)
                } else if let Some(n) = arg("frames") {
                    Condition::Frames(n.parse().ok().filter(|n| *n > 0)?)
                } else if let Some(l) = arg("channel_open") {
                    Condition::ChannelOpen(l)
                } else if let Some(l) = arg("message") {
                    Condition::Message(l)
                } else {
                    return None;
                }
            }
        })
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Connected => write!(f, "connected"),
            Condition::IceConnected => write!(f, "ice_connected"),
            Condition::Stable => write!(f, "stable"),
            Condition::GatheringComplete => write!(f, "gathering_complete"),
            Condition::Track(k) => write!(f, "track({k})"),
            Condition::FirstFrame => write!(f, "first_frame"),
            Condition::FirstPacket => write!(f, "first_packet"),
            Condition::Frames(n) => write!(f, "frames({n})"),
            Condition::ChannelOpen(l) => write!(f, "channel_open({l})"),
            Condition::Message(l) => write!(f, "message({l})"),
        }
    }
}

/// A point of an `order` expectation: `alice sends offer`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderPoint {
    pub peer: String,
    pub what: OrderWhat,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderWhat {
    SendsOffer,
    SendsAnswer,
    SendsCandidate,
    SendsEndOfCandidates,
    ReceivesOffer,
    ReceivesAnswer,
    ReceivesCandidate,
    Connected,
    GetsTrack,
    GetsFirstFrame,
}

impl OrderWhat {
    pub const PHRASES: [(&'static str, OrderWhat); 10] = [
        ("sends offer", OrderWhat::SendsOffer),
        ("sends answer", OrderWhat::SendsAnswer),
        ("sends candidate", OrderWhat::SendsCandidate),
        ("sends end-of-candidates", OrderWhat::SendsEndOfCandidates),
        ("receives offer", OrderWhat::ReceivesOffer),
        ("receives answer", OrderWhat::ReceivesAnswer),
        ("receives candidate", OrderWhat::ReceivesCandidate),
        ("connected", OrderWhat::Connected),
        ("gets track", OrderWhat::GetsTrack),
        ("gets first frame", OrderWhat::GetsFirstFrame),
    ];
}

/// One validated expectation with the line it was written on.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub line: u64,
    pub kind: ExpectKind,
}

#[derive(Clone, Debug)]
pub enum ExpectKind {
    Order(Vec<OrderPoint>),
    Trickle { peer: String, end_of_candidates: bool, host: bool },
    NonTrickle { peer: String },
    Track { at: String, kind: MediaKind, count: u32, within: Duration },
    Media { at: String, kind: MediaKind, frames: u32, within: Duration },
    DataChannel { label: String, open: Vec<String>, echo: bool, within: Duration },
    Connection { peer: String, state: String, within: Duration },
    Timing { connected: Option<Duration>, first_frame: Option<(String, Duration)> },
    IceRestart { by: String },
}

impl ExpectKind {
    /// A short name for reports: `track(bob, video)`.
    pub fn label(&self) -> String {
        match self {
            ExpectKind::Order(points) => format!(
                "order({})",
                points.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(" < ")
            ),
            ExpectKind::Trickle { peer, .. } => format!("trickle({peer})"),
            ExpectKind::NonTrickle { peer } => format!("non_trickle({peer})"),
            ExpectKind::Track { at, kind, count, .. } => format!("track({at}, {kind} x{count})"),
            ExpectKind::Media { at, kind, frames, .. } => format!("media({at}, {kind} x{frames})"),
            ExpectKind::DataChannel { label, echo, .. } => {
                format!("data_channel({label}{})", if *echo { ", echo" } else { "" })
            }
            ExpectKind::Connection { peer, state, .. } => format!("connection({peer}, {state})"),
            ExpectKind::Timing { .. } => "timing".to_string(),
            ExpectKind::IceRestart { by } => format!("ice_restart(by {by})"),
        }
    }
}
pub use matrix::{expand, expand_all};
