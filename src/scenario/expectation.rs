//! Expectations: what must hold of a case's transcript ([`Expectation`], [`ExpectKind`]), the
//! phrases of `order` and the getStats metrics.

use super::flows::{ChannelOptionsWant, Direction};
use super::kinds::MediaKind;
use std::time::Duration;

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
    Trickle {
        peer: String,
        end_of_candidates: bool,
        host: bool,
    },
    NonTrickle {
        peer: String,
    },
    Track {
        at: String,
        kind: MediaKind,
        count: u32,
        within: Duration,
    },
    Media {
        at: String,
        kind: MediaKind,
        frames: u32,
        within: Duration,
    },
    /// `at` shows `frames` video frames whose markers name `from` (docs/markers.md), and none
    /// that name another sender.
    Markers {
        at: String,
        from: String,
        /// Only frames of this source of `from` count (0 at first, one more per `replace_track`).
        source: Option<u8>,
        frames: u32,
        /// Bounds of the median glass-to-glass latency of the sampled frames, in ms.
        latency: Option<(Option<f64>, Option<f64>)>,
        within: Duration,
    },
    /// The freezes of the picture `at` renders (W3C webrtc-stats `freezeCount`'s rule, on the
    /// frames whose marker changed): how many, and how long the longest, each bound optional.
    Freezes {
        at: String,
        count: (Option<u32>, Option<u32>),
        /// Bounds of the longest freeze, in ms.
        longest: (Option<f64>, Option<f64>),
        /// Bounds of the freezes' total length, in ms (webrtc-stats `totalFreezesDuration`).
        total: (Option<f64>, Option<f64>),
    },
    /// Glass-to-glass latency of `from`'s frames shown by `at` (the markers' sampled frames):
    /// bounds of its median and 95th percentile, and of how far the case's last `network` step
    /// moved its median; all in ms.
    Latency {
        at: String,
        from: String,
        p50: (Option<f64>, Option<f64>),
        p95: Option<f64>,
        rise: Option<(Option<f64>, Option<f64>)>,
    },
    /// `at` hears `from`'s tone (docs/markers.md, "Audio") for `min` ms in all, and no other
    /// sender's.
    Audio {
        at: String,
        from: String,
        min: f64,
    },
    /// Bounds of the longest stretch, in ms, in which `at` heard no sender's tone (silence, other
    /// sound, or no audio played), from the first tone it heard to its last report.
    Silence {
        at: String,
        longest: (Option<f64>, Option<f64>),
    },
    DataChannel {
        label: String,
        open: Vec<String>,
        echo: bool,
        within: Duration,
    },
    Connection {
        peer: String,
        state: String,
        within: Duration,
    },
    Timing {
        connected: Option<Duration>,
        first_frame: Option<(String, Duration)>,
    },
    IceRestart {
        by: String,
    },
    Relayed {
        peer: String,
    },
    Gathered {
        peer: String,
        types: Vec<String>,
        only: bool,
    },
    ServerSaw {
        peer: String,
        binding_requests: Option<u64>,
        allocated: Option<bool>,
        error: Option<u16>,
    },
    CandidateError {
        peer: String,
        code: Option<u16>,
    },
    NotConnected {
        peer: String,
    },
    Offers(u32),
    Stats {
        at: String,
        metric: Metric,
        kind: Option<MediaKind>,
        min: Option<f64>,
        max: Option<f64>,
    },
    RolledBack {
        peer: String,
    },
    IgnoredOffer {
        peer: String,
    },
    Direction {
        peer: String,
        kind: MediaKind,
        is: Direction,
    },
    Codec {
        at: String,
        kind: MediaKind,
        is: String,
    },
    Received {
        at: String,
        label: String,
        size: Option<u32>,
        text: Option<String>,
    },
    MaxMessageSize {
        from: String,
        to: String,
        label: String,
        size: u32,
    },
    ChannelOptions {
        at: String,
        label: String,
        want: ChannelOptionsWant,
    },
    Channels {
        at: String,
        open: u32,
    },
    Hangup {
        by: String,
        noticed_by: String,
        within: Duration,
    },
    PeerError {
        peer: String,
    },
    NegotiationNeeded {
        peer: String,
        after: String,
    },
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
    /// A value in the internal unit, as shown (`212 ms`, `4.83%`, `1180 kbps`). Loss has two
    /// decimals: a fraction of 1,000 packets lost is a tenth of a percent, and one decimal showed
    /// 1.96% failing a 2% bound as "2.0%".
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::Rtt | Metric::Jitter => format!("{v:.0} ms"),
            Metric::Loss => format!("{:.2}%", v * 100.0),
            Metric::Fps => format!("{v:.1} fps"),
            Metric::Bitrate => format!("{:.0} kbps", v / 1000.0),
        }
    }
}

