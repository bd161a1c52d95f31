// rtc-harness command peer for pion (Go, github.com/pion/webrtc/v3 3.1.56 from Debian).
//
// Speaks the command-peer protocol of ../PROTOCOL.md (JSON lines on stdin/stdout), version 1, and
// does what the browser agent page does, with pion's PeerConnection:
//
//	protocol                    pion
//	negotiation_needed          pc.OnNegotiationNeeded (auto_negotiate: CreateOffer + SetLocalDescription)
//	signaling_state             read with pc.SignalingState() after each call that changes it (see syncSignaling)
//	connection_state            pc.OnConnectionStateChange, kept in order (see onConnectionState)
//	ice_connection_state,       pc.OnICEConnectionStateChange / OnICEGatheringStateChange (pion calls
//	ice_gathering_state         both synchronously, in order)
//	local_candidate             pc.OnICECandidate; end_of_candidates: OnICECandidate(nil)
//	track, first_frame, ...     pc.OnTrack + TrackRemote.ReadRTP: VP8 frames reassembled here (receive.go)
//	data_channel_*              pc.CreateDataChannel / OnDataChannel (datachannel.go)
//	stats                       pc.GetStats (candidate pair) + pion/interceptor's stats recorder (stats.go)
//
// Files: main.go (this: the protocol loop and the one writer of stdout), peer.go (a case: the peer
// connection and its state events), signaling.go (relay, offers, answers, candidates), media.go
// (sending the fixtures), receive.go (counting what arrives), datachannel.go, stats.go.
//
// stdout carries the protocol only (PROTOCOL.md "Lines and common rules"): pion's default logger
// writes to stdout, so every pion logger is created by a LoggerFactory writing to stderr, and fd 1
// itself is pointed at stderr once the protocol's own copy of it is taken (redirectStdout).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// pionVersion is the Debian package's version (golang-github-pion-webrtc.v3-dev 3.1.56): Go 1.19
// in GOPATH mode has no build info of the module, so it is written here and checked by the
// install script against the package it built with.
const pionVersion = "3.1.56"

// writer is the one writer of protocol lines. Every event is stamped inside its lock, so the
// stamps of the lines written are in the order of the lines (PROTOCOL.md "Event order": the
// runner sorts by t, stably).
type writer struct {
	mu  sync.Mutex
	out *os.File
}

var proto *writer

func (w *writer) line(obj map[string]interface{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeLocked(obj)
}

func (w *writer) writeLocked(obj map[string]interface{}) {
	b, err := json.Marshal(obj)
	if err != nil {
		logf("cannot encode a line: %v", err)
		return
	}
	b = append(b, '\n')
	if _, err := w.out.Write(b); err != nil {
		logf("stdout: %v", err)
	}
}

// event writes one event line, stamped now (epoch milliseconds, PROTOCOL.md "event").
func (w *writer) event(fields map[string]interface{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := float64(time.Now().UnixNano()) / 1e6
	w.writeLocked(map[string]interface{}{"type": "event", "t": t, "event": fields})
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "pion-peer: "+format+"\n", args...)
}

// redirectStdout keeps a private copy of fd 1 for the protocol and points fd 1 at stderr, so
// that nothing else in the process (a library's fmt.Println, a default logger) can write a line
// the harness would take for the protocol.
func redirectStdout() (*os.File, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, err
	}
	if err := syscall.Dup3(2, 1, 0); err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "protocol"), nil
}

// server holds the case in progress; requests are handled one at a time, in order.
type server struct {
	mu      sync.Mutex
	current *Case
	work    chan map[string]interface{}
	idle    sync.WaitGroup // the release of the last closed case
}

func (s *server) take() *Case {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.current
	s.current = nil
	return c
}

func (s *server) get() *Case {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// handle runs one request or setup, on the worker goroutine.
func (s *server) handle(cmd map[string]interface{}) {
	typ, _ := cmd["type"].(string)
	id := cmd["id"]
	switch typ {
	case "setup":
		s.idle.Wait()
		if old := s.take(); old != nil {
			old.release()
		}
		cfg, err := parseConfig(cmd["config"])
		if err != nil {
			proto.line(map[string]interface{}{"type": "fail", "message": err.Error()})
			return
		}
		c := newCase(cfg)
		if err := c.setup(); err != nil {
			c.release()
			proto.line(map[string]interface{}{"type": "fail", "message": err.Error()})
			return
		}
		s.mu.Lock()
		s.current = c
		s.mu.Unlock()
		proto.line(map[string]interface{}{"type": "ready"})
	case "perform", "collect_stats":
		c := s.get()
		var err error
		switch {
		case c == nil:
			err = fmt.Errorf("no case set up")
		case typ == "perform":
			action, _ := cmd["action"].(map[string]interface{})
			err = c.perform(action)
		default:
			err = c.collectStats()
		}
		if c != nil && !c.isAlive() {
			return // released meanwhile: its done is no longer awaited
		}
		done := map[string]interface{}{"type": "done", "id": id}
		if err != nil {
			done["error"] = err.Error()
		}
		proto.line(done)
	case "floor":
		done := map[string]interface{}{"type": "done", "id": id}
		if times, err := floor(cmd); err != nil {
			done["error"] = err.Error()
		} else {
			done["result"] = map[string]interface{}{"floor": times}
		}
		proto.line(done)
	default:
		logf("unknown command %v", cmd)
	}
}

// serve handles the commands in order. A request of a case that the harness has closed since
// (it stopped waiting: a limit passed) is left running on its own, so that a pion call that
// never returns does not hold up the next case's setup.
func (s *server) serve() {
	for cmd := range s.work {
		c := s.get()
		if cmd["type"] == "setup" || c == nil {
			s.handle(cmd)
			continue
		}
		done := make(chan struct{})
		go func(cmd map[string]interface{}) {
			s.handle(cmd)
			close(done)
		}(cmd)
		select {
		case <-done:
		case <-c.stop:
		}
	}
}

// closeCase answers the harness's `close` at once, without waiting behind a request that hangs
// (PROTOCOL.md "Reuse, failures and exit"): the case stops reporting, is released, then `closed`.
func (s *server) closeCase() {
	c := s.take()
	s.idle.Add(1)
	defer s.idle.Done()
	if c != nil {
		c.release()
	}
	proto.line(map[string]interface{}{"type": "closed"})
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--check" {
		// `check` of the kinds entry: the binary was built against pion and starts.
		fmt.Fprintf(os.Stderr, "pion %s\n", pionVersion)
		return
	}
	out, err := redirectStdout()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot redirect stdout: %v\n", err)
		os.Exit(1)
	}
	proto = &writer{out: out}
	proto.line(map[string]interface{}{"type": "hello", "protocol": 1, "stack": "pion", "version": pionVersion})
	s := &server{work: make(chan map[string]interface{}, 64)}
	go s.serve()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var cmd map[string]interface{}
		if err := json.Unmarshal(line, &cmd); err != nil {
			logf("not JSON: %s", line)
			continue
		}
		if cmd["type"] == "close" {
			s.closeCase()
			continue
		}
		s.work <- cmd
	}
	// EOF: exit now, with status 0 (PROTOCOL.md "Reuse, failures and exit").
	if c := s.take(); c != nil {
		done := make(chan struct{})
		go func() { c.release(); close(done) }()
		select {
		case <-done:
		case <-time.After(1500 * time.Millisecond):
		}
	}
	os.Exit(0)
}
