//! The `expect:` section as written: one serde variant per expectation, with its arguments.

use super::net::{CandidateErrorArg, GatheredArg, PeerArg, ServerSawArg, StatsArg};
use super::values::{one, opt_duration, yes, PeerRef};
use crate::scenario::flows::Direction;
use crate::scenario::kinds::MediaKind;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrickleArg {
    /// Default: every peer with trickle on.
    #[serde(default)]
    pub peer: Option<PeerRef>,
    #[serde(default = "yes")]
    pub end_of_candidates: bool,
    #[serde(default = "yes")]
    pub host: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackArg {
    pub at: PeerRef,
    pub kind: MediaKind,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaArg {
    pub at: PeerRef,
    pub kind: MediaKind,
    /// Distinct frames (video) or packets (audio) that must arrive: 1 is "first frame".
    #[serde(default = "one")]
    pub frames: u32,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyArg {
    #[serde(default, deserialize_with = "opt_duration")]
    pub min: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub max: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkersArg {
    pub at: PeerRef,
    pub from: PeerRef,
    /// Only this source of `from` counts (0 at first, one more per `replace_track`).
    #[serde(default)]
    pub source: Option<u8>,
    /// Bounds of the median glass-to-glass latency of the sampled frames.
    #[serde(default)]
    pub latency: Option<LatencyArg>,
    /// Rendered frames that must read with `from`'s marker.
    #[serde(default = "one")]
    pub frames: u32,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

/// `freezes: {at, min, max, min_freeze, max_freeze, min_total, max_total}`: the number of freezes
/// of the picture `at` renders, the length of the longest and their total length.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezesArg {
    pub at: PeerRef,
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub min_freeze: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub max_freeze: Option<Duration>,
    /// Bounds of the freezes' total length (webrtc-stats `totalFreezesDuration`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub min_total: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub max_total: Option<Duration>,
}

/// `audio: {at, from, min}`: `at` hears `from`'s tone (docs/markers.md, "Audio") for `min` in
/// all, and no other sender's.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioArg {
    pub at: PeerRef,
    pub from: PeerRef,
    /// How long `at` must hear `from`'s tone in all (default 1 s).
    #[serde(default, deserialize_with = "opt_duration")]
    pub min: Option<Duration>,
}

/// `silence: {at, min, max}`: bounds of the longest stretch in which `at` heard no sender's tone,
/// from the first tone it heard to its last report.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceArg {
    pub at: PeerRef,
    #[serde(default, deserialize_with = "opt_duration")]
    pub min: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub max: Option<Duration>,
}

/// `latency: {at, from, p50, min_p50, p95, rise: {min, max}}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyExpectArg {
    pub at: PeerRef,
    pub from: PeerRef,
    /// An upper bound of the median.
    #[serde(default, deserialize_with = "opt_duration")]
    pub p50: Option<Duration>,
    /// A lower bound of the median (a path's own delay).
    #[serde(default, deserialize_with = "opt_duration")]
    pub min_p50: Option<Duration>,
    /// An upper bound of the 95th percentile.
    #[serde(default, deserialize_with = "opt_duration")]
    pub p95: Option<Duration>,
    /// Bounds of the median after the last `network` step minus the median before it.
    #[serde(default)]
    pub rise: Option<LatencyArg>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataChannelArg {
    pub label: String,
    /// Peers where the channel must open (default: both).
    #[serde(default)]
    pub open: Option<Vec<PeerRef>>,
    /// Every message sent on it comes back (the other side echoes).
    #[serde(default)]
    pub echo: bool,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionArg {
    /// Default: both peers.
    #[serde(default)]
    pub peer: Option<PeerRef>,
    pub state: Spanned<String>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingArg {
    /// From the first `createOffer` to both peers `connected`.
    #[serde(default, deserialize_with = "opt_duration")]
    pub connected: Option<Duration>,
    /// From the first `createOffer` to the first video frame at `at`.
    #[serde(default, deserialize_with = "opt_duration")]
    pub first_frame: Option<Duration>,
    #[serde(default)]
    pub at: Option<PeerRef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceRestartArg {
    /// The peer that restarts.
    pub by: PeerRef,
}

/// One expectation, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpectDecl {
    Order(Vec<Spanned<String>>),
    Trickle(TrickleArg),
    NonTrickle(PeerRef),
    Track(TrackArg),
    Media(MediaArg),
    /// The frames `at` renders carry `from`'s marker (docs/markers.md), and no other sender's.
    Markers(MarkersArg),
    /// How often, and how long at most, the picture `at` renders froze (webrtc-stats' rule).
    Freezes(FreezesArg),
    /// Glass-to-glass latency percentiles of `from`'s frames at `at`, and a network step's rise.
    Latency(LatencyExpectArg),
    /// `at` hears `from`'s tone, and no other sender's.
    Audio(AudioArg),
    /// The longest stretch in which `at` heard no sender's tone.
    Silence(SilenceArg),
    DataChannel(DataChannelArg),
    Connection(ConnectionArg),
    Timing(TimingArg),
    IceRestart(IceRestartArg),
    /// The selected candidate pair's local candidate is a relay candidate (getStats).
    Relayed(PeerArg),
    Gathered(GatheredArg),
    ServerSaw(ServerSawArg),
    CandidateError(CandidateErrorArg),
    NotConnected(PeerArg),
    Stats(StatsArg),
    /// Exactly this many offers were relayed (1: no renegotiation and no ICE restart).
    Offers(u32),
    /// The peer rolled back a local offer (an explicit or implicit rollback) at least once.
    RolledBack(PeerOnlyArg),
    /// The (impolite) peer ignored a colliding offer (webrtc-pc section 10.7).
    IgnoredOffer(PeerOnlyArg),
    Direction(DirectionExpectArg),
    Codec(CodecExpectArg),
    Received(ReceivedArg),
    /// A message over the receiver's `a=max-message-size` (RFC 8841 section 6) is refused at
    /// `send()` (webrtc-pc section 6.2: TypeError); one within it arrives intact.
    MaxMessageSize(MaxMessageSizeArg),
    ChannelOptions(ChannelOptionsArg),
    Channels(ChannelsArg),
    Hangup(HangupArg),
    /// The peer's stack refuses something (an error event): the outcome a fault is expected to
    /// cause. Its errors are then not counted against "no peer or relay errors".
    PeerError(PeerOnlyArg),
    /// The peer fired `negotiationneeded` after the step named by `after`, before its next offer
    /// (W3C webrtc-pc section 4.7.3, "update the negotiation-needed flag").
    NegotiationNeeded(NegotiationNeededArg),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionExpectArg {
    pub peer: PeerRef,
    pub kind: MediaKind,
    /// The direction of the peer's last local description's m-line of that kind.
    pub is: Direction,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodecExpectArg {
    /// The receiving peer: its getStats inbound codec is checked, with the answer's m-line.
    pub at: PeerRef,
    pub kind: MediaKind,
    pub is: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedArg {
    pub at: PeerRef,
    pub label: String,
    /// A binary message of exactly this many bytes, intact.
    #[serde(default)]
    pub size: Option<u32>,
    /// A text message with this text.
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxMessageSizeArg {
    /// The sender of the `send_message` step with this label and size.
    pub from: PeerRef,
    pub label: String,
    pub size: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelOptionsArg {
    pub at: PeerRef,
    pub label: String,
    #[serde(default)]
    pub ordered: Option<bool>,
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub id: Option<u16>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsArg {
    pub at: PeerRef,
    /// At least this many distinct channels opened at the peer.
    pub open: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangupArg {
    /// The peer whose `close` step hangs up.
    pub by: PeerRef,
    /// The other peer, which must notice.
    pub noticed_by: PeerRef,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerOnlyArg {
    pub peer: PeerRef,
}

/// `negotiation_needed: {peer: alice, after: restart_ice}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegotiationNeededArg {
    pub peer: PeerRef,
    /// The action whose step must be followed by the event (its name as in the steps:
    /// `restart_ice`, `add_track`, `set_direction`, ...).
    pub after: Spanned<String>,
}
