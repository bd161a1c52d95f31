//! Offers, answers and candidates through the relay, strictly in order (PROTOCOL.md "The flow").
//! str0m has no RTCPeerConnection: `SdpApi` collects changes and `apply()` makes the offer (RFC
//! 8829 5.2), `accept_offer` sets the remote offer and makes the answer in one call (RFC 8829
//! 5.3), `accept_answer` sets the answer. There is no negotiationneeded event, so an auto peer
//! offers when it has changes and is stable (PROTOCOL.md "Offers": a stack without the event
//! offers on start and on the changes that would set the flag, and invents no event).

use std::net::SocketAddr;
use std::time::Instant;

use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, Reliability};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::Candidate;

use crate::case::Case;
use crate::proto::{log, ChannelSpec};
use crate::stun;

/// A local change waiting for an offer: what webrtc-pc 4.7.3 would set negotiation-needed for.
#[derive(Clone)]
pub enum Change {
    Media(MediaKind),
    /// A channel and whether it is this peer's own (greets, is not echoed).
    Channel(ChannelSpec),
}

/// Our offer in flight: str0m's pending offer and the changes it carries, with their mids.
pub struct InFlight {
    pending: SdpPendingOffer,
    media: Vec<(MediaKind, Mid)>,
    changes: Vec<Change>,
}

pub struct Signaling {
    /// Changes not in any offer yet.
    pub wanted: Vec<Change>,
    in_flight: Option<InFlight>,
    /// Attached media and created channels (`start`, or the first remote offer).
    pub started: bool,
    have_remote: bool,
    /// Remote candidates that came before any remote description (PROTOCOL.md "Remote candidates").
    queued: Vec<Value>,
    /// Host candidates added to the `Rtc` (the adapter is str0m's gatherer).
    pub gathered: bool,
    pub host_addrs: Vec<SocketAddr>,
    /// The first mid and ice-ufrag of the description sent last, for trickled candidates.
    pub mid: String,
    pub ufrag: String,
    /// The remote candidates' types by address, for the stats' candidate pair.
    pub remote_types: Vec<(SocketAddr, String)>,
    /// The local server-reflexive addresses gathered, for the same.
    pub srflx: Vec<SocketAddr>,
    pub stun_servers: Vec<SocketAddr>,
    pub stun: stun::Pending,
}

impl Signaling {
    pub fn new(host_addrs: Vec<SocketAddr>, stun_servers: Vec<SocketAddr>) -> Self {
        Signaling {
            wanted: Vec::new(),
            in_flight: None,
            started: false,
            have_remote: false,
            queued: Vec::new(),
            gathered: false,
            host_addrs,
            mid: String::new(),
            ufrag: String::new(),
            remote_types: Vec::new(),
            srflx: Vec::new(),
            stun_servers,
            stun: stun::Pending::default(),
        }
    }
}

pub fn kind_of(name: &str) -> Option<MediaKind> {
    match name {
        "audio" => Some(MediaKind::Audio),
        "video" => Some(MediaKind::Video),
        _ => None,
    }
}

/// The W3C RTCDataChannelInit of a configuration item as str0m's `ChannelConfig`.
fn channel_config(spec: &ChannelSpec) -> ChannelConfig {
    let reliability = match (spec.max_retransmits, spec.max_packet_life_time) {
        (Some(n), _) => Reliability::MaxRetransmits { retransmits: n },
        (None, Some(ms)) => Reliability::MaxPacketLifetime { lifetime: ms },
        _ => Reliability::Reliable,
    };
    ChannelConfig {
        label: spec.label.clone(),
        ordered: spec.ordered.unwrap_or(true),
        reliability,
        negotiated: if spec.is_negotiated() { spec.id } else { None },
        protocol: spec.protocol.clone().unwrap_or_default(),
    }
}

/// The first m-section's mid and the ice-ufrag in force for it (media level, else session
/// level: RFC 8839 section 5.4).
fn first_mid_and_ufrag(sdp: &str) -> (String, String) {
    let (mut mid, mut ufrag, mut session_ufrag, mut section) = (String::new(), String::new(), String::new(), -1);
    for l in sdp.lines() {
        if l.starts_with("m=") {
            section += 1;
            if section > 0 {
                break;
            }
        } else if let Some(v) = l.strip_prefix("a=ice-ufrag:") {
            if section < 0 {
                session_ufrag = v.to_string()
            } else {
                ufrag = v.to_string()
            }
        } else if let Some(v) = l.strip_prefix("a=mid:") {
            mid = v.to_string();
        }
    }
    (mid, if ufrag.is_empty() { session_ufrag } else { ufrag })
}

