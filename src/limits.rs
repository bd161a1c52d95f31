//! Every named wait's default limit, and `RTC_HARNESS_TIME_SCALE`, the one variable that scales them.
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

/// The factor from `RTC_HARNESS_TIME_SCALE` (default 1; values below 0.1 are raised to 0.1).
pub fn scale() -> f64 {
    std::env::var("RTC_HARNESS_TIME_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .map(|v| v.max(0.1))
        .unwrap_or(1.0)
}

/// `limit` scaled by `RTC_HARNESS_TIME_SCALE`.
pub fn scaled(limit: Duration) -> Duration {
    limit.mul_f64(scale())
}
