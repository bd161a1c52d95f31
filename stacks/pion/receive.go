package main

// Receiving: track, first_frame (video), first_packet (audio) and media_progress (PROTOCOL.md
// "Events"). pion does not decode: a video frame is a VP8 frame reassembled here from its RTP
// packets (RFC 7741), the first frame the first complete keyframe, its size read from the
// keyframe header (RFC 6386 section 9.1).

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// onTrack: pion fires OnTrack once per new remote track (on its first RTP packet), on a new
// goroutine, which then reads the track for as long as it lives.
func (c *Case) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	kind := t.Kind().String()
	c.emit("track", map[string]interface{}{"kind": kind})
	go func() {
		// The receiver's RTCP is read so that pion's interceptors see it.
		for {
			if _, _, err := r.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	var onPacket func(*rtp.Packet)
	if kind == "video" {
		onPacket = c.videoReceiver(uint32(t.SSRC()))
	} else {
		onPacket = c.audioReceiver()
	}
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if c.alive.Load() {
			onPacket(p)
		}
	}
}

func (c *Case) audioReceiver() func(*rtp.Packet) {
	count := 0
	return func(*rtp.Packet) {
		count++
		if count == 1 {
			c.emit("first_packet", map[string]interface{}{"kind": "audio"})
		}
		if count%50 == 0 {
			c.emit("media_progress", map[string]interface{}{"kind": "audio", "count": count})
		}
	}
}

// vp8Descriptor parses the VP8 payload descriptor (RFC 7741 section 4.2): whether the packet
// starts a frame (S=1, PID=0) and where the VP8 payload begins; ok is false when malformed.
func vp8Descriptor(p []byte) (start bool, offset int, ok bool) {
	if len(p) < 1 {
		return false, 0, false
	}
	start = p[0]&0x10 != 0 && p[0]&0x07 == 0
	offset = 1
	if p[0]&0x80 != 0 {
		if len(p) < 2 {
			return false, 0, false
		}
		flags := p[1]
		offset = 2
		if flags&0x80 != 0 { // I: PictureID, 15 bits when M is set
			if len(p) > offset && p[offset]&0x80 != 0 {
				offset += 2
			} else {
				offset++
			}
		}
		if flags&0x40 != 0 { // L: TL0PICIDX
			offset++
		}
		if flags&0x30 != 0 { // T or K: TID/Y/KEYIDX
			offset++
		}
	}
	return start, offset, offset <= len(p)
}

// keyframeSize: a keyframe's 3-byte frame tag (bit 0 clear), the start code 9d 01 2a, then the
// 14-bit width and height, little-endian (RFC 6386 section 9.1).
func keyframeSize(f []byte) (int, int, bool) {
	if len(f) < 10 || f[0]&0x01 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint16(f[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(f[8:]) & 0x3fff), true
}

type vp8Part struct {
	payload       []byte
	start, marker bool
}

// videoReceiver reassembles VP8 frames per RTP timestamp: a frame is complete with its start
// packet, its marker packet and every sequence number between. The first complete keyframe is
// the first frame; after it every complete frame with a new timestamp counts. Until then a
// keyframe is requested (PLI, RFC 4585 section 6.3.1) every 500 ms from 500 ms after the first
// packet: pion sends none by itself, and a sender whose first keyframe was lost sends none again.
func (c *Case) videoReceiver(ssrc uint32) func(*rtp.Packet) {
	pending := map[uint32]map[uint16]vp8Part{}
	var order []uint32
	done := map[uint32]bool{}
	var doneOrder []uint32
	first := false
	var firstAt, lastPLI time.Time
	count := 0
	var lastTS uint32
	return func(p *rtp.Packet) {
		if !first {
			now := time.Now()
			if firstAt.IsZero() {
				firstAt = now
			}
			if now.Sub(firstAt) >= 500*time.Millisecond && now.Sub(lastPLI) >= 500*time.Millisecond {
				lastPLI = now
				if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
					logf("PLI: %v", err)
				}
			}
		}
		ts := p.Timestamp
		if done[ts] {
			return
		}
		start, off, ok := vp8Descriptor(p.Payload)
		if !ok {
			return
		}
		frame := pending[ts]
		if frame == nil {
			frame = map[uint16]vp8Part{}
			pending[ts] = frame
			order = append(order, ts)
			if len(order) > 64 {
				delete(pending, order[0])
				order = order[1:]
			}
		}
		frame[p.SequenceNumber] = vp8Part{payload: append([]byte(nil), p.Payload[off:]...), start: start, marker: p.Marker}
		data, complete := assemble(frame)
		if !complete {
			return
		}
		delete(pending, ts)
		done[ts] = true
		doneOrder = append(doneOrder, ts)
		if len(doneOrder) > 256 {
			delete(done, doneOrder[0])
			doneOrder = doneOrder[1:]
		}
		if !first {
			w, h, ok := keyframeSize(data)
			if !ok {
				return
			}
			first = true
			c.emit("first_frame", map[string]interface{}{"kind": "video", "width": w, "height": h})
		} else if ts == lastTS {
			return
		}
		lastTS = ts
		count++
		if count%10 == 0 {
			c.emit("media_progress", map[string]interface{}{"kind": "video", "count": count})
		}
	}
}

// assemble returns the frame's payload when its packets from start to marker are all there.
func assemble(frame map[uint16]vp8Part) ([]byte, bool) {
	var startSeq, endSeq uint16
	haveStart, haveEnd := false, false
	for s, part := range frame {
		if part.start {
			startSeq, haveStart = s, true
		}
		if part.marker {
			endSeq, haveEnd = s, true
		}
	}
	if !haveStart || !haveEnd {
		return nil, false
	}
	var data []byte
	for s, n := startSeq, 0; ; s, n = s+1, n+1 {
		part, ok := frame[s]
		if !ok || n > len(frame) {
			return nil, false
		}
		data = append(data, part.payload...)
		if s == endSeq {
			return data, true
		}
	}
}
