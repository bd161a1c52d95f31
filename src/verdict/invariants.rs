//! Built-in invariants, checked on every run whatever the scenario says.

use super::check::{mismatch, Check};
use crate::scenario::Scenario;
use crate::transcript::relayed::{MessageKind, RelayRecord};
use crate::transcript::{describe, sdp, Event, Transcript};

pub(super) fn check(scenario: &Scenario, t: &Transcript) -> Vec<Check> {
    let mut out = Vec::new();
    for p in &scenario.peers {
        out.push(Check::new(format!("signaling state machine ({})", p.name), 0, signaling_machine(t, &p.name)));
    }
    out.push(Check::new("an answer only follows an offer", 0, answers_follow_offers(t)));
    out.push(Check::new("candidates match the description in force", 0, candidate_ufrags(t)));
    out.push(Check::new("DTLS roles stay across renegotiation", 0, dtls_roles_stay(t)));
    // Errors at a peer whose refusal the scenario expects (`peer_error`) are its outcome.
    let expected: Vec<&str> = scenario
        .expect
        .iter()
        .filter_map(|e| match &e.kind {
            crate::scenario::ExpectKind::PeerError { peer } => Some(peer.as_str()),
            _ => None,
        })
        .collect();
    out.push(Check::new("no peer or relay errors", 0, no_errors(t, &expected)));
    for p in &scenario.peers {
        if scenario.closes(&p.name) {
            out.push(Check::new(format!("only closing events after close ({})", p.name), 0, quiet_after_close(t, &p.name)));
        }
    }
    out
}

/// After its own `close()`, a peer reports only what closing means (W3C webrtc-pc section
/// 4.4.1.7: `close()` fires no event; PROTOCOL.md "After the `close` action"): the states it reads
/// (no `disconnected` or `failed`), `closed` ICE states, a `data_channel_close` per open channel,
/// and the stats the runner asks for. An error, a media or channel event, a candidate or a
/// negotiationneeded from a queued callback is a peer still acting on a closed connection.
fn quiet_after_close(t: &Transcript, peer: &str) -> Result<(), super::Mismatch> {
    let mine: Vec<_> = t.of(peer).collect();
    let Some(step) = mine.iter().position(|e| matches!(&e.event, Event::Step { name } if name == "close")) else { return Ok(()) };
    // From the first `closed` state it reports: the step is recorded before the peer acts on it,
    // and a periodic event written while `close()` is on its way is not one after it. A peer that
    // reports no `closed` state at all is the `connection` expectation's business.
    let closed = |e: &Event| matches!(e, Event::SignalingState { state } | Event::ConnectionState { state } if state == "closed");
    let Some(at) = mine[step..].iter().position(|e| closed(&e.event)).map(|i| step + i) else { return Ok(()) };
    let allowed = |e: &Event| match e {
        Event::ConnectionState { state } => !["disconnected", "failed"].contains(&state.as_str()),
        Event::IceConnectionState { state } => state == "closed",
        Event::SignalingState { .. } | Event::DataChannelClose { .. } | Event::Stats { .. } => true,
        Event::Step { .. } | Event::Network { .. } | Event::NetRecord { .. } | Event::Hello { .. } => true,
        _ => false,
    };
    let late: Vec<String> = mine[at..].iter().filter(|e| !allowed(&e.event)).map(|e| format!("{:>9.1} ms  {peer}  {}", e.at, describe(&e.event))).collect();
    if late.is_empty() {
        return Ok(());
    }
    mismatch(
        format!("after its close action, {peer} reports only the states it reads, closed ICE states and channel closes (PROTOCOL.md, After the close action)"),
        format!("{} other event(s) after close", late.len()),
        late.into_iter().take(12).collect(),
    )
}

/// JSEP's signaling state machine (RFC 8829 section 3.2, W3C webrtc-pc section 4.3.1): every
/// `signalingstatechange` is one of these transitions, starting from `stable`.
fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("stable", "have-local-offer")
            | ("stable", "have-remote-offer")
            | ("have-local-offer", "stable")
            | ("have-local-offer", "have-remote-pranswer")
            | ("have-remote-pranswer", "stable")
            | ("have-remote-offer", "stable")
            | ("have-remote-offer", "have-local-pranswer")
            | ("have-local-pranswer", "stable")
            | (_, "closed")
    )
}

