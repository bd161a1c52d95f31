//! The scenario language as typed data: what a YAML file deserializes into, before validation.
//!
//! Every mapping denies unknown keys and every step and expectation is a serde enum, so a typo is a
//! load error that names the valid choices. Names that refer to peers are [`Spanned`] so that the
//! validator can point at them.

use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;
use std::fmt;
use std::time::Duration;

pub use super::flows::*;
pub use super::net_decl::*;

/// A peer implementation: a name in the peer-kind registry (`rust`, `chrome`, `aiortc`, ...).
///
/// The scenario language does not know which kinds exist; it only checks the name's syntax. The
/// registry the run was started with (`peer::Registry`) is what a scenario is validated against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKind(std::sync::Arc<str>);

impl PeerKind {
    /// A kind name: lower-case ASCII letters, digits and `_` (a `-` would make the pair names
    /// such as `chrome-aiortc` ambiguous).
    pub fn new(name: &str) -> Result<PeerKind, String> {
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name != ALL_KINDS;
        if ok {
            Ok(PeerKind(name.into()))
        } else {
            Err(format!("'{name}' is not a peer kind name (lower-case letters, digits and '_'; '{ALL_KINDS}' is reserved)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// `kind: all`: every kind of the registry the scenario is loaded against.
pub const ALL_KINDS: &str = "all";

/// `kind:` as written: one name, a list, or `all` (names are checked against the registry by the
/// validator, which knows where they were written).
#[derive(Clone, Debug)]
pub enum KindSpec {
    All,
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for KindSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom("kind is a peer kind, a list of them, or 'all'"))? {
            Raw::One(s) if s == ALL_KINDS => Ok(KindSpec::All),
            Raw::One(s) => Ok(KindSpec::Names(vec![s])),
            Raw::Many(v) => Ok(KindSpec::Names(v)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
    pub fn parse(s: &str) -> Option<MediaKind> {
        match s {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataChannelSpec {
    pub label: String,
    /// A text message the creator sends as soon as the channel opens.
    #[serde(default)]
    pub send: Option<String>,
    /// RTCDataChannelInit (W3C webrtc-pc section 6.2; RFC 8831 section 6.4 reliability): absent
    /// means the stack's default (ordered, reliable).
    #[serde(default)]
    pub ordered: Option<bool>,
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    /// Negotiated out of band (no DCEP, RFC 8832): both peers declare it with the same `id`.
    #[serde(default)]
    pub negotiated: bool,
    #[serde(default)]
    pub id: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    /// This many channels, labelled `<label>-1` .. `<label>-N` (expanded by the loader).
    #[serde(default)]
    pub count: Option<u16>,
}

impl DataChannelSpec {
    /// The init dictionary as pages and programs take it (W3C names; absent fields left out).
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::json!({"label": self.label, "send": self.send});
        let m = o.as_object_mut().expect("an object");
        let mut put = |k: &str, v: serde_json::Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(v) = self.ordered { put("ordered", v.into()) }
        if let Some(v) = self.max_retransmits { put("maxRetransmits", v.into()) }
        if let Some(v) = self.max_packet_life_time { put("maxPacketLifeTime", v.into()) }
        if self.negotiated { put("negotiated", true.into()) }
        if let Some(v) = self.id { put("id", v.into()) }
        if let Some(v) = &self.protocol { put("protocol", v.clone().into()) }
        o
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Negotiation {
    /// Offer on `negotiationneeded`, as the seed does.
    #[default]
    Auto,
    /// Offer only on a `send_offer` step.
    Manual,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerDecl {
    pub name: Spanned<String>,
    pub kind: Spanned<KindSpec>,
    #[serde(default)]
    pub media: Vec<MediaKind>,
    #[serde(default)]
    pub data_channels: Vec<DataChannelSpec>,
    #[serde(default = "yes")]
    pub trickle: bool,
    #[serde(default)]
    pub negotiation: Negotiation,
    #[serde(default = "yes")]
    pub echo: bool,
    /// The harness's own servers: `stun`, `turn`, or `{server: turn, username: .., credential: ..}`
    /// (a wrong credential is how a scenario pins what a stack does when TURN refuses it).
    #[serde(default)]
    pub ice_servers: Vec<Spanned<IceServerDecl>>,
    /// `all` (default) or `relay` (W3C webrtc-pc section 4.2.1, RTCIceTransportPolicy).
    #[serde(default)]
    pub ice_transport_policy: Option<Spanned<String>>,
    /// Conditions on the path between the peer and the TURN server (`3g`, or a mapping).
    #[serde(default)]
    pub network: Option<Spanned<super::network::NetworkDecl>>,
    /// Perfect negotiation (W3C webrtc-pc section 10.7) as the polite (`true`) or impolite
    /// (`false`) peer; absent: the seed's flow, which applies whatever arrives.
    #[serde(default)]
    pub polite: Option<bool>,
    /// Codec preferences per media kind (`setCodecPreferences`, webrtc-pc section 5.4).
    #[serde(default)]
    pub codecs: Option<Spanned<CodecPreferences>>,
}

fn yes() -> bool {
    true
}

/// A peer reference with its position in the file.
pub type PeerRef = Spanned<String>;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDoc {
    #[serde(default)]
    pub description: Option<String>,
    pub peers: Vec<PeerDecl>,
    #[serde(default)]
    pub offerer: Option<PeerRef>,
    #[serde(default)]
    pub steps: Option<Vec<Spanned<StepDecl>>>,
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectDecl>>,
    /// `default`, or `extended`: long cases (blackouts, slow profiles) that `cargo test` runs for
    /// the first three kinds' pairs only unless `RTC_HARNESS_SUITE=all`.
    #[serde(default)]
    pub suite: Option<Spanned<String>>,
    /// A fixed UDP port for the built-in STUN/TURN server (default: any free port).
    #[serde(default)]
    pub turn_port: Option<Spanned<u16>>,
    /// The seed of the network conditions' random choices (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Pairs (`<first>-<second>` kinds) left out of the matrix, with a reason shown in listings.
    #[serde(default)]
    pub exclude: Vec<Exclusion>,
    /// Fault rules the relay applies to the signaling messages (see `relay::faults`).
    #[serde(default)]
    pub signaling: Vec<Spanned<FaultRuleDecl>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub pair: Spanned<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerKindArg {
    pub peer: PeerRef,
    pub kind: MediaKind,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerLabelArg {
    pub peer: PeerRef,
    pub label: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessageArg {
    pub peer: PeerRef,
    pub label: String,
    /// A text message; or
    #[serde(default)]
    pub text: Option<String>,
    /// one binary message of this many bytes (byte i is i % 251, so that the receiver can tell
    /// it arrived intact).
    #[serde(default)]
    pub size: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitArg {
    pub peer: PeerRef,
    #[serde(rename = "for")]
    pub condition: Spanned<String>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub within: Option<Duration>,
}

/// One step, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepDecl {
    Start(PeerRef),
    AddTrack(PeerKindArg),
    CreateDataChannel(PeerLabelArg),
    SendOffer(PeerRef),
    RestartIce(PeerRef),
    SendMessage(SendMessageArg),
    Close(PeerRef),
    /// Both peers offer before either sees the other's offer: the relay holds the offers until
    /// both are in, then delivers them (RFC 8829 section 4.1.8.1's glare).
    Glare,
    /// `setLocalDescription({type: 'rollback'})` (RFC 8829 section 4.1.10.2).
    Rollback(PeerRef),
    SetDirection(DirectionArg),
    RemoveTrack(PeerKindArg),
    /// `replaceTrack` with a new source of the same kind: no renegotiation (webrtc-pc 5.2).
    ReplaceTrack(PeerKindArg),
    CloseChannel(PeerLabelArg),
    // Boxed: the largest step by far (conditions per peer and direction), and steps are many.
    Network(Box<NetworkStepArg>),
    Blackout(BlackoutArg),
    Wait(WaitArg),
    #[serde(deserialize_with = "duration")]
    Sleep(Duration),
}

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
}

fn one() -> u32 {
    1
}

/// `250ms`, `5s`, `1.5s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))
        .ok_or_else(|| format!("duration '{s}' has no unit (expected e.g. 500ms, 5s, 2m)"))?;
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("duration '{s}' is not a number followed by ms, s or m"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        other => return Err(format!("duration '{s}': unknown unit '{other}' (expected ms, s or m)")),
    };
    if !(0.0..=3600.0).contains(&secs) {
        return Err(format!("duration '{s}' is out of range (0 to 1 hour)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

pub(super) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}
