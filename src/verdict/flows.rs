//! The hard flows' expectations: rollback and ignored offers (perfect negotiation), transceiver
//! directions and codecs from the SDP and getStats, data channel messages, options and limits,
//! and how a hang-up is noticed.

use super::check::{mismatch, Mismatch};
use crate::scenario::flows::{ChannelOptionsWant, Direction};
use crate::scenario::MediaKind;
use crate::transcript::{describe, sdp, Entry, Event, Transcript};

type Outcome = Result<(), Mismatch>;

use super::check::lines_of as lines;

fn signaling(e: &Event) -> bool {
    matches!(
        e,
        Event::SignalingState { .. } | Event::LocalDescription { .. } | Event::RemoteDescription { .. } | Event::Rollback { .. } | Event::OfferIgnored | Event::Error { .. }
    )
}

pub(super) fn peer_error(peer: &str, t: &Transcript) -> Outcome {
    if t.first(peer, |e| matches!(e, Event::Error { .. })).is_some() {
        return Ok(());
    }
    mismatch(format!("{peer}'s stack refuses it (an error)"), "no error", lines(t, peer, signaling))
}

/// `peer` fired `negotiationneeded` after its step performing `after` and before the next offer
/// it sent: the offer came from the event (webrtc-pc section 4.7.3), not from the adapter offering
/// on its own.
pub(super) fn negotiation_needed(peer: &str, after: &str, t: &Transcript) -> Outcome {
    let is_step = |e: &Event| matches!(e, Event::Step { name } if name.split('(').next() == Some(after));
    let Some(step) = t.first(peer, is_step) else {
        return mismatch(format!("{peer} performs {after}"), "the step never ran", lines(t, peer, signaling));
    };
    let next_offer = t
        .relay
        .iter()
        .find(|r| r.from == peer && r.at > step.at && matches!(&r.kind, crate::transcript::relayed::MessageKind::Desc { sdp_type } if sdp_type == "offer"))
        .map(|r| r.at);
    let fired = t.of(peer).any(|e| matches!(e.event, Event::NegotiationNeeded) && e.at >= step.at && next_offer.is_none_or(|o| e.at <= o));
    match (fired, next_offer) {
        (true, Some(_)) => Ok(()),
        (true, None) => mismatch(format!("{peer} offers after negotiationneeded (following {after})"), "no offer followed", lines(t, peer, signaling)),
        (false, Some(at)) => mismatch(
            format!("{peer} fires negotiationneeded after {after} (at {:.1} ms), before its offer", step.at),
            format!("no negotiationneeded before the offer it sent at {at:.1} ms"),
            lines(t, peer, signaling),
        ),
        (false, None) => mismatch(format!("{peer} fires negotiationneeded after {after} (at {:.1} ms)", step.at), "no negotiationneeded and no offer", lines(t, peer, signaling)),
    }
}

pub(super) fn rolled_back(peer: &str, t: &Transcript) -> Outcome {
    if t.first(peer, |e| matches!(e, Event::Rollback { .. })).is_some() {
        return Ok(());
    }
    mismatch(format!("{peer} rolls back its local offer"), "no rollback", lines(t, peer, signaling))
}

pub(super) fn ignored_offer(peer: &str, t: &Transcript) -> Outcome {
    if t.first(peer, |e| matches!(e, Event::OfferIgnored)).is_some() {
        return Ok(());
    }
    mismatch(format!("{peer} ignores the colliding offer (impolite, webrtc-pc 10.7)"), "no offer ignored", lines(t, peer, signaling))
}

fn last_local_sdp<'a>(t: &'a Transcript, peer: &'a str) -> Option<&'a str> {
    t.of(peer)
        .filter_map(|e| match &e.event {
            Event::LocalDescription { sdp, .. } => Some(sdp.as_str()),
            _ => None,
        })
        .last()
}

pub(super) fn direction(peer: &str, kind: MediaKind, is: Direction, t: &Transcript) -> Outcome {
    let sdp = last_local_sdp(t, peer);
    let dirs: Vec<String> = sdp.map(|s| sdp::sections(s).into_iter().filter(|x| x.kind == kind.as_str()).map(|x| x.direction).collect()).unwrap_or_default();
    if dirs.first().map(String::as_str) == Some(is.as_str()) {
        return Ok(());
    }
    mismatch(
        format!("{peer}'s last local description has its {kind} m-line {is}"),
        if sdp.is_none() { format!("{peer} set no local description") } else { format!("{kind} m-line(s): [{}]", dirs.join(", ")) },
        lines(t, peer, |e| matches!(e, Event::LocalDescription { .. } | Event::Step { .. })),
    )
}