/// The offered audio and video sections this side may send on (not rejected with port 0, not
/// sendonly or inactive: RFC 8829 5.3.1 answers those recvonly or inactive), with their mids.
fn offered_sections(sdp: &str) -> Vec<(MediaKind, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(MediaKind, String, bool)> = None;
    let mut flush = |cur: &mut Option<(MediaKind, String, bool)>| {
        if let Some((k, mid, ok)) = cur.take() {
            if ok && !mid.is_empty() {
                out.push((k, mid));
            }
        }
    };
    for l in sdp.lines() {
        if let Some(m) = l.strip_prefix("m=") {
            flush(&mut cur);
            let mut parts = m.split(' ');
            let kind = parts.next().and_then(kind_of);
            let open = parts.next() != Some("0");
            cur = kind.map(|k| (k, String::new(), open));
        } else if let Some((_, mid, ok)) = cur.as_mut() {
            if let Some(v) = l.strip_prefix("a=mid:") {
                *mid = v.trim().to_string();
            } else if l == "a=sendonly" || l == "a=inactive" {
                *ok = false;
            }
        }
    }
    flush(&mut cur);
    out
}

impl Case {
    /// Offers for the wanted changes when it may: an auto peer on its own (str0m has no
    /// negotiationneeded), any peer for `send_offer` (`forced`). Channels added once the SCTP
    /// association is negotiated need no offer: str0m opens them at once (DCEP, RFC 8832).
    pub fn negotiate(&mut self, context: &str, forced: bool) {
        if self.sig.in_flight.is_some() || self.signaling() != "stable" || self.quiet {
            return;
        }
        if self.sig.wanted.is_empty() {
            if forced {
                // SdpApi::apply() returns None without a change: str0m cannot make an offer that
                // only repeats the session (webrtc-pc createOffer can).
                self.emit(json!({"type": "error", "context": context, "message": "str0m 0.25.0 makes an offer only for a change (SdpApi::apply returns None without one)"}));
            }
            return;
        }
        let needs_offer = self.sig.wanted.iter().any(|c| matches!(c, Change::Media(_))) || !self.has_app();
        if needs_offer && !forced && !self.cfg.auto_negotiate {
            return;
        }
        if needs_offer {
            self.emit(json!({"type": "create_offer"}));
            if !self.cfg.trickle {
                // Without trickle the offer carries its candidates (RFC 8838 section 3).
                self.gather();
            }
        }
        let changes: Vec<Change> = std::mem::take(&mut self.sig.wanted);
        let stream_id = format!("str0m-{}", self.cfg.name);
        let mut api = self.rtc.sdp_api();
        let mut media = Vec::new();
        let mut channels = Vec::new();
        for c in &changes {
            match c {
                Change::Media(kind) => {
                    let track = format!("{}-{}", kind, media.len());
                    media.push((*kind, api.add_media(*kind, Direction::SendRecv, Some(stream_id.clone()), Some(track), None)));
                }
                Change::Channel(spec) => channels.push((api.add_channel_with_config(channel_config(spec)), spec.clone())),
            }
        }
        let applied = api.apply();
        for (id, spec) in channels {
            self.chans.own(id, spec);
        }
        match applied {
            Some((offer, pending)) => {
                self.sig.in_flight = Some(InFlight { pending, media, changes });
                self.set_signaling("have-local-offer");
                self.send_description("offer", &offer.to_sdp_string());
            }
            None => log("channels opened on the negotiated SCTP association, no offer needed"),
        }
        self.drive();
    }

    /// Whether the session has its m=application section (str0m's `session.app()`, not public:
    /// read from the descriptions).
    fn has_app(&self) -> bool {
        self.chans.app_negotiated
    }

    /// The local description is in force: reported, then sent (with trickle at once, then the
    /// candidates; without trickle it already carries them: PROTOCOL.md "Candidates").
    fn send_description(&mut self, typ: &str, sdp: &str) {
        if sdp.contains("m=application") {
            self.chans.app_negotiated = true;
        }
        self.emit(json!({"type": "local_description", "sdp_type": typ, "sdp": sdp}));
        let (mid, ufrag) = first_mid_and_ufrag(sdp);
        self.sig.mid = mid;
        self.sig.ufrag = ufrag;
        self.relay.send(&json!({"desc": {"type": typ, "sdp": sdp}}));
        if self.cfg.trickle {
            self.gather();
        }
    }

