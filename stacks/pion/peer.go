package main

// One case: its configuration, the peer connection and the state events it reports.

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// ChannelSpec is an item of setup.config.data_channels (W3C RTCDataChannelInit names).
type ChannelSpec struct {
	Label             string  `json:"label"`
	Send              *string `json:"send"`
	Ordered           *bool   `json:"ordered"`
	MaxRetransmits    *uint16 `json:"maxRetransmits"`
	MaxPacketLifeTime *uint16 `json:"maxPacketLifeTime"`
	Negotiated        *bool   `json:"negotiated"`
	ID                *uint16 `json:"id"`
	Protocol          *string `json:"protocol"`
}

// Config is setup.config (PROTOCOL.md "The configuration").
type Config struct {
	Name          string        `json:"name"`
	SignalingURL  string        `json:"signaling_url"`
	Media         []string      `json:"media"`
	DataChannels  []ChannelSpec `json:"data_channels"`
	Trickle       bool          `json:"trickle"`
	AutoNegotiate bool          `json:"auto_negotiate"`
	Echo          bool          `json:"echo"`
	ICEServers    []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"ice_servers"`
	ICETransportPolicy string              `json:"ice_transport_policy"`
	MediaFiles         map[string]string   `json:"media_files"`
	Polite             *bool               `json:"polite"`
	CodecPreferences   map[string][]string `json:"codec_preferences"`
}

func parseConfig(v interface{}) (*Config, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	cfg := &Config{}
	if err := json.Unmarshal(raw, cfg); err != nil {
		return nil, fmt.Errorf("setup.config: %v", err)
	}
	return cfg, nil
}

// Case is one case: a peer connection, its relay socket, its media and channels.
type Case struct {
	cfg   *Config
	pc    *webrtc.PeerConnection
	stats stats.Getter // pion/interceptor's stats recorder of this peer connection
	relay signaler     // the relay's WebSocket, or the other peer of the floor (floor.go)
	// onEvent, where set (the floor), takes the case's events instead of the protocol's lines.
	onEvent func(map[string]interface{})

	alive atomic.Bool // false once released: nothing more is reported
	quiet atomic.Bool // true after the `close` action: only its own state events are written
	// pcClosed: Close() was called (the `close` action or the release); no stats are asked after.
	pcClosed atomic.Bool

	chain chan func() // the signaling chain: relay messages, offers, answers, in order
	stop  chan struct{}

	mu      sync.Mutex
	started bool
	sources []*source
	senders []*outgoing

	stateMu  sync.Mutex // orders the state events read from pion
	lastSig  string
	lastConn string

	sig signalingState
	dc  channels
}

func newCase(cfg *Config) *Case {
	c := &Case{cfg: cfg, chain: make(chan func(), 1024), stop: make(chan struct{})}
	c.alive.Store(true)
	c.sig.hold = true
	c.dc.byLabel = map[string]*webrtc.DataChannel{}
	c.dc.state = map[*webrtc.DataChannel]*channelState{}
	return c
}

func (c *Case) isAlive() bool { return c.alive.Load() }

// emit writes an event of this case, unless the case is released or its peer connection was
// closed by the `close` action (PROTOCOL.md "After the close action").
func (c *Case) emit(typ string, fields map[string]interface{}) {
	if !c.alive.Load() || c.quiet.Load() {
		return
	}
	c.emitAlways(typ, fields)
}

func (c *Case) emitAlways(typ string, fields map[string]interface{}) {
	if !c.alive.Load() {
		return
	}
	ev := map[string]interface{}{"type": typ}
	for k, v := range fields {
		ev[k] = v
	}
	if c.onEvent != nil {
		c.onEvent(ev)
		return
	}
	proto.event(ev)
}

// stderrLoggers makes every pion logger write to stderr (pion's default writes to stdout, which
// carries the protocol). PION_LOG_* still chooses the levels, as in pion.
func stderrLoggers() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.Writer = os.Stderr
	if f.DefaultLogLevel < logging.LogLevelWarn {
		f.DefaultLogLevel = logging.LogLevelWarn
	}
	return f
}

// newAPI: VP8 and Opus only (what this adapter can send from its fixtures and check on receipt),
// pion's default interceptors (NACK, RTCP reports, TWCC) and its stats recorder.
func (c *Case) newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, err
	}
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { c.stats = g })
	reg.Add(sf)
	se := webrtc.SettingEngine{LoggerFactory: stderrLoggers()}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// pcConfig: exactly the harness's ice_servers (PROTOCOL.md "The configuration") and its
// iceTransportPolicy (webrtc-pc 4.2.1; pion's "relay" gathers relay candidates only). One BUNDLE
// transport for everything, as pion always does (max-bundle).
func (c *Case) pcConfig() (webrtc.Configuration, error) {
	conf := webrtc.Configuration{ICEServers: []webrtc.ICEServer{}, BundlePolicy: webrtc.BundlePolicyMaxBundle}
	for _, s := range c.cfg.ICEServers {
		srv := webrtc.ICEServer{URLs: s.URLs}
		if s.Username != "" || s.Credential != "" {
			srv.Username = s.Username
			srv.Credential = s.Credential
			srv.CredentialType = webrtc.ICECredentialTypePassword
		}
		conf.ICEServers = append(conf.ICEServers, srv)
	}
	switch c.cfg.ICETransportPolicy {
	case "", "all":
		conf.ICETransportPolicy = webrtc.ICETransportPolicyAll
	case "relay":
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	default:
		return conf, fmt.Errorf("ice_transport_policy %q is neither all nor relay", c.cfg.ICETransportPolicy)
	}
	return conf, nil
}

// setup builds the peer connection and joins the relay (PROTOCOL.md "A case: setup ... close").
func (c *Case) setup() error {
	if err := c.build(); err != nil {
		return err
	}
	r, err := dialRelay(c.cfg.SignalingURL, c.onRelayMessage)
	if err != nil {
		return err
	}
	c.relay = r
	return nil
}

// build makes the peer connection, wires its callbacks and starts the signaling chain.
func (c *Case) build() error {
	if err := c.checkCodecPreferences(); err != nil {
		return err
	}
	api, err := c.newAPI()
	if err != nil {
		return err
	}
	conf, err := c.pcConfig()
	if err != nil {
		return err
	}
	if c.pc, err = api.NewPeerConnection(conf); err != nil {
		return err
	}
	c.wire()
	go c.runChain()
	return nil
}

// checkCodecPreferences: the kind declares codec_preferences false (the adapter sends VP8 and
// Opus fixtures only), so a case never asks; a configuration that does is refused at setup, as
// PROTOCOL.md asks of a codec the program cannot honour.
func (c *Case) checkCodecPreferences() error {
	for kind, names := range c.cfg.CodecPreferences {
		if len(names) > 0 {
			return fmt.Errorf("codec_preferences: %s %v: this pion adapter sends the VP8 and Opus fixtures only and does not apply setCodecPreferences", kind, names)
		}
	}
	return nil
}

// wire connects pion's callbacks to the protocol's events.
func (c *Case) wire() {
	pc := c.pc
	pc.OnNegotiationNeeded(c.onNegotiationNeeded)
	pc.OnICECandidate(c.onICECandidate)
	// pion calls these two synchronously, from one goroutine each, in the order of the changes.
	pc.OnICEGatheringStateChange(func(s webrtc.ICEGathererState) {
		// pion's gatherer has a "closed" state that W3C's RTCIceGatheringState has not.
		if s == webrtc.ICEGathererStateNew || s == webrtc.ICEGathererStateGathering || s == webrtc.ICEGathererStateComplete {
			c.emit("ice_gathering_state", map[string]interface{}{"state": s.String()})
		}
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		c.emit("ice_connection_state", map[string]interface{}{"state": s.String()})
	})
	pc.OnConnectionStateChange(c.onConnectionState)
	pc.OnSignalingStateChange(func(webrtc.SignalingState) { c.syncSignaling() })
	pc.OnTrack(c.onTrack)
	pc.OnDataChannel(func(d *webrtc.DataChannel) { c.watchChannel(d, false) })
}

// onConnectionState: pion runs each connection-state handler on a new goroutine
// (PeerConnection.onConnectionStateChange: `go handler(cs)`), so two changes close together can
// reach here in either order. PROTOCOL.md "Event order" asks for the order of the changes: a
// state is reported only while it is still the state pion reads (pc.ConnectionState()) and differs
// from the last one reported, so a stale handler is dropped instead of being written after its
// successor. Consequence: an intermediate state that pion left before its handler ran (new ->
// connecting -> connected within a goroutine switch) is not reported; nothing is invented.
// After the `close` action closePeer owns the states: a handler that runs between pion's Close()
// and closePeer's reading must not take `closed` as reported (its event is dropped), or the
// reading finds nothing new and `closed` is never written.
func (c *Case) onConnectionState(s webrtc.PeerConnectionState) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if c.quiet.Load() || s != c.pc.ConnectionState() || s.String() == c.lastConn {
		return
	}
	c.lastConn = s.String()
	c.emit("connection_state", map[string]interface{}{"state": c.lastConn})
}

// syncSignaling reports the signaling state pion reads now, if it changed. pion fires its
// handler on a new goroutine too; every change comes from a call this adapter makes on its
// signaling chain (SetLocalDescription, SetRemoteDescription, Close), one change per call, and
// the chain calls this right after each, so every state is reported, in order (RFC 8829 3.2).
func (c *Case) syncSignaling() {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	s := c.pc.SignalingState().String()
	if c.quiet.Load() || s == c.lastSig {
		return
	}
	c.lastSig = s
	c.emit("signaling_state", map[string]interface{}{"state": s})
}

// closePeer is the `close` action: pion's Close(), then the states read right after it
// (webrtc-pc 4.4.1.7 fires no event; PROTOCOL.md "After the close action") and a
// data_channel_close for every channel that was open. The relay socket is closed too, as the
// agent page does.
func (c *Case) closePeer() {
	c.quiet.Store(true)
	c.stopSources()
	if c.pc != nil {
		c.pcClosed.Store(true)
		if err := c.pc.Close(); err != nil {
			logf("close: %v", err)
		}
		c.stateMu.Lock()
		for _, st := range []struct {
			typ  string
			now  string
			last *string
		}{{"signaling_state", c.pc.SignalingState().String(), &c.lastSig}, {"connection_state", c.pc.ConnectionState().String(), &c.lastConn}} {
			if st.now != *st.last {
				*st.last = st.now
				c.emitAlways(st.typ, map[string]interface{}{"state": st.now})
			}
		}
		c.stateMu.Unlock()
		c.closeAllChannels()
	}
	if c.relay != nil {
		c.relay.close()
	}
}

// release is the harness's `close`: everything of the case goes, and nothing of it is reported
// after (PROTOCOL.md "After the close action", last paragraph).
func (c *Case) release() {
	c.alive.Store(false)
	c.quiet.Store(true)
	done := make(chan struct{})
	go func() {
		c.stopSources()
		if c.pc != nil {
			c.pcClosed.Store(true)
			if err := c.pc.Close(); err != nil {
				logf("release: %v", err)
			}
		}
		if c.relay != nil {
			c.relay.close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		logf("release: pion's Close() did not return within 3s; going on")
	}
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}
