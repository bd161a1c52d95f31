//! The `markers` expectation: whose frames a receiver shows, read from the frame markers
//! (docs/markers.md) of the frames it rendered, with the glass-to-glass latency of the sampled
//! frames (painted at the sender, shown at the receiver, both on the case clock).

use super::check::{lines_of, mismatch, Mismatch};
use crate::scenario::Scenario;
use crate::transcript::{Event, SenderReads, Transcript};

/// The share of rendered frames that may carry no marker that reads: the first frames of a call
/// come from an encoder still ramping its rate, and the marker test reads 95% at 100 kbps.
const UNREADABLE_SHARE: f64 = 0.10;

/// Sampled frames a latency bound needs (one every second at 30 fps).
const LATENCY_SAMPLES: usize = 3;

/// What a `markers` expectation asks.
pub struct Want<'a> {
    pub at: &'a str,
    pub from: &'a str,
    pub source: Option<u8>,
    pub frames: u32,
    /// Bounds of the median latency, ms.
    pub latency: Option<(Option<f64>, Option<f64>)>,
}

pub(super) fn markers(scenario: &Scenario, want: Want, t: &Transcript) -> Result<(), Mismatch> {
    let Want { at, from, source, frames, latency } = want;
    let sender = scenario.marker_sender(from).unwrap_or(u8::MAX);
    let of_source = source.map(|s| format!(" source {s}")).unwrap_or_default();
    let mut expected = format!(
        "{at} shows {frames} frame(s) marked by {from} (sender {sender}){of_source}, none marked by another sender, at most {:.0}% without a marker that reads",
        UNREADABLE_SHARE * 100.0
    );
    if let Some((min, max)) = latency {
        let range = match (min, max) {
            (Some(lo), Some(hi)) => format!("between {lo} and {hi} ms"),
            (Some(lo), None) => format!("at least {lo} ms"),
            (None, Some(hi)) => format!("at most {hi} ms"),
            (None, None) => String::new(),
        };
        expected.push_str(&format!(", and a median glass-to-glass latency {range} over at least {LATENCY_SAMPLES} sampled frames"));
    }
    let excerpt = || lines_of(t, at, |e| matches!(e, Event::Track { .. } | Event::FirstFrame { .. } | Event::MarkersSeen { .. } | Event::FrameShown { .. }));
    let seen = t.of(at).filter_map(|e| match &e.event {
        Event::MarkersSeen { kind, frames, unreadable, senders, .. } if kind == "video" => Some((*frames, *unreadable, senders)),
        _ => None,
    });
    let Some((rendered, unreadable, senders)) = seen.last() else {
        return mismatch(expected, format!("{at} reported no markers_seen: it read no frame"), excerpt());
    };
    let mine: u64 = senders.iter().filter(|s| s.sender == sender && source.is_none_or(|src| s.source == src)).map(|s| s.count).sum();
    let foreign: Vec<&SenderReads> = senders.iter().filter(|s| s.sender != sender).collect();
    let unreadable_ok = (unreadable as f64) <= UNREADABLE_SHARE * rendered as f64;
    let samples: Vec<f64> = latencies(scenario, from, at, t).into_iter().filter(|l| source.is_none_or(|s| s == l.source)).map(|l| l.ms).collect();
    let median = crate::stats::median(&samples);
    let latency_ok = match latency {
        None => true,
        Some((min, max)) => samples.len() >= LATENCY_SAMPLES && median.is_some_and(|m| min.is_none_or(|lo| m >= lo) && max.is_none_or(|hi| m <= hi)),
    };
    if mine >= u64::from(frames) && foreign.is_empty() && unreadable_ok && latency_ok {
        return Ok(());
    }
    let per_source: Vec<String> = senders
        .iter()
        .map(|s| format!("sender {} source {}: {} frame(s), {}..{}, {} repeated, {} skipped", s.sender, s.source, s.count, s.first, s.last, s.repeats, s.skipped))
        .collect();
    let mut actual = format!("{mine} of {rendered} rendered frame(s) marked by {from}{of_source}, {unreadable} unreadable");
    if !foreign.is_empty() {
        // Which sender, and when its first frame was shown (a sender's first read is sampled).
        let named: Vec<String> = foreign
            .iter()
            .map(|f| {
                let who = scenario.peers.get(usize::from(f.sender)).map(|p| p.name.clone()).unwrap_or_else(|| "no peer of this case".into());
                let first = t.of(at).find(|e| matches!(&e.event, Event::FrameShown { sender, source, .. } if *sender == f.sender && *source == f.source));
                let when = first.map(|e| format!(", the first shown at {:.1} ms", e.at)).unwrap_or_default();
                format!("sender {} ({who}) source {}: {} frame(s){when}", f.sender, f.source, f.count)
            })
            .collect();
        actual.push_str(&format!("; {} frame(s) of another sender: {}", foreign.iter().map(|f| f.count).sum::<u64>(), named.join("; ")));
    }
    if latency.is_some() {
        match median {
            Some(m) => actual.push_str(&format!("; median latency {m:.1} ms over {} sampled frame(s)", samples.len())),
            None => actual.push_str("; no sampled frame to measure latency by"),
        }
    }
    let mut lines = excerpt();
    lines.push(format!("read per sender and source: {}", per_source.join("; ")));
    if let (None, Some(m)) = (latency, median) {
        lines.push(format!("glass-to-glass latency of the sampled frames: median {m:.1} ms"));
    }
    mismatch(expected, actual, lines)
}

