//! The scenario's own expectations, checked on the transcript.

use super::check::{lines_of, mismatch, Mismatch};
use crate::clock::Millis;
use crate::scenario::Action;
use crate::scenario::{ExpectKind, MediaKind, OrderPoint, OrderWhat, Scenario, StepKind};
use crate::transcript::relayed::{MessageKind, RelayRecord};
use crate::transcript::{describe, sdp, Event, Transcript};

type Outcome = Result<(), Mismatch>;

pub(super) fn check(scenario: &Scenario, kind: &ExpectKind, t: &Transcript, limits: crate::limits::Limits) -> Outcome {
    let peers: Vec<&str> = scenario.peers.iter().map(|p| p.name.as_str()).collect();
    let every = |p: &str| -> Vec<String> {
        if p == "*" {
            peers.iter().map(|s| s.to_string()).collect()
        } else {
            vec![p.to_string()]
        }
    };
    match kind {
        ExpectKind::Order(points) => order(points, t),
        ExpectKind::Trickle { peer, end_of_candidates, host } => {
            let mut trickling = every(peer).into_iter().filter(|p| scenario.peer(p).is_some_and(|s| s.trickles()));
            trickling.try_for_each(|p| trickle(&p, *end_of_candidates, *host, t))
        }
        ExpectKind::NonTrickle { peer } => non_trickle(peer, t),
        ExpectKind::Track { at, kind, count, .. } => tracks(at, *kind, *count, t),
        ExpectKind::Media { at, kind, frames, .. } => media(at, *kind, *frames, t),
        ExpectKind::Markers { at, from, source, frames, latency, .. } => {
            super::markers::markers(scenario, super::markers::Want { at, from, source: *source, frames: *frames, latency: *latency }, t)
        }
        ExpectKind::Freezes { at, count, longest, total } => super::freezes::check(super::freezes::Want { at, count: *count, longest: *longest, total: *total }, t),
        ExpectKind::Audio { at, from, min } => super::tones::audio(scenario, at, from, *min, t),
        ExpectKind::Silence { at, longest } => super::tones::silence(at, *longest, t),
        ExpectKind::Latency { at, from, p50, p95, rise } => super::latency::check(scenario, super::latency::Want { at, from, p50: *p50, p95: *p95, rise: *rise }, t),
        ExpectKind::DataChannel { label, open, echo, .. } => data_channel(scenario, label, open, *echo, t),
        ExpectKind::Connection { peer, state, .. } => every(peer).iter().try_for_each(|p| connection(p, state, t)),
        ExpectKind::Timing { connected, first_frame } => timing(scenario, *connected, first_frame.as_ref(), t, limits),
        ExpectKind::IceRestart { by } => ice_restart(scenario, by, t),
        ExpectKind::Relayed { peer } => super::network::relayed(peer, t),
        ExpectKind::Gathered { peer, types, only } => super::network::gathered(peer, types, *only, t),
        ExpectKind::ServerSaw { peer, binding_requests, allocated, error } => super::network::server_saw(peer, *binding_requests, *allocated, *error, t),
        ExpectKind::CandidateError { peer, code } => super::network::candidate_error(peer, *code, t),
        ExpectKind::NotConnected { peer } => super::network::not_connected(peer, t),
        ExpectKind::Offers(n) => offers(*n, t),
        ExpectKind::Stats { at, metric, kind, min, max } => super::network::stats(at, *metric, *kind, *min, *max, t),
        ExpectKind::RolledBack { peer } => super::flows::rolled_back(peer, t),
        ExpectKind::IgnoredOffer { peer } => super::flows::ignored_offer(peer, t),
        ExpectKind::Direction { peer, kind, is } => super::flows::direction(peer, *kind, *is, t),
        ExpectKind::Codec { at, kind, is } => super::flows::codec(at, *kind, is, t),
        ExpectKind::Received { at, label, size, text } => super::flows::received(at, label, *size, text.as_deref(), t),
        ExpectKind::MaxMessageSize { from, to, label, size } => super::flows::max_message_size_rule(from, to, label, *size, t),
        ExpectKind::ChannelOptions { at, label, want } => super::flows::channel_options(at, label, want, t),
        ExpectKind::Channels { at, open } => super::flows::channels(at, *open, t),
        ExpectKind::Hangup { by, noticed_by, within } => super::flows::hangup(by, noticed_by, limits.scenario(*within), t),
        ExpectKind::PeerError { peer } => super::flows::peer_error(peer, t),
        ExpectKind::NegotiationNeeded { peer, after } => super::flows::negotiation_needed(peer, after, t),
    }
}

