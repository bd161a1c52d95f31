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
            Event::FrameShown { sender: s, source, index, .. } if *s == sender => {
                painted.iter().find(|(src, i, _)| src == source && i == index).map(|(_, _, p)| e.at - p)
            }
            _ => None,
        })
        .collect()
}

fn latency_median(scenario: &Scenario, from: &str, at: &str, t: &Transcript) -> Option<f64> {
    let mut all = latencies(scenario, from, at, t);
    all.sort_by(f64::total_cmp);
    all.get(all.len() / 2).copied()
}
