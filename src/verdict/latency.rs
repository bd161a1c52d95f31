//! The `latency` expectation: percentiles of the glass-to-glass latency of the frames `from`
//! painted and `at` showed (the markers' sampled frames, one every 10, on the case clock), and
//! how far a `network` step moved its median.

use super::check::{lines_of, mismatch, Mismatch};
use super::markers::latencies;
use crate::scenario::Scenario;
use crate::stats::{median, percentile};
use crate::transcript::{Event, Transcript};

/// Sampled frames each figure needs (one every 10 frames).
const SAMPLES: usize = 3;
/// A rise compares steady states: the frames shown in the last `BEFORE_MS` before the network
/// step, against those shown from `SETTLE_MS` after it (a receiver's jitter buffer takes a moment
/// to follow a new delay, and frames in flight at the step carry half of it).
const BEFORE_MS: f64 = 5000.0;
const SETTLE_MS: f64 = 2000.0;

type Bounds = (Option<f64>, Option<f64>);

/// What a `latency` expectation asks, in ms.
pub struct Want<'a> {
    pub at: &'a str,
    pub from: &'a str,
    pub p50: Bounds,
    /// An upper bound of the 95th percentile.
    pub p95: Option<f64>,
    /// Bounds of the median after the case's last `network` step minus the median before it.
    pub rise: Option<Bounds>,
}

pub(super) fn check(scenario: &Scenario, want: Want, t: &Transcript) -> Result<(), Mismatch> {
    let samples = latencies(scenario, want.from, want.at, t);
    let excerpt = || lines_of(t, want.at, |e| matches!(e, Event::FrameShown { .. } | Event::Step { .. }));
    let expected = expected(&want);
    let all: Vec<f64> = samples.iter().map(|l| l.ms).collect();
    if all.len() < SAMPLES {
        return mismatch(expected, format!("{} sampled frame(s) of {} shown by {}: too few to measure latency by", all.len(), want.from, want.at), excerpt());
    }
    let (p50, p95) = (median(&all).unwrap_or(f64::NAN), percentile(&all, 95.0).unwrap_or(f64::NAN));
    let mut ok = within(p50, want.p50) && want.p95.is_none_or(|hi| p95 <= hi);
    let mut actual = format!("p50 {p50:.1} ms, p95 {p95:.1} ms over {} sampled frame(s)", all.len());
    if let Some(rise) = want.rise {
        match split(t) {
            None => {
                ok = false;
                actual.push_str("; the case has no network step to compare before and after");
            }
            Some((at, step)) => {
                let before: Vec<f64> = samples.iter().filter(|l| l.shown < at && l.shown >= at - BEFORE_MS).map(|l| l.ms).collect();
                let after: Vec<f64> = samples.iter().filter(|l| l.shown >= at + SETTLE_MS).map(|l| l.ms).collect();
                match (median(&before), median(&after)) {
                    (Some(b), Some(a)) if before.len() >= SAMPLES && after.len() >= SAMPLES => {
                        ok &= within(a - b, rise);
                        actual.push_str(&format!(
                            "; median {b:.1} ms over {} frame(s) in the {:.0} s before {step} at {at:.1} ms, {a:.1} ms over {} from {:.0} s after it: a rise of {:.1} ms",
                            before.len(),
                            BEFORE_MS / 1000.0,
                            after.len(),
                            SETTLE_MS / 1000.0,
                            a - b
                        ));
                    }
                    _ => {
                        ok = false;
                        actual.push_str(&format!(
                            "; {} sampled frame(s) in the {:.0} s before {step} and {} from {:.0} s after it: too few to compare",
                            before.len(),
                            BEFORE_MS / 1000.0,
                            after.len(),
                            SETTLE_MS / 1000.0
                        ));
                    }
                }
            }
        }
    }
    if ok {
        Ok(())
    } else {
        mismatch(expected, actual, excerpt())
    }
}

fn within(v: f64, (lo, hi): Bounds) -> bool {
    lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi)
}

fn range((lo, hi): Bounds) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("between {lo} and {hi} ms"),
        (Some(lo), None) => format!("at least {lo} ms"),
        (None, Some(hi)) => format!("at most {hi} ms"),
        (None, None) => "any".to_string(),
    }
}

