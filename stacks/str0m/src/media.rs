//! Media both ways. Sending: the fixtures written frame by frame with str0m's `Writer`, which
//! packetizes VP8 (RFC 7741) and Opus (RFC 7587) itself. Receiving: str0m's `Event::MediaData`
//! is a depacketized frame (video) or packet (audio), counted for the protocol's media events.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid};

use crate::case::Case;
use crate::fixtures::{self, Samples};
use crate::proto::log;

/// One local track: a fixture looped in real time on a mid.
struct Source {
    mid: Mid,
    kind: MediaKind,
    samples: Samples,
    idx: usize,
    last_key: usize,
    rtp: u64,
    next_at: Instant,
    /// A keyframe request (PLI, FIR: RFC 4585 6.3.1, RFC 5104 4.3.1) goes back to the last keyframe.
    rewind: bool,
}

/// One remote track, as far as its media events go.
struct Receiver {
    kind: MediaKind,
    count: u64,
    first: bool,
    first_data: Instant,
    last_pli: Option<Instant>,
    /// Audio: the first and highest extended RTP sequence numbers delivered, for packetsLost
    /// (below; `count` is the packets delivered).
    seq: Option<(u64, u64)>,
}

#[derive(Default)]
pub struct MediaState {
    sources: Vec<Source>,
    receivers: HashMap<Mid, Receiver>,
    connected: bool,
    stopped: bool,
}

impl MediaState {
    /// When the next frame is due; none before str0m is connected (it drops what is written
    /// before: `Writer::write` "If you write media before IceConnectionState is Connected it will
    /// be dropped"), so the first frame sent is the fixture's first keyframe.
    pub fn next_due(&self) -> Option<Instant> {
        if !self.connected || self.stopped {
            return None;
        }
        self.sources.iter().map(|s| s.next_at).min()
    }

    pub fn on_connected(&mut self) {
        self.connected = true;
        let now = Instant::now();
        for s in &mut self.sources {
            s.next_at = now;
        }
    }

    pub fn keyframe_requested(&mut self, mid: Mid) {
        for s in self.sources.iter_mut().filter(|s| s.mid == mid) {
            s.rewind = true;
        }
    }

    pub fn stop(&mut self) {
        self.stopped = true;
    }
}

fn kind_name(k: MediaKind) -> &'static str {
    if k == MediaKind::Audio {
        "audio"
    } else {
        "video"
    }
}

