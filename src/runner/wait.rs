//! Named, bounded waits over the transcript, and what "settled" means for a snapshot.

use super::gather::{collect, next_change};
use crate::limits;
use crate::peer::Peer;
use crate::relay::MessageKind;
use crate::scenario::{Condition, Scenario};
use crate::transcript::{lines, Entry, Event, Transcript};
use std::time::Duration;

/// Why a wait ended without its condition.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The limit passed; the index is where the wait began in the transcript, to show what was
    /// seen instead.
    Timeout(usize),
    /// A peer is gone (its process exited, its browser died): waiting longer cannot help.
    Gone(String),
}

/// Takes a `getStats()` summary of every peer once per [`limits::STATS_SAMPLE`] while the runner
/// waits, so that the transcript holds the figures over the call (round-trip time, packets, frames),
/// not only at its end. A peer that cannot answer yet (or any more) is simply not sampled.
///
/// It also carries the case's network, whose changes (conditions, a blackout's start and end)
/// are drained into the transcript with the peers' events.
pub(crate) struct Sampler<'n> {
    next: tokio::time::Instant,
    pub(crate) net: Option<&'n crate::net::CaseNetwork>,
    /// A peer that did not answer a sample: it stopped answering, and the case fails at once.
    silent: Option<String>,
}

impl<'n> Sampler<'n> {
    pub(crate) fn new(net: Option<&'n crate::net::CaseNetwork>) -> Sampler<'n> {
        Sampler { next: tokio::time::Instant::now() + limits::STATS_SAMPLE, net, silent: None }
    }

    /// The network's changes since the last look, into the transcript.
    pub(crate) fn drain_network(&self, transcript: &mut Transcript) {
        if let Some(net) = self.net {
            let fresh = net.drain();
            if !fresh.is_empty() {
                transcript.entries.extend(fresh);
                transcript.sort();
            }
        }
    }

    async fn tick(&mut self, peers: &[Box<dyn Peer>]) {
        if tokio::time::Instant::now() < self.next {
            return;
        }
        for p in peers.iter().filter(|p| p.gone().is_none()) {
            // An error answer is the stack's to report; no answer at all is a peer that stopped
            // answering, which no later event can make up for.
            if let Err(e @ crate::peer::PeerError::Timeout { .. }) = p.collect_stats().await {
                self.silent.get_or_insert(format!("{e}: the peer stopped answering"));
            }
        }
        self.next = tokio::time::Instant::now() + limits::STATS_SAMPLE;
    }
}

/// Collects events until `done` holds, `limit` passes, or a peer is gone.
pub(crate) async fn until(
    peers: &[Box<dyn Peer>],
    transcript: &mut Transcript,
    sampler: &mut Sampler<'_>,
    limit: Duration,
    done: impl Fn(&Transcript) -> bool,
) -> Result<(), Stop> {
    let began = transcript.entries.len();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        sampler.tick(peers).await;
        collect(peers, transcript).await;
        sampler.drain_network(transcript);
        if done(transcript) {
            return Ok(());
        }
        if let Some(why) = first_gone(peers).or_else(|| sampler.silent.clone()) {
            return Err(Stop::Gone(why));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Stop::Timeout(began));
        }
        let _ = tokio::time::timeout_at(deadline, next_change(peers)).await;
    }
}

/// The events of `peer` since index `from` (or its last few), one per line.
pub(crate) fn seen(t: &Transcript, peer: &str, from: usize) -> String {
    let new: Vec<&Entry> = t.entries[from.min(t.entries.len())..].iter().filter(|e| e.peer == peer).collect();
    if new.is_empty() {
        let mine: Vec<&Entry> = t.of(peer).collect();
        let last = lines(&mine, false);
        format!("  (no new events from {peer}; its last ones:)\n{}", last[last.len().saturating_sub(8)..].join("\n"))
    } else {
        lines(&new, false).join("\n")
    }
}

/// The first peer that is gone, with why (`alice: the browser is gone: ...`).
pub(crate) fn first_gone(peers: &[Box<dyn Peer>]) -> Option<String> {
    peers.iter().find_map(|p| p.gone().map(|g| format!("{}: {g}", p.name())))
}

fn last_state<'a>(t: &'a Transcript, peer: &'a str, pick: impl Fn(&'a Event) -> Option<&'a str>) -> Option<&'a str> {
    t.of(peer).filter_map(|e| pick(&e.event)).last()
}