/// One sampled frame's glass-to-glass latency: shown minus painted, on the case clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    pub source: u8,
    /// When `at` showed it.
    pub shown: f64,
    pub ms: f64,
}

/// The latencies of the frames `from` painted and `at` showed, both sampled (docs/markers.md),
/// in the order they were shown.
pub fn latencies(scenario: &Scenario, from: &str, at: &str, t: &Transcript) -> Vec<Latency> {
    let Some(sender) = scenario.marker_sender(from) else { return Vec::new() };
    let painted: Vec<(u8, u32, f64)> = t
        .of(from)
        .filter_map(|e| match &e.event {
            Event::FramePainted { source, index, .. } => Some((*source, *index, e.at)),
            _ => None,
        })
        .collect();
    t.of(at)
        .filter_map(|e| match &e.event {
            Event::FrameShown { sender: s, source, index, .. } if *s == sender => {
                // The latest painting of that index before it was shown (an index wraps after
                // 65,536 frames).
                painted.iter().rev().find(|(src, i, p)| src == source && i == index && *p <= e.at).map(|(src, _, p)| Latency { source: *src, shown: e.at, ms: e.at - p })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Entry;

    fn scenario() -> Scenario {
        let kinds = [crate::scenario::PeerKind::new("chrome").unwrap()];
        let text = "peers:\n  - {name: alice, kind: all, media: [video]}\n  - {name: bob, kind: all}\nsteps:\n  - start: alice\n\
                    expect:\n  - markers: {at: bob, from: alice, frames: 60}\n";
        crate::scenario::load_str(text, "t.yaml", "t", "t.yaml".into(), &kinds).expect("valid")
    }

    fn reads(sender: u8, count: u64) -> SenderReads {
        SenderReads { sender, source: 0, count, first: 0, last: count as u32, repeats: 0, skipped: 0 }
    }

    fn seen(frames: u64, unreadable: u64, senders: Vec<SenderReads>) -> Entry {
        Entry { at: 3000.0, peer: "bob".into(), event: Event::MarkersSeen { kind: "video".into(), frames, unreadable, senders, changes: Vec::new() } }
    }

    fn check(entries: Vec<Entry>) -> Result<(), Mismatch> {
        markers(&scenario(), Want { at: "bob", from: "alice", source: None, frames: 60, latency: None }, &Transcript { entries, relay: Vec::new() })
    }

    #[test]
    fn the_senders_frames_pass_and_anything_else_fails() {
        let s = scenario();
        assert!(s.uses_markers() && s.marker_sender("alice") == Some(0) && s.marker_sender("bob") == Some(1));
        assert!(check(vec![seen(62, 2, vec![reads(0, 60)])]).is_ok());
        // The last record counts: an earlier one with too few frames does not decide.
        assert!(check(vec![seen(30, 0, vec![reads(0, 30)]), seen(62, 2, vec![reads(0, 60)])]).is_ok());
        let too_few = check(vec![seen(40, 0, vec![reads(0, 40)])]).unwrap_err();
        assert!(too_few.actual.starts_with("40 of 40 rendered frame(s) marked by alice"), "{}", too_few.actual);
        // bob's own loopback (sender 1) or a third sender's frames among alice's fail.
        let foreign = check(vec![seen(90, 0, vec![reads(0, 60), reads(1, 30)])]).unwrap_err();
        assert!(foreign.actual.contains("30 frame(s) of another sender: sender 1 (bob) source 0: 30 frame(s)"), "{}", foreign.actual);
        let stranger = check(vec![seen(90, 0, vec![reads(0, 60), reads(9, 30)])]).unwrap_err();
        assert!(stranger.actual.contains("sender 9 (no peer of this case)"), "{}", stranger.actual);
        assert!(foreign.excerpt.last().unwrap().contains("sender 1 source 0: 30 frame(s)"), "{:?}", foreign.excerpt);
        let unreadable = check(vec![seen(80, 20, vec![reads(0, 60)])]).unwrap_err();
        assert!(unreadable.actual.contains("20 unreadable"), "{}", unreadable.actual);
        let nothing = check(Vec::new()).unwrap_err();
        assert!(nothing.actual.contains("no markers_seen"), "{}", nothing.actual);
    }

    #[test]
    fn latency_pairs_a_painted_frame_with_the_same_frame_shown() {
        let at = |t: f64, peer: &str, event: Event| Entry { at: t, peer: peer.into(), event };
        let painted = |index| Event::FramePainted { kind: "video".into(), source: 0, index };
        let shown = |sender, index| Event::FrameShown { kind: "video".into(), sender, source: 0, index };
        let t = Transcript {
            entries: vec![
                at(1000.0, "alice", painted(0)),
                at(1040.0, "bob", shown(0, 0)),
                at(2000.0, "alice", painted(30)),
                at(2025.0, "bob", shown(0, 30)),
                // Another sender's frame with the same index is not alice's.
                at(2030.0, "bob", shown(1, 30)),
                // A frame shown that was never recorded as painted has no latency.
                at(2500.0, "bob", shown(0, 45)),
            ],
            relay: Vec::new(),
        };
        let found: Vec<(u8, f64, f64)> = latencies(&scenario(), "alice", "bob", &t).iter().map(|l| (l.source, l.shown, l.ms)).collect();
        assert_eq!(found, vec![(0, 1040.0, 40.0), (0, 2025.0, 25.0)]);
    }

    #[test]
    fn a_source_and_a_latency_bound_narrow_what_counts() {
        let at = |t: f64, peer: &str, event: Event| Entry { at: t, peer: peer.into(), event };
        let mut entries: Vec<Entry> = Vec::new();
        for k in 0..4u32 {
            let t0 = 1000.0 * f64::from(k);
            entries.push(at(t0, "alice", Event::FramePainted { kind: "video".into(), source: 1, index: 30 * k }));
            entries.push(at(t0 + 120.0, "bob", Event::FrameShown { kind: "video".into(), sender: 0, source: 1, index: 30 * k }));
        }
        let two_sources = vec![reads(0, 40), SenderReads { source: 1, ..reads(0, 50) }];
        entries.push(seen(95, 5, two_sources));
        let t = Transcript { entries, relay: Vec::new() };
        let check = |source, latency| markers(&scenario(), Want { at: "bob", from: "alice", source, frames: 45, latency }, &t);
        assert!(check(None, None).is_ok(), "90 of alice's frames in all");
        assert!(check(Some(1), None).is_ok(), "50 of source 1");
        assert!(check(Some(0), None).unwrap_err().actual.starts_with("40 of 95 rendered frame(s) marked by alice source 0"));
        assert!(check(Some(1), Some((Some(100.0), Some(200.0)))).is_ok(), "median 120 ms");
        let slow = check(Some(1), Some((None, Some(100.0)))).unwrap_err();
        assert!(slow.actual.contains("median latency 120.0 ms over 4 sampled frame(s)"), "{}", slow.actual);
        assert!(slow.expected.ends_with("a median glass-to-glass latency at most 100 ms over at least 3 sampled frames"), "{}", slow.expected);
        let both = check(Some(1), Some((Some(150.0), Some(200.0)))).unwrap_err();
        assert!(both.expected.contains("latency between 150 and 200 ms over"), "{}", both.expected);
        assert!(check(Some(1), Some((Some(150.0), None))).is_err(), "below the path's own delay");
        assert!(check(Some(0), Some((Some(100.0), None))).unwrap_err().actual.contains("no sampled frame"), "source 0 has no samples");
    }
}