/// The codec the answer puts first for `kind` (RFC 8829 section 5.3.1: the answerer lists what
/// it will use first), and what `at`'s getStats reports for the inbound stream.
pub(super) fn codec(at: &str, kind: MediaKind, is: &str, t: &Transcript) -> Outcome {
    let answer = t.entries.iter().rev().find_map(|e| match &e.event {
        Event::LocalDescription { sdp_type, sdp } if sdp_type == "answer" => Some(sdp.as_str()),
        _ => None,
    });
    let first = answer.and_then(|s| first_codec(s, kind));
    let stats = t
        .of(at)
        .filter_map(|e| match &e.event {
            Event::Stats { summary } => {
                summary.get("inbound_rtp")?.as_array()?.iter().find(|r| r.get("kind").and_then(|k| k.as_str()) == Some(kind.as_str()))?.get("codec")?.as_str().map(str::to_string)
            }
            _ => None,
        })
        .last();
    let want = format!("{}/{}", kind.as_str(), is).to_ascii_lowercase();
    let sdp_ok = first.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(is));
    let stats_ok = stats.as_deref().is_some_and(|c| c.to_ascii_lowercase() == want);
    if sdp_ok && stats_ok {
        return Ok(());
    }
    mismatch(
        format!("{kind} negotiated as {is} (the answer's first codec) and received as {want} at {at} (getStats)"),
        format!("answer's first {kind} codec: {}; {at}'s inbound codec: {}", first.as_deref().unwrap_or("none"), stats.as_deref().unwrap_or("not reported")),
        lines(t, at, |e| matches!(e, Event::Stats { .. })),
    )
}

/// The encoding name of the first payload type of the first m-line of `kind`.
pub fn first_codec(sdp: &str, kind: MediaKind) -> Option<String> {
    let m = sdp.lines().find(|l| l.starts_with(&format!("m={} ", kind.as_str())))?;
    let pt = m.split_whitespace().nth(3)?;
    let prefix = format!("a=rtpmap:{pt} ");
    sdp.lines().find_map(|l| l.trim_end().strip_prefix(prefix.as_str())).and_then(|v| v.split('/').next()).map(str::to_string)
}

fn is_message(e: &Event, label: &str) -> bool {
    matches!(e, Event::DataChannelMessage { label: l, .. } if l == label)
}

fn dc_lines(t: &Transcript, peer: &str, label: &str) -> Vec<String> {
    lines(t, peer, |e| match e {
        Event::DataChannelOpen { label: l, .. } | Event::DataChannelMessage { label: l, .. } | Event::DataChannelClose { label: l } => l == label,
        Event::Error { .. } => true,
        _ => false,
    })
}

pub(super) fn received(at: &str, label: &str, size: Option<u32>, text: Option<&str>, t: &Transcript) -> Outcome {
    let got = t.first(at, |e| match e {
        Event::DataChannelMessage { label: l, data, size: s, intact } if l == label => match (size, text) {
            (Some(n), _) => *s == Some(n) && *intact == Some(true),
            (None, Some(x)) => data == x,
            _ => false,
        },
        _ => false,
    });
    if got.is_some() {
        return Ok(());
    }
    let what = match (size, text) {
        (Some(n), _) => format!("a {n} byte binary message, intact"),
        (_, Some(x)) => format!("'{x}'"),
        _ => "a message".into(),
    };
    let seen = t.of(at).filter(|e| is_message(&e.event, label)).count();
    mismatch(format!("{at} receives {what} on '{label}'"), format!("{seen} other message(s) on '{label}' at {at}"), dc_lines(t, at, label))
}

/// RFC 8841 section 6: `a=max-message-size` in the receiver's description, 64 KiB when absent, 0
/// for no limit. What `from` knows of it is the remote description it applied last.
pub fn max_message_size(remote_sdp: &str) -> Option<u64> {
    match sdp::attr(remote_sdp, "max-message-size").map(|v| v.parse::<u64>()) {
        None => Some(65_536),
        Some(Ok(0)) => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => Some(65_536),
    }
}

pub(super) fn max_message_size_rule(from: &str, to: &str, label: &str, size: u32, t: &Transcript) -> Outcome {
    let remote = t
        .of(from)
        .filter_map(|e| match &e.event {
            Event::RemoteDescription { sdp, .. } => Some(sdp.as_str()),
            _ => None,
        })
        .last();
    let Some(remote) = remote else {
        return mismatch(format!("{from} knows {to}'s description"), "no remote description applied", vec![]);
    };
    let limit = max_message_size(remote);
    let refused = t.first(from, |e| matches!(e, Event::SendRefused { label: l, size: s, .. } if l == label && *s == size));
    let arrived = t.first(to, |e| matches!(e, Event::DataChannelMessage { label: l, size: s, intact: Some(true), .. } if l == label && *s == Some(size)));
    let limit_text = limit.map(|n| format!("a=max-message-size {n}")).unwrap_or_else(|| "no limit".into());
    let within = limit.is_none_or(|n| u64::from(size) <= n);
    let mut excerpt = dc_lines(t, from, label);
    excerpt.extend(dc_lines(t, to, label));
    excerpt.extend(lines(t, from, |e| matches!(e, Event::SendRefused { .. })));
    match (within, refused, arrived) {
        (true, None, Some(_)) | (false, Some(_), None) => Ok(()),
        (true, _, _) => mismatch(
            format!("{size} bytes is within {to}'s {limit_text}: sent by {from} and received intact"),
            match refused {
                Some(r) => format!("{from} refused it: {}", describe(&r.event)),
                None => format!("{to} did not receive it intact"),
            },
            excerpt,
        ),
        (false, _, _) => mismatch(
            format!("{size} bytes is over {to}'s {limit_text}: send() throws TypeError (webrtc-pc 6.2)"),
            match arrived {
                Some(_) => format!("{from} sent it and {to} received it"),
                None => format!("{from} sent it without an error and it was lost"),
            },
            excerpt,
        ),
    }
}

