//! The scenario file as written: what a YAML document deserializes into, before validation.
//!
//! Every mapping denies unknown keys and every step and expectation is a serde enum, so a typo is a
//! load error that names the valid choices. Names that refer to peers are [`Spanned`] so that the
//! validator can point at them. Nothing outside `scenario::yaml` sees these types.

use super::doc_expect::ExpectDecl;
use super::net::{BlackoutArg, IceServerDecl, NetworkDecl, NetworkStepArg};
use super::values::{duration, opt_duration, yes, PeerRef};
use crate::scenario::flows::{CodecPreferences, Direction};
use crate::scenario::kinds::{MediaKind, Negotiation, ALL_KINDS};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;
use std::time::Duration;

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

/// A data channel as written (`count` is expanded by the validator).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataChannelDecl {
    pub label: String,
    #[serde(default)]
    pub send: Option<String>,
    #[serde(default)]
    pub ordered: Option<bool>,
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    #[serde(default)]
    pub negotiated: bool,
    #[serde(default)]
    pub id: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    /// This many channels, labelled `<label>-1` .. `<label>-N`.
    #[serde(default)]
    pub count: Option<u16>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerDecl {
    pub name: Spanned<String>,
    pub kind: Spanned<KindSpec>,
    #[serde(default)]
    pub media: Vec<MediaKind>,
    #[serde(default)]
    pub data_channels: Vec<DataChannelDecl>,
    /// Unwritten: as the kind can, unless the scenario is about trickle (see `Trickle`).
    #[serde(default)]
    pub trickle: Option<bool>,
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
    pub network: Option<Spanned<NetworkDecl>>,
    /// Perfect negotiation (W3C webrtc-pc section 10.7) as the polite (`true`) or impolite
    /// (`false`) peer; absent: the seed's flow, which applies whatever arrives.
    #[serde(default)]
    pub polite: Option<bool>,
    /// Codec preferences per media kind (`setCodecPreferences`, webrtc-pc section 5.4).
    #[serde(default)]
    pub codecs: Option<Spanned<CodecPreferences>>,
}

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
    /// `default`, or `extended`: long cases (blackouts, slow profiles), run for every pair unless
    /// `RTC_HARNESS_SUITE=core` limits them to pairs of rust, chrome and firefox.
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
    /// With a signature the pair is not left out: it runs, and a failure whose text contains the
    /// signature is the known intermittent finding (retried, reported as a known flake).
    #[serde(default)]
    pub signature: Option<String>,
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
    /// The peer's video source shows one picture for `for` (the frame marker stops advancing).
    StallVideo(BlackoutArg),
    // Boxed: the largest step by far (conditions per peer and direction), and steps are many.
    Network(Box<NetworkStepArg>),
    Blackout(BlackoutArg),
    Wait(WaitArg),
    #[serde(deserialize_with = "duration")]
    Sleep(Duration),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionArg {
    pub peer: PeerRef,
    pub kind: MediaKind,
    pub direction: Direction,
}

/// One signaling fault rule as written (`signaling:` at the top level).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleDecl {
    pub from: PeerRef,
    /// offer, answer, candidate, end_of_candidates, description (offer or answer), any.
    pub kind: Spanned<String>,
    #[serde(rename = "do")]
    pub action: Spanned<String>,
    /// `delay`: how long.
    #[serde(default, rename = "for", deserialize_with = "opt_duration")]
    pub length: Option<Duration>,
    /// `reorder`: the message kind from the same sender after which the held one is released
    /// (default: the next message of any kind).
    #[serde(default)]
    pub after: Option<Spanned<String>>,
    /// `corrupt`: the SDP lines starting with this are removed.
    #[serde(default)]
    pub remove_line: Option<String>,
    /// Only the first N matching messages (default: every one).
    #[serde(default)]
    pub count: Option<u32>,
}
