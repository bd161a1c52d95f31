package main

// The relay socket and the signaling chain: offers, answers and candidates, strictly in order
// (PROTOCOL.md "The flow").

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"golang.org/x/net/websocket"
)

// signaler carries the case's signaling messages to the other peer: the relay, or in the floor
// the other case of the pair.
type signaler interface {
	send(obj interface{})
	close()
}

// relay is the case's WebSocket to the harness's signaling relay (text frames, JSON).
type relay struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	once sync.Once
}

func dialRelay(url string, onMessage func(map[string]json.RawMessage)) (*relay, error) {
	ws, err := websocket.Dial(url, "", "http://127.0.0.1/")
	if err != nil {
		return nil, fmt.Errorf("cannot reach the relay at %s: %v", url, err)
	}
	r := &relay{ws: ws}
	go func() {
		for {
			var text string
			if err := websocket.Message.Receive(ws, &text); err != nil {
				logf("relay socket: %v", err)
				return
			}
			var msg map[string]json.RawMessage
			if err := json.Unmarshal([]byte(text), &msg); err != nil {
				logf("relay: not JSON: %s", text)
				continue
			}
			onMessage(msg)
		}
	}()
	return r, nil
}

func (r *relay) send(obj interface{}) {
	b, err := json.Marshal(obj)
	if err != nil {
		logf("relay: %v", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := websocket.Message.Send(r.ws, string(b)); err != nil {
		logf("relay send: %v", err)
	}
}

func (r *relay) close() { r.once.Do(func() { _ = r.ws.Close() }) }

// signalingState is what the chain keeps between messages.
type signalingState struct {
	mu          sync.Mutex // guards hold, held, mid, ufrag (read by pion's candidate callback)
	hold        bool       // candidates wait until their description has gone to the relay
	held        []interface{}
	mid         string // the first m-section's mid of the local description in force (the BUNDLE transport)
	ufrag       string // its ice-ufrag
	pending     []*webrtc.ICECandidateInit
	makingOffer bool
	ignoreOffer bool
}

// runChain runs the signaling chain: one function at a time, in the order queued.
func (c *Case) runChain() {
	for {
		select {
		case fn := <-c.chain:
			fn()
		case <-c.stop:
			return
		}
	}
}

// serial queues fn on the chain; a failure is an error event of that context (PROTOCOL.md
// "Which error events to report").
func (c *Case) serial(context string, fn func() error) {
	select {
	case c.chain <- func() {
		if err := fn(); err != nil {
			c.emit("error", map[string]interface{}{"context": context, "message": err.Error()})
		}
	}:
	case <-c.stop:
	}
}

// chained runs fn on the chain and returns its outcome to the caller instead of an event.
func (c *Case) chained(fn func() error) error {
	result := make(chan error, 1)
	select {
	case c.chain <- func() { result <- fn() }:
	case <-c.stop:
		return fmt.Errorf("the case is closed")
	}
	select {
	case err := <-result:
		return err
	case <-c.stop:
		return fmt.Errorf("the case is closed")
	}
}

func (c *Case) onRelayMessage(msg map[string]json.RawMessage) {
	if raw, ok := msg["error"]; ok {
		c.serial("relay", func() error { return fmt.Errorf("%s", raw) })
		return
	}
	if raw, ok := msg["desc"]; ok {
		var d webrtc.SessionDescription
		if err := json.Unmarshal(raw, &d); err != nil {
			c.serial("signaling", func() error { return fmt.Errorf("bad desc %s: %v", raw, err) })
			return
		}
		arrived := time.Now()
		c.serial("signaling", func() error { return c.onDescription(d, arrived) })
		return
	}
	if raw, ok := msg["candidate"]; ok {
		var cand *webrtc.ICECandidateInit
		if string(raw) != "null" {
			cand = &webrtc.ICECandidateInit{}
			if err := json.Unmarshal(raw, cand); err != nil {
				c.serial("signaling", func() error { return fmt.Errorf("bad candidate %s: %v", raw, err) })
				return
			}
		}
		c.serial("signaling", func() error { return c.onCandidate(cand) })
	}
}

// onDescription applies a remote description; a remote offer is answered (RFC 8829 5.3).
func (c *Case) onDescription(d webrtc.SessionDescription, arrived time.Time) error {
	pc := c.pc
	if c.cfg.Polite != nil && d.Type == webrtc.SDPTypeOffer {
		// webrtc-pc 10.7. pion 3.1.56 has no usable rollback (the kind declares
		// perfect_negotiation false): the impolite side ignores a colliding offer; the polite
		// side cannot roll back, says so and does not apply it.
		collision := c.sig.makingOffer || pc.SignalingState() != webrtc.SignalingStateStable
		c.sig.ignoreOffer = !*c.cfg.Polite && collision
		if c.sig.ignoreOffer {
			c.emit("offer_ignored", nil)
			return nil
		}
		if collision {
			return fmt.Errorf("polite peer in %s: pion %s cannot roll back its offer to apply the remote one", pc.SignalingState(), pionVersion)
		}
	}
	if d.Type == webrtc.SDPTypeOffer {
		c.holdCandidates()
	}
	start := time.Now()
	err := pc.SetRemoteDescription(d)
	c.syncSignaling()
	if err != nil {
		return err
	}
	c.emit("remote_description", map[string]interface{}{
		"sdp_type": d.Type.String(), "sdp": d.SDP,
		"queued_ms": ms(start.Sub(arrived)), "apply_ms": ms(time.Since(start)),
	})
	for _, cand := range c.sig.pending {
		if err := c.applyCandidate(cand); err != nil {
			c.emit("error", map[string]interface{}{"context": "signaling", "message": err.Error()})
		}
	}
	c.sig.pending = nil
	if d.Type != webrtc.SDPTypeOffer {
		return nil
	}
	return c.answer()
}

// answer: a peer not started yet attaches its media and its negotiated channels first
// (PROTOCOL.md "When an answerer creates its data channels"), then CreateAnswer,
// SetLocalDescription, send.
func (c *Case) answer() error {
	c.mu.Lock()
	first := !c.started
	c.started = true
	c.mu.Unlock()
	if first {
		if err := c.attachMedia(c.cfg.Media); err != nil {
			return err
		}
		for _, spec := range c.cfg.DataChannels {
			if spec.Negotiated != nil && *spec.Negotiated {
				if err := c.createChannel(spec); err != nil {
					return err
				}
			}
		}
	}
	a, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	return c.setLocal(a)
}

// offer makes, sets and sends an offer (auto_negotiate's negotiationneeded, or send_offer).
func (c *Case) offer() error {
	c.sig.makingOffer = true
	defer func() { c.sig.makingOffer = false }()
	c.emit("create_offer", nil)
	c.holdCandidates()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	return c.setLocal(o)
}

// setLocal sets a local description and sends it: at once with trickle, else once gathering is
// complete, carrying every candidate (RFC 8838 section 3; PROTOCOL.md "Candidates, with and
// without trickle"), bounded by 10 s as the Rust peer does.
func (c *Case) setLocal(d webrtc.SessionDescription) error {
	var gathered <-chan struct{}
	if !c.cfg.Trickle {
		gathered = webrtc.GatheringCompletePromise(c.pc)
	}
	err := c.pc.SetLocalDescription(d)
	c.syncSignaling()
	if err != nil {
		return err
	}
	local := c.pc.LocalDescription()
	c.emit("local_description", map[string]interface{}{"sdp_type": local.Type.String(), "sdp": local.SDP})
	if gathered != nil {
		select {
		case <-gathered:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("ICE gathering did not complete within 10s: the description is not sent")
		}
		local = c.pc.LocalDescription()
	}
	c.relay.send(map[string]interface{}{"desc": map[string]string{"type": local.Type.String(), "sdp": local.SDP}})
	c.releaseCandidates(local.SDP)
	return nil
}

// onNegotiationNeeded: pion runs it from its operations queue, with webrtc-pc 4.7.3's checks
// (stable state, the flag). With auto_negotiate the offer is made on the chain.
func (c *Case) onNegotiationNeeded() {
	c.emit("negotiation_needed", nil)
	if c.cfg.AutoNegotiate {
		c.serial("negotiationneeded offer", c.offer)
	}
}

// onCandidate applies a remote candidate, or queues it before any remote description
// (addIceCandidate would reject it: PROTOCOL.md "Candidates, with and without trickle").
func (c *Case) onCandidate(cand *webrtc.ICECandidateInit) error {
	if c.sig.ignoreOffer {
		logf("candidate of an ignored offer dropped")
		return nil
	}
	if c.pc.RemoteDescription() == nil {
		c.sig.pending = append(c.sig.pending, cand)
		return nil
	}
	return c.applyCandidate(cand)
}

// applyCandidate: pion needs no mid (one BUNDLE transport), and ignores it; an end-of-candidates
// (null, or Firefox's empty string, RFC 8838 section 4.4) has no call in pion 3.1.56 that
// acknowledges it (AddICECandidate with "" hands the agent nothing), so it is acknowledged here.
func (c *Case) applyCandidate(cand *webrtc.ICECandidateInit) error {
	if cand == nil || strings.TrimPrefix(cand.Candidate, "candidate:") == "" {
		c.emit("remote_candidate", map[string]interface{}{"candidate": ""})
		return nil
	}
	if err := c.pc.AddICECandidate(*cand); err != nil {
		return err
	}
	c.emit("remote_candidate", map[string]interface{}{"candidate": cand.Candidate})
	return nil
}

// onICECandidate: every candidate is reported, with and without trickle; with trickle it goes to
// the relay after its description. pion's ToJSON gives sdpMid "" and no usernameFragment, and
// reading LocalDescription() here deadlocks (pion holds its lock while gathering), so the mid and
// ufrag are those of the description sent last, kept by releaseCandidates.
func (c *Case) onICECandidate(cand *webrtc.ICECandidate) {
	if cand == nil {
		c.emit("end_of_candidates", map[string]interface{}{"form": "null"})
		c.sendCandidate(nil)
		return
	}
	init := cand.ToJSON()
	c.emit("local_candidate", map[string]interface{}{"candidate": init.Candidate})
	c.sendCandidate(&init)
}

func (c *Case) sendCandidate(init *webrtc.ICECandidateInit) {
	if !c.cfg.Trickle {
		return
	}
	c.sig.mu.Lock()
	defer c.sig.mu.Unlock()
	if c.sig.hold {
		c.sig.held = append(c.sig.held, init)
		return
	}
	c.relay.send(c.candidateMessage(init))
}

// candidateMessage is RTCIceCandidate.toJSON() as W3C has it; called with sig.mu held.
func (c *Case) candidateMessage(init *webrtc.ICECandidateInit) map[string]interface{} {
	if init == nil {
		return map[string]interface{}{"candidate": nil}
	}
	return map[string]interface{}{"candidate": map[string]interface{}{
		"candidate": init.Candidate, "sdpMid": c.sig.mid, "sdpMLineIndex": 0, "usernameFragment": c.sig.ufrag,
	}}
}

func (c *Case) holdCandidates() {
	c.sig.mu.Lock()
	c.sig.hold = true
	c.sig.mu.Unlock()
}

// releaseCandidates, once a description has gone to the relay: its mid and ufrag are kept for
// the candidates that follow, and the held ones are sent (a candidate sent before its
// description fails "candidates match the description in force").
func (c *Case) releaseCandidates(sdp string) {
	mid, ufrag := firstMidAndUfrag(sdp)
	c.sig.mu.Lock()
	defer c.sig.mu.Unlock()
	c.sig.mid, c.sig.ufrag = mid, ufrag
	c.sig.hold = false
	for _, h := range c.sig.held {
		init, _ := h.(*webrtc.ICECandidateInit)
		c.relay.send(c.candidateMessage(init))
	}
	c.sig.held = nil
}

// firstMidAndUfrag: the mid of the first m-section and the ice-ufrag in force for it (media
// level first, else session level, RFC 8839 section 5.4).
func firstMidAndUfrag(sdp string) (string, string) {
	lines := strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n")
	mid, ufrag, sessionUfrag := "", "", ""
	section := -1
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			section++
			if section > 0 {
				break
			}
			continue
		}
		if v := strings.TrimPrefix(l, "a=ice-ufrag:"); v != l {
			if section < 0 {
				sessionUfrag = v
			} else {
				ufrag = v
			}
		}
		if v := strings.TrimPrefix(l, "a=mid:"); v != l && section == 0 {
			mid = v
		}
	}
	if ufrag == "" {
		ufrag = sessionUfrag
	}
	return mid, ufrag
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
