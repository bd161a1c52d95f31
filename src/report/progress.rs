//! Progress of a run of many cases: on a terminal a bar (done / total, the tally so far, the cases
//! running, the time left), elsewhere (a CI log) plain lines and a summary line every minute.
//!
//! It only renders what it is told: the runner's loop reports each case's start and each
//! attempt's end; nothing here runs a case.

use super::outcome::{Outcome, Tally};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a plain (non-terminal) run prints its summary line.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// The run's progress: shared by the cases running at once.
pub struct Progress {
    bar: Option<ProgressBar>,
    state: Mutex<State>,
    started: Instant,
}

struct State {
    total: usize,
    /// Cases expected to run (not left out), for the estimate of the time left.
    to_run: usize,
    tally: Tally,
    /// Cases that ran to an outcome (passed, failed, flaky): the estimate's rate.
    ran: usize,
    running: Vec<String>,
    last_summary: Instant,
}

impl Progress {
    /// A bar when stdout is a terminal, plain lines otherwise. `to_run` is how many of `total`
    /// cases are expected to run rather than be left out.
    pub fn new(total: usize, to_run: usize) -> Progress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stdout());
            bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("template"));
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        let now = Instant::now();
        Progress { bar, state: Mutex::new(State { total, to_run, tally: Tally::default(), ran: 0, running: Vec::new(), last_summary: now }), started: now }
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// An attempt at a case began running (it holds its job; cases still waiting for one are not
    /// listed as running).
    pub fn started(&self, name: &str) {
        let mut s = self.state.lock().unwrap();
        if !s.running.iter().any(|n| n == name) {
            s.running.push(name.to_string());
        }
        self.refresh(&s);
    }

    /// An attempt at a case ended; a retry waits for a job again before it runs.
    pub fn attempt_ended(&self, name: &str) {
        let mut s = self.state.lock().unwrap();
        s.running.retain(|n| n != name);
        self.refresh(&s);
    }

    /// A case ended with `outcome` (its attempts already printed); `counted` when it was one of
    /// the `to_run` cases.
    pub fn finished(&self, name: &str, outcome: &Outcome, counted: bool) {
        let mut s = self.state.lock().unwrap();
        s.running.retain(|n| n != name);
        s.tally.add(outcome);
        match (outcome.ran(), counted) {
            (true, _) => s.ran += 1,
            // Expected to run, but left out after all: no longer in the estimate.
            (false, true) => s.to_run = s.to_run.saturating_sub(1),
            (false, false) => {}
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.refresh(&s);
        if self.bar.is_none() && s.last_summary.elapsed() >= SUMMARY_EVERY {
            s.last_summary = Instant::now();
            println!("{}", self.summary(&s));
        }
    }

    /// Clears the bar at the end of the run.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn refresh(&self, s: &State) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.message(s));
        }
    }

    /// `12 passed, 0 failed, 30 left out; ~14m left; running: a, b`.
    fn message(&self, s: &State) -> String {
        let t = &s.tally;
        let left_out = t.skipped + t.ignored + t.excluded;
        let running = match s.running.len() {
            0 => String::new(),
            _ => format!("; running: {}", s.running.join(", ")),
        };
        format!("{} passed, {} failed, {} flaky, {left_out} left out; {}{running}", t.passed, t.failed, t.flaky, eta(self.started.elapsed(), s.ran, s.to_run))
    }

    /// `[12m00s] 340/2880 done: 300 passed, ...`: the minute line of a plain run.
    fn summary(&self, s: &State) -> String {
        let done = s.tally.total();
        format!("[{}] {done}/{} done: {}", clock(self.started.elapsed()), s.total, self.message(s))
    }
}

/// `~14m left` from the rate of the cases that ran so far (left-out cases take no time);
/// `time left unknown` before the first one ended.
pub fn eta(elapsed: Duration, ran: usize, to_run: usize) -> String {
    if ran == 0 {
        return "time left unknown".into();
    }
    let left = to_run.saturating_sub(ran);
    let secs = elapsed.as_secs_f64() / ran as f64 * left as f64;
    format!("~{} left", clock(Duration::from_secs_f64(secs)))
}

/// `1h02m`, `14m05s`, `42s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_attempts_that_began_running_are_listed_as_running() {
        let p = Progress::new(3, 3);
        let message = || p.message(&p.state.lock().unwrap());
        assert!(!message().contains("running"), "{}", message());
        p.started("a");
        p.started("b");
        p.started("a");
        assert!(message().ends_with("; running: a, b"), "{}", message());
        p.attempt_ended("a");
        assert!(message().ends_with("; running: b"), "a retry waits for a job again: {}", message());
    }

    #[test]
    fn the_estimate_uses_the_rate_of_cases_that_ran() {
        assert_eq!(eta(Duration::from_secs(60), 0, 100), "time left unknown");
        assert_eq!(eta(Duration::from_secs(60), 10, 110), "~10m00s left", "6 s per case, 100 left");
        assert_eq!(eta(Duration::from_secs(60), 10, 10), "~0s left");
        assert_eq!(clock(Duration::from_secs(3720)), "1h02m");
    }
}
