//! Every named wait's default limit, and [`Limits`]: a run's waits, multiplied once by `RTC_HARNESS_TIME_SCALE`.
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
/// How often the runner calls an idle browser page through WebDriver while it waits (a heartbeat
/// that finds a dead browser or driver; the page pushes its events, peer/browser/outlet.rs).
pub const BROWSER_POLL: Duration = Duration::from_secs(1);
/// How often a case waiting for a job checks whether it may take an idle one (runner/load.rs).
pub const IDLE_JOB_CHECK: Duration = Duration::from_millis(500);
/// How often the runner samples every peer's `getStats()` while it waits (the figures over the
/// call in the transcript and the HTML report's plots).
pub const STATS_SAMPLE: Duration = Duration::from_secs(1);
/// How often the runner re-checks a condition fed only by Rust peers (they push, so this is a
/// backstop; the runner is woken as soon as an event arrives).
pub const RUST_POLL: Duration = Duration::from_millis(50);

/// A run's waits: every named wait above multiplied by the run's factor (`RTC_HARNESS_TIME_SCALE`),
/// built once at the edge (`RunOptions::from_vars`) and handed down as one value. Code below the
/// edge reads a field (`limits.action`) and never scales a constant itself; a scenario's own
/// `within:` and `sleep:` values go through [`Limits::scenario`], so a slow machine runs the suite
/// unchanged (`STEP_WAIT` and `EXPECTATION_WAIT` are the defaults of those values, filled in when a
/// scenario is loaded and scaled with them). Intervals (`BROWSER_POLL`, `STATS_SAMPLE`,
/// `RUST_POLL`) are not limits and stay constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    factor: f64,
    pub action: Duration,
    pub glare: Duration,
    pub peer_start: Duration,
    pub browser_start: Duration,
    pub browser_slots: Duration,
    pub teardown: Duration,
    pub gathering: Duration,
}

impl Limits {
    /// The defaults, unscaled.
    pub const ONE: Limits = Limits::with(1.0);

    const fn with(factor: f64) -> Limits {
        Limits {
            factor,
            action: times(ACTION, factor),
            glare: times(GLARE, factor),
            peer_start: times(PEER_START, factor),
            browser_start: times(BROWSER_START, factor),
            browser_slots: times(BROWSER_SLOTS, factor),
            teardown: times(TEARDOWN, factor),
            gathering: times(GATHERING, factor),
        }
    }

    /// Every limit multiplied by `factor`, raised to 0.1 at least; 1 when it is not a finite number.
    pub fn scaled(factor: f64) -> Limits {
        Limits::with(if factor.is_finite() { factor.max(0.1) } else { 1.0 })
    }

    /// The variable's text (`"3"`, `" 0.5 "`); `None` when it is not a number.
    pub fn parse(text: &str) -> Option<Limits> {
        text.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(Limits::scaled)
    }

    /// A scenario's own `within:` or `sleep:`, scaled as the named waits are.
    pub fn scenario(self, d: Duration) -> Duration {
        d.mul_f64(self.factor)
    }

    /// [`Limits::scenario`] in milliseconds (the transcript's unit).
    pub fn scenario_ms(self, d: Duration) -> f64 {
        self.scenario(d).as_secs_f64() * 1000.0
    }
}

/// `d` x `factor`, in a constant.
const fn times(d: Duration, factor: f64) -> Duration {
    Duration::from_nanos((d.as_nanos() as f64 * factor) as u64)
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::ONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_factor_multiplies_every_limit_and_has_a_floor() {
        let three = Limits::parse(" 3 ").expect("a number");
        assert_eq!(three.action, Duration::from_secs(30));
        assert_eq!(three.browser_slots, BROWSER_SLOTS * 3);
        assert_eq!(three.scenario(Duration::from_millis(1500)), Duration::from_millis(4500));
        assert_eq!(Limits::parse("0.01"), Some(Limits::scaled(0.1)), "raised to 0.1");
        assert_eq!(Limits::parse("0.01").map(|l| l.teardown), Some(Duration::from_millis(500)));
        assert_eq!(Limits::parse("fast"), None);
        assert_eq!(Limits::parse("inf"), None);
        assert_eq!(Limits::default().scenario_ms(ACTION), 10_000.0);
        assert_eq!(Limits::ONE.action, ACTION);
    }
}