/// Whether `condition` holds for `peer` in `t`.
pub fn condition_met(t: &Transcript, peer: &str, condition: &Condition) -> bool {
    let any = |f: &dyn Fn(&Event) -> bool| t.of(peer).any(|e| f(&e.event));
    match condition {
        Condition::Connected => {
            last_state(t, peer, |e| match e {
                Event::ConnectionState { state } => Some(state.as_str()),
                _ => None,
            }) == Some("connected")
        }
        Condition::IceConnected => matches!(
            last_state(t, peer, |e| match e {
                Event::IceConnectionState { state } => Some(state.as_str()),
                _ => None,
            }),
            Some("connected") | Some("completed")
        ),
        Condition::Stable => {
            last_state(t, peer, |e| match e {
                Event::SignalingState { state } => Some(state.as_str()),
                _ => None,
            }) == Some("stable")
        }
        Condition::GatheringComplete => any(&|e| matches!(e, Event::IceGatheringState { state } if state == "complete")),
        Condition::Track(kind) => any(&|e| matches!(e, Event::Track { kind: k } if k == kind.as_str())),
        Condition::FirstFrame => any(&|e| matches!(e, Event::FirstFrame { .. })),
        Condition::FirstPacket => any(&|e| matches!(e, Event::FirstPacket { .. })),
        Condition::Frames(n) => any(&|e| matches!(e, Event::MediaProgress { kind, count } if kind == "video" && count >= n)),
        Condition::ChannelOpen(label) => any(&|e| matches!(e, Event::DataChannelOpen { label: l, .. } if l == label)),
        Condition::ChannelClosed(label) => any(&|e| matches!(e, Event::DataChannelClose { label: l } if l == label)),
        Condition::Message(label) => any(&|e| matches!(e, Event::DataChannelMessage { label: l, .. } if l == label)),
        Condition::Disconnected => connection_was(t, peer, "disconnected"),
        Condition::Failed => connection_was(t, peer, "failed"),
        Condition::Closed => connection_was(t, peer, "closed"),
        Condition::Reconnected => {
            let mut lost = false;
            t.of(peer).any(|e| match &e.event {
                Event::ConnectionState { state } if state == "disconnected" || state == "failed" => {
                    lost = true;
                    false
                }
                Event::ConnectionState { state } => lost && state == "connected",
                _ => false,
            })
        }
        Condition::MediaResumed(kind) => media_resumed(t, peer, *kind),
    }
}

/// The connection state reached `state` at some point (a state passed through counts: a wait
/// for `disconnected` is not missed because `failed` came before the next look).
fn connection_was(t: &Transcript, peer: &str, state: &str) -> bool {
    t.of(peer).any(|e| matches!(&e.event, Event::ConnectionState { state: s } if s == state))
}

/// After the last blackout (on any peer's path) ended, `peer` counted more frames or packets of
/// `kind` than it had when that blackout began: media flows again, not merely resumed reporting.
pub(crate) fn media_resumed(t: &Transcript, peer: &str, kind: crate::scenario::MediaKind) -> bool {
    let last_mark =
        |text: &str| -> Option<f64> { t.entries.iter().filter(|e| matches!(&e.event, Event::Network { change } if change.starts_with(text))).map(|e| e.at).next_back() };
    let (Some(began), Some(ended)) = (last_mark("blackout begins"), last_mark("blackout ends")) else { return false };
    if ended < began {
        return false;
    }
    let count = |e: &Entry| match &e.event {
        Event::MediaProgress { kind: k, count } if k == kind.as_str() => Some(*count),
        _ => None,
    };
    let before = t.of(peer).filter(|e| e.at <= began).filter_map(count).max().unwrap_or(0);
    t.of(peer).filter(|e| e.at >= ended).filter_map(count).any(|c| c > before)
}

