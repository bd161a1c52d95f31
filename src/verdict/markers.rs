//! The `markers` expectation: whose frames a receiver shows, read from the frame markers
//! (docs/markers.md) of the frames it rendered, with the glass-to-glass latency of the sampled
//! frames (painted at the sender, shown at the receiver, both on the case clock).

use super::check::{lines_of, mismatch, Mismatch};
use crate::scenario::Scenario;
use crate::transcript::{Event, SenderReads, Transcript};

/// The share of rendered frames that may carry no marker that reads: the first frames of a call
/// come from an encoder still ramping its rate, and the marker test reads 95% at 100 kbps.
const UNREADABLE_SHARE: f64 = 0.10;

pub(super) fn markers(scenario: &Scenario, at: &str, from: &str, frames: u32, t: &Transcript) -> Result<(), Mismatch> {
    let sender = scenario.marker_sender(from).unwrap_or(u8::MAX);
    let expected = format!(
        "{at} shows {frames} frame(s) marked by {from} (sender {sender}), none marked by another sender, at most {:.0}% without a marker that reads",
        UNREADABLE_SHARE * 100.0
    );
    let excerpt = || lines_of(t, at, |e| matches!(e, Event::Track { .. } | Event::FirstFrame { .. } | Event::MarkersSeen { .. } | Event::FrameShown { .. }));
    let seen = t.of(at).filter_map(|e| match &e.event {
        Event::MarkersSeen { kind, frames, unreadable, senders } if kind == "video" => Some((*frames, *unreadable, senders)),
        _ => None,
    });
    let Some((rendered, unreadable, senders)) = seen.last() else {
        return mismatch(expected, format!("{at} reported no markers_seen: it read no frame"), excerpt());
    };
    let mine: u64 = senders.iter().filter(|s| s.sender == sender).map(|s| s.count).sum();
    let foreign: Vec<&SenderReads> = senders.iter().filter(|s| s.sender != sender).collect();
    let unreadable_ok = (unreadable as f64) <= UNREADABLE_SHARE * rendered as f64;
    if mine >= u64::from(frames) && foreign.is_empty() && unreadable_ok {
        return Ok(());
    }
    let foreign_text: Vec<String> = foreign.iter().map(|s| format!("sender {} source {}: {} frame(s)", s.sender, s.source, s.count)).collect();
    let mut actual = format!("{mine} of {rendered} rendered frame(s) marked by {from}, {unreadable} unreadable");
    if !foreign_text.is_empty() {
        actual.push_str(&format!("; frames of another sender: {}", foreign_text.join(", ")));
    }
    let mut lines = excerpt();
    if let Some(median) = latency_median(scenario, from, at, t) {
        lines.push(format!("glass-to-glass latency of the sampled frames: median {median:.1} ms"));
    }
    mismatch(expected, actual, lines)
}

/// The latencies of the frames `from` painted and `at` showed, both sampled (docs/markers.md).
pub fn latencies(scenario: &Scenario, from: &str, at: &str, t: &Transcript) -> Vec<f64> {
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
            Event::FrameShown { sender: s, source, index, .. } if *s == sender => painted.iter().find(|(src, i, _)| src == source && i == index).map(|(_, _, p)| e.at - p),
            _ => None,
        })
        .collect()
}

fn latency_median(scenario: &Scenario, from: &str, at: &str, t: &Transcript) -> Option<f64> {
    let mut all = latencies(scenario, from, at, t);
    all.sort_by(f64::total_cmp);
    all.get(all.len() / 2).copied()
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
        Entry { at: 3000.0, peer: "bob".into(), event: Event::MarkersSeen { kind: "video".into(), frames, unreadable, senders } }
    }

    fn check(entries: Vec<Entry>) -> Result<(), Mismatch> {
        markers(&scenario(), "bob", "alice", 60, &Transcript { entries, relay: Vec::new() })
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
        assert!(foreign.actual.contains("frames of another sender: sender 1 source 0: 30 frame(s)"), "{}", foreign.actual);
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
        assert_eq!(latencies(&scenario(), "alice", "bob", &t), vec![40.0, 25.0]);
    }
}
