//! The transcript of a case: every peer event and every relayed message, timestamped on one clock.
//!
//! Peers of every kind emit the same [`Event`]s; the browser agent page pushes JSON objects of the
//! same shape (`{"t": <epoch ms>, "type": "signaling_state", "state": "stable"}`), so a transcript
//! does not care which stack produced it. [`normalize`] turns a transcript into the stable text that
//! snapshots pin.

pub mod normalize;
pub mod relayed;
pub mod sdp;

use crate::clock::Millis;
use relayed::RelayRecord;
use serde::{Deserialize, Serialize};

/// One thing a peer saw or did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The runner asked the peer to perform a step.
    Step { name: String },
    /// The peer's stack and its version (a command peer's `hello`; the browser's version).
    Hello { stack: String, version: String },
    NegotiationNeeded,
    /// `createOffer()` was called (the start of time-to-first-frame).
    CreateOffer,
    SignalingState { state: String },
    IceGatheringState { state: String },
    IceConnectionState { state: String },
    ConnectionState { state: String },
    /// `setLocalDescription` resolved; `sdp` is the description in force.
    LocalDescription { sdp_type: String, sdp: String },
    /// `setRemoteDescription` resolved.
    RemoteDescription {
        sdp_type: String,
        sdp: String,
        /// From the message's arrival in the peer to the `setRemoteDescription` call (the agent
        /// page: from the MessageEvent's timeStamp), where the peer says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queued_ms: Option<f64>,
        /// How long `setRemoteDescription` took, where the peer says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        apply_ms: Option<f64>,
    },
    /// An `icecandidate` event with a candidate.
    LocalCandidate { candidate: String },
    /// An `icecandidate` event that ends a generation: `null` or Firefox's empty-string form
    /// (RFC 8838 section 4.4, W3C webrtc-pc section 4.8.2).
    EndOfCandidates { form: String },
    /// `addIceCandidate` resolved (or, for an end-of-candidates, was signalled).
    RemoteCandidate { candidate: String },
    /// A `track` event.
    Track { kind: String },
    /// The first rendered (browser) or first complete keyframe (Rust) video frame.
    FirstFrame { kind: String, width: u32, height: u32 },
    /// The first RTP packet of an audio track.
    FirstPacket { kind: String },
    /// Media kept flowing: `count` distinct frames (video) or packets (audio) so far.
    MediaProgress { kind: String, count: u64 },
    /// A channel opened; the options as the stack reports them on this side (W3C webrtc-pc
    /// section 6.2 attributes), when it reports them.
    DataChannelOpen {
        label: String,
        #[serde(default, flatten)]
        options: ChannelOptions,
    },
    /// A text message (`data`), or a binary one (`size` bytes, `intact` when every byte i was
    /// i % 251 as the harness's senders write them).
    DataChannelMessage {
        label: String,
        #[serde(default)]
        data: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intact: Option<bool>,
    },
    DataChannelClose { label: String },
    /// Perfect negotiation's impolite side dropped a colliding offer (webrtc-pc section 10.7).
    OfferIgnored,
    /// A local offer was rolled back: by `setRemoteDescription(offer)` itself (`implicit`), or by
    /// `setLocalDescription({type: 'rollback'})` (RFC 8829 section 4.1.10.2).
    Rollback { implicit: bool },
    /// `replaceTrack` resolved with a new source (webrtc-pc section 5.2).
    TrackReplaced { kind: String },
    /// The runner's record that a binary `send_message` was refused by the sender's stack
    /// (webrtc-pc section 6.2: TypeError over the remote's maximum message size).
    SendRefused { label: String, size: u32, error: String },
    /// A `getStats()` summary taken at the end of the case.
    Stats { summary: serde_json::Value },
    /// Something failed inside the peer (a rejected promise, a failed API call).
    Error { context: String, message: String },
    /// An `icecandidateerror` (W3C webrtc-pc section 4.8.3: RTCPeerConnectionIceErrorEvent).
    CandidateError { url: String, error_code: u16, error_text: String },
    /// The runner changed the peer's network path (conditions, a blackout's start and end).
    Network { change: String },
    /// What crossed the peer's network path (the runner's record: STUN/TURN requests, counts).
    NetRecord { record: serde_json::Value },
}

