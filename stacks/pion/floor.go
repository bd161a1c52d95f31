package main

// The floor (PROTOCOL.md "Optional: the floor"): pion's own time to first frame, pion against
// pion in this process with nothing of the harness in the path. Each iteration is a fresh pair of
// the Case a harness case uses, so the offerer sends the video fixture exactly as in a case (held
// at its keyframe until connected) and the answerer's first frame is a case's `first_frame` (the
// first complete VP8 keyframe, receive.go). Their signaling goes to each other in memory through
// the same onRelayMessage and chain, trickle on; their events become timestamps instead of lines.
// Timed from the offerer's `create_offer` (just before CreateOffer) to the answerer's
// `first_frame`; both cases are released after each iteration.

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// floorLimit bounds one iteration (the harness's own limit is 20 s per iteration, scaled).
const floorLimit = 20 * time.Second

// handOver is the floor's signaler: a message goes to the other case as one from the relay
// would (a copy, through JSON as on the wire).
type handOver struct{ to *Case }

func (h handOver) send(obj interface{}) {
	raw, err := json.Marshal(obj)
	if err != nil {
		logf("floor: %v", err)
		return
	}
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		logf("floor: %v", err)
		return
	}
	h.to.onRelayMessage(msg)
}

func (h handOver) close() {}

// floor answers a `floor` request: `iterations` calls, one after the other.
func floor(cmd map[string]interface{}) ([]float64, error) {
	files := map[string]string{}
	if m, ok := cmd["media_files"].(map[string]interface{}); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				files[k] = s
			}
		}
	}
	if files["video"] == "" {
		return nil, fmt.Errorf("floor: no media_files.video")
	}
	n := 10
	if v, ok := cmd["iterations"].(float64); ok && v >= 1 {
		n = int(v)
	}
	times := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		t, err := floorOnce(files)
		if err != nil {
			return nil, fmt.Errorf("floor iteration %d: %v", i+1, err)
		}
		times = append(times, t)
	}
	return times, nil
}

// floorOnce is one call: milliseconds from the offerer's create_offer to the answerer's first
// frame.
func floorOnce(files map[string]string) (float64, error) {
	var (
		mu    sync.Mutex
		start time.Time
	)
	first := make(chan time.Time, 1)
	failed := make(chan error, 2)
	watch := func(who string) func(map[string]interface{}) {
		return func(ev map[string]interface{}) {
			now := time.Now()
			switch ev["type"] {
			case "create_offer":
				mu.Lock()
				if start.IsZero() {
					start = now
				}
				mu.Unlock()
			case "first_frame":
				select {
				case first <- now:
				default:
				}
			case "error":
				select {
				case failed <- fmt.Errorf("%s: %v: %v", who, ev["context"], ev["message"]):
				default:
				}
			}
		}
	}
	config := func(name string, media []string) *Config {
		return &Config{Name: name, Media: media, Trickle: true, MediaFiles: files}
	}
	offerer := newCase(config("floor-offerer", []string{"video"}))
	answerer := newCase(config("floor-answerer", nil))
	offerer.onEvent, answerer.onEvent = watch("offerer"), watch("answerer")
	offerer.relay, answerer.relay = handOver{answerer}, handOver{offerer}
	defer offerer.release()
	defer answerer.release()
	for _, c := range []*Case{offerer, answerer} {
		if err := c.build(); err != nil {
			return 0, err
		}
	}
	if err := offerer.perform(map[string]interface{}{"type": "start"}); err != nil {
		return 0, err
	}
	offerer.serial("offer", offerer.offer)
	select {
	case at := <-first:
		mu.Lock()
		defer mu.Unlock()
		return ms(at.Sub(start)), nil
	case err := <-failed:
		return 0, err
	case <-time.After(floorLimit):
		return 0, fmt.Errorf("no first frame within %v", floorLimit)
	}
}
