//! VP8 frame assembly from RTP (RFC 7741) with a small reorder buffer, and the keyframe header
//! (RFC 6386 section 9.1).
//!
//! A pure core: packets in (with their arrival time), whole frames out in sequence order.

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a gap in the sequence is waited for (a NACKed packet's retransmission, a reordered
/// one) before the frames behind it go on without it: about a retransmission's round trip on the
/// paths the scenarios build (up to 200 ms of added latency), and short next to a freeze.
pub const MAX_GAP_WAIT: Duration = Duration::from_millis(300);
/// As many packets held behind a gap at most (a few seconds of video at the rates used here).
pub const MAX_HELD: usize = 512;
/// A frame captured this much before the newest packet's (90 kHz RTP time: [`MAX_GAP_WAIT`]) is
/// stale: a retransmission of what was lost in an outage would show pictures seconds old.
const MAX_STALE_TICKS: u32 = 90 * 300;

/// A complete frame: its data and, for keyframes, the dimensions from the frame header.
#[derive(Debug, PartialEq)]
pub struct Frame {
    pub keyframe: Option<(u32, u32)>,
    pub data: Bytes,
    /// Packets were given up on since the previous frame: this one may refer to a frame that never
    /// arrived, so a decoder waits for a keyframe.
    pub after_loss: bool,
}

/// Reassembles VP8 frames in sequence order. A frame runs from a packet with S=1 and PID=0 to the
/// RTP marker bit, every sequence number in between present. Packets that arrive out of order or
/// late (a retransmission) fill their place; a gap is given up after [`MAX_GAP_WAIT`] or
/// [`MAX_HELD`] packets, and the frame it broke is dropped.
#[derive(Default)]
pub struct Vp8Assembler {
    /// Unwrapped sequence number -> (marker bit, payload, arrival, RTP timestamp).
    held: BTreeMap<u64, (bool, Bytes, Instant, u32)>,
    /// The unwrapped sequence number of the next packet to deliver.
    next: Option<u64>,
    newest: u64,
    /// The latest RTP timestamp seen.
    newest_ts: Option<u32>,
    lost: bool,
}

impl Vp8Assembler {
    /// Feeds one RTP packet (sequence number, marker bit, payload, RTP timestamp) arrived at `now`;
    /// returns the frames it completes, in order.
    pub fn push(&mut self, seq: u16, marker: bool, payload: &Bytes, timestamp: u32, now: Instant) -> Vec<Frame> {
        let s = self.unwrap(seq);
        match self.next {
            // A duplicate of a delivered packet, or one given up on: too late.
            Some(n) if s < n => return Vec::new(),
            Some(_) => {}
            None => self.next = Some(s),
        }
        self.newest = self.newest.max(s);
        if self.newest_ts.is_none_or(|n| ticks_after(timestamp, n) > 0) {
            self.newest_ts = Some(timestamp);
        }
        self.held.entry(s).or_insert((marker, payload.clone(), now, timestamp));
        self.drain(now)
    }

    /// The 64-bit sequence number nearest to the newest one seen (RFC 3550 section A.1's idea).
    fn unwrap(&self, seq: u16) -> u64 {
        if self.next.is_none() {
            // Room below the first one for packets that arrive before it.
            return (1 << 20) + u64::from(seq);
        }
        let base = self.newest & !0xFFFF;
        [base.wrapping_sub(1 << 16), base, base + (1 << 16)].into_iter().map(|b| b.wrapping_add(u64::from(seq))).min_by_key(|c| c.abs_diff(self.newest)).expect("three candidates")
    }

    fn drain(&mut self, now: Instant) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(next) = self.next {
            // The run of present packets from `next`, up to a marker bit.
            let mut s = next;
            let mut end = None;
            while let Some((marker, _, _, _)) = self.held.get(&s) {
                if *marker {
                    end = Some(s);
                    break;
                }
                s += 1;
            }
            if let Some(end) = end {
                let packets: Vec<(Bytes, u32)> = (next..=end).filter_map(|k| self.held.remove(&k)).map(|(_, p, _, ts)| (p, ts)).collect();
                self.next = Some(end + 1);
                let stale = self.newest_ts.is_some_and(|n| ticks_after(n, packets[0].1) > MAX_STALE_TICKS as i64);
                match frame_data(&packets).filter(|_| !stale) {
                    Some(data) => out.push(Frame { keyframe: keyframe_size(&data), data, after_loss: std::mem::take(&mut self.lost) }),
                    // Its start was given up on (or never came), or it is stale: nothing to show.
                    None => self.lost = true,
                }
                continue;
            }
            // `s` is missing: wait for it, or give it up.
            let oldest = self.held.values().map(|(_, _, at, _)| *at).min();
            let waited = oldest.is_some_and(|t| now.saturating_duration_since(t) >= MAX_GAP_WAIT);
            if !waited && self.held.len() <= MAX_HELD {
                break;
            }
            let resume = self.held.range(s + 1..).next().map(|(k, _)| *k);
            self.held.retain(|k, _| resume.is_some_and(|r| *k >= r));
            self.next = Some(resume.unwrap_or(s));
            self.lost = true;
            if resume.is_none() {
                break;
            }
        }
        out
    }
}