/// RTCDataChannel's options as a stack reports them (`null` or absent when it does not).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    #[serde(default, rename = "maxRetransmits", skip_serializing_if = "Option::is_none")]
    pub max_retransmits: Option<u16>,
    #[serde(default, rename = "maxPacketLifeTime", skip_serializing_if = "Option::is_none")]
    pub max_packet_life_time: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<bool>,
}

/// The W3C enum values a state event may carry (webrtc-pc sections 4.3.1-4.3.3: RTCSignalingState,
/// RTCIceGatheringState, RTCIceConnectionState, RTCPeerConnectionState).
const SIGNALING: &[&str] = &["stable", "have-local-offer", "have-remote-offer", "have-local-pranswer", "have-remote-pranswer", "closed"];
const GATHERING: &[&str] = &["new", "gathering", "complete"];
const ICE: &[&str] = &["new", "checking", "connected", "completed", "disconnected", "failed", "closed"];
const CONNECTION: &[&str] = &["new", "connecting", "connected", "disconnected", "failed", "closed"];
const MEDIA: &[&str] = &["audio", "video"];
const SDP_TYPES: &[&str] = &["offer", "answer", "pranswer", "rollback"];

impl Event {
    /// An event as a page or a program reports it (`{"type": "signaling_state", "state": ...}`),
    /// checked at the edge: an unknown type, a missing field, or a state outside the W3C enum
    /// (`"Connected"`, `"have_local_offer"`) is an error here, not a wait that never matches.
    pub fn from_peer(raw: serde_json::Value) -> Result<Event, String> {
        let event: Event = serde_json::from_value(raw).map_err(|e| e.to_string())?;
        let check = |value: &str, allowed: &[&str], what: &str| -> Result<(), String> {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(format!("'{value}' is not a {what} (expected one of: {})", allowed.join(", ")))
            }
        };
        match &event {
            Event::SignalingState { state } => check(state, SIGNALING, "signaling state")?,
            Event::IceGatheringState { state } => check(state, GATHERING, "ICE gathering state")?,
            Event::IceConnectionState { state } => check(state, ICE, "ICE connection state")?,
            Event::ConnectionState { state } => check(state, CONNECTION, "connection state")?,
            Event::Track { kind } | Event::TrackReplaced { kind } | Event::FirstFrame { kind, .. } | Event::FirstPacket { kind } | Event::MediaProgress { kind, .. } => {
                check(kind, MEDIA, "media kind")?
            }
            Event::LocalDescription { sdp_type, .. } | Event::RemoteDescription { sdp_type, .. } => check(sdp_type, SDP_TYPES, "description type")?,
            Event::Step { .. } | Event::Network { .. } | Event::NetRecord { .. } | Event::SendRefused { .. } => {
                return Err("'step', 'network', 'net_record' and 'send_refused' events are the runner's own".into())
            }
            _ => {}
        }
        Ok(event)
    }
}

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
        self.entries
            .sort_by(|a, b| a.at.partial_cmp(&b.at).unwrap_or(std::cmp::Ordering::Equal));
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
                format!("  {:>9.1} ms  relay    {} -> {}  {}{}{}", r.at, r.from, r.to.join(","), serde_json::to_string(&r.kind).unwrap_or_default(), attr("a=setup:"), attr("a=ice-ufrag:"))
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
                let kept: Vec<&Entry> = mine
                    .iter()
                    .enumerate()
                    .filter(|(i, e)| !matches!(e.event, Event::Stats { .. }) || Some(*i) == last_stats)
                    .map(|(_, e)| *e)
                    .collect();
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

    #[test]
    fn events_from_peers_are_checked_at_the_edge() {
        assert!(Event::from_peer(json!({"type": "connection_state", "state": "connected"})).is_ok());
        let bad = Event::from_peer(json!({"type": "connection_state", "state": "Connected"})).unwrap_err();
        assert!(bad.contains("'Connected' is not a connection state"), "{bad}");
        assert!(Event::from_peer(json!({"type": "signaling_state", "state": "have_local_offer"})).is_err());
        assert!(Event::from_peer(json!({"type": "track", "kind": "data"})).is_err());
        assert!(Event::from_peer(json!({"type": "no_such_event"})).is_err());
        assert!(Event::from_peer(json!({"type": "step", "name": "start"})).is_err(), "steps are the runner's");
    }
}
