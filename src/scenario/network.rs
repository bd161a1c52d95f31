//! Network conditions in the scenario language: what one direction of a peer's path does
//! ([`Conditions`]) and the named profiles users know (Loadero, testRTC; docs/networks.md). The
//! `network:` values as written are parsed by the loader.
//!
//! A peer's path is the leg between the peer and the harness's TURN server (see `net`): uplink is
//! what the peer sends, downlink what it receives. A profile's latency is one-way and applies to
//! each direction, as netem on both ends of a link does: a 3G peer adds 2 x 250 ms to the round
//! trip of every packet it exchanges.

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
}
