//! Validation of the `expect:` section: peer references, order phrases, and flows that cannot happen.

use super::doc_expect::ExpectDecl;
use super::net::{parse_percent, parse_rate, StatsArg};
use super::validator::{LoadError, Validator};
use super::values::{parse_duration, ValueError};
use crate::limits;
use crate::scenario::expectation::{ExpectKind, Expectation, Metric, OrderPoint, OrderWhat};
use crate::scenario::kinds::{MediaKind, Negotiation};
use crate::scenario::model::{IceServer, PeerSpec};
use crate::scenario::step::{Action, Step, StepKind};
use serde_saphyr::Spanned;

/// Connection states a `connection` expectation may name (W3C webrtc-pc section 4.3.3).
const CONNECTION_STATES: [&str; 6] = ["new", "connecting", "connected", "disconnected", "failed", "closed"];

impl Validator<'_> {
    pub(super) fn expectation(&self, e: &Spanned<ExpectDecl>, names: &[String], peers: &[PeerSpec], offerer: &str, steps: &[Step]) -> Result<Expectation, LoadError> {
        let line = e.referenced.line();
        let within = |w: Option<std::time::Duration>| w.unwrap_or(limits::EXPECTATION_WAIT);
        if let Some(kind) = self.flow_expectation(e, names, peers, steps)? {
            return Ok(Expectation { line, kind });
        }
        let kind = match &e.value {
            ExpectDecl::RolledBack(_)
            | ExpectDecl::IgnoredOffer(_)
            | ExpectDecl::Direction(_)
            | ExpectDecl::Codec(_)
            | ExpectDecl::Received(_)
            | ExpectDecl::MaxMessageSize(_)
            | ExpectDecl::ChannelOptions(_)
            | ExpectDecl::Channels(_)
            | ExpectDecl::Hangup(_)
            | ExpectDecl::PeerError(_)
            | ExpectDecl::NegotiationNeeded(_) => unreachable!("flow_expectation took it"),
            ExpectDecl::Order(points) => {
                let points = points.iter().map(|p| self.order_point(p, names)).collect::<Result<Vec<_>, _>>()?;
                self.check_order(&points, e, offerer, peers, steps)?;
                ExpectKind::Order(points)
            }
            ExpectDecl::Trickle(t) => {
                let peer = match &t.peer {
                    Some(p) => self.peer_ref(p, names)?,
                    None => "*".to_string(),
                };
                if let Some(spec) = peers.iter().find(|p| p.name == peer) {
                    if spec.trickle == super::Trickle::Off {
                        return Err(self.err(&e.referenced, format!("peer '{peer}' has trickle: false, so no candidate can be trickled (use non_trickle: {peer})")));
                    }
                }
                ExpectKind::Trickle { peer, end_of_candidates: t.end_of_candidates, host: t.host }
            }
            ExpectDecl::NonTrickle(p) => ExpectKind::NonTrickle { peer: self.peer_ref(p, names)? },
            ExpectDecl::Track(t) => {
                let at = self.peer_ref(&t.at, names)?;
                self.check_sent(&at, t.kind, peers, steps, e)?;
                ExpectKind::Track { at, kind: t.kind, count: t.count, within: within(t.within) }
            }
            ExpectDecl::Media(m) => {
                let at = self.peer_ref(&m.at, names)?;
                self.check_sent(&at, m.kind, peers, steps, e)?;
                ExpectKind::Media { at, kind: m.kind, frames: m.frames.max(1), within: within(m.within) }
            }
            ExpectDecl::Markers(m) => {
                let (at, from) = (self.peer_ref(&m.at, names)?, self.peer_ref(&m.from, names)?);
                if at == from {
                    return Err(self.err(&e.referenced, format!("'{at}' cannot show its own frames: markers are read from the video it receives")));
                }
                self.check_sent(&at, MediaKind::Video, peers, steps, e)?;
                if m.source.is_some_and(|s| s > 7) {
                    return Err(self.err(&e.referenced, "a marker's source is 0 to 7 (docs/markers.md)".to_string()));
                }
                let latency = match &m.latency {
                    None => None,
                    Some(l) if l.min.is_none() && l.max.is_none() => return Err(self.err(&e.referenced, "latency needs min, max or both".to_string())),
                    Some(l) if l.min.is_some() && l.min > l.max && l.max.is_some() => return Err(self.err(&e.referenced, "latency: min is above max".to_string())),
                    Some(l) => Some((ms(l.min), ms(l.max))),
                };
                ExpectKind::Markers { at, from, source: m.source, frames: m.frames.max(1), latency, within: within(m.within) }
            }
            ExpectDecl::Freezes(f) => {
                let at = self.peer_ref(&f.at, names)?;
                self.check_sent(&at, MediaKind::Video, peers, steps, e)?;
                let bounds = [
                    ("min", "max", f.min.map(f64::from), f.max.map(f64::from)),
                    ("min_freeze", "max_freeze", ms(f.min_freeze), ms(f.max_freeze)),
                    ("min_total", "max_total", ms(f.min_total), ms(f.max_total)),
                ];
                if bounds.iter().all(|(_, _, lo, hi)| lo.is_none() && hi.is_none()) {
                    return Err(self.err(&e.referenced, "freezes needs a bound: min, max, min_freeze, max_freeze, min_total or max_total".to_string()));
                }
                if let Some((lo, hi, ..)) = bounds.iter().find(|(_, _, lo, hi)| lo.zip(*hi).is_some_and(|(lo, hi)| lo > hi)) {
                    return Err(self.err(&e.referenced, format!("freezes: {lo} is above {hi}")));
                }
                ExpectKind::Freezes { at, count: (f.min, f.max), longest: (ms(f.min_freeze), ms(f.max_freeze)), total: (ms(f.min_total), ms(f.max_total)) }
            }
            ExpectDecl::Audio(a) => {
                let (at, from) = (self.peer_ref(&a.at, names)?, self.peer_ref(&a.from, names)?);
                if at == from {
                    return Err(self.err(&e.referenced, format!("'{at}' cannot hear its own tone: tones are read from the audio it receives")));
                }
                self.check_sent(&at, MediaKind::Audio, peers, steps, e)?;
                ExpectKind::Audio { at, from, min: ms(a.min).unwrap_or(1000.0) }
            }
            ExpectDecl::Silence(q) => {
                let at = self.peer_ref(&q.at, names)?;
                self.check_sent(&at, MediaKind::Audio, peers, steps, e)?;
                if q.min.is_none() && q.max.is_none() {
                    return Err(self.err(&e.referenced, "silence needs min, max or both".to_string()));
                }
                if q.min.zip(q.max).is_some_and(|(lo, hi)| lo > hi) {
                    return Err(self.err(&e.referenced, "silence: min is above max".to_string()));
                }
                ExpectKind::Silence { at, longest: (ms(q.min), ms(q.max)) }
            }
            ExpectDecl::Latency(l) => {
                let (at, from) = (self.peer_ref(&l.at, names)?, self.peer_ref(&l.from, names)?);
                if at == from {
                    return Err(self.err(&e.referenced, format!("'{at}' cannot show its own frames: latency is read from the video it receives")));
                }
                self.check_sent(&at, MediaKind::Video, peers, steps, e)?;
                if l.p50.is_none() && l.min_p50.is_none() && l.p95.is_none() && l.rise.is_none() {
                    return Err(self.err(&e.referenced, "latency needs a bound: p50, min_p50, p95 or rise".to_string()));
                }
                if l.min_p50.zip(l.p50).is_some_and(|(lo, hi)| lo > hi) {
                    return Err(self.err(&e.referenced, "latency: min_p50 is above p50".to_string()));
                }
                let rise = match &l.rise {
                    None => None,
                    Some(r) if r.min.is_none() && r.max.is_none() => return Err(self.err(&e.referenced, "rise needs min, max or both".to_string())),
                    Some(r) if r.min.zip(r.max).is_some_and(|(lo, hi)| lo > hi) => return Err(self.err(&e.referenced, "rise: min is above max".to_string())),
                    Some(r) => {
                        if !steps.iter().any(|s| matches!(s.kind, StepKind::Network { .. })) {
                            return Err(self.err(&e.referenced, "rise compares the latency before and after a network step, and the scenario has none".to_string()));
                        }
                        Some((ms(r.min), ms(r.max)))
                    }
                };
                ExpectKind::Latency { at, from, p50: (ms(l.min_p50), ms(l.p50)), p95: ms(l.p95), rise }
            }
            ExpectDecl::DataChannel(d) => {
                let open = match &d.open {
                    Some(list) => list.iter().map(|p| self.peer_ref(p, names)).collect::<Result<Vec<_>, _>>()?,
                    None => names.to_vec(),
                };
                let declared = peers.iter().any(|p| p.data_channels.iter().any(|c| c.label == d.label))
                    || steps.iter().any(|s| {
                        matches!(&s.kind,
                        StepKind::Do { action: Action::CreateDataChannel { label }, .. } if *label == d.label)
                    });
                if !declared {
                    return Err(
                        self.err(&e.referenced, format!("no peer creates data channel '{}' (declare it under a peer's data_channels or add a create_data_channel step)", d.label))
                    );
                }
                ExpectKind::DataChannel { label: d.label.clone(), open, echo: d.echo, within: within(d.within) }
            }
            ExpectDecl::Connection(c) => {
                let peer = match &c.peer {
                    Some(p) => self.peer_ref(p, names)?,
                    None => "*".to_string(),
                };
                if !CONNECTION_STATES.contains(&c.state.value.as_str()) {
                    return Err(self.err(&c.state.referenced, format!("unknown connection state '{}' (expected one of: {})", c.state.value, CONNECTION_STATES.join(", "))));
                }
                ExpectKind::Connection { peer, state: c.state.value.clone(), within: within(c.within) }
            }
            ExpectDecl::Timing(t) => {
                let first_frame = match (t.first_frame, &t.at) {
                    (Some(d), Some(at)) => Some((self.peer_ref(at, names)?, d)),
                    (Some(d), None) => Some((names.iter().find(|n| *n != offerer).cloned().unwrap_or_default(), d)),
                    (None, _) => None,
                };
                ExpectKind::Timing { connected: t.connected, first_frame }
            }
            ExpectDecl::IceRestart(r) => {
                let by = self.peer_ref(&r.by, names)?;
                let restarts = steps.iter().any(|s| {
                    matches!(&s.kind,
                    StepKind::Do { peer, action: Action::RestartIce } if *peer == by)
                });
                if !restarts {
                    return Err(self.err(&e.referenced, format!("no step restarts ICE on '{by}' (add '- restart_ice: {by}' to steps)")));
                }
                ExpectKind::IceRestart { by }
            }
            ExpectDecl::Relayed(a) => ExpectKind::Relayed { peer: self.served_peer(&a.peer, names, peers, true)? },
            ExpectDecl::Gathered(g) => {
                let peer = self.peer_ref(&g.peer, names)?;
                let mut types = Vec::new();
                for t in &g.types {
                    if !["host", "srflx", "prflx", "relay"].contains(&t.value.as_str()) {
                        return Err(self.err(&t.referenced, format!("unknown candidate type '{}' (expected host, srflx, prflx or relay; RFC 8445 section 5.1.1)", t.value)));
                    }
                    types.push(t.value.clone());
                }
                ExpectKind::Gathered { peer, types, only: g.only }
            }
            ExpectDecl::ServerSaw(a) => {
                ExpectKind::ServerSaw { peer: self.served_peer(&a.peer, names, peers, false)?, binding_requests: a.binding_requests, allocated: a.allocated, error: a.error }
            }
            ExpectDecl::CandidateError(a) => ExpectKind::CandidateError { peer: self.served_peer(&a.peer, names, peers, false)?, code: a.code },
            ExpectDecl::NotConnected(a) => ExpectKind::NotConnected { peer: self.peer_ref(&a.peer, names)? },
            ExpectDecl::Stats(a) => self.stats(a, names, peers, steps, e)?,
            ExpectDecl::Offers(n) => ExpectKind::Offers(*n),
        };
        Ok(Expectation { line, kind })
    }

    /// A peer that has the harness's ICE servers (and, for `relayed`, a TURN server).
    fn served_peer(&self, r: &Spanned<String>, names: &[String], peers: &[PeerSpec], turn: bool) -> Result<String, LoadError> {
        let peer = self.peer_ref(r, names)?;
        let servers = &peers.iter().find(|p| p.name == peer).expect("known peer").ice_servers;
        let ok = if turn { servers.iter().any(|s| matches!(s, IceServer::Turn { .. })) } else { !servers.is_empty() };
        if !ok {
            let what = if turn { "a TURN server" } else { "an ICE server" };
            return Err(self.err(&r.referenced, format!("{peer} is given no {what} (add it to {peer}'s ice_servers)")));
        }
        Ok(peer)
    }

    fn stats(&self, a: &StatsArg, names: &[String], peers: &[PeerSpec], steps: &[Step], e: &Spanned<ExpectDecl>) -> Result<ExpectKind, LoadError> {
        let at = self.peer_ref(&a.at, names)?;
        let metric =
            Metric::parse(&a.metric.value).ok_or_else(|| self.err(&a.metric.referenced, format!("unknown metric '{}' (expected one of: {})", a.metric.value, Metric::NAMES)))?;
        let kind = match (metric, a.kind) {
            (Metric::Rtt, k) => k,
            (Metric::Fps, None | Some(MediaKind::Video)) => Some(MediaKind::Video),
            (Metric::Fps, Some(MediaKind::Audio)) => return Err(self.err(&a.metric.referenced, "fps is a video metric")),
            (_, Some(k)) => Some(k),
            (m, None) => return Err(self.err(&a.metric.referenced, format!("{} is measured on a received stream: add kind: audio or video", m.as_str()))),
        };
        if let (Some(k), false) = (kind, metric == Metric::Rtt) {
            self.check_sent(&at, k, peers, steps, e)?;
        }
        let bound = |b: &Option<Spanned<String>>| -> Result<Option<f64>, LoadError> {
            b.as_ref().map(|v| metric_value(metric, &v.value).map_err(|m| self.err(&v.referenced, m))).transpose()
        };
        let (min, max) = (bound(&a.min)?, bound(&a.max)?);
        if min.is_none() && max.is_none() {
            return Err(self.err(&e.referenced, "a stats expectation needs min, max or both"));
        }
        Ok(ExpectKind::Stats { at, metric, kind, min, max })
    }

    fn order_point(&self, p: &Spanned<String>, names: &[String]) -> Result<OrderPoint, LoadError> {
        let text = p.value.trim();
        let (peer, rest) = text.split_once(' ').unwrap_or((text, ""));
        if !names.iter().any(|n| n == peer) {
            return Err(self.err(&p.referenced, format!("'{text}' does not start with a peer name (expected one of: {})", names.join(", "))));
        }
        let rest = rest.trim();
        let what = OrderWhat::PHRASES.iter().find(|(ph, _)| *ph == rest).map(|(_, w)| *w).ok_or_else(|| {
            let phrases: Vec<&str> = OrderWhat::PHRASES.iter().map(|(p, _)| *p).collect();
            self.err(&p.referenced, format!("unknown event '{rest}' in '{text}' (expected '<peer> <event>', event one of: {})", phrases.join(", ")))
        })?;
        Ok(OrderPoint { peer: peer.to_string(), what, text: text.to_string() })
    }

    /// Orders that no run can satisfy: a peer that answers before any offer reached it, or a peer
    /// that can never offer (not the offerer, no step that makes it offer, nothing of its own to
    /// renegotiate).
    fn check_order(&self, points: &[OrderPoint], e: &Spanned<ExpectDecl>, offerer: &str, peers: &[PeerSpec], steps: &[Step]) -> Result<(), LoadError> {
        // An auto-negotiating peer with media of its own may offer to renegotiate after answering.
        let renegotiates = |peer: &str| peers.iter().any(|p| p.name == peer && p.negotiation == Negotiation::Auto && (!p.media.is_empty() || !p.data_channels.is_empty()));
        let offers_possible = |peer: &str| {
            peer == offerer
                || renegotiates(peer)
                || steps.iter().any(|s| {
                    matches!(&s.kind, StepKind::Do { peer: p, action } if p == peer
                    && matches!(action, Action::SendOffer | Action::RestartIce | Action::AddTrack(_)
                        | Action::CreateDataChannel { .. } | Action::Start))
                })
        };
        for (i, p) in points.iter().enumerate() {
            if p.what == OrderWhat::SendsOffer && !offers_possible(&p.peer) {
                return Err(self.err(&e.referenced, format!("impossible order: '{}' but '{}' is not the offerer and no step makes it offer", p.text, p.peer)));
            }
            if p.what == OrderWhat::SendsAnswer {
                let offer_first = points[i + 1..]
                    .iter()
                    .any(|q| q.peer != p.peer && q.what == OrderWhat::SendsOffer && !points[..i].iter().any(|r| r.what == OrderWhat::SendsOffer && r.peer != p.peer));
                if offer_first {
                    return Err(self.err(
                        &e.referenced,
                        format!("impossible order: '{}' comes before the offer it answers (an answer only follows an offer, RFC 8829 section 4.1.10)", p.text),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A track or media expectation at `at` needs the other peer to send that kind.
    fn check_sent(&self, at: &str, kind: MediaKind, peers: &[PeerSpec], steps: &[Step], e: &Spanned<ExpectDecl>) -> Result<(), LoadError> {
        let Some(other) = peers.iter().find(|p| p.name != at) else { return Ok(()) };
        let sends = other.media.contains(&kind)
            || steps.iter().any(|s| {
                matches!(&s.kind,
                StepKind::Do { peer, action: Action::AddTrack(k) } if *peer == other.name && *k == kind)
            });
        if sends {
            Ok(())
        } else {
            Err(self.err(&e.referenced, format!("'{at}' can never receive {kind}: '{}' has no {kind} in its media and no add_track step adds one", other.name)))
        }
    }
}

/// A `stats` bound as written (`200ms`, `5%`, `20`, `1200kbps`) in the metric's internal unit
/// (ms, fraction, frames per second, bits per second; [`Metric::unit`]).
fn metric_value(metric: Metric, s: &str) -> Result<f64, ValueError> {
    match metric {
        Metric::Rtt | Metric::Jitter => parse_duration(s).map(|d| d.as_secs_f64() * 1000.0),
        Metric::Loss => parse_percent(s),
        Metric::Fps => s.trim().parse::<f64>().map_err(|_| ValueError(format!("'{s}' is not a number of frames per second"))),
        Metric::Bitrate => parse_rate(s).map(|b| b as f64),
    }
}

/// A bound as written, in ms.
fn ms(d: Option<std::time::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1000.0)
}
