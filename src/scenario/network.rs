//! Network conditions in the scenario language: what one direction of a peer's path does
//! ([`Conditions`]), the named profiles users know (Loadero, testRTC, `../shared/NETWORK.md`), and
//! the parsing of `network:` values (`3g`; `{profile: 3g, uplink: {loss: 5%}}`; `{latency: 200ms}`).
//!
//! A peer's path is the leg between the peer and the harness's TURN server (see `net`): uplink is
//! what the peer sends, downlink what it receives. A profile's latency is one-way and applies to
//! each direction, as netem on both ends of a link does: a 3G peer adds 2 x 250 ms to the round
//! trip of every packet it exchanges.

use serde::Deserialize;
use std::time::Duration;

/// What one direction of a path does; the default is a perfect path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conditions {
    /// One-way delay added to every packet.
    pub latency: Duration,
    /// Each packet's delay varies uniformly within `latency ± jitter` (never below zero).
    pub jitter: Duration,
    /// Long-run fraction of packets lost, 0.0 to 1.0.
    pub loss: f64,
    /// Mean length of a loss burst, in packets (1: independent random loss).
    pub burst: f64,
    /// Bits per second; `None`: unlimited.
    pub bandwidth: Option<u64>,
    /// The longest a packet may wait for the bandwidth before it is dropped (the bounded queue).
    pub queue: Duration,
}

/// The queue bound when none is given: long enough that a keyframe burst passes a 300 kbps link.
pub const DEFAULT_QUEUE: Duration = Duration::from_millis(400);

impl Conditions {
    pub fn is_perfect(&self) -> bool {
        self.latency.is_zero() && self.jitter.is_zero() && self.loss == 0.0 && self.bandwidth.is_none()
    }

    /// `latency 250ms ± 50ms, loss 0.5%, 1200 kbps (queue 400ms)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.latency.is_zero() || !self.jitter.is_zero() {
            let mut s = format!("latency {}ms", self.latency.as_millis());
            if !self.jitter.is_zero() {
                s.push_str(&format!(" ± {}ms", self.jitter.as_millis()));
            }
            parts.push(s);
        }
        if self.loss > 0.0 {
            let mut s = format!("loss {}%", round2(self.loss * 100.0));
            if self.burst > 1.0 {
                s.push_str(&format!(" in bursts of {}", round2(self.burst)));
            }
            parts.push(s);
        }
        if let Some(bps) = self.bandwidth {
            parts.push(format!("{} kbps (queue {}ms)", bps / 1000, self.queue.as_millis()));
        }
        if parts.is_empty() {
            "perfect".into()
        } else {
            parts.join(", ")
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Both directions of a peer's path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    pub uplink: Conditions,
    pub downlink: Conditions,
}

impl Path {
    pub fn describe(&self) -> String {
        if self.uplink == self.downlink {
            self.uplink.describe()
        } else {
            format!("uplink {}; downlink {}", self.uplink.describe(), self.downlink.describe())
        }
    }
}

/// `(name, down kbps, up kbps, loss %, latency ms, jitter ms)`; 0 kbps: unlimited.
const PROFILES: &[(&str, u64, u64, f64, u64, u64)] = &[
    // Loadero
    ("4g", 100_000, 50_000, 0.2, 45, 10),
    ("hsdpa", 20_000, 10_000, 0.5, 150, 10),
    ("3g", 1200, 1200, 0.5, 250, 50),
    ("gprs", 80, 20, 1.0, 650, 100),
    ("edge", 200, 260, 1.0, 650, 100),
    ("asymmetric", 500, 1000, 0.0, 50, 10),
    ("satellite", 1000, 256, 0.0, 600, 0),
    ("high-latency", 0, 0, 0.0, 500, 50),
    ("high-jitter", 0, 0, 0.0, 200, 100),
    // testRTC
    ("call-drop", 50, 50, 20.0, 500, 0),
    ("dsl", 8000, 8000, 0.5, 40, 0),
    ("very-bad", 1000, 1000, 10.0, 500, 0),
    ("wifi", 30_000, 30_000, 0.2, 40, 0),
    ("lossy-wifi", 30_000, 30_000, 5.0, 40, 0),
    ("regular-3g", 750, 750, 1.5, 250, 0),
    ("poor-3g", 400, 400, 5.0, 350, 0),
    ("poor-4g", 4000, 4000, 5.0, 350, 0),
    ("unstable-4g", 4000, 4000, 10.0, 500, 0),
];

/// The profile names, for error messages and `rtc-harness profiles`.
pub fn profile_names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.0).collect()
}