fn relay_lines<'a>(t: &'a Transcript, pick: impl Fn(&RelayRecord) -> bool + 'a) -> Vec<String> {
    t.relay
        .iter()
        .filter(|r| pick(r))
        .take(16)
        .map(|r| format!("{:>9.1} ms  relay  {} -> {}  {}", r.at, r.from, r.to.join(","), serde_json::to_string(&r.kind).unwrap_or_default()))
        .collect()
}

/// When `point` first happened.
fn when(point: &OrderPoint, t: &Transcript) -> Option<Millis> {
    let p = point.peer.as_str();
    let sent = |f: &dyn Fn(&MessageKind) -> bool| t.relay.iter().find(|r| r.from == p && f(&r.kind)).map(|r| r.at);
    let saw = |f: &dyn Fn(&Event) -> bool| t.first(p, f).map(|e| e.at);
    match point.what {
        OrderWhat::SendsOffer => sent(&|k| matches!(k, MessageKind::Desc { sdp_type } if sdp_type == "offer")),
        OrderWhat::SendsAnswer => sent(&|k| matches!(k, MessageKind::Desc { sdp_type } if sdp_type == "answer")),
        OrderWhat::SendsCandidate => sent(&|k| matches!(k, MessageKind::Candidate)),
        OrderWhat::SendsEndOfCandidates => sent(&|k| matches!(k, MessageKind::EndOfCandidates { .. })),
        OrderWhat::ReceivesOffer => saw(&|e| matches!(e, Event::RemoteDescription { sdp_type, .. } if sdp_type == "offer")),
        OrderWhat::ReceivesAnswer => saw(&|e| matches!(e, Event::RemoteDescription { sdp_type, .. } if sdp_type == "answer")),
        OrderWhat::ReceivesCandidate => saw(&|e| matches!(e, Event::RemoteCandidate { candidate } if !candidate.is_empty())),
        OrderWhat::Connected => saw(&|e| matches!(e, Event::ConnectionState { state } if state == "connected")),
        OrderWhat::GetsTrack => saw(&|e| matches!(e, Event::Track { .. })),
        OrderWhat::GetsFirstFrame => saw(&|e| matches!(e, Event::FirstFrame { .. })),
    }
}

fn order(points: &[OrderPoint], t: &Transcript) -> Outcome {
    let times: Vec<Option<Millis>> = points.iter().map(|p| when(p, t)).collect();
    let shown: Vec<String> = points
        .iter()
        .zip(&times)
        .map(|(p, at)| match at {
            Some(at) => format!("{} at {at:.1} ms", p.text),
            None => format!("{} never", p.text),
        })
        .collect();
    let in_order = times.iter().all(Option::is_some) && times.windows(2).all(|w| w[0] <= w[1]);
    if in_order {
        Ok(())
    } else {
        let expected = points.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(", then ");
        mismatch(expected, shown.join("; "), relay_lines(t, |r| !matches!(r.kind, MessageKind::Candidate)))
    }
}

fn trickle(peer: &str, eoc: bool, host: bool, t: &Transcript) -> Outcome {
    let mine: Vec<&RelayRecord> = t.relay.iter().filter(|r| r.from == peer).collect();
    let kinds: Vec<(String, String)> =
        mine.iter().filter(|r| r.kind == MessageKind::Candidate).filter_map(|r| r.candidate()?.get("candidate")?.as_str().and_then(sdp::candidate_kind)).collect();
    let excerpt = || relay_lines(t, move |r| r.from == peer);
    if kinds.is_empty() {
        return mismatch(format!("{peer} trickles candidates (RFC 8838)"), format!("{peer} sent no candidate"), excerpt());
    }
    if host && !kinds.iter().any(|(typ, _)| typ == "host") {
        return mismatch(format!("{peer} trickles a host candidate"), format!("types sent: {kinds:?}"), excerpt());
    }
    let last = mine.iter().rev().find(|r| matches!(r.kind, MessageKind::Candidate | MessageKind::EndOfCandidates { .. }));
    if eoc && !matches!(last.map(|r| &r.kind), Some(MessageKind::EndOfCandidates { .. })) {
        return mismatch(format!("{peer} ends its candidates with an end-of-candidates indication (RFC 8838 section 4.4)"), "the last candidate message is a candidate", excerpt());
    }
    Ok(())
}

