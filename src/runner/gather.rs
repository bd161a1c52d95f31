//! Gathering what the peers report: draining their events into the transcript, waiting for the
//! next one, and polling the relay's state where it has no notification.

use crate::peer::Peer;
use crate::transcript::{Entry, Event, Transcript};
use std::time::Duration;

/// Polls the relay's state (it has no notification for these) every `every` until `done`
/// holds or `limit` runs out; whether it held.
pub(crate) async fn poll_until(limit: Duration, every: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(every).await;
    }
    true
}

/// Drains every peer into the transcript (kept in time order).
pub(crate) async fn collect(peers: &[Box<dyn Peer>], transcript: &mut Transcript) {
    let mut fresh: Vec<Entry> = Vec::new();
    for p in peers {
        match p.drain().await {
            Ok(entries) => fresh.extend(entries),
            Err(e) => fresh.push(Entry {
                at: transcript.entries.last().map(|e| e.at).unwrap_or(0.0),
                peer: p.name().to_string(),
                event: Event::Error { context: "drain".into(), message: e.to_string() },
            }),
        }
    }
    if !fresh.is_empty() {
        transcript.entries.extend(fresh);
        transcript.sort();
    }
}

/// Waits for news from any peer: pushed events wake at once; when some peer is polled (a
/// browser), only the polled peers' intervals (`changed` sleeps one) wake, since a pushed event
/// would only drain the polled ones early.
pub(crate) async fn next_change(peers: &[Box<dyn Peer>]) {
    let any_polled = peers.iter().any(|p| !p.pushes_events());
    let waits: Vec<_> = peers.iter().filter(|p| !(any_polled && p.pushes_events())).map(|p| Box::pin(p.changed())).collect();
    if !waits.is_empty() {
        futures::future::select_all(waits).await;
    }
}
