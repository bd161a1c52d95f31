package main

// Sending: the fixtures of setup.config.media_files (VP8 in IVF, Opus in Ogg), looped in real
// time through pion's TrackLocalStaticSample, which packetizes them (RFC 7741, RFC 7587).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
)

// sample is one VP8 frame or one Opus packet with its duration.
type sample struct {
	data []byte
	dur  time.Duration
	key  bool // a VP8 keyframe (RFC 6386 section 9.1: bit 0 of the frame tag clear)
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string][]sample{}
)

// loadFixture reads a fixture once per process.
func loadFixture(kind, file string) ([]sample, error) {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	key := kind + ":" + file
	if s, ok := fixtures[key]; ok {
		return s, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var s []sample
	if kind == "video" {
		s, err = readIVF(raw)
	} else {
		s, err = readOggOpus(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	fixtures[key] = s
	return s, nil
}

// readIVF reads every frame with pion's ivfreader; the frame duration is the file's timebase
// (scale / rate seconds per frame), 30 fps when the header has none.
func readIVF(raw []byte) ([]sample, error) {
	r, h, err := ivfreader.NewWith(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	dur := time.Second / 30
	if h.TimebaseDenominator > 0 && h.TimebaseNumerator > 0 {
		dur = time.Duration(float64(time.Second) * float64(h.TimebaseNumerator) / float64(h.TimebaseDenominator))
	}
	var out []sample
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sample{data: frame, dur: dur, key: len(frame) > 0 && frame[0]&0x01 == 0})
	}
	if len(out) == 0 || !out[0].key {
		return nil, fmt.Errorf("no frames, or the first is not a keyframe")
	}
	return out, nil
}

// readOggOpus splits the Ogg pages into packets itself (RFC 3533 section 6: a lacing value below
// 255 ends a packet, which may span pages): pion's oggreader returns each page's payload whole,
// which is a valid Opus packet only when the page holds exactly one. The OpusHead and OpusTags
// header packets are skipped (RFC 7845 section 5). Each packet's duration comes from its TOC byte
// (RFC 6716 section 3.1).
func readOggOpus(raw []byte) ([]sample, error) {
	var out []sample
	var partial []byte
	for off := 0; off+27 <= len(raw); {
		if string(raw[off:off+4]) != "OggS" {
			return nil, fmt.Errorf("bad Ogg page at byte %d", off)
		}
		nseg := int(raw[off+26])
		if off+27+nseg > len(raw) {
			return nil, fmt.Errorf("truncated Ogg page at byte %d", off)
		}
		lacing := raw[off+27 : off+27+nseg]
		data := off + 27 + nseg
		for _, l := range lacing {
			if data+int(l) > len(raw) {
				return nil, fmt.Errorf("truncated Ogg segment at byte %d", data)
			}
			partial = append(partial, raw[data:data+int(l)]...)
			data += int(l)
			if l < 255 {
				p := partial
				partial = nil
				if len(p) == 0 || bytes.HasPrefix(p, []byte("OpusHead")) || bytes.HasPrefix(p, []byte("OpusTags")) {
					continue
				}
				out = append(out, sample{data: p, dur: opusDuration(p)})
			}
		}
		off = data
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Opus packets")
	}
	return out, nil
}

// opusDuration: the frame size of the TOC's configuration times the frame count (RFC 6716 3.1).
func opusDuration(p []byte) time.Duration {
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12:
		frame = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16:
		frame = []time.Duration{10, 20}[config%2] * time.Millisecond
	default:
		frame = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	frames := 1
	switch p[0] & 0x03 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) > 1 {
			frames = int(p[1] & 0x3f)
		}
	}
	return frame * time.Duration(frames)
}

// source feeds one local track from a fixture. Video waits at the first keyframe until the
// peer connection is connected (pion drops samples written before its SRTP is up, and the peer
// would otherwise get its first keyframe only 15 frames later), and a keyframe request (PLI, FIR:
// RFC 4585 6.3.1, RFC 5104 4.3.1) goes back to the last keyframe sent.
type source struct {
	track   *webrtc.TrackLocalStaticSample
	samples []sample
	stop    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	rewind  bool
}

func (s *source) halt() { s.once.Do(func() { close(s.stop) }) }

func (s *source) keyframeRequested() {
	s.mu.Lock()
	s.rewind = true
	s.mu.Unlock()
}