fn expected(want: &Want) -> String {
    let mut parts = Vec::new();
    if want.p50.0.is_some() || want.p50.1.is_some() {
        parts.push(format!("a median {}", range(want.p50)));
    }
    if let Some(hi) = want.p95 {
        parts.push(format!("a 95th percentile at most {hi} ms"));
    }
    if let Some(rise) = want.rise {
        parts.push(format!("a median {} higher from {:.0} s after the last network step than in the {:.0} s before it", range(rise), SETTLE_MS / 1000.0, BEFORE_MS / 1000.0));
    }
    format!("glass-to-glass latency of {}'s frames shown by {}: {} (at least {SAMPLES} sampled frames each)", want.from, want.at, parts.join(", "))
}

/// The case clock time and name of the last `network` step.
fn split(t: &Transcript) -> Option<(f64, String)> {
    t.entries.iter().rev().find_map(|e| match &e.event {
        Event::Step { name } if name.starts_with("network(") => Some((e.at, name.clone())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Entry;

    fn scenario() -> Scenario {
        let kinds = [crate::scenario::PeerKind::new("chrome").unwrap()];
        let text = "peers:\n  - {name: alice, kind: all, media: [video]}\n  - {name: bob, kind: all}\nsteps:\n  - start: alice\n\
                    expect:\n  - latency: {at: bob, from: alice, p50: 500ms}\n";
        crate::scenario::load_str(text, "t.yaml", "t", "t.yaml".into(), &kinds).expect("valid")
    }

    /// alice paints a sampled frame every second from 1 s; bob shows it `before` ms later until
    /// a network step at 6 s, then `after` ms later.
    fn call(before: f64, after: f64, with_step: bool) -> Transcript {
        let mut entries = Vec::new();
        for k in 0..10u32 {
            let painted = 1000.0 * f64::from(k + 1);
            let delay = if painted < 6000.0 { before } else { after };
            entries.push(Entry { at: painted, peer: "alice".into(), event: Event::FramePainted { kind: "video".into(), source: 0, index: 30 * k } });
            entries.push(Entry { at: painted + delay, peer: "bob".into(), event: Event::FrameShown { kind: "video".into(), sender: 0, source: 0, index: 30 * k } });
        }
        if with_step {
            entries.push(Entry { at: 6000.0, peer: "alice".into(), event: Event::Step { name: "network(latency 200ms)".into() } });
        }
        entries.sort_by(|a, b| a.at.total_cmp(&b.at));
        Transcript { entries, relay: Vec::new() }
    }

    fn want(p50: (Option<f64>, Option<f64>), p95: Option<f64>, rise: Option<(Option<f64>, Option<f64>)>) -> Want<'static> {
        Want { at: "bob", from: "alice", p50, p95, rise }
    }

    #[test]
    fn percentiles_bound_every_sampled_frame() {
        let t = call(40.0, 40.0, false);
        check(&scenario(), want((Some(20.0), Some(50.0)), Some(60.0), None), &t).unwrap();
        let slow = check(&scenario(), want((None, Some(30.0)), None, None), &t).unwrap_err();
        assert_eq!(slow.actual, "p50 40.0 ms, p95 40.0 ms over 10 sampled frame(s)");
        assert!(slow.expected.contains("a median at most 30 ms"), "{}", slow.expected);
        let none = check(&scenario(), want((None, Some(30.0)), None, None), &Transcript { entries: Vec::new(), relay: Vec::new() }).unwrap_err();
        assert!(none.actual.contains("0 sampled frame(s) of alice shown by bob: too few"), "{}", none.actual);
    }

    #[test]
    fn a_rise_compares_the_medians_around_the_last_network_step() {
        let t = call(45.0, 260.0, true);
        check(&scenario(), want((None, None), None, Some((Some(200.0), None))), &t).unwrap();
        let more = check(&scenario(), want((None, None), None, Some((Some(250.0), None))), &t).unwrap_err();
        assert!(
            more.actual.contains("median 45.0 ms over 5 frame(s) in the 5 s before network(latency 200ms) at 6000.0 ms, 260.0 ms over 3 from 2 s after it: a rise of 215.0 ms"),
            "{}",
            more.actual
        );
        assert!(more.expected.contains("a median at least 250 ms higher from 2 s after the last network step than in the 5 s before it"), "{}", more.expected);
        let no_step = check(&scenario(), want((None, None), None, Some((Some(200.0), None))), &call(45.0, 260.0, false)).unwrap_err();
        assert!(no_step.actual.contains("no network step"), "{}", no_step.actual);
    }
}
