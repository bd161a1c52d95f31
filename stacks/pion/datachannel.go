package main

// Data channels (webrtc-pc section 6, RFC 8831 / 8832): creating them with their options,
// reporting open / message / close, greeting, echoing, binary messages and closing.

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v3"
)

type channelState struct {
	mu     sync.Mutex
	mine   bool
	opened bool
	closed bool
}

type channels struct {
	mu      sync.Mutex
	byLabel map[string]*webrtc.DataChannel
	state   map[*webrtc.DataChannel]*channelState
}

// createChannel: the W3C RTCDataChannelInit fields that the item sets (absent: pion's default).
func (c *Case) createChannel(spec ChannelSpec) error {
	init := &webrtc.DataChannelInit{
		Ordered: spec.Ordered, MaxRetransmits: spec.MaxRetransmits, MaxPacketLifeTime: spec.MaxPacketLifeTime,
		Protocol: spec.Protocol, Negotiated: spec.Negotiated, ID: spec.ID,
	}
	d, err := c.pc.CreateDataChannel(spec.Label, init)
	if err != nil {
		return err
	}
	c.watchChannel(d, true)
	return nil
}

func (c *Case) spec(label string) *ChannelSpec {
	for i := range c.cfg.DataChannels {
		if c.cfg.DataChannels[i].Label == label {
			return &c.cfg.DataChannels[i]
		}
	}
	return nil
}

// watchChannel wires a channel. pion runs the open and close handlers on new goroutines but
// delivers messages on its read loop, which starts once the channel is open: a message can
// reach here before the open handler has run. The channel is open by then, so the first of the
// two reports data_channel_open (once), keeping open before message (PROTOCOL.md "Event order").
func (c *Case) watchChannel(d *webrtc.DataChannel, mine bool) {
	st := &channelState{mine: mine}
	c.dc.mu.Lock()
	c.dc.byLabel[d.Label()] = d
	c.dc.state[d] = st
	c.dc.mu.Unlock()
	d.OnOpen(func() { c.channelOpened(d, st) })
	d.OnMessage(func(m webrtc.DataChannelMessage) {
		c.channelOpened(d, st)
		c.channelMessage(d, st, m)
	})
	d.OnClose(func() { c.channelClosed(d, st) })
	// pion's read loop ends the channel on any read error (an oversized message: io.ErrShortBuffer
	// from its 65,535-byte buffer); logged to stderr, which a failed case carries. Not an error
	// event: the same path runs when the remote hangs up (PROTOCOL.md "Which error events").
	d.OnError(func(err error) { logf("data channel %q: pion: %v", d.Label(), err) })
}

// channelOpened reports the options as pion has them on this side (for the other side's channel:
// from its DCEP DATA_CHANNEL_OPEN, RFC 8832 section 5.1), then greets with the item's `send`.
func (c *Case) channelOpened(d *webrtc.DataChannel, st *channelState) {
	st.mu.Lock()
	if st.opened || st.closed {
		st.mu.Unlock()
		return
	}
	st.opened = true
	fields := map[string]interface{}{
		"label": d.Label(), "protocol": d.Protocol(), "ordered": d.Ordered(), "negotiated": d.Negotiated(),
		"id": nil, "maxRetransmits": nil, "maxPacketLifeTime": nil,
	}
	if id := d.ID(); id != nil {
		fields["id"] = *id
	}
	if v := d.MaxRetransmits(); v != nil {
		fields["maxRetransmits"] = *v
	}
	if v := d.MaxPacketLifeTime(); v != nil {
		fields["maxPacketLifeTime"] = *v
	}
	c.emit("data_channel_open", fields)
	st.mu.Unlock()
	if !st.mine {
		return
	}
	if s := c.spec(d.Label()); s != nil && s.Send != nil {
		if err := d.SendText(*s.Send); err != nil {
			logf("greeting on %q: %v", d.Label(), err)
		}
	}
}

// channelMessage reports a message (binary: its size and whether byte i is i % 251) and, with
// echo, sends it back in its form on a channel the other side created. A failed echo on a
// channel that is no longer open is the remote's hang-up, logged only (PROTOCOL.md "Which error
// events to report").
func (c *Case) channelMessage(d *webrtc.DataChannel, st *channelState, m webrtc.DataChannelMessage) {
	if m.IsString {
		c.emit("data_channel_message", map[string]interface{}{"label": d.Label(), "data": string(m.Data)})
	} else {
		c.emit("data_channel_message", map[string]interface{}{"label": d.Label(), "binary": true, "size": len(m.Data), "intact": intact(m.Data)})
	}
	if !c.cfg.Echo || st.mine {
		return
	}
	var err error
	if m.IsString {
		err = d.SendText(string(m.Data))
	} else {
		err = d.Send(m.Data)
	}
	if err != nil {
		if d.ReadyState() == webrtc.DataChannelStateOpen {
			c.emit("error", map[string]interface{}{"context": "echo", "message": err.Error()})
		} else {
			logf("echo on %q (%s): %v", d.Label(), d.ReadyState(), err)
		}
	}
}

// channelClosed reports data_channel_close once per channel that had opened.
func (c *Case) channelClosed(d *webrtc.DataChannel, st *channelState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.closed = true
	if st.opened {
		c.emitAlways("data_channel_close", map[string]interface{}{"label": d.Label()})
	}
}

// closeAllChannels: after the `close` action, a data_channel_close for every channel that had
// opened and not closed (webrtc-pc 4.4.1.7's close() fires no channel event).
func (c *Case) closeAllChannels() {
	c.dc.mu.Lock()
	all := make(map[*webrtc.DataChannel]*channelState, len(c.dc.state))
	for d, st := range c.dc.state {
		all[d] = st
	}
	c.dc.mu.Unlock()
	for d, st := range all {
		c.channelClosed(d, st)
	}
}

func (c *Case) channel(label string) (*webrtc.DataChannel, error) {
	c.dc.mu.Lock()
	defer c.dc.mu.Unlock()
	d, ok := c.dc.byLabel[label]
	if !ok {
		return nil, fmt.Errorf("no data channel '%s'", label)
	}
	return d, nil
}

// sendMessage: text, or one binary message of `size` bytes, byte i = i % 251. A refused binary
// send is answered with the error's type and pion's message (Go has no exception names;
// PROTOCOL.md "send_message ... MUST be answered with a done error").
func (c *Case) sendMessage(label string, text *string, size *int) error {
	d, err := c.channel(label)
	if err != nil {
		return err
	}
	if size == nil {
		if text == nil {
			return errors.New("send_message: neither text nor size")
		}
		return d.SendText(*text)
	}
	buf := make([]byte, *size)
	for i := range buf {
		buf[i] = byte(i % 251)
	}
	if err := d.Send(buf); err != nil {
		return fmt.Errorf("Error: %v", err)
	}
	return nil
}

func intact(b []byte) bool {
	for i, v := range b {
		if v != byte(i%251) {
			return false
		}
	}
	return true
}
