//! Expectations on ICE servers and the network: what the peer gathered and selected (its own
//! events and getStats samples), what the harness's server saw of it (the path's record), and
//! getStats figures over the call against the configured conditions.

use super::check::{mismatch, Mismatch};
use crate::scenario::{MediaKind, Metric};
use crate::transcript::{sdp, Entry, Event, Transcript};
use serde_json::Value;

type Outcome = Result<(), Mismatch>;

fn stats_samples<'a>(t: &'a Transcript, peer: &'a str) -> impl Iterator<Item = (&'a Entry, &'a Value)> + 'a {
    t.of(peer).filter_map(|e| match &e.event {
        Event::Stats { summary } => Some((e, summary)),
        _ => None,
    })
}

fn excerpt(t: &Transcript, peer: &str, pick: impl Fn(&Event) -> bool) -> Vec<String> {
    let picked: Vec<&Entry> = t.of(peer).filter(|e| pick(&e.event)).collect();
    let all = crate::transcript::lines(&picked, true);
    all[all.len().saturating_sub(10)..].iter().map(|l| l.trim_start().to_string()).collect()
}

/// The selected pair's local candidate is a relay candidate, in the last getStats sample that has
/// a pair (a relay-only call verified, not assumed).
pub(super) fn relayed(peer: &str, t: &Transcript) -> Outcome {
    let pair = stats_samples(t, peer).filter_map(|(_, s)| s.get("candidate_pair").filter(|p| !p.is_null())).last();
    let local = pair.and_then(|p| p.get("local")).and_then(Value::as_str).unwrap_or("");
    if local.starts_with("relay") {
        return Ok(());
    }
    let actual = match pair {
        Some(p) => format!("selected pair {p}"),
        None => format!("no selected candidate pair in {} getStats samples", stats_samples(t, peer).count()),
    };
    mismatch(
        format!("{peer}'s selected candidate pair is local relay (getStats)"),
        actual,
        excerpt(t, peer, |e| matches!(e, Event::ConnectionState { .. } | Event::LocalCandidate { .. })),
    )
}

/// Types of the candidates `peer` gathered: its `icecandidate` events and the candidates in its
/// local descriptions (a non-trickle peer's only record).
fn gathered_types(t: &Transcript, peer: &str) -> Vec<String> {
    let mut types: Vec<String> = t
        .of(peer)
        .flat_map(|e| match &e.event {
            Event::LocalCandidate { candidate } => vec![candidate.clone()],
            Event::LocalDescription { sdp, .. } => sdp::candidates(sdp).into_iter().map(|c| c.to_string()).collect(),
            _ => vec![],
        })
        .filter_map(|c| sdp::candidate_kind(&c).map(|k| k.0.to_string()))
        .collect();
    types.sort();
    types.dedup();
    types
}

pub(super) fn gathered(peer: &str, want: &[String], only: bool, t: &Transcript) -> Outcome {
    let got = gathered_types(t, peer);
    let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
    let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
    if missing.is_empty() && (!only || extra.is_empty()) {
        return Ok(());
    }
    let expected = match (only, want.is_empty()) {
        (true, true) => format!("{peer} gathers no candidate"),
        (true, false) => format!("{peer} gathers {} candidates and no other type", want.join(", ")),
        _ => format!("{peer} gathers {} candidates", want.join(", ")),
    };
    let actual = if got.is_empty() { "no candidate".to_string() } else { format!("types gathered: {}", got.join(", ")) };
    mismatch(expected, actual, excerpt(t, peer, |e| matches!(e, Event::LocalCandidate { .. } | Event::IceGatheringState { .. } | Event::CandidateError { .. })))
}

/// What the harness's server saw of `peer`, from the last record of its path.
pub(super) fn server_saw(peer: &str, binding: Option<u64>, allocated: Option<bool>, error: Option<u16>, t: &Transcript) -> Outcome {
    let record = t
        .of(peer)
        .filter_map(|e| match &e.event {
            Event::NetRecord { record } => Some(record),
            _ => None,
        })
        .last();
    let Some(r) = record else {
        return mismatch(format!("a record of {peer}'s network path"), "none (the case ended before it was taken)", vec![]);
    };
    let n = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
    let errors = r.get("allocate_errors").cloned().unwrap_or_default();
    let shown =
        format!("{} Binding requests, {} Allocate requests, {} allocations, Allocate errors {}", n("binding_requests"), n("allocate_requests"), n("allocate_success"), errors);
    let mut expected = Vec::new();
    let mut ok = true;
    if let Some(b) = binding {
        expected.push(format!("at least {b} STUN Binding requests from {peer}"));
        ok &= n("binding_requests") >= b;
    }
    if let Some(a) = allocated {
        expected.push(format!("{} TURN allocation for {peer}", if a { "a" } else { "no" }));
        ok &= (n("allocate_success") > 0) == a;
    }
    if let Some(code) = error {
        expected.push(format!("an Allocate error {code} sent to {peer} (RFC 8656 section 7.2)"));
        ok &= errors.get(code.to_string()).and_then(Value::as_u64).unwrap_or(0) > 0;
    }
    if ok {
        Ok(())
    } else {
        mismatch(format!("the server saw {}", expected.join(", ")), shown, vec![])
    }
}