/// How far RTP timestamp `a` is after `b` (negative: before), across the 32-bit wrap.
fn ticks_after(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// The VP8 payload of a frame's packets, if the first one starts the frame (S=1, PID=0).
fn frame_data(packets: &[(Bytes, u32)]) -> Option<Bytes> {
    let mut buf = BytesMut::new();
    for (i, (payload, _)) in packets.iter().enumerate() {
        let mut pkt = Vp8Packet::default();
        let data = pkt.depacketize(payload).ok()?;
        if i == 0 && !(pkt.s == 1 && pkt.pid == 0) {
            return None;
        }
        buf.extend_from_slice(&data);
    }
    Some(buf.freeze())
}

/// Width and height of a VP8 keyframe: the 3-byte frame tag has bit 0 clear for keyframes,
/// followed by the start code 9d 01 2a and two little-endian 14-bit dimensions.
pub fn keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((width as u32, height as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyframe(w: u16, h: u16) -> Vec<u8> {
        let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        f.extend_from_slice(&w.to_le_bytes());
        f.extend_from_slice(&h.to_le_bytes());
        f.extend_from_slice(&[0u8; 20]);
        f
    }

    /// VP8 payload descriptor: X=0, S as given, PID 0.
    fn packet(start: bool, data: &[u8]) -> Bytes {
        let mut p = vec![if start { 0x10 } else { 0x00 }];
        p.extend_from_slice(data);
        Bytes::from(p)
    }

    /// One frame's worth of RTP time (30 fps) per sequence number, counted from 65,534 so that
    /// the wrap of the sequence number is not a jump back in time.
    fn ts(seq: u32) -> u32 {
        ((seq + 2) % 65_536) * 3000
    }

    #[test]
    fn reads_keyframe_dimensions() {
        assert_eq!(keyframe_size(&keyframe(320, 240)), Some((320, 240)));
        let mut inter = keyframe(320, 240);
        inter[0] |= 1;
        assert_eq!(keyframe_size(&inter), None);
        assert_eq!(keyframe_size(&[0u8; 4]), None);
    }

    #[test]
    fn assembles_across_packets_in_any_order_and_ignores_duplicates() {
        let t = Instant::now();
        let kf = keyframe(640, 480);
        let mut a = Vp8Assembler::default();
        assert!(a.push(1, false, &packet(true, &kf[..10]), ts(1), t).is_empty());
        let f = a.push(2, true, &packet(false, &kf[10..]), ts(2), t);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].keyframe, &f[0].data[..], f[0].after_loss), (Some((640, 480)), &kf[..], false));
        // The next frame's packets swapped: it comes out once both are in.
        assert!(a.push(4, true, &packet(false, &kf[10..]), ts(4), t).is_empty());
        assert_eq!(a.push(3, false, &packet(true, &kf[..10]), ts(3), t).len(), 1);
        // A duplicate of a delivered packet is dropped.
        assert!(a.push(3, false, &packet(true, &kf[..10]), ts(3), t).is_empty());
    }

    #[test]
    fn a_retransmission_fills_its_gap_and_later_frames_wait_for_it() {
        let t = Instant::now();
        let mut a = Vp8Assembler::default();
        assert_eq!(a.push(10, true, &packet(true, &[1; 6]), ts(10), t).len(), 1);
        // 11 is lost for now; 12 (a whole frame) waits behind it.
        assert!(a.push(12, true, &packet(true, &[5; 6]), ts(12), t).is_empty());
        let f = a.push(11, true, &packet(true, &[3; 6]), ts(11), t + Duration::from_millis(40));
        assert_eq!(f.iter().map(|f| f.data[0]).collect::<Vec<_>>(), vec![3, 5]);
        assert!(f.iter().all(|f| !f.after_loss));
    }

    #[test]
    fn a_gap_is_given_up_after_the_wait_and_the_next_frame_says_so() {
        let t = Instant::now();
        let mut a = Vp8Assembler::default();
        a.push(65_534, true, &packet(true, &[1; 6]), ts(65_534), t);
        // 65,535 never comes; 0 and 1 (after the wrap) form a frame.
        assert!(a.push(0, false, &packet(true, &[2; 6]), ts(0), t).is_empty());
        assert!(a.push(1, true, &packet(false, &[3; 6]), ts(1), t + Duration::from_millis(10)).is_empty());
        let f = a.push(2, true, &packet(true, &[4; 6]), ts(2), t + MAX_GAP_WAIT);
        assert_eq!(f.iter().map(|f| (f.data.to_vec(), f.after_loss)).collect::<Vec<_>>(), vec![([[2; 6], [3; 6]].concat(), true), ([4; 6].to_vec(), false)]);
        // A frame whose first packet was lost is dropped, and the one after says so.
        let later = t + MAX_GAP_WAIT * 3;
        assert!(a.push(4, true, &packet(false, &[9; 6]), ts(4), later).is_empty());
        let f = a.push(5, true, &packet(true, &[7; 6]), ts(5), later + MAX_GAP_WAIT);
        assert_eq!(f.iter().map(|f| (f.data.to_vec(), f.after_loss)).collect::<Vec<_>>(), vec![([7; 6].to_vec(), true)]);
    }

    #[test]
    fn a_stale_frame_is_dropped_not_shown() {
        let t = Instant::now();
        let mut a = Vp8Assembler::default();
        assert_eq!(a.push(1, true, &packet(true, &[1; 6]), 0, t).len(), 1);
        // After an outage, 3 (a second later in RTP time) arrives first; the retransmitted 2, a
        // frame from before the outage, fills the gap but is too old to show.
        assert!(a.push(3, true, &packet(true, &[3; 6]), 90_000, t).is_empty());
        let f = a.push(2, true, &packet(true, &[2; 6]), 3000, t);
        assert_eq!(f.iter().map(|f| (f.data.to_vec(), f.after_loss)).collect::<Vec<_>>(), vec![([3; 6].to_vec(), true)]);
    }
}
