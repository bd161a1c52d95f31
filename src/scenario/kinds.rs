//! The vocabulary's leaf values: peer kinds, media kinds, a data channel as a peer creates it,
//! and how a peer negotiates.

use serde::Deserialize;
use std::fmt;

/// A peer implementation: a name in the peer-kind registry (`rust`, `chrome`, `aiortc`, ...).
///
/// The scenario language does not know which kinds exist; it only checks the name's syntax. The
/// registry the run was started with (`peer::Registry`) is what a scenario is validated against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKind(std::sync::Arc<str>);

impl PeerKind {
    /// A kind name: lower-case ASCII letters, digits and `_` (a `-` would make the pair names
    /// such as `chrome-aiortc` ambiguous).
    pub fn new(name: &str) -> Result<PeerKind, PeerKindError> {
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') && name != ALL_KINDS;
        if ok {
            Ok(PeerKind(name.into()))
        } else {
            Err(PeerKindError { name: name.to_string() })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name that is not a kind name ([`PeerKind::new`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{name}' is not a peer kind name (lower-case letters, digits and '_'; '{all}' is reserved)", all = ALL_KINDS)]
pub struct PeerKindError {
    pub name: String,
}

impl fmt::Display for PeerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// `kind: all`: every kind of the registry the scenario is loaded against.
pub const ALL_KINDS: &str = "all";

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

/// A data channel a peer creates (`count` already expanded by the loader).
#[derive(Clone, Debug, PartialEq)]
pub struct DataChannelSpec {
    pub label: String,
    /// A text message the creator sends as soon as the channel opens.
    pub send: Option<String>,
    /// RTCDataChannelInit (W3C webrtc-pc section 6.2; RFC 8831 section 6.4 reliability): absent
    /// means the stack's default (ordered, reliable).
    pub ordered: Option<bool>,
    pub max_retransmits: Option<u16>,
    pub max_packet_life_time: Option<u16>,
    /// Negotiated out of band (no DCEP, RFC 8832): both peers declare it with the same `id`.
    pub negotiated: bool,
    pub id: Option<u16>,
    pub protocol: Option<String>,
}

impl DataChannelSpec {
    /// The init dictionary as pages and programs take it (W3C names; absent fields left out).
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::json!({"label": self.label, "send": self.send});
        let m = o.as_object_mut().expect("an object");
        let mut put = |k: &str, v: serde_json::Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(v) = self.ordered {
            put("ordered", v.into())
        }
        if let Some(v) = self.max_retransmits {
            put("maxRetransmits", v.into())
        }
        if let Some(v) = self.max_packet_life_time {
            put("maxPacketLifeTime", v.into())
        }
        if self.negotiated {
            put("negotiated", true.into())
        }
        if let Some(v) = self.id {
            put("id", v.into())
        }
        if let Some(v) = &self.protocol {
            put("protocol", v.clone().into())
        }
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
