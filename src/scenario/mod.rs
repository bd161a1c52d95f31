//! Scenarios: the validated model ([`Scenario`]), strict loading ([`load`]) and the matrix of cases.

mod expect;
pub mod flows;
mod flows_check;
pub mod load;
pub mod matrix;
pub mod model;
mod net_decl;
mod needs;
pub mod network;

pub use load::{load_dir, load_file, load_paths, LoadError};
pub use matrix::{Case, KnownFinding};
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
    /// One binary message of `size` bytes, byte i = i % 251.
    SendBinary { label: String, size: u32 },
    Close,
    Rollback,
    SetDirection { kind: MediaKind, direction: flows::Direction },
    RemoveTrack(MediaKind),
    ReplaceTrack(MediaKind),
    CloseChannel { label: String },
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
            Action::SendBinary { label, size } => json!({"type": "send_message", "label": label, "size": size}),
            Action::Close => json!({"type": "close"}),
            Action::Rollback => json!({"type": "rollback"}),
            Action::SetDirection { kind, direction } => json!({"type": "set_direction", "kind": kind.as_str(), "direction": direction.as_str()}),
            Action::RemoveTrack(kind) => json!({"type": "remove_track", "kind": kind.as_str()}),
            Action::ReplaceTrack(kind) => json!({"type": "replace_track", "kind": kind.as_str()}),
            Action::CloseChannel { label } => json!({"type": "close_channel", "label": label}),
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
            Action::SendBinary { label, size } => format!("send_message({label}, {size} bytes)"),
            Action::Close => "close".into(),
            Action::Rollback => "rollback".into(),
            Action::SetDirection { kind, direction } => format!("set_direction({kind}, {direction})"),
            Action::RemoveTrack(k) => format!("remove_track({k})"),
            Action::ReplaceTrack(k) => format!("replace_track({k})"),
            Action::CloseChannel { label } => format!("close_channel({label})"),
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
    /// The harness's STUN/TURN server as this peer is given it (through its own network path).
    pub ice_servers: Vec<IceServer>,
    pub ice_transport_policy: IcePolicy,
    /// The conditions of the path between the peer and the TURN server at the start.
    pub network: network::Path,
    /// Perfect negotiation's role (webrtc-pc section 10.7); `None`: the seed's flow.
    pub polite: Option<bool>,
    pub codecs: flows::CodecPreferences,
}

/// One ICE server a peer is given: the harness's own, reached through the peer's network path.
#[derive(Clone, Debug, PartialEq)]
pub enum IceServer {
    Stun,
    /// `username` / `credential` override the peer's real credentials (a scenario of refusal).
    Turn { username: Option<String>, credential: Option<String> },
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
    /// In the extended suite (long cases; see `RunOptions::extended_kinds`).
    pub extended: bool,
    /// A fixed port for the built-in STUN/TURN server.
    pub turn_port: Option<u16>,
    /// The seed of the network conditions' random choices.
    pub seed: u64,
    /// The relay's signaling fault rules, in file order.
    pub faults: Vec<flows::FaultRule>,
}