pub(super) fn candidate_error(peer: &str, code: Option<u16>, t: &Transcript) -> Outcome {
    let seen: Vec<u16> = t
        .of(peer)
        .filter_map(|e| match &e.event {
            Event::CandidateError { error_code, .. } => Some(*error_code),
            _ => None,
        })
        .collect();
    if seen.iter().any(|c| code.is_none_or(|want| *c == want)) {
        return Ok(());
    }
    let expected = match code {
        Some(c) => format!("{peer} reports an icecandidateerror with errorCode {c} (W3C webrtc-pc section 4.8.3)"),
        None => format!("{peer} reports an icecandidateerror"),
    };
    mismatch(
        expected,
        format!("error codes reported: {seen:?}"),
        excerpt(t, peer, |e| matches!(e, Event::CandidateError { .. } | Event::IceGatheringState { .. } | Event::Error { .. })),
    )
}

pub(super) fn not_connected(peer: &str, t: &Transcript) -> Outcome {
    match t.first(peer, |e| matches!(e, Event::ConnectionState { state } if state == "connected")) {
        None => Ok(()),
        Some(e) => mismatch(format!("{peer} never connects"), format!("connected at {:.1} ms", e.at), excerpt(t, peer, |e| matches!(e, Event::ConnectionState { .. }))),
    }
}

/// The inbound stream of `kind` in one summary (the one that received most, after a
/// renegotiation left an older one behind).
fn inbound(summary: &Value, kind: MediaKind) -> Option<&Value> {
    summary
        .get("inbound_rtp")?
        .as_array()?
        .iter()
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind.as_str()))
        .max_by_key(|s| s.get("packetsReceived").and_then(Value::as_u64).unwrap_or(0))
}

/// The metric's value over the call, with the number of samples it came from.
pub fn measure(t: &Transcript, at: &str, metric: Metric, kind: Option<MediaKind>) -> (Option<f64>, usize) {
    let samples: Vec<(f64, &Value)> = stats_samples(t, at).map(|(e, s)| (e.at, s)).collect();
    let field = |s: &Value, k: &str| kind.and_then(|kind| inbound(s, kind)).and_then(|i| i.get(k)).and_then(Value::as_f64);
    let series = |f: &dyn Fn(&Value) -> Option<f64>| -> Vec<f64> { samples.iter().filter_map(|(_, s)| f(s)).collect() };
    let value = match metric {
        Metric::Rtt => crate::stats::median(&series(&|s| s.get("candidate_pair")?.get("currentRoundTripTime")?.as_f64().map(|x| x * 1000.0))),
        Metric::Jitter => crate::stats::median(&series(&|s| field(s, "jitter").map(|x| x * 1000.0))),
        Metric::Fps => crate::stats::median(&series(&|s| field(s, "framesPerSecond"))),
        Metric::Loss => samples.iter().rev().find_map(|(_, s)| {
            let (lost, got) = (field(s, "packetsLost")?, field(s, "packetsReceived")?);
            (lost + got > 0.0).then(|| lost.max(0.0) / (lost.max(0.0) + got))
        }),
        Metric::Bitrate => {
            let points: Vec<(f64, f64)> = samples.iter().filter_map(|(at, s)| Some((*at, field(s, "bytesReceived")?))).filter(|p| p.1 > 0.0).collect();
            match (points.first(), points.last()) {
                (Some(a), Some(b)) if b.0 - a.0 >= 1000.0 => Some((b.1 - a.1) * 8.0 / ((b.0 - a.0) / 1000.0)),
                _ => None,
            }
        }
    };
    (value, samples.len())
}

pub(super) fn stats(at: &str, metric: Metric, kind: Option<MediaKind>, min: Option<f64>, max: Option<f64>, t: &Transcript) -> Outcome {
    let (value, n) = measure(t, at, metric, kind);
    let what = match kind {
        Some(k) if metric != Metric::Rtt => format!("{at}'s inbound {k} {}", metric.as_str()),
        _ => format!("{at}'s {}", metric.as_str()),
    };
    let bounds = match (min, max) {
        (Some(a), Some(b)) => format!("between {} and {}", metric.show(a), metric.show(b)),
        (Some(a), None) => format!("at least {}", metric.show(a)),
        (None, Some(b)) => format!("at most {}", metric.show(b)),
        (None, None) => "anything".into(),
    };
    match value {
        Some(v) if min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m) => Ok(()),
        Some(v) => mismatch(format!("{what} {bounds}"), format!("{} (from {n} getStats samples)", metric.show(v)), vec![]),
        None => mismatch(format!("{what} {bounds}"), format!("not measured: {n} getStats samples, none with the figure"), vec![]),
    }
}