fn signaling_machine(t: &Transcript, peer: &str) -> Result<(), super::Mismatch> {
    let mut state = "stable".to_string();
    let mut rolled_back = false;
    for e in t.of(peer) {
        if let Event::Rollback { .. } = &e.event {
            rolled_back = true;
        }
        if let Event::SignalingState { state: next } = &e.event {
            // An offer applied in have-local-offer rolls the local one back first (webrtc-pc
            // section 4.4.1.5, implicit rollback), reported by the peer as a rollback.
            let implicit = rolled_back && state == "have-local-offer" && next == "have-remote-offer";
            rolled_back = false;
            if !implicit && !allowed(&state, next) {
                return mismatch(
                    format!("{peer}: a JSEP transition from '{state}' (RFC 8829 section 3.2)"),
                    format!("{peer}: '{state}' -> '{next}' at {:.1} ms", e.at),
                    states(t, peer),
                );
            }
            state = next.clone();
        }
    }
    Ok(())
}

fn states(t: &Transcript, peer: &str) -> Vec<String> {
    t.of(peer)
        .filter(|e| matches!(e.event, Event::SignalingState { .. } | Event::LocalDescription { .. } | Event::RemoteDescription { .. }))
        .map(|e| format!("{:>9.1} ms  {peer}  {}", e.at, describe(&e.event)))
        .collect()
}

fn relay_line(r: &RelayRecord) -> String {
    format!("{:>9.1} ms  relay  {} -> {}  {}", r.at, r.from, r.to.join(","), serde_json::to_string(&r.kind).unwrap_or_default())
}