    /// A relay frame: an error of the relay, a description or a candidate.
    pub fn on_relay(&mut self, text: &str) {
        let arrived = Instant::now();
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            log(&format!("relay: not JSON: {text}"));
            return;
        };
        if self.quiet {
            return;
        }
        if let Some(err) = msg.get("error") {
            self.emit(json!({"type": "error", "context": "relay", "message": err.to_string()}));
        } else if let Some(desc) = msg.get("desc") {
            let typ = desc.get("type").and_then(Value::as_str).unwrap_or("");
            let sdp = desc.get("sdp").and_then(Value::as_str).unwrap_or("");
            let result = match typ {
                "offer" => self.on_offer(sdp, arrived),
                "answer" => self.on_answer(sdp, arrived),
                other => Err(format!("str0m 0.25.0 has no '{other}' description (no pranswer, no rollback in SdpApi)")),
            };
            if let Err(e) = result {
                self.emit(json!({"type": "error", "context": "signaling", "message": e}));
            }
            self.drive();
        } else if let Some(cand) = msg.get("candidate") {
            if self.sig.have_remote {
                self.add_remote_candidate(cand.clone());
            } else {
                self.sig.queued.push(cand.clone());
            }
        }
    }

    /// A remote offer: str0m's `accept_offer` applies it and makes the answer. An offer of ours in
    /// flight is dropped by it ("Pending changes ... considered rolled back"): an implicit
    /// rollback (webrtc-pc 4.4.1.5), reported so, its changes wanted again.
    fn on_offer(&mut self, sdp: &str, arrived: Instant) -> Result<(), String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| format!("str0m cannot parse the offer: {e}"))?;
        if let Some(f) = self.sig.in_flight.take() {
            self.emit(json!({"type": "rollback", "implicit": true}));
            let mut again = f.changes;
            again.append(&mut self.sig.wanted);
            self.sig.wanted = again;
        }
        let first = !self.sig.started;
        self.sig.started = true;
        if !self.cfg.trickle {
            self.gather();
        }
        if sdp.contains("m=application") {
            self.chans.app_negotiated = true;
        }
        let start = Instant::now();
        let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|e| e.to_string())?;
        self.remote_set("offer", sdp, arrived, start, "have-remote-offer");
        let mut missing = Vec::new();
        if first {
            // PROTOCOL.md "When an answerer creates its data channels", rule 2: the media and the
            // negotiated channels of a peer not started. str0m answers each offered m-section
            // with the inverse of its direction (sendrecv for sendrecv, change/sdp.rs
            // add_new_lines), so each kind goes on the first offered section of that kind that
            // lets this side send; a kind the offer has none for needs an offer of ours.
            let mut sections = offered_sections(sdp);
            let kinds: Vec<MediaKind> = self.cfg.media.iter().filter_map(|m| kind_of(m)).collect();
            for kind in kinds {
                match sections.iter().position(|(k, _)| *k == kind) {
                    Some(i) => {
                        let (_, mid) = sections.remove(i);
                        self.attach_source(Mid::from(mid.as_str()), kind);
                    }
                    None => missing.push(Change::Media(kind)),
                }
            }
            let negotiated: Vec<ChannelSpec> = self.cfg.data_channels.iter().filter(|c| c.is_negotiated()).cloned().collect();
            self.sig.wanted.extend(negotiated.into_iter().map(Change::Channel));
        }
        self.set_signaling("stable");
        self.send_description("answer", &answer.to_sdp_string());
        self.drive();
        // A kind the offer had no m-section for needs an offer of ours (as aiortc's adapter does).
        self.sig.wanted.extend(missing);
        self.negotiate("negotiationneeded offer", false);
        Ok(())
    }

    /// After str0m took a remote description (at `start`, queued since `arrived`): the signaling
    /// state it leads to, the `remote_description` event with both times, and the candidates that
    /// waited for their description (RFC 8838 section 4.2).
    fn remote_set(&mut self, sdp_type: &str, sdp: &str, arrived: Instant, start: Instant, state: &str) {
        let apply_ms = start.elapsed().as_secs_f64() * 1000.0;
        self.sig.have_remote = true;
        self.set_signaling(state);
        let queued_ms = start.duration_since(arrived).as_secs_f64() * 1000.0;
        self.emit(json!({"type": "remote_description", "sdp_type": sdp_type, "sdp": sdp, "queued_ms": queued_ms, "apply_ms": apply_ms}));
        self.apply_queued_candidates();
    }

    /// A remote answer to our offer in flight: `accept_answer`; the media of the offer get their
    /// sources on their mids.
    fn on_answer(&mut self, sdp: &str, arrived: Instant) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("str0m cannot parse the answer: {e}"))?;
        let Some(f) = self.sig.in_flight.take() else {
            return Err("an answer without an offer of ours in flight".into());
        };
        let start = Instant::now();
        self.rtc.sdp_api().accept_answer(f.pending, answer).map_err(|e| e.to_string())?;
        self.remote_set("answer", sdp, arrived, start, "stable");
        for (kind, mid) in f.media {
            self.attach_source(mid, kind);
        }
        self.drive();
        self.negotiate("negotiationneeded offer", false);
        Ok(())
    }

    fn apply_queued_candidates(&mut self) {
        for c in std::mem::take(&mut self.sig.queued) {
            self.add_remote_candidate(c);
        }
    }

    /// `addIceCandidate`: str0m's `add_remote_candidate` (it never ends a generation, so an
    /// end-of-candidates, null or Firefox's "", has no call: acknowledged here, RFC 8838 4.4).
    fn add_remote_candidate(&mut self, c: Value) {
        let line = c.get("candidate").and_then(Value::as_str).unwrap_or("").to_string();
        if c.is_null() || line.trim_start_matches("candidate:").is_empty() {
            self.emit(json!({"type": "remote_candidate", "candidate": ""}));
            return;
        }
        match Candidate::from_sdp_string(&line) {
            Ok(cand) => {
                self.sig.remote_types.push((cand.addr(), cand.kind().to_string()));
                self.rtc.add_remote_candidate(cand);
                self.drive();
                self.emit(json!({"type": "remote_candidate", "candidate": line}));
            }
            Err(e) => self.emit(json!({"type": "error", "context": "addIceCandidate", "message": format!("str0m: {e}: {line}")})),
        }
    }
}
