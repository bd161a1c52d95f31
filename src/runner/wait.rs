//! Named, bounded waits over the transcript, and what "settled" means for a snapshot.

use super::{collect, next_change};
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
}

impl<'n> Sampler<'n> {
    pub(crate) fn new(net: Option<&'n crate::net::CaseNetwork>) -> Sampler<'n> {
        Sampler { next: tokio::time::Instant::now() + limits::STATS_SAMPLE, net }
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
            let _ = p.collect_stats().await;
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
        if let Some(why) = first_gone(peers) {
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
        Condition::Connected => last_state(t, peer, |e| match e {
            Event::ConnectionState { state } => Some(state.as_str()),
            _ => None,
        }) == Some("connected"),
        Condition::IceConnected => matches!(
            last_state(t, peer, |e| match e {
                Event::IceConnectionState { state } => Some(state.as_str()),
                _ => None,
            }),
            Some("connected") | Some("completed")
        ),
        Condition::Stable => last_state(t, peer, |e| match e {
            Event::SignalingState { state } => Some(state.as_str()),
            _ => None,
        }) == Some("stable"),
        Condition::GatheringComplete => any(&|e| matches!(e, Event::IceGatheringState { state } if state == "complete")),
        Condition::Track(kind) => any(&|e| matches!(e, Event::Track { kind: k } if k == kind.as_str())),
        Condition::FirstFrame => any(&|e| matches!(e, Event::FirstFrame { .. })),
        Condition::FirstPacket => any(&|e| matches!(e, Event::FirstPacket { .. })),
        Condition::Frames(n) => {
            any(&|e| matches!(e, Event::MediaProgress { kind, count } if kind == "video" && count >= n))
        }
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
    let last_mark = |text: &str| -> Option<f64> {
        t.entries.iter().filter(|e| matches!(&e.event, Event::Network { change } if change.starts_with(text))).map(|e| e.at).next_back()
    };
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

/// The exchange is over: every peer is `stable`, every trickling peer has signalled the end of its
/// candidates, and every relayed candidate has been applied by its receiver. Only then is the
/// normalized transcript the same from run to run.
pub fn settled(scenario: &Scenario, t: &Transcript) -> bool {
    scenario.peers.iter().all(|p| {
        let stable = condition_met(t, &p.name, &Condition::Stable);
        let sent_eoc = !p.trickle
            || t.relay.iter().any(|r| r.from == p.name && matches!(r.kind, MessageKind::EndOfCandidates { .. }));
        let relayed_to_me = t
            .relay
            .iter()
            .filter(|r| r.to.contains(&p.name))
            .filter(|r| matches!(r.kind, MessageKind::Candidate | MessageKind::EndOfCandidates { .. }))
            .count();
        let applied = t.of(&p.name).filter(|e| matches!(e.event, Event::RemoteCandidate { .. })).count();
        stable && sent_eoc && applied >= relayed_to_me
    })
}
