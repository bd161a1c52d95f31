//! What a case measured of each video stream that carried frame markers (docs/markers.md): the
//! glass-to-glass latency percentiles of its sampled frames and its freezes, per sender and
//! receiver, for the reports (the JSON's `streams`) and the bench.

use super::freezes::{freezes, timeline};
use super::markers::latencies;
use crate::scenario::Scenario;
use crate::stats::{median, percentile};
use crate::transcript::{Event, Transcript};

/// One stream: `from`'s video as `at` rendered it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StreamFigures {
    pub from: String,
    pub at: String,
    /// Sampled frames with a latency (one every 10 frames).
    pub samples: usize,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// Freezes of the picture `at` renders (webrtc-stats' rule, `verdict::freezes`), their total
    /// and the longest, in ms; None when `at` reported no timeline.
    pub freezes: Option<usize>,
    pub frozen_ms: Option<f64>,
    pub longest_freeze_ms: Option<f64>,
    /// Each freeze as `[start, length]` in ms on the case clock (the HTML strip draws them).
    pub freeze_spans: Vec<[f64; 2]>,
}

/// Every ordered pair of peers whose receiver read the sender's markers.
pub fn streams(scenario: &Scenario, t: &Transcript) -> Vec<StreamFigures> {
    if !scenario.uses_markers() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for at in &scenario.peers {
        let read = t.of(&at.name).any(|e| matches!(e.event, Event::MarkersSeen { .. }));
        if !read {
            continue;
        }
        let times = timeline(&at.name, t);
        let found = (times.len() >= 2).then(|| freezes(&times));
        for from in scenario.peers.iter().filter(|p| p.name != at.name) {
            let ms: Vec<f64> = latencies(scenario, &from.name, &at.name, t).iter().map(|l| l.ms).collect();
            out.push(StreamFigures {
                from: from.name.clone(),
                at: at.name.clone(),
                samples: ms.len(),
                latency_p50_ms: median(&ms),
                latency_p95_ms: percentile(&ms, 95.0),
                freezes: found.as_ref().map(Vec::len),
                frozen_ms: found.as_ref().map(|f| f.iter().map(|f| f.length).fold(0.0, |a, b| a + b)),
                longest_freeze_ms: found.as_ref().map(|f| f.iter().map(|f| f.length).fold(0.0, f64::max)),
                freeze_spans: found.iter().flatten().map(|f| [f.start, f.length]).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Entry;

    #[test]
    fn a_stream_has_its_latency_and_its_receivers_freezes() {
        let kinds = [crate::scenario::PeerKind::new("chrome").unwrap()];
        let text = "peers:\n  - {name: alice, kind: all, media: [video]}\n  - {name: bob, kind: all}\nsteps:\n  - start: alice\n\
                    expect:\n  - markers: {at: bob, from: alice, frames: 60}\n";
        let scenario = crate::scenario::load_str(text, "t.yaml", "t", "t.yaml".into(), &kinds).expect("valid");
        let mut entries = Vec::new();
        for k in 0..4u32 {
            let painted = 1000.0 * f64::from(k + 1);
            entries.push(Entry { at: painted, peer: "alice".into(), event: Event::FramePainted { kind: "video".into(), source: 0, index: 30 * k } });
            entries.push(Entry {
                at: painted + 50.0 + f64::from(k) * 10.0,
                peer: "bob".into(),
                event: Event::FrameShown { kind: "video".into(), sender: 0, source: 0, index: 30 * k },
            });
        }
        // 100 new pictures at 30 fps with one 1 s gap after the 50th.
        let changes: Vec<f64> = (0..100).map(|i| f64::from(i) * 33.3 + if i >= 50 { 1000.0 } else { 0.0 }).collect();
        let end = changes[99];
        entries.push(Entry {
            at: end,
            peer: "bob".into(),
            event: Event::MarkersSeen { kind: "video".into(), frames: 100, unreadable: 0, senders: Vec::new(), changes: changes.iter().map(|c| c - end).collect() },
        });
        let t = Transcript { entries, relay: Vec::new() };
        let s = streams(&scenario, &t);
        assert_eq!(s.len(), 1, "alice read nothing: no stream at alice");
        let bob = &s[0];
        assert_eq!((bob.from.as_str(), bob.at.as_str(), bob.samples), ("alice", "bob", 4));
        assert_eq!((bob.latency_p50_ms, bob.latency_p95_ms), (Some(60.0), Some(80.0)));
        assert_eq!(bob.freezes, Some(1));
        assert_eq!(bob.freeze_spans.len(), 1);
        assert!((bob.freeze_spans[0][0] - 49.0 * 33.3).abs() < 0.01, "{bob:?}");
        assert!((bob.longest_freeze_ms.unwrap() - 1033.3).abs() < 0.01, "{bob:?}");
    }
}
