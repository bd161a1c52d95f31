//! The network half of the scenario language as written: ICE servers, `network` and `blackout`
//! steps, and the expectations on candidates, the harness's server and getStats figures.

use super::model::{MediaKind, PeerRef};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;
use std::fmt;
use std::time::Duration;

/// One entry of `ice_servers:` as written.
#[derive(Clone, Debug)]
pub enum IceServerDecl {
    Name(String),
    Full(IceServerFull),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerFull {
    pub server: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

impl<'de> Deserialize<'de> for IceServerDecl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IceServerDecl;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("stun, turn, or a mapping {server, username, credential}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IceServerDecl, E> {
                Ok(IceServerDecl::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<IceServerDecl, A::Error> {
                IceServerFull::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(IceServerDecl::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// `network: {peer: alice, profile: 3g}` or `{peer: alice, uplink: {loss: 5%}}`: new conditions
/// mid-call, relative to those in force.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkStepArg {
    pub peer: PeerRef,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub latency: Option<String>,
    #[serde(default)]
    pub jitter: Option<String>,
    #[serde(default)]
    pub loss: Option<String>,
    #[serde(default)]
    pub burst: Option<f64>,
    #[serde(default)]
    pub bandwidth: Option<String>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub uplink: Option<super::network::ConditionsDecl>,
    #[serde(default)]
    pub downlink: Option<super::network::ConditionsDecl>,
    /// Back to a perfect path.
    #[serde(default)]
    pub clear: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackoutArg {
    pub peer: PeerRef,
    #[serde(rename = "for", deserialize_with = "super::model::duration")]
    pub length: Duration,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerArg {
    pub peer: PeerRef,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatheredArg {
    pub peer: PeerRef,
    /// Candidate types (`host`, `srflx`, `prflx`, `relay`) that must each be gathered.
    #[serde(default)]
    pub types: Vec<Spanned<String>>,
    /// No other type is gathered (with `types: []`: none at all).
    #[serde(default)]
    pub only: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSawArg {
    pub peer: PeerRef,
    /// At least this many STUN Binding requests from the peer.
    #[serde(default)]
    pub binding_requests: Option<u64>,
    /// Whether the server granted the peer an allocation.
    #[serde(default)]
    pub allocated: Option<bool>,
    /// An Allocate error response with this code was sent to the peer (401, 438, ...).
    #[serde(default)]
    pub error: Option<u16>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateErrorArg {
    pub peer: PeerRef,
    #[serde(default)]
    pub code: Option<u16>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsArg {
    pub at: PeerRef,
    pub metric: Spanned<String>,
    #[serde(default)]
    pub kind: Option<MediaKind>,
    #[serde(default)]
    pub min: Option<Spanned<String>>,
    #[serde(default)]
    pub max: Option<Spanned<String>>,
}

