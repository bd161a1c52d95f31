package main

// The actions of `perform` (PROTOCOL.md "Actions"). An action the stack cannot do is answered
// with a done error saying why; its capability is declared false in kinds.yaml.
//
// Every action that changes what is to be negotiated runs on the signaling chain. pion fires
// negotiationneeded from its own operations goroutine as soon as the first AddTrack returns, and
// the offer that handler queues on the chain would otherwise be built while `start` is still
// adding the second track: an offer without the video m-section, which the answerer then
// rightly re-offers for (webrtc-pc 4.7.3: a transceiver with no m-section needs negotiation).

import (
	"fmt"

	"github.com/pion/webrtc/v3"
)

func (c *Case) perform(a map[string]interface{}) error {
	typ, _ := a["type"].(string)
	kind, _ := a["kind"].(string)
	label, _ := a["label"].(string)
	switch typ {
	case "start":
		return c.chained(c.start)
	case "add_track":
		return c.chained(func() error { return c.attachMedia([]string{kind}) })
	case "create_data_channel":
		return c.chained(func() error {
			d, err := c.pc.CreateDataChannel(label, nil)
			if err != nil {
				return err
			}
			c.watchChannel(d, true)
			return nil
		})
	case "send_offer":
		// On the signaling chain; its failure is an event of context send_offer, the done a
		// success (PROTOCOL.md "Which error events to report").
		c.serial("send_offer", c.offer)
		return nil
	case "send_message":
		var text *string
		if t, ok := a["text"].(string); ok {
			text = &t
		}
		var size *int
		if n, ok := a["size"].(float64); ok {
			s := int(n)
			size = &s
		}
		return c.sendMessage(label, text, size)
	case "close_channel":
		d, err := c.channel(label)
		if err != nil {
			return err
		}
		return d.Close()
	case "remove_track":
		return c.chained(func() error { return c.removeTrack(kind) })
	case "replace_track":
		return c.chained(func() error { return c.replaceTrack(kind) })
	case "close":
		c.closePeer()
		return nil
	case "restart_ice":
		// PROTOCOL.md "What restart_ice means": pion 3.1.56 has no restartIce(), and a restart
		// offer (CreateOffer with ICERestart) fires no negotiationneeded; the kind declares
		// restart_ice false. It answers a remote restart with new credentials all the same.
		return fmt.Errorf("pion %s has no restartIce(): an ICE restart is only an option of CreateOffer, with no negotiationneeded", pionVersion)
	case "rollback":
		return c.rollback()
	case "set_direction":
		return fmt.Errorf("pion %s has no RTPTransceiver direction setter (webrtc-pc 5.4): set_direction cannot be done", pionVersion)
	default:
		return fmt.Errorf("unknown action %v", a)
	}
}

// start attaches the configured media and creates every data channel item (PROTOCOL.md "When an
// answerer creates its data channels", rule 1).
func (c *Case) start() error {
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	if err := c.attachMedia(c.cfg.Media); err != nil {
		return err
	}
	for _, spec := range c.cfg.DataChannels {
		if err := c.createChannel(spec); err != nil {
			return err
		}
	}
	return nil
}

// rollback is setLocalDescription({type: 'rollback'}) (RFC 8829 4.1.10.2) on the signaling chain.
// pion 3.1.56 refuses it: SetLocalDescription fills an empty SDP only for offers and answers and
// answers any other type with "invalid SDP type supplied to SetLocalDescription()" (the kind declares
// rollback false); its message is the done's error. Were it to succeed, the event would follow.
func (c *Case) rollback() error {
	return c.chained(func() error {
		err := c.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		c.syncSignaling()
		if err != nil {
			return err
		}
		c.emit("rollback", map[string]interface{}{"implicit": false})
		return nil
	})
}