pub(super) fn channel_options(at: &str, label: &str, want: &ChannelOptionsWant, t: &Transcript) -> Outcome {
    let open = t.first(at, |e| matches!(e, Event::DataChannelOpen { label: l, .. } if l == label));
    let Some(Entry { event: Event::DataChannelOpen { options, .. }, .. }) = open else {
        return mismatch(format!("'{label}' opens at {at}"), "no open event", dc_lines(t, at, label));
    };
    let mut wrong: Vec<String> = Vec::new();
    let mut cmp = |name: &str, want: Option<String>, got: Option<String>| {
        if let Some(w) = want {
            if got.as_deref() != Some(w.as_str()) {
                wrong.push(format!("{name} {} (wanted {w})", got.unwrap_or_else(|| "not reported".into())));
            }
        }
    };
    cmp("ordered", want.ordered.map(|v| v.to_string()), options.ordered.map(|v| v.to_string()));
    cmp("maxRetransmits", want.max_retransmits.map(|v| v.to_string()), options.max_retransmits.map(|v| v.to_string()));
    cmp("maxPacketLifeTime", want.max_packet_life_time.map(|v| v.to_string()), options.max_packet_life_time.map(|v| v.to_string()));
    cmp("protocol", want.protocol.clone(), options.protocol.clone());
    cmp("id", want.id.map(|v| v.to_string()), options.id.map(|v| v.to_string()));
    if wrong.is_empty() {
        return Ok(());
    }
    mismatch(format!("'{label}' at {at} reports the options it was created with"), wrong.join(", "), dc_lines(t, at, label))
}

pub(super) fn channels(at: &str, open: u32, t: &Transcript) -> Outcome {
    let mut labels: Vec<&str> = t
        .of(at)
        .filter_map(|e| match &e.event {
            Event::DataChannelOpen { label, .. } => Some(label.as_str()),
            _ => None,
        })
        .collect();
    labels.sort();
    labels.dedup();
    if labels.len() as u32 >= open {
        return Ok(());
    }
    mismatch(format!("{open} channels open at {at}"), format!("{} open: [{}]", labels.len(), labels.join(", ")), vec![])
}

/// What `peer` sees of the other side's hang-up: its connection or ICE state leaving
/// `connected`, or a channel's `close` (webrtc-pc 4.3.3, 6.2; RFC 8831 section 6.7).
pub fn noticed(e: &Event) -> Option<String> {
    match e {
        Event::ConnectionState { state } if ["disconnected", "failed", "closed"].contains(&state.as_str()) => Some(format!("connection {state}")),
        Event::IceConnectionState { state } if ["disconnected", "failed", "closed"].contains(&state.as_str()) => Some(format!("ice {state}")),
        Event::DataChannelClose { label } => Some(format!("channel '{label}' closed")),
        _ => None,
    }
}

/// When `by` hung up (its `close` step) and when and how `peer` noticed.
pub fn hangup_seen(by: &str, peer: &str, t: &Transcript) -> Option<(f64, Option<(f64, String)>)> {
    let closed_at = t.first(by, |e| matches!(e, Event::Step { name } if name == "close"))?.at;
    let seen = t.of(peer).filter(|e| e.at >= closed_at).find_map(|e| noticed(&e.event).map(|what| (e.at - closed_at, what)));
    Some((closed_at, seen))
}

/// `within` is already scaled to the run.
pub(super) fn hangup(by: &str, noticed_by: &str, within: std::time::Duration, t: &Transcript) -> Outcome {
    let limit = within.as_secs_f64() * 1000.0;
    let excerpt = lines(t, noticed_by, |e| noticed(e).is_some() || matches!(e, Event::ConnectionState { .. }));
    match hangup_seen(by, noticed_by, t) {
        None => mismatch(format!("{by} hangs up"), format!("no close step at {by}"), vec![]),
        Some((_, Some((after, _)))) if after <= limit => Ok(()),
        Some((_, Some((after, what)))) => mismatch(format!("{noticed_by} notices within {limit:.0} ms"), format!("{what} after {after:.0} ms"), excerpt),
        Some((_, None)) => mismatch(format!("{noticed_by} notices {by}'s hang-up within {limit:.0} ms"), "nothing: still connected, no channel closed", excerpt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_codec_and_max_message_size() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98 96\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\na=max-message-size:262144\r\n";
        assert_eq!(first_codec(sdp, MediaKind::Video).as_deref(), Some("VP9"));
        assert_eq!(first_codec(sdp, MediaKind::Audio), None);
        assert_eq!(max_message_size(sdp), Some(262_144));
        assert_eq!(max_message_size("v=0\r\n"), Some(65_536), "RFC 8841: 64 KiB when absent");
        assert_eq!(max_message_size("a=max-message-size:0\r\n"), None, "0: no limit");
    }
}
