//! A case's steps, in order: each one recorded in the transcript, performed or waited for, and a
//! failed one reported with its file and line.

use super::gather::{collect, poll_until};
use super::result::RunError;
use super::wait::condition_met;
use super::wait::{self, Stop};
use crate::clock::Clock;
use crate::limits;
use crate::peer::Peer;
use crate::relay::Relay;
use crate::scenario::{Action, Case, StepKind};
use crate::transcript::{Entry, Event, Transcript};
use std::time::Duration;

/// The case's relay room, for the steps that act on signaling (glare).
#[derive(Clone, Copy)]
pub(super) struct Signaling<'a> {
    pub(super) relay: &'a Relay,
    pub(super) room: &'a str,
}

/// Glare (RFC 8829 section 4.1.8.1 calls it an offer collision): the relay holds what both peers
/// send until each has offered, so neither sees the other's offer before making its own.
async fn glare(peers: &[Box<dyn Peer>], signaling: Signaling<'_>, limits: limits::Limits) -> Result<(), String> {
    let names: Vec<String> = peers.iter().map(|p| p.name().to_string()).collect();
    signaling.relay.rooms.arm_glare(signaling.room, names.clone());
    let offers = futures::future::join_all(peers.iter().map(|p| p.perform(&Action::SendOffer))).await;
    if let Some((name, e)) = names.iter().zip(offers).find_map(|(n, r)| r.err().map(|e| (n, e))) {
        signaling.relay.rooms.open_gate(signaling.room);
        return Err(format!("{name}: send_offer: {e}"));
    }
    let limit = limits.glare;
    if poll_until(limit, Duration::from_millis(10), || !signaling.relay.rooms.glare_pending(signaling.room)).await {
        return Ok(());
    }
    signaling.relay.rooms.open_gate(signaling.room);
    Err(format!("both peers were asked to offer, but within {limit:?} not both offers reached the relay"))
}

pub(super) async fn run_steps(
    case: &Case,
    peers: &[Box<dyn Peer>],
    clock: &Clock,
    transcript: &mut Transcript,
    sampler: &mut wait::Sampler<'_>,
    signaling: Signaling<'_>,
    limits: limits::Limits,
) -> Result<(), RunError> {
    let scenario = &case.scenario;
    let peer = |name: &str| peers.iter().find(|p| p.name() == name).expect("validated peer name");
    for step in &scenario.steps {
        let (who, label) = match &step.kind {
            StepKind::Do { peer, action } => (peer.clone(), action.name()),
            StepKind::Wait { peer, condition, .. } => (peer.clone(), format!("wait({condition})")),
            StepKind::Sleep(d) => ("runner".to_string(), format!("sleep({d:?})")),
            StepKind::Pause(d) => ("runner".to_string(), format!("pause({d:?})")),
            StepKind::Network { peer, path } => (peer.clone(), format!("network({})", path.describe())),
            StepKind::Blackout { peer, length } => (peer.clone(), format!("blackout({length:?})")),
            StepKind::Glare => ("runner".to_string(), "glare".to_string()),
        };
        transcript.push(Entry { at: clock.now(), peer: who.clone(), event: Event::Step { name: label.clone() } });
        let net = sampler.net;
        // A failed step's transcript carries the network paths' records as they stand, so that
        // its artifacts show what crossed each path until then.
        let fail = |message: String, transcript: &Transcript| RunError::Step {
            file: scenario.path.display().to_string(),
            line: step.line,
            // A step of no line is the seed's: the file has no `steps:`.
            step: if step.line == 0 { format!("{who}: {label} (the seed's flow: the file has no steps)") } else { format!("{who}: {label}") },
            message,
            transcript: Box::new({
                let mut t = transcript.clone();
                t.entries.extend(net.map(|n| n.records()).unwrap_or_default());
                t
            }),
        };
        match &step.kind {
            StepKind::Glare => {
                if let Err(e) = glare(peers, signaling, limits).await {
                    collect(peers, transcript).await;
                    return Err(fail(e, transcript));
                }
            }
            // A binary message the sender's stack refuses is the outcome under test (webrtc-pc
            // section 6.2: over the remote's maximum message size), not a broken step.
            StepKind::Do { peer: name, action: Action::SendBinary { label, size } } => {
                if let Err(e) = peer(name).perform(&Action::SendBinary { label: label.clone(), size: *size }).await {
                    transcript.push(Entry { at: clock.now(), peer: name.clone(), event: Event::SendRefused { label: label.clone(), size: *size, error: e.to_string() } });
                }
            }
            StepKind::Do { peer: name, action } => {
                if let Err(e) = peer(name).perform(action).await {
                    collect(peers, transcript).await;
                    return Err(fail(e.to_string(), transcript));
                }
            }
            StepKind::Sleep(d) => tokio::time::sleep(limits.scenario(*d)).await,
            StepKind::Pause(d) => tokio::time::sleep(*d).await,
            // Validated: only peers with ice servers and relay-only ICE have these steps, and
            // such a peer always has a path.
            StepKind::Network { peer: name, path } => match sampler.net.and_then(|n| n.path(name)) {
                Some(p) => p.set(path),
                None => return Err(fail(format!("{name} has no network path"), transcript)),
            },
            // Not scaled: the length is the condition under test, not a wait.
            StepKind::Blackout { peer: name, length } => match sampler.net.and_then(|n| n.path(name)) {
                Some(p) => p.blackout(*length),
                None => return Err(fail(format!("{name} has no network path"), transcript)),
            },
            StepKind::Wait { peer: name, condition, within } => {
                let limit = limits.scenario(*within);
                match wait::until(peers, transcript, sampler, limit, |t| condition_met(t, name, condition)).await {
                    Ok(()) => {}
                    Err(Stop::Timeout(seen)) => {
                        let waited = format!("waited {limit:?} for {name}: {condition}; saw instead:\n{}", wait::seen(transcript, name, seen));
                        // A peer's own error is the likelier cause than the wait: it leads.
                        let errors = transcript.errors();
                        let message = match errors.first() {
                            Some(first) => format!("{first}\n(a peer reported {} error(s): {}); then {waited}", errors.len(), errors.join("; ")),
                            None => waited,
                        };
                        return Err(fail(message, transcript));
                    }
                    Err(Stop::Gone(why)) => return Err(fail(format!("while waiting for {name}: {condition}, {why}"), transcript)),
                }
            }
        }
        collect(peers, transcript).await;
        sampler.drain_network(transcript);
    }
    Ok(())
}