func (s *source) run(connected func() bool) {
	next := time.Now()
	i, lastKey := 0, 0
	for {
		smp := s.samples[i]
		s.mu.Lock()
		rewind := s.rewind
		s.rewind = false
		s.mu.Unlock()
		switch {
		case !connected():
			i = 0
		case rewind:
			i = lastKey
			smp = s.samples[i]
			fallthrough
		default:
			if smp.key {
				lastKey = i
			}
			if err := s.track.WriteSample(media.Sample{Data: smp.data, Duration: smp.dur}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				logf("write sample: %v", err)
			}
			i = (i + 1) % len(s.samples)
		}
		next = next.Add(smp.dur)
		select {
		case <-s.stop:
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// outgoing is what is sent per attached track: its sender and its source (replace_track swaps it).
type outgoing struct {
	kind   string
	sender *webrtc.RTPSender
	src    *source
}

// attachMedia adds one track per kind (PROTOCOL.md "Actions": start, add_track).
func (c *Case) attachMedia(kinds []string) error {
	for _, kind := range kinds {
		out := &outgoing{kind: kind}
		src, err := c.newSource(kind)
		if err != nil {
			return err
		}
		if out.sender, err = c.pc.AddTrack(src.track); err != nil {
			return err
		}
		out.src = src
		c.mu.Lock()
		c.senders = append(c.senders, out)
		c.mu.Unlock()
		go c.readSenderRTCP(out)
	}
	return nil
}

func (c *Case) newSource(kind string) (*source, error) {
	file := c.cfg.MediaFiles[kind]
	if file == "" {
		return nil, fmt.Errorf("no media file for %s", kind)
	}
	samples, err := loadFixture(kind, file)
	if err != nil {
		return nil, err
	}
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}
	if kind == "audio" {
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}
	} else if kind != "video" {
		return nil, fmt.Errorf("unknown media kind %q", kind)
	}
	track, err := webrtc.NewTrackLocalStaticSample(capability, kind, "pion-"+c.cfg.Name)
	if err != nil {
		return nil, err
	}
	src := &source{track: track, samples: samples, stop: make(chan struct{})}
	c.mu.Lock()
	c.sources = append(c.sources, src)
	c.mu.Unlock()
	connected := func() bool { return kind == "audio" || c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected }
	go src.run(connected)
	return src, nil
}

// readSenderRTCP reads the sender's RTCP (pion's interceptors need it read) and turns PLI and FIR
// into a rewind to the last keyframe of the source in use.
func (c *Case) readSenderRTCP(out *outgoing) {
	for {
		pkts, _, err := out.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.mu.Lock()
				src := out.src
				c.mu.Unlock()
				if src != nil {
					src.keyframeRequested()
				}
			}
		}
	}
}

func (c *Case) stopSources() {
	c.mu.Lock()
	srcs := c.sources
	c.sources = nil
	c.mu.Unlock()
	for _, s := range srcs {
		s.halt()
	}
}

// firstSender: the first attached sender of a kind that still has a track.
func (c *Case) firstSender(kind string) (*outgoing, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.senders {
		if o.kind == kind && o.sender.Track() != nil {
			return o, nil
		}
	}
	return nil, fmt.Errorf("no sender with a %s track", kind)
}

// removeTrack is W3C removeTrack (webrtc-pc 5.1) with pion's PeerConnection.RemoveTrack.
func (c *Case) removeTrack(kind string) error {
	o, err := c.firstSender(kind)
	if err != nil {
		return err
	}
	if err := c.pc.RemoveTrack(o.sender); err != nil {
		return err
	}
	c.swapSource(o, nil)
	return nil
}

// swapSource puts src (nil: none) in the sender's place and halts the source it replaces.
func (c *Case) swapSource(o *outgoing, src *source) {
	c.mu.Lock()
	old := o.src
	o.src = src
	c.mu.Unlock()
	if old != nil {
		old.halt()
	}
}

// replaceTrack is RTCRtpSender.replaceTrack (webrtc-pc 5.2) with a new source of the same
// fixture from its start, then track_replaced.
func (c *Case) replaceTrack(kind string) error {
	o, err := c.firstSender(kind)
	if err != nil {
		return err
	}
	src, err := c.newSource(kind)
	if err != nil {
		return err
	}
	if err := o.sender.ReplaceTrack(src.track); err != nil {
		src.halt()
		return err
	}
	c.swapSource(o, src)
	c.emit("track_replaced", map[string]interface{}{"kind": kind})
	return nil
}