impl Scenario {
    pub fn peer(&self, name: &str) -> Option<&PeerSpec> {
        self.peers.iter().find(|p| p.name == name)
    }
    /// Whether a case of this scenario needs the built-in STUN/TURN server.
    pub fn uses_ice_servers(&self) -> bool {
        self.peers.iter().any(|p| !p.ice_servers.is_empty())
    }
    /// Whether any path of the case drops packets at some point: loss in a peer's conditions,
    /// from the start or from a `network` step, or a blackout.
    pub fn loses_packets(&self) -> bool {
        let lossy = |p: &network::Path| p.uplink.loss > 0.0 || p.downlink.loss > 0.0;
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
    /// A `sleep:` step: scaled by the run's time scale, as every wait is.
    Sleep(Duration),
    /// An exact pause, never scaled: the bench's offer delay (`bench::dither`), which must be the
    /// same as its floor's. No scenario file writes it.
    Pause(Duration),
    /// New conditions on the peer's path from now on.
    Network { peer: String, path: network::Path },
    /// Nothing crosses the peer's path for this long (the step returns at once).
    Blackout { peer: String, length: Duration },
    /// Both peers offer at once; the relay delivers neither offer until both are in.
    Glare,
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
    /// The channel's `close` event (webrtc-pc section 6.2: the other side closed it, or the
    /// connection went away).
    ChannelClosed(String),
    Message(String),
    /// `connectionState` (W3C webrtc-pc section 4.3.3) reached one of these.
    Disconnected,
    Failed,
    Closed,
    /// `connected` again after a `disconnected` or `failed`.
    Reconnected,
    /// Frames (video) or packets (audio) counted past what had arrived when the last blackout
    /// began, after it ended.
    MediaResumed(MediaKind),
}

impl Condition {
    pub const SYNTAX: &'static str = "connected, ice_connected, stable, gathering_complete, \
        track(audio|video), first_frame, first_packet, frames(N), channel_open(LABEL), channel_closed(LABEL), message(LABEL), \
        disconnected, failed, closed, reconnected, media_resumed(audio|video)";

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
            "disconnected" => Condition::Disconnected,
            "failed" => Condition::Failed,
            "closed" => Condition::Closed,
            "reconnected" => Condition::Reconnected,
            _ => {
                if let Some(k) = arg("track") {
                    Condition::Track(MediaKind::parse(&k)?)
                } else if let Some(n) = arg("frames") {
                    Condition::Frames(n.parse().ok().filter(|n| *n > 0)?)
                } else if let Some(l) = arg("channel_open") {
                    Condition::ChannelOpen(l)
                } else if let Some(l) = arg("channel_closed") {
                    Condition::ChannelClosed(l)
                } else if let Some(l) = arg("message") {
                    Condition::Message(l)
                } else if let Some(k) = arg("media_resumed") {
                    Condition::MediaResumed(MediaKind::parse(&k)?)
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
            Condition::ChannelClosed(l) => write!(f, "channel_closed({l})"),
            Condition::Message(l) => write!(f, "message({l})"),
            Condition::Disconnected => write!(f, "disconnected"),
            Condition::Failed => write!(f, "failed"),
            Condition::Closed => write!(f, "closed"),
            Condition::Reconnected => write!(f, "reconnected"),
            Condition::MediaResumed(k) => write!(f, "media_resumed({k})"),
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
    Relayed { peer: String },
    Gathered { peer: String, types: Vec<String>, only: bool },
    ServerSaw { peer: String, binding_requests: Option<u64>, allocated: Option<bool>, error: Option<u16> },
    CandidateError { peer: String, code: Option<u16> },
    NotConnected { peer: String },
    Offers(u32),
    Stats { at: String, metric: Metric, kind: Option<MediaKind>, min: Option<f64>, max: Option<f64> },
    RolledBack { peer: String },
    IgnoredOffer { peer: String },
    Direction { peer: String, kind: MediaKind, is: flows::Direction },
    Codec { at: String, kind: MediaKind, is: String },
    Received { at: String, label: String, size: Option<u32>, text: Option<String> },
    MaxMessageSize { from: String, to: String, label: String, size: u32 },
    ChannelOptions { at: String, label: String, want: flows::ChannelOptionsWant },
    Channels { at: String, open: u32 },
    Hangup { by: String, noticed_by: String, within: Duration },
    PeerError { peer: String },
}

/// A getStats figure over the call (W3C webrtc-stats), from the samples the runner takes once a
/// second; values are in the unit [`Metric::unit`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The selected candidate pair's `currentRoundTripTime`, median of the samples, ms.
    Rtt,
    /// `packetsLost / (packetsReceived + packetsLost)` of the inbound stream at the last sample.
    Loss,
    /// The inbound stream's `jitter`, median of the samples, ms.
    Jitter,
    /// The inbound video's `framesPerSecond`, median of the samples.
    Fps,
    /// The inbound stream's `bytesReceived` over the sampled span, bits per second.
    Bitrate,
}

impl Metric {
    pub const NAMES: &'static str = "rtt, loss, jitter, fps, bitrate";
    pub fn parse(s: &str) -> Option<Metric> {
        Some(match s {
            "rtt" => Metric::Rtt,
            "loss" => Metric::Loss,
            "jitter" => Metric::Jitter,
            "fps" => Metric::Fps,
            "bitrate" => Metric::Bitrate,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Rtt => "rtt",
            Metric::Loss => "loss",
            Metric::Jitter => "jitter",
            Metric::Fps => "fps",
            Metric::Bitrate => "bitrate",
        }
    }
    /// How a value of this metric is written and shown.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Rtt | Metric::Jitter => "ms",
            Metric::Loss => "%",
            Metric::Fps => "fps",
            Metric::Bitrate => "kbps",
        }
    }
    /// A bound as written (`200ms`, `5%`, `20`, `1200kbps`) in this metric's internal unit (ms,
    /// fraction, frames per second, bits per second).
    pub fn parse_value(self, s: &str) -> Result<f64, String> {
        match self {
            Metric::Rtt | Metric::Jitter => model::parse_duration(s).map(|d| d.as_secs_f64() * 1000.0),
            Metric::Loss => network::parse_percent(s),
            Metric::Fps => s.trim().parse::<f64>().map_err(|_| format!("'{s}' is not a number of frames per second")),
            Metric::Bitrate => network::parse_rate(s).map(|b| b as f64),
        }
    }
    /// A value in the internal unit, as shown (`212 ms`, `4.8%`, `1180 kbps`).
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::Rtt | Metric::Jitter => format!("{v:.0} ms"),
            Metric::Loss => format!("{:.1}%", v * 100.0),
            Metric::Fps => format!("{v:.1} fps"),
            Metric::Bitrate => format!("{:.0} kbps", v / 1000.0),
        }
    }
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
            ExpectKind::Relayed { peer } => format!("relayed({peer})"),
            ExpectKind::Gathered { peer, types, only } => {
                format!("gathered({peer}, {}{})", if *only { "only " } else { "" }, if types.is_empty() { "none".to_string() } else { types.join(", ") })
            }
            ExpectKind::ServerSaw { peer, .. } => format!("server_saw({peer})"),
            ExpectKind::CandidateError { peer, code } => match code {
                Some(c) => format!("candidate_error({peer}, {c})"),
                None => format!("candidate_error({peer})"),
            },
            ExpectKind::NotConnected { peer } => format!("not_connected({peer})"),
            ExpectKind::Offers(n) => format!("offers({n})"),
            ExpectKind::Stats { at, metric, kind, .. } => match kind {
                Some(k) => format!("stats({at}, {k} {})", metric.as_str()),
                None => format!("stats({at}, {})", metric.as_str()),
            },
            ExpectKind::RolledBack { peer } => format!("rolled_back({peer})"),
            ExpectKind::IgnoredOffer { peer } => format!("ignored_offer({peer})"),
            ExpectKind::Direction { peer, kind, is } => format!("direction({peer}, {kind} {is})"),
            ExpectKind::Codec { at, kind, is } => format!("codec({at}, {kind} {is})"),
            ExpectKind::Received { at, label, size, .. } => match size {
                Some(n) => format!("received({at}, {label}, {n} bytes)"),
                None => format!("received({at}, {label})"),
            },
            ExpectKind::MaxMessageSize { from, label, size, .. } => format!("max_message_size({from}, {label}, {size} bytes)"),
            ExpectKind::ChannelOptions { at, label, .. } => format!("channel_options({at}, {label})"),
            ExpectKind::Channels { at, open } => format!("channels({at}, {open} open)"),
            ExpectKind::Hangup { by, noticed_by, .. } => format!("hangup({by} closes, {noticed_by} notices)"),
            ExpectKind::PeerError { peer } => format!("peer_error({peer})"),
        }
    }
}
pub use matrix::{expand, expand_all};
