//! `collect_stats`: str0m has no getStats(); its stats events (`MediaIngressStats`,
//! `MediaEgressStats`, `PeerStats`, at the interval set in case.rs) are kept and summarized in
//! W3C webrtc-stats names and units (PROTOCOL.md "stats.summary"), each figure only where str0m
//! has it.

use std::collections::HashMap;

use serde_json::{json, Value};
use str0m::media::{MediaKind, Mid};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};

use crate::case::Case;

#[derive(Default)]
pub struct StatsState {
    ingress: HashMap<Mid, MediaIngressStats>,
    egress: HashMap<Mid, MediaEgressStats>,
    peer: Option<PeerStats>,
}

impl StatsState {
    pub fn ingress(&mut self, s: MediaIngressStats) {
        self.ingress.insert(s.mid, s);
    }

    pub fn egress(&mut self, s: MediaEgressStats) {
        self.egress.insert(s.mid, s);
    }

    pub fn peer(&mut self, s: PeerStats) {
        self.peer = Some(s);
    }
}

fn codec(kind: MediaKind) -> (&'static str, &'static str, f64) {
    if kind == MediaKind::Audio {
        ("audio", "audio/opus", 48_000.0)
    } else {
        ("video", "video/VP8", 90_000.0)
    }
}

impl Case {
    fn kind_of_mid(&self, mid: Mid) -> Option<MediaKind> {
        self.rtc.media(mid).map(|m| m.kind())
    }

    /// The summary: inbound and outbound RTP per mid, and the selected pair.
    pub fn stats_summary(&self) -> Value {
        let mut inbound = Vec::new();
        for s in self.stats.ingress.values() {
            let Some(kind) = self.kind_of_mid(s.mid) else { continue };
            let (name, mime, rate) = codec(kind);
            // str0m's jitter is the RTCP receiver report's, in RTP timestamp units (RFC 3550
            // 6.4.1): seconds are that over the clock rate.
            let mut entry = json!({"kind": name, "packetsReceived": s.packets, "bytesReceived": s.bytes, "jitter": s.jitter as f64 / rate, "codec": mime});
            if let Some(lost) = self.audio_packets_lost(s.mid) {
                entry["packetsLost"] = lost.into();
            }
            inbound.push(entry);
        }
        let mut outbound = Vec::new();
        for s in self.stats.egress.values() {
            let Some(kind) = self.kind_of_mid(s.mid) else { continue };
            let (name, mime, _) = codec(kind);
            outbound.push(json!({"kind": name, "packetsSent": s.packets, "bytesSent": s.bytes, "codec": mime}));
        }
        let pair = self.stats.peer.as_ref().and_then(|p| p.selected_candidate_pair.as_ref()).map(|p| {
            let remote = self.sig.remote_types.iter().find(|(a, _)| *a == p.remote.addr).map(|(_, t)| t.clone()).unwrap_or_else(|| "prflx".into());
            json!({
                // Host and server-reflexive candidates only (no TURN).
                "local": if self.sig.srflx.contains(&p.local.addr) { "srflx/udp" } else { "host/udp" },
                "remote": format!("{remote}/udp"),
                "currentRoundTripTime": p.current_round_trip_time.map(|d| d.as_secs_f64()),
            })
        });
        json!({"inbound_rtp": inbound, "outbound_rtp": outbound, "candidate_pair": pair})
    }

    /// Answered after the `close` action too: a stats event is allowed then (the invariant of
    /// PROTOCOL.md "After the close action" lets it through).
    pub fn collect_stats(&self) {
        self.emit_always(json!({"type": "stats", "summary": self.stats_summary()}));
    }
}
