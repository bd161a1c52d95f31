//! Every named wait's default limit, and the [`Scale`] (`RTC_HARNESS_TIME_SCALE`) that multiplies them.
//!
//! A scenario's own `within:` values are scaled too, so a slow machine can run the suite unchanged:
//! `RTC_HARNESS_TIME_SCALE=3 cargo test` gives every wait three times as long.

use std::time::Duration;

/// Scenario `wait` steps without `within:`.
pub const STEP_WAIT: Duration = Duration::from_secs(10);
/// Expectations without `within:` (the settle phase after the last step).
pub const EXPECTATION_WAIT: Duration = Duration::from_secs(10);
/// One peer action (create/apply a description, add a track, run a page script).
pub const ACTION: Duration = Duration::from_secs(10);
/// A `glare` step: both peers' offers reach the relay's gate.
pub const GLARE: Duration = Duration::from_secs(10);
/// Starting a peer: building a peer connection, or loading the agent page.
pub const PEER_START: Duration = Duration::from_secs(20);
/// Starting a browser and its WebDriver session.
pub const BROWSER_START: Duration = Duration::from_secs(60);
/// A case waiting for browser slots held by the cases that run beside it.
pub const BROWSER_SLOTS: Duration = Duration::from_secs(180);
/// Closing a peer or a browser before it is killed.
pub const TEARDOWN: Duration = Duration::from_secs(5);
/// ICE gathering before a non-trickle peer sends its description.
pub const GATHERING: Duration = Duration::from_secs(10);
/// How often the runner drains browser event queues while it waits.
pub const BROWSER_POLL: Duration = Duration::from_millis(20);
/// How often the runner samples every peer's `getStats()` while it waits (the figures over the
/// call in the transcript and the HTML report's plots).
pub const STATS_SAMPLE: Duration = Duration::from_secs(1);
/// How often the runner re-checks a condition fed only by Rust peers (they push, so this is a
/// backstop; the runner is woken as soon as an event arrives).
pub const RUST_POLL: Duration = Duration::from_millis(50);

/// The factor every named wait above and every scenario `within:` or `sleep:` is multiplied by,
/// so that a slow machine runs the suite unchanged. Read once at the edge
/// (`RTC_HARNESS_TIME_SCALE`, into `RunOptions::time_scale`) and handed down; nothing below the
/// edge reads the environment for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale(f64);

impl Scale {
    pub const ONE: Scale = Scale(1.0);

    /// `factor`, raised to 0.1 at least; 1 when it is not a finite number.
    pub fn new(factor: f64) -> Scale {
        Scale(if factor.is_finite() { factor.max(0.1) } else { 1.0 })
    }

    /// The variable's text (`"3"`, `" 0.5 "`); `None` when it is not a number.
    pub fn parse(text: &str) -> Option<Scale> {
        text.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(Scale::new)
    }

    /// `limit` scaled.
    pub fn of(self, limit: Duration) -> Duration {
        limit.mul_f64(self.0)
    }

    /// `limit` scaled, in milliseconds (the transcript's unit).
    pub fn ms(self, limit: Duration) -> f64 {
        self.of(limit).as_secs_f64() * 1000.0
    }
}

impl Default for Scale {
    fn default() -> Scale {
        Scale::ONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_multiplies_and_has_a_floor() {
        assert_eq!(Scale::parse(" 3 ").map(|s| s.of(STEP_WAIT)), Some(Duration::from_secs(30)));
        assert_eq!(Scale::parse("0.01"), Some(Scale::new(0.1)), "raised to 0.1");
        assert_eq!(Scale::parse("fast"), None);
        assert_eq!(Scale::parse("inf"), None);
        assert_eq!(Scale::default().ms(ACTION), 10_000.0);
    }
}