/// The exchange is over: every peer is at rest (`stable`, or `closed` after a hang-up), every
/// trickling peer has signalled the end of its candidates, and every relayed candidate has been
/// applied by its receiver; or the negotiation is decided without converging ([`deadlocked`]).
/// Only then is the normalized transcript the same from run to run.
pub fn settled(scenario: &Scenario, t: &Transcript) -> bool {
    let sent_eoc = |p: &crate::scenario::PeerSpec| !p.trickles() || t.relay.iter().any(|r| r.from == p.name && matches!(r.kind, MessageKind::EndOfCandidates { .. }));
    if deadlocked(scenario, t) {
        // Only a peer that set a description gathers; one that refused the offer never will.
        let gathers = |p: &crate::scenario::PeerSpec| t.of(&p.name).any(|e| matches!(e.event, Event::LocalDescription { .. }));
        return scenario.peers.iter().filter(|p| gathers(p)).all(sent_eoc);
    }
    scenario.peers.iter().all(|p| {
        let ignored = ignored_windows(t, &p.name);
        let relayed_to_me = t
            .relay
            .iter()
            .filter(|r| r.to.contains(&p.name))
            .filter(|r| matches!(r.kind, MessageKind::Candidate | MessageKind::EndOfCandidates { .. }))
            .filter(|r| !ignored.iter().any(|(from, to)| r.at > *from && r.at < *to))
            .count();
        let applied = t.of(&p.name).filter(|e| matches!(e.event, Event::RemoteCandidate { .. })).count();
        at_rest(t, &p.name) && sent_eoc(p) && applied >= relayed_to_me
    })
}

/// The spans of the relay record in which `peer` was ignoring an offer (webrtc-pc section 10.7,
/// the impolite side): from the ignored offer to the next description relayed to it. The
/// candidates that trickle after an ignored offer belong to it, and the peer may drop them
/// ("candidates of an ignored offer have nowhere to go"), so settling does not wait for them.
fn ignored_windows(t: &Transcript, peer: &str) -> Vec<(f64, f64)> {
    let descs: Vec<f64> = t.relay.iter().filter(|r| r.to.iter().any(|n| n == peer) && matches!(r.kind, MessageKind::Desc { .. })).map(|r| r.at).collect();
    t.of(peer)
        .filter(|e| matches!(e.event, Event::OfferIgnored))
        .filter_map(|e| {
            let offer = descs.iter().copied().rfind(|d| *d <= e.at)?;
            let next = descs.iter().copied().find(|d| *d > e.at).unwrap_or(f64::INFINITY);
            Some((offer, next))
        })
        .collect()
}

/// `stable`, or `closed` (webrtc-pc section 4.4.1.7: a closed connection never leaves it).
fn at_rest(t: &Transcript, peer: &str) -> bool {
    matches!(
        last_state(t, peer, |e| match e {
            Event::SignalingState { state } => Some(state.as_str()),
            _ => None,
        }),
        Some("stable") | Some("closed")
    )
}