fn non_trickle(peer: &str, t: &Transcript) -> Outcome {
    let trickled = t.relay.iter().filter(|r| r.from == peer && r.kind == MessageKind::Candidate).count();
    let in_sdp: usize = t.relay.iter().filter(|r| r.from == peer).filter_map(|r| r.sdp()).map(|s| sdp::candidates(s).len()).sum();
    if trickled == 0 && in_sdp > 0 {
        Ok(())
    } else {
        mismatch(
            format!("{peer} sends no trickled candidate and its description carries its candidates"),
            format!("{trickled} trickled, {in_sdp} in descriptions"),
            relay_lines(t, move |r| r.from == peer),
        )
    }
}

fn tracks(at: &str, kind: MediaKind, count: u32, t: &Transcript) -> Outcome {
    let n = t.of(at).filter(|e| matches!(&e.event, Event::Track { kind: k } if k == kind.as_str())).count();
    if n == count as usize {
        Ok(())
    } else {
        mismatch(
            format!("{at} gets {count} {kind} track(s)"),
            format!("{n} {kind} track(s)"),
            lines_of(t, at, |e| matches!(e, Event::Track { .. } | Event::RemoteDescription { .. } | Event::ConnectionState { .. })),
        )
    }
}

fn media(at: &str, kind: MediaKind, frames: u32, t: &Transcript) -> Outcome {
    let first = t.first(at, |e| matches!((kind, e), (MediaKind::Video, Event::FirstFrame { .. }) | (MediaKind::Audio, Event::FirstPacket { .. })));
    let progress = t
        .of(at)
        .filter_map(|e| match &e.event {
            Event::MediaProgress { kind: k, count } if k == kind.as_str() => Some(*count),
            _ => None,
        })
        .max()
        .unwrap_or(if first.is_some() { 1 } else { 0 });
    let unit = if kind == MediaKind::Video { "frame" } else { "packet" };
    if first.is_some() && progress >= frames as u64 {
        Ok(())
    } else {
        mismatch(
            format!("{at} receives {frames} distinct {kind} {unit}(s)"),
            match first {
                None => format!("no {kind} {unit} at {at}"),
                Some(f) => format!("first {unit} at {:.1} ms ({}), then {progress} in all", f.at, describe(&f.event)),
            },
            lines_of(t, at, |e| {
                matches!(e, Event::Track { .. } | Event::FirstFrame { .. } | Event::FirstPacket { .. } | Event::MediaProgress { .. } | Event::ConnectionState { .. })
            }),
        )
    }
}

fn data_channel(scenario: &Scenario, label: &str, open: &[String], echo: bool, t: &Transcript) -> Outcome {
    let is_dc = |e: &Event| matches!(e, Event::DataChannelOpen { .. } | Event::DataChannelMessage { .. } | Event::DataChannelClose { .. });
    for p in open {
        if t.first(p, |e| matches!(e, Event::DataChannelOpen { label: l, .. } if l == label)).is_none() {
            return mismatch(format!("'{label}' opens at {p}"), format!("no open event at {p}"), lines_of(t, p, is_dc));
        }
    }
    if !echo {
        return Ok(());
    }
    // What each peer sent on the channel: its greeting and its send_message steps.
    for p in &scenario.peers {
        let mut sent: Vec<String> = p.data_channels.iter().filter(|c| c.label == label).filter_map(|c| c.send.clone()).collect();
        sent.extend(scenario.steps.iter().filter_map(|s| match &s.kind {
            StepKind::Do { peer, action: Action::SendMessage { label: l, text } } if *peer == p.name && l == label => Some(text.clone()),
            _ => None,
        }));
        for text in sent {
            let back = t.first(&p.name, |e| matches!(e, Event::DataChannelMessage { label: l, data, .. } if l == label && *data == text));
            if back.is_none() {
                return mismatch(format!("{} gets '{text}' echoed back on '{label}'", p.name), format!("no echo of '{text}' at {}", p.name), lines_of(t, &p.name, is_dc));
            }
        }
    }
    Ok(())
}

fn connection(peer: &str, state: &str, t: &Transcript) -> Outcome {
    if t.first(peer, |e| matches!(e, Event::ConnectionState { state: s } if s == state)).is_some() {
        return Ok(());
    }
    let seen: Vec<String> = t
        .of(peer)
        .filter_map(|e| match &e.event {
            Event::ConnectionState { state } => Some(state.clone()),
            _ => None,
        })
        .collect();
    mismatch(
        format!("{peer} reaches connection state '{state}'"),
        format!("states seen: [{}]", seen.join(", ")),
        lines_of(t, peer, |e| matches!(e, Event::ConnectionState { .. } | Event::IceConnectionState { .. })),
    )
}