/// Each `answer` sent by X answers an offer X received and has not answered yet (RFC 8829
/// section 4.1.10: an answer is only created in `have-remote-offer`).
fn answers_follow_offers(t: &Transcript) -> Result<(), super::Mismatch> {
    let mut pending: Vec<(String, String)> = Vec::new(); // (offerer, answerer)
    for r in &t.relay {
        let MessageKind::Desc { sdp_type } = &r.kind else { continue };
        match sdp_type.as_str() {
            "offer" => {
                for to in &r.to {
                    pending.push((r.from.clone(), to.clone()));
                }
            }
            "answer" => {
                let Some(i) = pending.iter().position(|(o, a)| a == &r.from && r.to.contains(o)) else {
                    let excerpt = t.relay.iter().filter(|r| matches!(r.kind, MessageKind::Desc { .. })).map(relay_line).collect();
                    return mismatch(
                        format!("{}'s answer follows an offer it received", r.from),
                        format!("answer from {} at {:.1} ms with no offer pending", r.from, r.at),
                        excerpt,
                    );
                };
                pending.remove(i);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every trickled candidate (and end-of-candidates that names one) carries the ufrag of the last
/// description its sender sent before it: the ICE generation it belongs to (RFC 8838 section 4.3,
/// W3C webrtc-pc section 4.8.1.1).
fn candidate_ufrags(t: &Transcript) -> Result<(), super::Mismatch> {
    let mut current: std::collections::HashMap<&str, String> = Default::default();
    for r in &t.relay {
        if let Some(sdp) = r.sdp() {
            if let Some(u) = sdp::ufrag(sdp) {
                current.insert(&r.from, u.to_string());
            }
            continue;
        }
        let Some(c) = r.candidate() else { continue };
        let line = c.get("candidate").and_then(|v| v.as_str()).unwrap_or("");
        let field = c.get("usernameFragment").and_then(|v| v.as_str()).filter(|s| !s.is_empty());
        let ufrag = field.or_else(|| sdp::candidate_ufrag(line));
        let expected = current.get(r.from.as_str());
        let ok = match (ufrag, expected) {
            (Some(u), Some(e)) => u == e,
            (None, Some(_)) => line.is_empty(),
            (_, None) => false,
        };
        if !ok {
            return mismatch(
                format!("{}'s candidate carries the ufrag of its description in force ({})", r.from, expected.map(String::as_str).unwrap_or("none sent yet")),
                format!("ufrag {} in {} at {:.1} ms", ufrag.unwrap_or("(none)"), c, r.at),
                t.relay.iter().filter(|x| x.from == r.from).take(12).map(relay_line).collect(),
            );
        }
    }
    Ok(())
}

/// Which peer is the DTLS client after each answer: `a=setup:active` makes the answerer the
/// client, `passive` the offerer. A later answer must keep the roles of the association in place
/// (RFC 8842 section 5.5; RFC 8829 section 5.3.2 for subsequent answers): a flip is a new DTLS
/// association the other side did not ask for, and browsers refuse it.
fn dtls_roles_stay(t: &Transcript) -> Result<(), super::Mismatch> {
    let mut client: Option<(String, f64)> = None;
    for r in &t.relay {
        let (MessageKind::Desc { sdp_type }, Some(body)) = (&r.kind, r.sdp()) else { continue };
        if sdp_type != "answer" {
            continue;
        }
        let now = match sdp::attr(body, "setup") {
            Some("active") => r.from.clone(),
            Some("passive") => r.to.first().cloned().unwrap_or_default(),
            _ => continue,
        };
        if let Some((before, at)) = &client {
            if *before != now {
                return mismatch(
                    format!("{before} stays the DTLS client (it became the client at {at:.1} ms)"),
                    format!("the answer from {} at {:.1} ms makes {now} the DTLS client (a=setup:{})", r.from, r.at, sdp::attr(body, "setup").unwrap_or("")),
                    t.relay
                        .iter()
                        .filter(|x| matches!(x.kind, MessageKind::Desc { .. }))
                        .map(|x| format!("{}  a=setup:{}", relay_line(x), x.sdp().and_then(|b| sdp::attr(b, "setup")).unwrap_or("-")))
                        .collect(),
                );
            }
        } else {
            client = Some((now, r.at));
        }
    }
    Ok(())
}

fn no_errors(t: &Transcript, expected: &[&str]) -> Result<(), super::Mismatch> {
    let mut lines: Vec<String> = t
        .entries
        .iter()
        .filter(|e| matches!(e.event, Event::Error { .. }) && !expected.contains(&e.peer.as_str()))
        .map(|e| format!("{:>9.1} ms  {}  {}", e.at, e.peer, describe(&e.event)))
        .collect();
    lines.extend(t.relay.iter().filter(|r| matches!(r.kind, MessageKind::Rejected { .. })).map(relay_line));
    if lines.is_empty() {
        Ok(())
    } else {
        mismatch("no errors from peers or the relay", format!("{} error(s)", lines.len()), lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Entry;

    fn transcript(events: Vec<Event>) -> Transcript {
        let entries = events.into_iter().enumerate().map(|(i, event)| Entry { at: i as f64, peer: "alice".into(), event }).collect();
        Transcript { entries, relay: Vec::new() }
    }

    fn state(s: &str) -> Event {
        Event::ConnectionState { state: s.into() }
    }

    #[test]
    fn closing_events_after_close_pass() {
        let t = transcript(vec![
            Event::Step { name: "close".into() },
            Event::SignalingState { state: "closed".into() },
            state("closed"),
            Event::IceConnectionState { state: "closed".into() },
            Event::DataChannelClose { label: "chat".into() },
        ]);
        assert_eq!(quiet_after_close(&t, "alice"), Ok(()));
    }

    #[test]
    fn an_error_or_a_failed_state_after_close_fails() {
        let error = Event::Error { context: "signaling".into(), message: "InvalidStateError".into() };
        let progress = Event::MediaProgress { kind: "audio".into(), count: 50 };
        let t = transcript(vec![state("connected"), Event::Step { name: "close".into() }, progress, state("closed"), state("failed"), error]);
        let m = quiet_after_close(&t, "alice").expect_err("two events after close");
        assert_eq!(m.actual, "2 other event(s) after close");
        assert!(m.expected.contains("After the close action"), "{}", m.expected);
    }

    #[test]
    fn events_before_close_are_not_its_business() {
        let t = transcript(vec![state("failed"), Event::Track { kind: "audio".into() }]);
        assert_eq!(quiet_after_close(&t, "alice"), Ok(()));
    }
}
