//! The network half of the scenario file as written: ICE servers, `network:` values (`3g`;
//! `{profile: 3g, uplink: {loss: 5%}}`; `{latency: 200ms}`) and `network` / `blackout` steps,
//! the expectations on candidates, the harness's server and getStats figures, and the parsing of
//! latency, loss and bandwidth values into [`Path`]s.

use super::values::{duration, parse_duration, PeerRef, ValueError};
use crate::scenario::kinds::MediaKind;
use crate::scenario::network::{profile, profile_names, Conditions, Path, DEFAULT_QUEUE};
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

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackoutArg {
    pub peer: PeerRef,
    #[serde(rename = "for", deserialize_with = "duration")]
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

/// Declares the structs that carry one direction's condition values as written, from the one list
/// of those fields given to it: [`ConditionsDecl`] (an `uplink:` or `downlink:`), the mapping form
/// of `network:` ([`CustomNetworkDecl`]: a base profile, values for both directions, then each
/// direction's) and the `network` step ([`NetworkStepArg`]: the same, for a peer, mid-call).
macro_rules! condition_fields {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        /// One direction's values as written; every field changes the base it applies to.
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ConditionsDecl {
            $($(#[$doc])* #[serde(default)] pub $field: Option<$ty>,)*
        }

        /// `network:` as a mapping.
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CustomNetworkDecl {
            /// The base both directions start from.
            #[serde(default)]
            pub profile: Option<String>,
            $($(#[$doc])* #[serde(default)] pub $field: Option<$ty>,)*
            #[serde(default)]
            pub uplink: Option<ConditionsDecl>,
            #[serde(default)]
            pub downlink: Option<ConditionsDecl>,
        }

        /// `network: {peer: alice, profile: 3g}` or `{peer: alice, uplink: {loss: 5%}}`: new
        /// conditions mid-call, relative to those in force.
        #[derive(Clone, Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct NetworkStepArg {
            pub peer: PeerRef,
            #[serde(default)]
            pub profile: Option<String>,
            $($(#[$doc])* #[serde(default)] pub $field: Option<$ty>,)*
            #[serde(default)]
            pub uplink: Option<ConditionsDecl>,
            #[serde(default)]
            pub downlink: Option<ConditionsDecl>,
            /// Back to a perfect path.
            #[serde(default)]
            pub clear: bool,
        }

        impl CustomNetworkDecl {
            /// The values written for both directions.
            fn both(&self) -> ConditionsDecl {
                ConditionsDecl { $($field: self.$field.clone(),)* }
            }
        }

        impl NetworkStepArg {
            /// The step's conditions as the mapping form of `network:` (a step has no other).
            pub fn as_network(&self) -> CustomNetworkDecl {
                CustomNetworkDecl {
                    profile: self.profile.clone(),
                    $($field: self.$field.clone(),)*
                    uplink: self.uplink.clone(),
                    downlink: self.downlink.clone(),
                }
            }
        }

        /// The keys of the mapping form, for the message when `network:` is neither form.
        const NETWORK_KEYS: &str = concat!("profile", $(", ", stringify!($field),)* ", uplink, downlink");
    };
}

condition_fields! {
    /// One-way delay (`250ms`).
    latency: String,
    /// The delay varies uniformly within latency ± jitter.
    jitter: String,
    /// `5%`: the long-run fraction of packets lost.
    loss: String,
    /// Mean loss burst length in packets (1: independent random loss).
    burst: f64,
    /// `1200kbps`, `1.5mbps`.
    bandwidth: String,
    /// The longest a packet waits for the bandwidth before it is dropped.
    queue: String,
}

/// `network:` as written: a profile name, or a mapping (parsed with its own key checks, so that
/// a typo names the valid keys instead of "did not match any variant").
#[derive(Clone, Debug)]
pub enum NetworkDecl {
    Profile(String),
    Custom(Box<CustomNetworkDecl>),
}

impl<'de> Deserialize<'de> for NetworkDecl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NetworkDecl;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a network profile name or a mapping of {NETWORK_KEYS}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NetworkDecl, E> {
                Ok(NetworkDecl::Profile(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<NetworkDecl, A::Error> {
                CustomNetworkDecl::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|c| NetworkDecl::Custom(Box::new(c)))
            }
        }
        d.deserialize_any(V)
    }
}

impl NetworkDecl {
    /// The path this declares, starting from `base` (a perfect path for a peer's `network:`, the
    /// path in force for a mid-call `network` step).
    pub fn resolve(&self, base: &Path) -> Result<Path, ValueError> {
        match self {
            NetworkDecl::Profile(name) => named(name),
            NetworkDecl::Custom(c) => {
                let mut path = match &c.profile {
                    Some(name) => named(name)?,
                    None => base.clone(),
                };
                let both = c.both();
                apply(&both, &mut path.uplink)?;
                apply(&both, &mut path.downlink)?;
                if let Some(u) = &c.uplink {
                    apply(u, &mut path.uplink)?;
                }
                if let Some(d) = &c.downlink {
                    apply(d, &mut path.downlink)?;
                }
                Ok(path)
            }
        }
    }
}

fn named(name: &str) -> Result<Path, ValueError> {
    profile(name).ok_or_else(|| ValueError(format!("unknown network profile '{name}' (profiles: {})", profile_names().join(", "))))
}

fn apply(d: &ConditionsDecl, c: &mut Conditions) -> Result<(), ValueError> {
    let dur = |s: &String, what: &str| -> Result<Duration, ValueError> {
        if s.trim_start().starts_with('-') {
            return Err(ValueError(format!("{what} '{s}' is negative")));
        }
        parse_duration(s).map_err(|e| ValueError(format!("{what}: {e}")))
    };
    if let Some(s) = &d.latency {
        c.latency = dur(s, "latency")?;
    }
    if let Some(s) = &d.jitter {
        c.jitter = dur(s, "jitter")?;
    }
    if let Some(s) = &d.queue {
        c.queue = dur(s, "queue")?;
    }
    if let Some(s) = &d.loss {
        c.loss = parse_percent(s)?;
        if c.burst < 1.0 {
            c.burst = 1.0;
        }
    }
    if let Some(b) = d.burst {
        if !(1.0..=1000.0).contains(&b) {
            return Err(ValueError(format!("burst {b} is not a mean burst length in packets (1 to 1000; 1: random loss)")));
        }
        c.burst = b;
    }
    if let Some(s) = &d.bandwidth {
        c.bandwidth = Some(parse_rate(s)?);
        if c.queue.is_zero() {
            c.queue = DEFAULT_QUEUE;
        }
    }
    Ok(())
}

/// `5%` or `0.5%` as a fraction.
pub fn parse_percent(s: &str) -> Result<f64, ValueError> {
    let n = s.trim().strip_suffix('%').ok_or_else(|| ValueError(format!("loss '{s}' is a percentage such as 5% or 0.5%")))?;
    let v: f64 = n.trim().parse().map_err(|_| ValueError(format!("loss '{s}' is not a number followed by %")))?;
    if v < 0.0 {
        return Err(ValueError(format!("loss '{s}' is negative")));
    }
    if v > 100.0 {
        return Err(ValueError(format!("loss '{s}' is over 100%")));
    }
    Ok(v / 100.0)
}

/// `1200kbps`, `1.5mbps`, `64000bps` as bits per second.
pub fn parse_rate(s: &str) -> Result<u64, ValueError> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("mbps") {
        (n, 1_000_000.0)
    } else if let Some(n) = t.strip_suffix("kbps") {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix("bps") {
        (n, 1.0)
    } else {
        return Err(ValueError(format!("bandwidth '{s}' has no unit (expected e.g. 500kbps, 1.2mbps)")));
    };
    let v: f64 = num.trim().parse().map_err(|_| ValueError(format!("bandwidth '{s}' is not a number followed by kbps or mbps")))?;
    let bps = v * mult;
    if !(1000.0..=10_000_000_000.0).contains(&bps) {
        return Err(ValueError(format!("bandwidth '{s}' is out of range (1kbps to 10000mbps)")));
    }
    Ok(bps as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_percentages_parse_strictly() {
        assert_eq!(parse_rate("1200kbps"), Ok(1_200_000));
        assert_eq!(parse_rate("1.5mbps"), Ok(1_500_000));
        assert!(parse_rate("1200").is_err());
        assert!(parse_rate("-5kbps").is_err());
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert!(parse_percent("120%").unwrap_err().0.contains("over 100%"));
        assert!(parse_percent("-1%").unwrap_err().0.contains("negative"));
        assert!(parse_percent("5").is_err());
    }

    #[test]
    fn the_condition_keys_are_listed_once() {
        assert_eq!(NETWORK_KEYS, "profile, latency, jitter, loss, burst, bandwidth, queue, uplink, downlink");
    }
}
