//! VP8 frame assembly from RTP (RFC 7741) and the keyframe header (RFC 6386 section 9.1).

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

/// A complete frame: its data and, for keyframes, the dimensions from the frame header.
#[derive(Debug, PartialEq)]
pub struct Frame {
    pub keyframe: Option<(u32, u32)>,
    pub len: usize,
}

/// Reassembles VP8 frames: a frame starts at a packet with S=1 and PID=0 and ends at the RTP
/// marker bit; a sequence gap drops the frame in progress.
#[derive(Default)]
pub struct Vp8Assembler {
    buf: BytesMut,
    in_frame: bool,
    next_seq: Option<u16>,
}

impl Vp8Assembler {
    /// Feeds one RTP packet; returns a frame when this packet completes one.
    pub fn push(&mut self, seq: u16, marker: bool, payload: &Bytes) -> Option<Frame> {
        if self.next_seq.is_some_and(|n| n != seq) {
            self.in_frame = false;
            self.buf.clear();
        }
        self.next_seq = Some(seq.wrapping_add(1));
        let mut pkt = Vp8Packet::default();
        let data = pkt.depacketize(payload).ok()?;
        if pkt.s == 1 && pkt.pid == 0 {
            self.in_frame = true;
            self.buf.clear();
        }
        if !self.in_frame {
            return None;
        }
        self.buf.extend_from_slice(&data);
        if !marker {
            return None;
        }
        self.in_frame = false;
        let frame = Frame { keyframe: keyframe_size(&self.buf), len: self.buf.len() };
        self.buf.clear();
        Some(frame)
    }
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

    #[test]
    fn reads_keyframe_dimensions() {
        assert_eq!(keyframe_size(&keyframe(320, 240)), Some((320, 240)));
        let mut inter = keyframe(320, 240);
        inter[0] |= 1;
        assert_eq!(keyframe_size(&inter), None);
        assert_eq!(keyframe_size(&[0u8; 4]), None);
    }

    #[test]
    fn assembles_across_packets_and_drops_gaps() {
        let kf = keyframe(640, 480);
        let mut a = Vp8Assembler::default();
        assert_eq!(a.push(1, false, &packet(true, &kf[..10])), None);
        let f = a.push(2, true, &packet(false, &kf[10..])).expect("complete frame");
        assert_eq!(f.keyframe, Some((640, 480)));
        assert_eq!(f.len, kf.len());
        // A lost middle packet: the frame in progress is dropped, not reported.
        assert_eq!(a.push(10, false, &packet(true, &kf[..10])), None);
        assert_eq!(a.push(12, true, &packet(false, &kf[10..])), None);
    }
}
