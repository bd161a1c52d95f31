package main

// collect_stats: PROTOCOL.md "stats.summary", each figure where pion gives it, never invented.
//
// What pion 3.1.56 has: PeerConnection.GetStats() returns no inbound-rtp or outbound-rtp stats
// at all (only ICE candidates and pairs, transport, data channels, codecs, certificates), and its
// candidate-pair stats carry no round-trip time nor available bitrate (pion/ice 2.3.1
// Agent.GetCandidatePairsStats fills only ids, state and nominated; currentRoundTripTime stays
// 0, which is not a measurement and is left out). The RTP figures come from pion's own stats
// interceptor (github.com/pion/interceptor/pkg/stats, registered in newAPI), per SSRC:
// packetsReceived, packetsLost, jitter (kept in RTP timestamp units there: divided by the codec's
// clock rate into seconds), bytesReceived; packetsSent, bytesSent. pion does not decode: no
// framesDecoded, framesPerSecond, frameWidth, frameHeight.

import (
	"strings"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v3"
)

// collectStats: after the `close` action pion has no transport and its stats recorders are
// stopped, and pion/interceptor's recorder.GetStats then blocks for ever (it waits on a channel
// its stopped goroutine no longer serves, holding the interceptor's lock): the summary of a
// closed peer connection is empty (no streams, no pair), which is what pion has.
func (c *Case) collectStats() error {
	if c.pcClosed.Load() {
		c.emitAlways("stats", map[string]interface{}{"summary": map[string]interface{}{
			"inbound_rtp": []interface{}{}, "outbound_rtp": []interface{}{}, "candidate_pair": nil,
		}})
		return nil
	}
	summary := map[string]interface{}{
		"inbound_rtp":    c.inboundStats(),
		"outbound_rtp":   c.outboundStats(),
		"candidate_pair": c.selectedPair(),
	}
	c.emitAlways("stats", map[string]interface{}{"summary": summary})
	return nil
}

func (c *Case) inboundStats() []map[string]interface{} {
	out := []map[string]interface{}{}
	if c.stats == nil || c.pc == nil {
		return out
	}
	for _, r := range c.pc.GetReceivers() {
		for _, t := range r.Tracks() {
			if t == nil || t.SSRC() == 0 {
				continue
			}
			s := c.recorded(uint32(t.SSRC()))
			if s == nil {
				continue
			}
			codec := t.Codec()
			in := s.InboundRTPStreamStats
			entry := map[string]interface{}{
				"kind":            t.Kind().String(),
				"packetsReceived": in.PacketsReceived,
				"packetsLost":     in.PacketsLost,
				"bytesReceived":   in.BytesReceived,
			}
			if codec.ClockRate > 0 {
				entry["jitter"] = in.Jitter / float64(codec.ClockRate)
			}
			if codec.MimeType != "" {
				entry["codec"] = codec.MimeType
			}
			out = append(out, entry)
		}
	}
	return out
}

func (c *Case) outboundStats() []map[string]interface{} {
	out := []map[string]interface{}{}
	if c.stats == nil || c.pc == nil {
		return out
	}
	for _, snd := range c.pc.GetSenders() {
		if snd.Track() == nil {
			continue
		}
		params := snd.GetParameters()
		if len(params.Encodings) == 0 {
			continue
		}
		s := c.recorded(uint32(params.Encodings[0].SSRC))
		if s == nil {
			continue
		}
		entry := map[string]interface{}{
			"kind":        snd.Track().Kind().String(),
			"packetsSent": s.OutboundRTPStreamStats.PacketsSent,
			"bytesSent":   s.OutboundRTPStreamStats.BytesSent,
		}
		if len(params.Codecs) > 0 {
			entry["codec"] = params.Codecs[0].MimeType
		}
		out = append(out, entry)
	}
	return out
}

// selectedPair: the ICE transport's selected pair (pion's ICETransport.GetSelectedCandidatePair,
// through the one BUNDLE DTLS transport), as `<candidateType>/<protocol>`; null when none.
func (c *Case) selectedPair() interface{} {
	if c.pc == nil || c.pc.SCTP() == nil || c.pc.SCTP().Transport() == nil {
		return nil
	}
	ice := c.pc.SCTP().Transport().ICETransport()
	if ice == nil {
		return nil
	}
	pair, err := ice.GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return nil
	}
	name := func(cand *webrtc.ICECandidate) string {
		return strings.ToLower(cand.Typ.String() + "/" + cand.Protocol.String())
	}
	return map[string]interface{}{"local": name(pair.Local), "remote": name(pair.Remote)}
}

// recorded asks the stats recorder for one SSRC, giving up after a second (see collectStats).
func (c *Case) recorded(ssrc uint32) *stats.Stats {
	got := make(chan *stats.Stats, 1)
	go func() { got <- c.stats.Get(ssrc) }()
	select {
	case s := <-got:
		return s
	case <-time.After(time.Second):
		logf("stats: pion's recorder did not answer for SSRC %d within 1s", ssrc)
		return nil
	}
}