/// A keyframe's 3-byte frame tag, the start code 9d 01 2a, then the 14-bit width and height
/// (RFC 6386 section 9.1).
fn keyframe_size(f: &[u8]) -> Option<(u16, u16)> {
    if f.len() < 10 || f[0] & 0x01 != 0 || f[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    Some((u16::from_le_bytes([f[6], f[7]]) & 0x3fff, u16::from_le_bytes([f[8], f[9]]) & 0x3fff))
}

impl Case {
    /// Starts sending a fixture on a mid this peer sends on.
    pub fn attach_source(&mut self, mid: Mid, kind: MediaKind) {
        let name = kind_name(kind);
        let path = if kind == MediaKind::Audio { &self.cfg.media_files.audio } else { &self.cfg.media_files.video };
        match fixtures::load(name, path) {
            Ok(samples) => {
                log(&format!("sending {name} on mid {mid}"));
                let next_at = Instant::now();
                self.media.sources.push(Source { mid, kind, samples, idx: 0, last_key: 0, rtp: 0, next_at, rewind: false });
            }
            Err(e) => self.emit(json!({"type": "error", "context": "media", "message": e})),
        }
    }

    /// `Event::MediaAdded`: an m-section the remote offered (logged: the answerer's media are
    /// attached from the offer itself, negotiation.rs).
    pub fn on_media_added(&mut self, mid: Mid, kind: MediaKind, dir: Direction) {
        log(&format!("str0m: remote media {kind} on mid {mid}, {dir}"));
    }

    /// Writes every frame that is due (the single-mutation invariant: each write is drained).
    pub fn send_due_media(&mut self) {
        let now = Instant::now();
        for i in 0..self.media.sources.len() {
            while self.media.sources[i].next_at <= now && !self.media.stopped {
                self.write_next(i, now);
                self.drive();
            }
        }
    }

    fn write_next(&mut self, i: usize, now: Instant) {
        let s = &mut self.media.sources[i];
        if s.rewind {
            s.rewind = false;
            s.idx = s.last_key;
        }
        let sample = &s.samples[s.idx];
        if sample.key {
            s.last_key = s.idx;
        }
        let (codec, freq) = if s.kind == MediaKind::Audio { (Codec::Opus, Frequency::FORTY_EIGHT_KHZ) } else { (Codec::Vp8, Frequency::NINETY_KHZ) };
        let (mid, data, rtp, ticks) = (s.mid, sample.data.clone(), s.rtp, sample.ticks);
        s.idx = (s.idx + 1) % s.samples.len();
        s.rtp += ticks;
        let dur = Duration::from_micros(ticks * 1_000_000 / freq.get() as u64);
        // After a stall (a busy machine), go on from now rather than burst to catch up.
        s.next_at = if now.duration_since(s.next_at) > Duration::from_millis(200) { now + dur } else { s.next_at + dur };
        let Some(writer) = self.rtc.writer(mid) else { return };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt()) else {
            log(&format!("mid {mid}: no {codec:?} payload type negotiated"));
            return;
        };
        if let Err(e) = writer.write(pt, now, MediaTime::new(rtp, freq), data) {
            log(&format!("write on mid {mid}: {e}"));
        }
    }

    /// Audio packets lost on `mid` as RFC 3550 section 6.4.1 counts them (and webrtc-stats'
    /// `packetsLost`): expected (highest extended sequence number - first + 1) minus received.
    /// str0m 0.25 keeps no such count (`MediaIngressStats` has only `loss`, the fraction of the
    /// last receiver report's interval), so the adapter counts what str0m delivers: an audio
    /// `MediaData` is one packet. Not for video, whose incomplete frames str0m drops whole.
    pub fn audio_packets_lost(&self, mid: Mid) -> Option<i64> {
        let r = self.media.receivers.get(&mid).filter(|r| r.kind == MediaKind::Audio)?;
        let (first, highest) = r.seq?;
        Some((highest - first + 1) as i64 - r.count as i64)
    }

    /// `Event::MediaData`: `track` on a remote track's first data (str0m has no track event for
    /// the m-sections this peer offered), then first_frame / first_packet and media_progress.
    pub fn on_media_data(&mut self, d: MediaData) {
        let kind = if d.params.spec().codec.is_audio() { MediaKind::Audio } else { MediaKind::Video };
        let name = kind_name(kind);
        let now = Instant::now();
        let quiet = self.quiet;
        let events = &self.events;
        let r = self.media.receivers.entry(d.mid).or_insert_with(|| {
            if !quiet {
                crate::case::send_event(events, json!({"type": "track", "kind": name}));
            }
            Receiver { kind, count: 0, first: false, first_data: now, last_pli: None, seq: None }
        });
        let mut out = Vec::new();
        if kind == MediaKind::Audio {
            let (lo, hi) = (**d.seq_range.start(), **d.seq_range.end());
            r.seq = Some(r.seq.map_or((lo, hi), |(first, highest)| (first.min(lo), highest.max(hi))));
            r.count += 1;
            if r.count == 1 {
                out.push(json!({"type": "first_packet", "kind": "audio"}));
            }
            if r.count.is_multiple_of(50) {
                out.push(json!({"type": "media_progress", "kind": "audio", "count": r.count}));
            }
        } else if !r.first {
            // The first frame is the first complete keyframe (PROTOCOL.md "Events": a stack that
            // does not decode); frames before it are not counted.
            if let Some((w, h)) = keyframe_size(&d.data) {
                r.first = true;
                r.count = 1;
                out.push(json!({"type": "first_frame", "kind": "video", "width": w, "height": h}));
            }
        } else {
            r.count += 1;
            if r.count.is_multiple_of(10) {
                out.push(json!({"type": "media_progress", "kind": "video", "count": r.count}));
            }
        }
        for ev in out {
            self.emit(ev);
        }
    }

    /// Until a video track's first keyframe, a PLI every 500 ms from 500 ms after its first data
    /// (RFC 4585 section 6.3.1): str0m sends none by itself, and a sender whose first keyframe
    /// was lost would send none again.
    pub fn request_keyframes(&mut self) {
        let now = Instant::now();
        let due: Vec<Mid> = self
            .media
            .receivers
            .iter_mut()
            .filter(|(_, r)| r.kind == MediaKind::Video && !r.first && now.duration_since(r.first_data) >= Duration::from_millis(500))
            .filter(|(_, r)| r.last_pli.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(500)))
            .map(|(mid, r)| {
                r.last_pli = Some(now);
                *mid
            })
            .collect();
        for mid in due {
            if let Some(mut w) = self.rtc.writer(mid) {
                if w.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
                    if let Err(e) = w.request_keyframe(None, KeyframeRequestKind::Pli) {
                        log(&format!("PLI on mid {mid}: {e}"));
                    }
                }
            }
            self.drive();
        }
    }
}