/// A named profile as a path (4g's 5/15 ms jitter is taken as 10 ms both ways).
pub fn profile(name: &str) -> Option<Path> {
    let &(_, down, up, loss, latency, jitter) = PROFILES.iter().find(|p| p.0 == name)?;
    let one = |kbps: u64| Conditions {
        latency: Duration::from_millis(latency),
        jitter: Duration::from_millis(jitter),
        loss: loss / 100.0,
        burst: 1.0,
        bandwidth: (kbps > 0).then_some(kbps * 1000),
        queue: DEFAULT_QUEUE,
    };
    Some(Path { uplink: one(up), downlink: one(down) })
}

/// One direction's values as written; every field changes the base it applies to.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionsDecl {
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
}

/// `network:` as written: a profile name, or a mapping (parsed with its own key checks, so that
/// a typo names the valid keys instead of "did not match any variant").
#[derive(Clone, Debug)]
pub enum NetworkDecl {
    Profile(String),
    Custom(Box<CustomNetworkDecl>),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomNetworkDecl {
    /// The base both directions start from.
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
    pub uplink: Option<ConditionsDecl>,
    #[serde(default)]
    pub downlink: Option<ConditionsDecl>,
}

impl CustomNetworkDecl {
    fn both(&self) -> ConditionsDecl {
        ConditionsDecl {
            latency: self.latency.clone(),
            jitter: self.jitter.clone(),
            loss: self.loss.clone(),
            burst: self.burst,
            bandwidth: self.bandwidth.clone(),
            queue: self.queue.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for NetworkDecl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NetworkDecl;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a network profile name or a mapping of profile, latency, jitter, loss, burst, bandwidth, queue, uplink, downlink")
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
    pub fn resolve(&self, base: &Path) -> Result<Path, String> {
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

fn named(name: &str) -> Result<Path, String> {
    profile(name).ok_or_else(|| format!("unknown network profile '{name}' (profiles: {})", profile_names().join(", ")))
}

fn apply(d: &ConditionsDecl, c: &mut Conditions) -> Result<(), String> {
    let dur = |s: &String, what: &str| -> Result<Duration, String> {
        if s.trim_start().starts_with('-') {
            return Err(format!("{what} '{s}' is negative"));
        }
        super::model::parse_duration(s).map_err(|e| format!("{what}: {e}"))
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
            return Err(format!("burst {b} is not a mean burst length in packets (1 to 1000; 1: random loss)"));
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
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let n = s.trim().strip_suffix('%').ok_or_else(|| format!("loss '{s}' is a percentage such as 5% or 0.5%"))?;
    let v: f64 = n.trim().parse().map_err(|_| format!("loss '{s}' is not a number followed by %"))?;
    if v < 0.0 {
        return Err(format!("loss '{s}' is negative"));
    }
    if v > 100.0 {
        return Err(format!("loss '{s}' is over 100%"));
    }
    Ok(v / 100.0)
}

/// `1200kbps`, `1.5mbps`, `64000bps` as bits per second.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("mbps") {
        (n, 1_000_000.0)
    } else if let Some(n) = t.strip_suffix("kbps") {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix("bps") {
        (n, 1.0)
    } else {
        return Err(format!("bandwidth '{s}' has no unit (expected e.g. 500kbps, 1.2mbps)"));
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("bandwidth '{s}' is not a number followed by kbps or mbps"))?;
    let bps = v * mult;
    if !(1000.0..=10_000_000_000.0).contains(&bps) {
        return Err(format!("bandwidth '{s}' is out of range (1kbps to 10000mbps)"));
    }
    Ok(bps as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_carry_the_published_figures() {
        let p = profile("3g").unwrap();
        assert_eq!(p.uplink.latency, Duration::from_millis(250));
        assert_eq!(p.downlink.bandwidth, Some(1_200_000));
        assert!((p.uplink.loss - 0.005).abs() < 1e-9);
        let e = profile("edge").unwrap();
        assert_eq!((e.downlink.bandwidth, e.uplink.bandwidth), (Some(200_000), Some(260_000)));
        assert!(profile("5g").is_none());
    }

    #[test]
    fn rates_and_percentages_parse_strictly() {
        assert_eq!(parse_rate("1200kbps"), Ok(1_200_000));
        assert_eq!(parse_rate("1.5mbps"), Ok(1_500_000));
        assert!(parse_rate("1200").is_err());
        assert!(parse_rate("-5kbps").is_err());
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert!(parse_percent("120%").unwrap_err().contains("over 100%"));
        assert!(parse_percent("-1%").unwrap_err().contains("negative"));
        assert!(parse_percent("5").is_err());
    }
}