impl ExpectKind {
    /// A short name for reports: `track(bob, video)`.
    pub fn label(&self) -> String {
        match self {
            ExpectKind::Order(points) => format!("order({})", points.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(" < ")),
            ExpectKind::Trickle { peer, .. } => format!("trickle({peer})"),
            ExpectKind::NonTrickle { peer } => format!("non_trickle({peer})"),
            ExpectKind::Track { at, kind, count, .. } => format!("track({at}, {kind} x{count})"),
            ExpectKind::Media { at, kind, frames, .. } => format!("media({at}, {kind} x{frames})"),
            ExpectKind::Markers { at, from, source, frames, latency, .. } => {
                let source = source.map(|s| format!(" source {s}")).unwrap_or_default();
                let bound = |b: Option<f64>| b.map(|ms| format!("{ms}ms")).unwrap_or_default();
                let latency = latency.map(|(min, max)| format!(", latency {}..{}", bound(min), bound(max))).unwrap_or_default();
                format!("markers({at} shows {from}{source}, x{frames}{latency})")
            }
            ExpectKind::Freezes { at, count, longest, total } => {
                let range = |lo: Option<String>, hi: Option<String>| format!("{}..{}", lo.unwrap_or_default(), hi.unwrap_or_default());
                let ms = |b: Option<f64>| b.map(|ms| format!("{ms}ms"));
                let mut parts = Vec::new();
                if count.0.is_some() || count.1.is_some() {
                    parts.push(format!("count {}", range(count.0.map(|n| n.to_string()), count.1.map(|n| n.to_string()))));
                }
                for (word, b) in [("longest", longest), ("total", total)] {
                    if b.0.is_some() || b.1.is_some() {
                        parts.push(format!("{word} {}", range(ms(b.0), ms(b.1))));
                    }
                }
                format!("freezes({at}, {})", parts.join(", "))
            }
            ExpectKind::Latency { at, from, p50, p95, rise } => {
                let ms = |b: Option<f64>| b.map(|ms| format!("{ms}ms")).unwrap_or_default();
                let mut parts = vec![format!("{at} from {from}")];
                if p50.0.is_some() || p50.1.is_some() {
                    parts.push(format!("p50 {}..{}", ms(p50.0), ms(p50.1)));
                }
                if let Some(hi) = p95 {
                    parts.push(format!("p95 ..{hi}ms"));
                }
                if let Some((lo, hi)) = rise {
                    parts.push(format!("rise {}..{}", ms(*lo), ms(*hi)));
                }
                format!("latency({})", parts.join(", "))
            }
            ExpectKind::Audio { at, from, min } => format!("audio({at} hears {from}, {min}ms)"),
            ExpectKind::Silence { at, longest: (lo, hi) } => {
                let ms = |b: &Option<f64>| b.map(|ms| format!("{ms}ms")).unwrap_or_default();
                format!("silence({at}, longest {}..{})", ms(lo), ms(hi))
            }
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
            ExpectKind::NegotiationNeeded { peer, after } => format!("negotiation_needed({peer} after {after})"),
        }
    }
}
