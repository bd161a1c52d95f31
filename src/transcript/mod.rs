//! The transcript of a case: every peer event and every relayed message, timestamped on one clock.
//!
//! Peers of every kind emit the same [`Event`]s; the browser agent page pushes JSON objects of the
//! same shape (`{"t": <epoch ms>, "type": "signaling_state", "state": "stable"}`), so a transcript
//! does not care which stack produced it. [`normalize`] turns a transcript into the stable text that
//! snapshots pin.

mod edge;
mod event;
pub mod normalize;
pub mod relayed;
pub mod sdp;

use crate::clock::Millis;
pub use edge::EventError;
pub use event::{ChannelOptions, Event, SenderReads, ToneRun};
use relayed::RelayRecord;
use serde::{Deserialize, Serialize};

/// An event with its time and the peer that saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Millis,
    pub peer: String,
    pub event: Event,
}

/// Everything recorded about one case.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Transcript {
    pub entries: Vec<Entry>,
    pub relay: Vec<RelayRecord>,
}

impl Transcript {
    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// Entries of one peer, in time order.
    pub fn of<'a>(&'a self, peer: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.peer == peer)
    }

    /// Keeps entries ordered by time (peers are drained in batches).
    pub fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.at.partial_cmp(&b.at).unwrap_or(std::cmp::Ordering::Equal));
    }

    /// The stack and version `peer` said it is (its `hello`), if it said.
    pub fn hello<'a>(&'a self, peer: &'a str) -> Option<(&'a str, &'a str)> {
        self.of(peer).find_map(|e| match &e.event {
            Event::Hello { stack, version } => Some((stack.as_str(), version.as_str())),
            _ => None,
        })
    }

    /// `alice: aiortc 1.16.0` per peer that said which stack it is, in the order they said it.
    pub fn stacks(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Hello { stack, version } => Some(format!("{}: {stack} {version}", e.peer)),
                _ => None,
            })
            .collect()
    }

    /// Every error a peer reported (`alice: signaling: Failed to set SSL role ...`), in order: a
    /// failure leads with them, and a known finding's signature is looked for among them.
    pub fn errors(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Error { context, message } => Some(format!("{}: {context}: {message}", e.peer)),
                _ => None,
            })
            .collect()
    }

    /// The first entry of `peer` matching `pred`.
    pub fn first<'a>(&'a self, peer: &str, pred: impl Fn(&Event) -> bool) -> Option<&'a Entry> {
        self.entries.iter().find(|e| e.peer == peer && pred(&e.event))
    }

    /// Every relayed message, one line each, with a description's type, `a=setup` and ICE ufrag
    /// (what decides DTLS roles and ICE generations).
    pub fn relay_lines(&self) -> String {
        self.relay
            .iter()
            .map(|r| {
                let sdp = r.sdp().unwrap_or_default();
                let attr = |name: &str| sdp.lines().find_map(|l| l.trim().strip_prefix(name)).map(|v| format!(" {name}{v}")).unwrap_or_default();
                format!(
                    "  {:>9.1} ms  relay    {} -> {}  {}{}{}",
                    r.at,
                    r.from,
                    r.to.join(","),
                    serde_json::to_string(&r.kind).unwrap_or_default(),
                    attr("a=setup:"),
                    attr("a=ice-ufrag:")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A human-readable dump of the last `n` lines (for timeouts and failed expectations), with
    /// runs of progress events collapsed (see [`lines`]).
    pub fn tail(&self, n: usize) -> String {
        let all = lines(&self.entries.iter().collect::<Vec<_>>(), true);
        all[all.len().saturating_sub(n)..].join("\n")
    }
}

/// One line per entry (`  1234.5 ms  alice    {...}`, without the peer column when `with_peer` is
/// false), except that a run of `media_progress` events of one peer and kind, uninterrupted by that
/// peer's other events, is one line: `media_progress video x27, 20 -> 290` (a failure's cause is
/// rarely in the frame counter, and it would push the lines that matter off the screen).
pub fn lines(entries: &[&Entry], with_peer: bool) -> Vec<String> {
    let line = |e: &Entry, text: String| {
        if with_peer {
            format!("  {:>9.1} ms  {:<8} {text}", e.at, e.peer)
        } else {
            format!("  {:>9.1} ms  {text}", e.at)
        }
    };
    let mut out: Vec<String> = Vec::new();
    // (index in `out`, peer, kind, runs, first count)
    let mut open: Vec<(usize, &str, &str, u64, u64)> = Vec::new();
    for e in entries {
        match &e.event {
            Event::MediaProgress { kind, count } => {
                if let Some(run) = open.iter_mut().find(|r| r.1 == e.peer && r.2 == kind) {
                    run.3 += 1;
                    out[run.0] = line(e, format!("media_progress {kind} x{}, {} -> {count}", run.3, run.4));
                    continue;
                }
                open.push((out.len(), &e.peer, kind, 1, *count));
                out.push(line(e, describe(&e.event)));
            }
            other => {
                open.retain(|r| r.1 != e.peer);
                out.push(line(e, describe(other)));
            }
        }
    }
    out
}

impl Transcript {
    /// The last `n` entries of each peer, peer by peer (so a chatty peer does not hide the other).
    pub fn tail_by_peer(&self, n: usize) -> String {
        let mut peers: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !peers.contains(&e.peer.as_str()) {
                peers.push(&e.peer);
            }
        }
        peers
            .iter()
            .map(|p| {
                // Periodic getStats samples would push the state changes out of a long wait's
                // tail (a 30 s wait samples 30 times): only each peer's last one is shown.
                let mine: Vec<&Entry> = self.of(p).collect();
                let last_stats = mine.iter().rposition(|e| matches!(e.event, Event::Stats { .. }));
                let skipped = mine.iter().filter(|e| matches!(e.event, Event::Stats { .. })).count().saturating_sub(1);
                let kept: Vec<&Entry> = mine.iter().enumerate().filter(|(i, e)| !matches!(e.event, Event::Stats { .. }) || Some(*i) == last_stats).map(|(_, e)| *e).collect();
                let all = lines(&kept, true);
                let mut tail = all[all.len().saturating_sub(n)..].join("\n");
                if skipped > 0 {
                    tail.push_str(&format!("\n    ({skipped} earlier stats samples of {p} left out)"));
                }
                tail
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One line for an event, without SDP bodies.
pub fn describe(event: &Event) -> String {
    match event {
        Event::LocalDescription { sdp_type, .. } => format!("local_description {sdp_type}"),
        Event::RemoteDescription { sdp_type, .. } => format!("remote_description {sdp_type}"),
        Event::Stats { summary } => format!("stats {summary}"),
        // The per-frame timeline is for the freeze check, not for a reader: its count only.
        Event::TonesHeard { windows, runs } => {
            let runs: Vec<String> = runs
                .iter()
                .map(|r| {
                    let what = match (r.sender, r.silence) {
                        (Some(s), _) => format!("sender {s}"),
                        (None, true) => "silence".to_string(),
                        (None, false) => "other".to_string(),
                    };
                    format!("{what} x{}", r.windows)
                })
                .collect();
            format!("tones_heard: {windows} window(s); since the last: {}", runs.join(", "))
        }
        Event::MarkersSeen { kind, frames, unreadable, senders, changes } => {
            let senders = serde_json::to_string(senders).unwrap_or_default();
            format!("markers_seen {kind}: {frames} frame(s), {unreadable} unreadable, {} new picture(s) since the last, senders {senders}", changes.len())
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(t: f64, peer: &str, event: Event) -> Entry {
        Entry { at: t, peer: peer.into(), event }
    }

    #[test]
    fn progress_runs_collapse_per_peer_and_kind() {
        let progress = |n| Event::MediaProgress { kind: "video".into(), count: n };
        let e = [
            at(1.0, "bob", progress(10)),
            at(2.0, "alice", Event::NegotiationNeeded),
            at(3.0, "bob", progress(20)),
            at(4.0, "bob", progress(30)),
            at(5.0, "bob", Event::ConnectionState { state: "failed".into() }),
            at(6.0, "bob", progress(40)),
        ];
        let out = lines(&e.iter().collect::<Vec<_>>(), true);
        assert_eq!(out.len(), 4, "{out:#?}");
        assert!(out[0].contains("bob") && out[0].contains("media_progress video x3, 10 -> 30"), "{}", out[0]);
        assert!(out[2].contains("failed"));
        assert!(out[3].contains("\"count\":40"), "a run ends at the peer's next other event: {}", out[3]);
    }

    #[test]
    fn a_failure_tail_keeps_state_changes_over_stats_samples() {
        let stats = |n: u64| Event::Stats { summary: json!({"sample": n}) };
        let mut t = Transcript::default();
        t.entries.push(at(1.0, "alice", Event::ConnectionState { state: "connecting".into() }));
        for i in 0..30 {
            t.entries.push(at(2.0 + i as f64, "alice", stats(i)));
        }
        let tail = t.tail_by_peer(3);
        assert!(tail.contains("connecting"), "the state change is still in a 3-line tail: {tail}");
        assert!(tail.contains("\"sample\":29") && !tail.contains("\"sample\":28"), "only the last sample: {tail}");
        assert!(tail.contains("29 earlier stats samples of alice left out"), "{tail}");
    }
}