fn timing(
    scenario: &Scenario,
    connected: Option<std::time::Duration>,
    first_frame: Option<&(String, std::time::Duration)>,
    t: &Transcript,
    limits: crate::limits::Limits,
) -> Outcome {
    let start = t.first(&scenario.offerer, |e| matches!(e, Event::CreateOffer)).map(|e| e.at);
    let Some(start) = start else {
        return mismatch("an offer to time from", format!("{} never called createOffer", scenario.offerer), vec![]);
    };
    if let Some(budget) = connected {
        let budget_ms = limits.scenario_ms(budget);
        let done = scenario
            .peers
            .iter()
            .map(|p| t.first(&p.name, |e| matches!(e, Event::ConnectionState { state } if state == "connected")).map(|e| e.at - start))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().fold(0.0, f64::max));
        match done {
            Some(ms) if ms <= budget_ms => {}
            other => {
                return mismatch(
                    format!("both peers connected within {budget_ms:.0} ms of createOffer"),
                    other.map(|ms| format!("{ms:.1} ms")).unwrap_or("not connected".into()),
                    vec![],
                )
            }
        }
    }
    if let Some((at, budget)) = first_frame {
        let budget_ms = limits.scenario_ms(*budget);
        match t.first(at, |e| matches!(e, Event::FirstFrame { .. })).map(|e| e.at - start) {
            Some(ms) if ms <= budget_ms => {}
            other => {
                return mismatch(
                    format!("first video frame at {at} within {budget_ms:.0} ms of createOffer"),
                    other.map(|ms| format!("{ms:.1} ms")).unwrap_or("no frame".into()),
                    vec![],
                )
            }
        }
    }
    Ok(())
}

/// An ICE restart (RFC 8445 section 9, RFC 8829 section 5.2.1): `by` sends a later offer with new
/// ICE credentials, the answer to it has new ones too, and media keeps arriving afterwards.
fn offers(n: u32, t: &Transcript) -> Outcome {
    let sent = t.relay.iter().filter(|r| matches!(&r.kind, MessageKind::Desc { sdp_type } if sdp_type == "offer")).count();
    if sent == n as usize {
        Ok(())
    } else {
        mismatch(format!("{n} offer(s) in the call"), format!("{sent} offer(s)"), relay_lines(t, |r| matches!(r.kind, MessageKind::Desc { .. })))
    }
}

fn ice_restart(scenario: &Scenario, by: &str, t: &Transcript) -> Outcome {
    let other = scenario.peers.iter().map(|p| p.name.as_str()).find(|n| *n != by).unwrap_or("");
    let ufrags = |from: &str, typ: &str| -> Vec<(Millis, String)> {
        t.relay
            .iter()
            .filter(|r| r.from == from && matches!(&r.kind, MessageKind::Desc { sdp_type } if sdp_type == typ))
            .filter_map(|r| Some((r.at, sdp::ufrag(r.sdp()?)?.to_string())))
            .collect()
    };
    let offers = ufrags(by, "offer");
    let answers = ufrags(other, "answer");
    let excerpt = || relay_lines(t, |r| matches!(r.kind, MessageKind::Desc { .. }));
    let restarted = offers.windows(2).any(|w| w[0].1 != w[1].1);
    if !restarted {
        return mismatch(format!("{by} sends an offer with a new ice-ufrag"), format!("offer ufrags: {:?}", offers.iter().map(|o| &o.1).collect::<Vec<_>>()), excerpt());
    }
    if !answers.windows(2).any(|w| w[0].1 != w[1].1) {
        return mismatch(format!("{other} answers with a new ice-ufrag"), format!("answer ufrags: {:?}", answers.iter().map(|o| &o.1).collect::<Vec<_>>()), excerpt());
    }
    let restart_answer_at = answers.last().map(|a| a.0).unwrap_or(f64::MAX);
    let flowing = t.entries.iter().any(|e| e.at > restart_answer_at && matches!(e.event, Event::MediaProgress { .. } | Event::DataChannelMessage { .. }));
    if !flowing {
        return mismatch(
            "media or data keeps arriving after the restart",
            format!("nothing after {restart_answer_at:.1} ms"),
            t.entries.iter().filter(|e| e.at > restart_answer_at).take(12).map(|e| format!("{:>9.1} ms  {}  {}", e.at, e.peer, describe(&e.event))).collect(),
        );
    }
    Ok(())
}