/// The negotiation can no longer converge, so waiting longer proves nothing:
/// - a peer refused the last description relayed to it (a `signaling` error, and no
///   `setRemoteDescription` resolved) and no description was relayed since, so the offerer waits
///   for an answer that will not come (an offer without `a=ice-ufrag`);
/// - every peer that is not at rest has ignored a colliding offer since its own last offer
///   (webrtc-pc section 10.7 with two impolite peers: neither rolls back).
pub fn deadlocked(scenario: &Scenario, t: &Transcript) -> bool {
    let refused = scenario.peers.iter().any(|p| {
        let Some(got) = t.relay.iter().filter(|r| r.to.contains(&p.name) && matches!(r.kind, MessageKind::Desc { .. })).map(|r| r.at).next_back() else { return false };
        let after = |e: &&Entry| e.at >= got;
        let applied = t.of(&p.name).filter(after).any(|e| matches!(e.event, Event::RemoteDescription { .. }));
        let error = t.of(&p.name).filter(after).any(|e| matches!(&e.event, Event::Error { context, .. } if context == "signaling"));
        let since = t.relay.iter().any(|r| r.at > got && matches!(r.kind, MessageKind::Desc { .. }));
        error && !applied && !since
    });
    if refused {
        return true;
    }
    let restless: Vec<&str> = scenario.peers.iter().map(|p| p.name.as_str()).filter(|p| !at_rest(t, p)).collect();
    !restless.is_empty()
        && restless.iter().all(|p| {
            let own_offer = t.of(p).filter(|e| matches!(&e.event, Event::LocalDescription { sdp_type, .. } if sdp_type == "offer")).map(|e| e.at).last();
            own_offer.is_some_and(|at| t.of(p).any(|e| matches!(e.event, Event::OfferIgnored) && e.at >= at))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PeerKind;
    use crate::transcript::relayed::RelayRecord;
    use std::sync::Arc;

    fn scenario(peers: &str) -> Scenario {
        let yaml = format!("description: x\npeers:\n{peers}");
        crate::scenario::load_str(&yaml, "x.yaml", "x", "x.yaml".into(), &[PeerKind::new("rust").unwrap()]).unwrap()
    }

    fn at(at: f64, peer: &str, event: Event) -> Entry {
        Entry { at, peer: peer.into(), event }
    }

    fn state(at_ms: f64, peer: &str, s: &str) -> Entry {
        at(at_ms, peer, Event::SignalingState { state: s.into() })
    }

    fn desc(at: f64, from: &str, to: &str, sdp_type: &str) -> RelayRecord {
        RelayRecord {
            at,
            room: "r".into(),
            from: from.into(),
            to: vec![to.into()],
            kind: MessageKind::Desc { sdp_type: sdp_type.into() },
            body: Arc::new(serde_json::Value::Null),
            fault: None,
        }
    }

    const TWO: &str = "  - {name: alice, kind: rust, trickle: false}\n  - {name: bob, kind: rust, trickle: false}\n";

    #[test]
    fn a_closed_peer_is_at_rest() {
        let s = scenario(TWO);
        let mut t = Transcript { entries: vec![state(1.0, "alice", "stable"), state(2.0, "bob", "stable")], relay: vec![] };
        assert!(settled(&s, &t));
        t.entries.push(state(3.0, "alice", "closed"));
        assert!(settled(&s, &t), "a hang-up leaves alice closed: nothing more to wait for");
        t.entries.push(state(4.0, "bob", "have-remote-offer"));
        assert!(!settled(&s, &t));
    }

    #[test]
    fn a_refused_offer_decides_the_exchange() {
        let s = scenario(TWO);
        let offer = desc(10.0, "alice", "bob", "offer");
        let mut t = Transcript { entries: vec![state(5.0, "alice", "have-local-offer")], relay: vec![offer] };
        assert!(!settled(&s, &t), "bob has not answered yet");
        t.entries.push(at(12.0, "bob", Event::Error { context: "signaling".into(), message: "no ice-ufrag".into() }));
        assert!(deadlocked(&s, &t) && settled(&s, &t), "bob refused the offer: no answer will come");
        t.entries.push(at(13.0, "bob", Event::RemoteDescription { sdp_type: "offer".into(), sdp: String::new(), queued_ms: None, apply_ms: None }));
        assert!(!deadlocked(&s, &t), "an error after which the offer was applied decides nothing");
    }

    #[test]
    fn two_ignored_offers_decide_the_exchange() {
        let s = scenario(TWO);
        let offer = |at_ms: f64, p: &str| at(at_ms, p, Event::LocalDescription { sdp_type: "offer".into(), sdp: String::new() });
        let mut t =
            Transcript { entries: vec![offer(1.0, "alice"), state(1.0, "alice", "have-local-offer"), offer(1.5, "bob"), state(1.5, "bob", "have-local-offer")], relay: vec![] };
        t.entries.push(at(3.0, "alice", Event::OfferIgnored));
        assert!(!deadlocked(&s, &t), "bob may still roll back");
        t.entries.push(at(3.5, "bob", Event::OfferIgnored));
        assert!(deadlocked(&s, &t) && settled(&s, &t), "both impolite: neither will roll back");
    }

    fn cand(at: f64, from: &str, to: &str) -> RelayRecord {
        RelayRecord { at, room: "r".into(), from: from.into(), to: vec![to.into()], kind: MessageKind::Candidate, body: Arc::new(serde_json::Value::Null), fault: None }
    }

    #[test]
    fn candidates_of_an_ignored_offer_are_not_waited_for() {
        let s = scenario(TWO);
        let applied = |at_ms: f64, p: &str| at(at_ms, p, Event::RemoteCandidate { candidate: "c".into() });
        let mut t = Transcript {
            entries: vec![at(2.0, "alice", Event::OfferIgnored), state(5.0, "alice", "stable"), state(5.0, "bob", "stable"), applied(7.0, "alice")],
            // bob's offer (ignored) and its candidate; bob's answer and its candidate.
            relay: vec![desc(1.0, "bob", "alice", "offer"), cand(3.0, "bob", "alice"), desc(4.0, "bob", "alice", "answer"), cand(6.0, "bob", "alice")],
        };
        assert!(settled(&s, &t), "the candidate at 3 ms belongs to the ignored offer");
        t.relay.push(cand(8.0, "bob", "alice"));
        assert!(!settled(&s, &t), "one after the answer must be applied");
    }
}
