'use strict';
// rtc-harness command peer (stacks/PROTOCOL.md, version 1) for Google libwebrtc M106, through the
// npm package @roamhq/wrtc 0.10.0 (node-webrtc: the W3C RTCPeerConnection API in Node, on a
// prebuilt libwebrtc). Run from stacks/ as `node libwebrtc/peer.js`; modules come from
// stacks/node/node_modules.
//
// Mapping. The stack has the browser's API, so this follows the agent page
// (src/peer/browser/agent.html) step by step: negotiationneeded -> offer when auto_negotiate; a
// remote offer makes a not-yet-started answerer attach its media; signaling messages are applied
// strictly in order on one promise chain; trickle sends each candidate then {"candidate": null},
// non-trickle waits for gathering to complete and sends the description alone; own channels greet
// on open, channels the other side created are echoed. restartIce() exists natively in M106 and
// fires negotiationneeded itself.
//   Media sent: real frames the stack encodes itself. nonstandard.RTCVideoSource is fed a moving
// I420 pattern, 320x240 at 30 fps (libwebrtc encodes it, VP8 first in its offer);
// nonstandard.RTCAudioSource is fed a 440 Hz tone in 10 ms chunks of 48 kHz 16-bit mono PCM
// (encoded as Opus). Both are paced from one 10 ms timer against the wall clock. With the
// configuration's `marker`, each video frame carries the frame marker (kernel/marker.js), and each
// frame a sink receives is read; with its `tone`, the audio is the sender's tone instead of 440 Hz
// (kernel/tone.js) and what an RTCAudioSink on each remote audio track plays is classified.
//   Media received: video through nonstandard.RTCVideoSink on the remote track (each onframe is one
// decoded frame: first_frame with its size, media_progress every 10); audio as the agent page does
// it, getStats() inbound-rtp packetsReceived of the track polled every 50 ms (first_packet,
// media_progress every 50 packets): that counts RTP packets, where RTCAudioSink's ondata would
// count 10 ms playout chunks, which also come as silence before any packet.
//
// Pitfalls of the binding worked around here (libwebrtc itself is fine):
// - State events carry no state: the native callback is queued to the JS thread and the wrapper
//   reads pc.xxxState when it dispatches, so a late read shows the state of *now*: two events can
//   report the same state and an intermediate one (e.g. ICE `checking`) can be missed. A state is
//   reported when it differs from the last one reported for that machine (never a repeat, never an
//   invented one). Signaling state is driven by our own awaited calls, so it is read exactly.
// - End-of-candidates: the wrapper synthesizes a null icecandidate whenever a gathering-state
//   event *reads* `complete`, so a late read of the new->gathering change puts a null candidate
//   ahead of the candidates still queued behind it (seen in probes: end-of-candidates, then four
//   candidates). Its null candidates are ignored; instead, on each gathering-state event reading
//   `complete`, the check is deferred to setImmediate (after the binding has drained its queue, in
//   which every candidate gathered before `complete` precedes the completion), and one
//   end-of-candidates per gathering round is sent then (a new local candidate starts a new round).
// - pc.close() makes the native side fire closed ice/connection/signaling state events (browsers
//   fire none). After the `close` action (the case goes on) they are reported as they come; after
//   the harness's `close` the case is over and nothing more is reported.
// - The addon segfaults when Node tears down by itself after peer connections existed, so stdin
//   EOF ends with process.exit(0) (which exits cleanly).
// - Gathering (recorded, not filtered): libwebrtc gathers a UDP host candidate on every interface,
//   loopback included (here fd00::2, 192.0.2.2, ::1, 127.0.0.1), for each m-section until BUNDLE is
//   agreed, and TCP passive host candidates in a later allocation phase, about 100 ms in. With
//   trickle the connection was up before that in every run seen and gathering completed without
//   any TCP candidate; without trickle the description waits for `complete` and carries the TCP
//   candidates too (so non-trickle connects about 100 ms later). The Rust peer takes all of them
//   without error (non_trickle passes with TCP candidates in the SDP); aiortc and werift connected
//   with the trickled UDP ones.
//
// ICE servers, policy, errors, stats: the W3C configuration is passed as it comes (iceServers,
// iceTransportPolicy 'relay': libwebrtc gathers and pairs relay candidates only); icecandidateerror
// is libwebrtc's own (the TURN server's 401, or 701 "STUN server address is incompatible" from
// its IPv6 sockets towards an IPv4 server) and becomes `candidate_error`; the stats summary takes
// getStats' inbound-rtp / outbound-rtp figures and the transport's selected pair (with its
// currentRoundTripTime and availableOutgoingBitrate) by their W3C names.
//
// Issue 10's additions (the W3C API of the binding, as the agent page uses it): perfect
// negotiation (webrtc-pc 10.7) when config.polite is a boolean, with an explicit
// setLocalDescription({type: 'rollback'}) on the polite side (libwebrtc M106 rolls back nothing
// inside setRemoteDescription: "Called in wrong state: have-local-offer"), so rollback events say
// implicit: false; the `rollback` action; RTCDataChannelInit options passed to createDataChannel
// and read back on open; binary messages (byte i = i % 251) sent as Uint8Array, received as
// ArrayBuffer (size, intact) and echoed as binary; close_channel (channel.close()); set_direction
// (transceiver.direction), remove_track (pc.removeTrack), replace_track (sender.replaceTrack with
// a track of a new synthetic source, from its first frame); codec_preferences
// (transceiver.setCodecPreferences with RTCRtpReceiver.getCapabilities entries); stats `codec`
// from the codec stats named by codecId; after the `close` action the states as read.
// Findings of the stack (reported, not worked around):
// - send() of a message over the remote's a=max-message-size throws nothing: libwebrtc fails the
//   send and closes the channel abruptly (readyState 'closed' when send() returns, and the peer is
//   not told: its channel stays open). The action answers an error saying so (sendBinary).
// - maxRetransmits / maxPacketLifeTime read 65535 when unset (reported as null, see watchChannel).
//
// stdout carries protocol lines only; console output of any library is sent to stderr.

const path = require('path');
const { createRequire } = require('module');
// The Node adapters' shared kernel (../node/kernel): protocol lines, relay, binary pattern, floor.
const { now, write, errorText, hello, keepStdoutForProtocol, readCommands } = require('../node/kernel/lines');
const relay = require('../node/kernel/relay');
const { patternBytes } = require('../node/kernel/pattern');
const { floorLoop, answerFloor } = require('../node/kernel/floor');
const { caseCommands } = require('../node/kernel/cases');
const { w3cSummary, REPAIR_IN, REPAIR_OUT } = require('../node/kernel/stats');
const marker = require('../node/kernel/marker');
const tone = require('../node/kernel/tone');
const actions = require('../node/kernel/actions');
const { Chain } = require('../node/kernel/chain');
const { Channels } = require('../node/kernel/channels');

const nodeRequire = createRequire(path.join(__dirname, '..', 'node', 'package.json'));
const wrtc = nodeRequire('@roamhq/wrtc');
const WRTC_VERSION = nodeRequire('@roamhq/wrtc/package.json').version;
const { RTCPeerConnection, MediaStream } = wrtc;
const { RTCVideoSource, RTCVideoSink, RTCAudioSource, RTCAudioSink } = wrtc.nonstandard;

// Keep stdout for the protocol.
keepStdoutForProtocol();

const VIDEO_W = 320;
const VIDEO_H = 240;
const VIDEO_FPS = 30;
const AUDIO_RATE = 48000;
const AUDIO_CHUNK = AUDIO_RATE / 100; // 10 ms
const TONE_HZ = 440;
// How often the connection-state getters are read besides their events (see wire()).
const STATE_POLL_MS = 100;

// ---------------------------------------------------------------------------------------------
// Synthetic sources.

// A moving I420 picture: diagonal luma bands sliding right and a bright square bouncing across,
// chroma drifting with time, so every frame differs from the one before.
function videoFrame(n) {
  const w = VIDEO_W;
  const h = VIDEO_H;
  const data = new Uint8ClampedArray((w * h * 3) / 2);
  const shift = n * 3;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) data[row + x] = 40 + ((x + y + shift) & 0x7f);
  }
  const side = 48;
  const span = w - side;
  const p = n % (2 * span);
  const bx = p < span ? p : 2 * span - p;
  const by = (h - side) >> 1;
  for (let y = by; y < by + side; y++) data.fill(235, y * w + bx, y * w + bx + side);
  const cw = w >> 1;
  const ch = h >> 1;
  data.fill(128 + Math.round(60 * Math.sin(n / 20)), w * h, w * h + cw * ch);
  data.fill(128 + Math.round(60 * Math.cos(n / 20)), w * h + cw * ch);
  return { width: w, height: h, data };
}

// One 10 ms timer per case drives every source, each paced against the wall clock: video skips
// frames it is late for (no bursts), audio catches up a few chunks at most.
class Pacer {
  constructor() {
    this.sources = [];
    this.timer = null;
  }

  // `painter`: the frame marker's (kernel/marker.js) when the case reads markers, else null.
  addVideo(source, painter) {
    this.sources.push({ kind: 'video', source, t0: performance.now(), sent: 0, n: 0, painter });
    this.run();
  }

  // `sound`: the sender's tone (kernel/tone.js) when the case reads tones, else null (440 Hz).
  addAudio(source, sound = null) {
    this.sources.push({ kind: 'audio', source, t0: performance.now(), sent: 0, phase: 0, sound });
    this.run();
  }

  // A source no longer fed (its track removed or replaced).
  remove(source) {
    this.sources = this.sources.filter((s) => s.source !== source);
  }

  run() {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), 10);
  }

  tick() {
    const t = performance.now(); // monotonic: a step of the wall clock must not skip or stall frames
    for (const s of this.sources) {
      try {
        if (s.kind === 'video') {
          const due = Math.floor(((t - s.t0) * VIDEO_FPS) / 1000) + 1;
          if (due > s.sent) {
            const frame = videoFrame(s.n++);
            if (s.painter) s.painter.paint(frame.data, frame.width, frame.height, frame.width);
            s.source.onFrame(frame);
            s.sent = due;
          }
        } else {
          const due = Math.floor((t - s.t0) / 10) + 1;
          if (due - s.sent > 5) s.sent = due - 5;
          while (s.sent < due) {
            s.source.onData(this.tone(s));
            s.sent += 1;
          }
        }
      } catch (e) {
        process.stderr.write(`libwebrtc peer: ${s.kind} source: ${errorText(e)}\n`);
      }
    }
  }

  tone(s) {
    if (s.sound) return { samples: s.sound.int16(AUDIO_CHUNK, AUDIO_RATE), sampleRate: AUDIO_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: AUDIO_CHUNK };
    const samples = new Int16Array(AUDIO_CHUNK);
    const step = (2 * Math.PI * TONE_HZ) / AUDIO_RATE;
    for (let i = 0; i < AUDIO_CHUNK; i++) {
      samples[i] = Math.round(8000 * Math.sin(s.phase));
      s.phase += step;
    }
    s.phase %= 2 * Math.PI;
    return { samples, sampleRate: AUDIO_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: AUDIO_CHUNK };
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sources = [];
  }
}

// The media of one peer connection, shared by a case and the floor. Sending: a source per kind fed
// by `pacer`, its track added to `pc` in one stream (same order as getUserMedia's: audio, then
// video); returns the tracks. Receiving video: an RTCVideoSink on the remote track, each onframe
// one decoded frame, `onFrame(count, frame)` called with the running count (count 1 is the
// protocol's first_frame); returns the sink.
function addSourceTracks(pc, kinds, pacer, painter = () => null, sound = () => null) {
  const made = ['audio', 'video'].filter((k) => kinds.includes(k)).map((k) => newSource(k, pacer, k === 'video' ? painter() : sound()));
  const tracks = made.map((m) => m.track);
  const stream = new MediaStream(tracks);
  return made.map((m) => Object.assign(m, { sender: pc.addTrack(m.track, stream) }));
}

// A new synthetic source of a kind, from its first frame / sample, fed by `pacer`, and its track;
// `marking`: a video source's painter, an audio source's tone (or null).
function newSource(kind, pacer, marking = null) {
  if (kind === 'audio') {
    const source = new RTCAudioSource();
    const track = source.createTrack();
    pacer.addAudio(source, marking);
    return { kind, source, track };
  }
  const source = new RTCVideoSource();
  const track = source.createTrack();
  pacer.addVideo(source, marking);
  return { kind, source, track };
}

function countVideoFrames(track, onFrame) {
  const sink = new RTCVideoSink(track);
  let count = 0;
  sink.onframe = ({ frame }) => {
    count += 1;
    onFrame(count, frame);
  };
  return sink;
}

// ---------------------------------------------------------------------------------------------
// One case: a peer connection, its relay socket, its media.

class Case {
  constructor(config) {
    this.cfg = config;
    this.live = true;
    this.pc = null;
    this.ws = null;
    this.started = false;
    // Signaling messages and our own offers run one after the other, as the seed's promise chain.
    this.chain = new Chain((type, fields) => this.push(type, fields));
    // Data channels by label, and whether data_channel_open / data_channel_close were pushed.
    this.channels = new Channels((type, fields) => this.push(type, fields), config);
    this.tracks = [];
    this.sinks = [];
    this.markerRecords = [];
    this.listeners = [];
    this.audioWatch = [];
    this.audioTimer = null;
    this.statePoll = null;
    this.pacer = new Pacer();
    this.pendingCandidates = [];
    this.lastState = { signaling: 'stable', gathering: 'new', ice: 'new', connection: 'new' };
    this.eocSent = false;
    this.pcClosed = false;
    // Perfect negotiation (W3C webrtc-pc 10.7) when config.polite is a boolean; null: the seed flow.
    this.polite = typeof config.polite === 'boolean' ? config.polite : null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    // What is sent: {kind, source, track, sender} per added track (replace_track swaps source and track).
    this.outgoing = [];
    // codec_preferences resolved at setup: kind -> [RTCRtpCodecCapability, ...] in order.
    this.codecPrefs = null;
    this.prefsSet = new WeakSet();
    // The last remote description as received.
    this.remoteSdp = null;
  }

  push(type, fields) {
    if (!this.live) return;
    write({ type: 'event', t: now(), event: Object.assign({ type }, fields || {}) });
  }

  send(obj) {
    relay.relaySend(this.ws, obj);
  }

  state(machine, event, value) {
    if (this.lastState[machine] === value) return;
    this.lastState[machine] = value;
    this.push(event, { state: value });
  }

  gatheringComplete() {
    const pc = this.pc;
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (pc.iceGatheringState === 'complete' || this.pcClosed) {
          pc.removeEventListener('icegatheringstatechange', check);
          resolve();
        }
      };
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  // `set` is the description just given to setLocalDescription. With trickle it is what goes out,
  // not pc.localDescription: the binding's getter (RTCPeerConnection::GetLocalDescription) takes
  // the pointer local_description() returns and serializes it on the JS thread, while libwebrtc's
  // signaling thread adds each gathered candidate to that same object. A CI run of
  // ice/restart_negotiationneeded (libwebrtc-rust) died of SIGSEGV right after its restart offer
  // was set, while a new generation was being gathered, which is when this read races. The
  // candidates are trickled anyway. Without trickle the description is read once gathering is
  // complete, when nothing changes it any more.
  async sendLocal(set) {
    this.push('local_description', { sdp_type: set.type, sdp: set.sdp });
    let d = set;
    if (!this.cfg.trickle) {
      await this.gatheringComplete();
      d = this.pc.localDescription;
    }
    this.send({ desc: { type: d.type, sdp: d.sdp } });
  }

  // makingOffer (perfect negotiation) is true from just before createOffer until the offer has
  // gone to the relay.
  async offer() {
    this.makingOffer = true;
    try {
      this.push('create_offer');
      this.applyCodecPreferences();
      const o = await this.pc.createOffer();
      await this.pc.setLocalDescription(o);
      await this.sendLocal(o);
    } finally {
      this.makingOffer = false;
    }
  }

  attachMedia(kinds) {
    if (!kinds || !kinds.length) return;
    // Nothing may start a source (and its timer) once the connection is closed.
    if (this.pcClosed) throw new Error('the peer connection is closed');
    const added = addSourceTracks(this.pc, kinds, this.pacer, () => this.videoPainter(), () => this.audioTone());
    this.outgoing.push(...added);
    this.tracks.push(...added.map((m) => m.track));
  }

  // The first transceiver of a kind: by its receiver's track (W3C), else its sender's.
  transceiverOf(kind) {
    const all = this.pc.getTransceivers().filter((x) => {
      const k = (x.receiver && x.receiver.track && x.receiver.track.kind) || (x.sender && x.sender.track && x.sender.track.kind);
      return k === kind;
    });
    const t = all.find((x) => !x.stopped);
    if (t) return t;
    // A transceiver whose m-section a remote description rejected (port 0) is stopped, and
    // libwebrtc M106 then drops it from getTransceivers() once negotiation is over.
    if (all.length || this.outgoing.some((o) => o.kind === kind)) {
      throw new Error(`no ${kind} transceiver: it is stopped or gone from getTransceivers() (its m-section was rejected, port 0)`);
    }
    throw new Error(`no ${kind} transceiver`);
  }

  // remove_track: pc.removeTrack(sender) of the first sender with a track of that kind; its source
  // is no longer fed.
  removeTrack(kind) {
    const out = this.outgoing.find((o) => o.kind === kind && o.sender.track);
    if (!out) throw new Error(`no sender with a ${kind} track`);
    this.pc.removeTrack(out.sender);
    this.pacer.remove(out.source);
  }

  // replace_track: a new synthetic source of the same kind (from its first frame / sample, as a
  // new getUserMedia track would start), its track given to sender.replaceTrack; the old source
  // stops and its track ends.
  async replaceTrack(kind) {
    const out = this.outgoing.find((o) => o.kind === kind && o.sender.track);
    if (!out) throw new Error(`no sender with a ${kind} track`);
    const made = newSource(kind, this.pacer, kind === 'video' ? this.videoPainter() : this.audioTone());
    try {
      await out.sender.replaceTrack(made.track);
    } catch (e) {
      this.pacer.remove(made.source);
      made.track.stop();
      throw e;
    }
    this.pacer.remove(out.source);
    if (out.track.readyState !== 'ended') out.track.stop();
    out.source = made.source;
    out.track = made.track;
    this.tracks.push(made.track);
    this.push('track_replaced', { kind });
  }

  // codec_preferences, checked at setup: the RTCRtpReceiver.getCapabilities(kind) codecs of each
  // name, in the order given (every entry of a name: VP9 has one per profile), then the video
  // rtx / red / ulpfec entries. libwebrtc M106 here has VP8, VP9, AV1 and no H264 (the prebuilt
  // library is built without it); opus, red, G722, PCMU, PCMA, CN, telephone-event for audio.
  resolveCodecPreferences() {
    this.codecPrefs = actions.codecPreferences(this.cfg.codec_preferences, (kind, names) => {
      const caps = (wrtc.RTCRtpReceiver.getCapabilities(kind) || { codecs: [] }).codecs;
      const named = (n) => caps.filter((c) => c.mimeType.toLowerCase() === `${kind}/${String(n).toLowerCase()}`);
      const list = [];
      for (const n of names) {
        const found = named(n);
        if (!found.length) {
          const have = [...new Set(caps.map((c) => c.mimeType.split('/')[1]))].join(', ');
          throw new Error(`codec_preferences: libwebrtc M106 (wrtc ${WRTC_VERSION}) has no ${kind} codec '${n}' (it has ${have})`);
        }
        list.push(...found);
      }
      if (kind === 'video') list.push(...['rtx', 'red', 'ulpfec'].flatMap((n) => named(n)));
      return list;
    });
  }

  // Before each offer and answer: every transceiver of a kind with preferences that has none set
  // yet gets them (W3C: before the first offer or answer that includes it).
  applyCodecPreferences() {
    if (!this.codecPrefs) return;
    for (const t of this.pc.getTransceivers()) {
      if (t.stopped || this.prefsSet.has(t)) continue;
      const k = (t.receiver && t.receiver.track && t.receiver.track.kind) || (t.sender && t.sender.track && t.sender.track.kind);
      const list = this.codecPrefs[k];
      if (!list) continue;
      t.setCodecPreferences(list);
      this.prefsSet.add(t);
    }
  }

  // The frame marker (docs/markers.md) of the next video source, when the case reads markers:
  // source 0, one more per replace_track. Its events stop with the close action.
  videoPainter() {
    if (!this.cfg.marker) return null;
    this.sources = (this.sources || 0) + 1;
    const painter = new marker.Painter(this.cfg.marker.sender, this.sources - 1, (type, fields) => this.markerPush(type, fields));
    (this.painters ||= []).push(painter);
    return painter;
  }

  // The audio marker (docs/markers.md, "Audio") of the next audio source, when the case reads
  // tones: the sender's tone instead of 440 Hz.
  audioTone() {
    return this.cfg.tone ? new tone.Tone(this.cfg.tone.sender) : null;
  }

  markerPush(type, fields) {
    if (!this.pcClosed) this.push(type, fields);
  }

  // Each onframe is one decoded frame handed to the sink, so each counts as a distinct frame; with
  // markers, its Y plane (the first width x height bytes of the I420 data) is read.
  watchVideo(track) {
    const record = this.cfg.marker ? new marker.Record((type, fields) => this.markerPush(type, fields)) : null;
    if (record) this.markerRecords.push(record);
    const sink = countVideoFrames(track, (count, frame) => {
      if (record) record.frame(marker.read(frame.data, frame.width, frame.height, frame.width));
      if (count === 1) this.push('first_frame', { kind: 'video', width: frame.width, height: frame.height });
      if (count % 10 === 0) this.push('media_progress', { kind: 'video', count });
    });
    this.sinks.push(sink);
  }

  // RTCRtpReceiver.getStats() is "not yet implemented" in the binding: one pc.getStats() every
  // 50 ms serves every remote audio track, matched by trackIdentifier.
  watchAudio(track) {
    if (this.cfg.tone) {
      // The audio marker: what RTCAudioSink hands over (10 ms of decoded PCM each ondata).
      const ears = new tone.Listener((type, fields) => this.markerPush(type, fields));
      this.listeners.push(ears);
      const sink = new RTCAudioSink(track);
      sink.ondata = (d) => ears.samples(d.samples, d.sampleRate, d.channelCount);
      this.sinks.push(sink);
    }
    this.audioWatch.push({ id: track.id, first: true, mark: 0 });
    if (this.audioTimer) return;
    let busy = false;
    this.audioTimer = setInterval(async () => {
      if (busy || this.pcClosed) return;
      busy = true;
      try {
        const stats = await this.pc.getStats();
        stats.forEach((r) => {
          if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
          const w = this.audioWatch.find((x) => x.id === r.trackIdentifier);
          if (!w) return;
          const n = r.packetsReceived || 0;
          if (n > 0 && w.first) {
            w.first = false;
            this.push('first_packet', { kind: 'audio' });
          }
          while (n >= w.mark + 50) {
            w.mark += 50;
            this.push('media_progress', { kind: 'audio', count: w.mark });
          }
        });
      } catch (e) {
        // A closed connection has no stats; nothing to report.
      } finally {
        busy = false;
      }
    }, 50);
  }

  // data_channel_open carries the channel's options as libwebrtc reports them on this side. The
  // binding reads libwebrtc's maxRetransmits() / maxPacketLifeTime(), which return 65535 when the
  // option is unset (DataChannelInterface: maxRetransmitsOpt().value_or(0xFFFF)): 65535 is
  // reported as null, unset. data_channel_close is pushed once per channel (on the binding's
  // `close`, or by closePeer).
  watchChannel(dc, mine) {
    this.channels.add(dc);
    const onOpen = () => {
      // An `open` the binding queued before close() is dispatched after it (the channel is
      // closed by then, and send() would throw out of the event handler): not reported.
      if (this.pcClosed || !this.channels.opened(dc, 65535)) return;
      const greeting = this.channels.greeting(dc, mine);
      if (greeting) {
        try {
          dc.send(greeting);
        } catch (err) {
          process.stderr.write(`libwebrtc peer: greeting on '${dc.label}': ${errorText(err)}\n`);
        }
      }
    };
    dc.onopen = onOpen;
    dc.onmessage = (e) => {
      this.channels.message(dc, e.data);
      // The binding's readyState can still read 'open' for a channel libwebrtc has closed (the
      // peer hung up): send() then throws out of this handler, which would end the process.
      if (this.cfg.echo && !mine && dc.readyState === 'open') {
        try {
          dc.send(e.data);
        } catch (err) {
          process.stderr.write(`libwebrtc peer: echo on '${dc.label}': ${errorText(err)}\n`);
        }
      }
    };
    dc.onclose = () => this.channels.closed(dc);
    if (dc.readyState === 'open') onOpen();
    return dc;
  }

  // send_message with `size`: one binary message. libwebrtc M106 does not throw the TypeError of
  // W3C webrtc-pc 6.2 send() for a message over the remote's a=max-message-size (Blink makes that
  // check in Chrome, above libwebrtc): its SctpDataChannel fails the send and closes the channel
  // (readyState 'closed' when send() returns; the peer is not told). That is answered as an
  // error, with what happened, not as a message sent.
  // The message is a Uint8Array of its own (kernel patternBytes), not a Buffer.
  sendBinary(dc, size) {
    // From the remote description as received (the binding's remoteDescription is libwebrtc's
    // re-serialization, which leaves a=max-message-size out).
    const remoteMax = ((this.remoteSdp && /a=max-message-size:(\d+)/.exec(this.remoteSdp)) || [])[1];
    try {
      dc.send(patternBytes(size));
    } catch (e) {
      throw new Error(`${(e && e.name) || 'Error'}: ${errorText(e)}`);
    }
    if (dc.readyState !== 'open') {
      throw new Error(
        `libwebrtc M106 did not refuse send() of ${size} bytes (the remote's a=max-message-size is ${remoteMax || 'absent: 65536'}): ` +
          `no exception, and the channel is '${dc.readyState}' after it (the message was not sent)`,
      );
    }
  }

  applyCandidate(c) {
    if (c && c.candidate) {
      return this.pc.addIceCandidate(c).then(() => this.push('remote_candidate', { candidate: c.candidate }));
    }
    // End-of-candidates: the binding takes every empty form as end-of-candidates.
    return this.pc.addIceCandidate(null).then(() => this.push('remote_candidate', { candidate: '' }));
  }

  async onMessage(msg) {
    if (msg.desc) {
      const d = msg.desc;
      if (this.polite !== null) {
        // W3C webrtc-pc 10.7. Signaling is applied in order on one chain with our own offers, so
        // an offer of ours is always sent by now (makingOffer is kept all the same), and a
        // collision shows as have-local-offer. libwebrtc M106 does no implicit rollback here (its
        // RTCConfiguration.enable_implicit_rollback is off unless the embedder turns it on, as
        // Chrome does; the binding does not): setRemoteDescription(offer) in have-local-offer fails
        // "Called in wrong state: have-local-offer". The polite side rolls back explicitly.
        const offerCollision = d.type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && offerCollision;
        if (this.ignoreOffer) {
          this.push('offer_ignored');
          return;
        }
        if (offerCollision) {
          await this.pc.setLocalDescription({ type: 'rollback' });
          this.push('rollback', { implicit: false });
        }
      }
      await this.pc.setRemoteDescription(d);
      this.remoteSdp = d.sdp;
      this.push('remote_description', { sdp_type: d.type, sdp: d.sdp });
      // Candidates that came before any remote description, in their order.
      const queued = this.pendingCandidates.splice(0);
      for (const c of queued) await this.applyCandidate(c);
      if (d.type !== 'offer') return;
      actions.startAnswerer(this);
      this.applyCodecPreferences();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      await this.sendLocal(answer);
    } else if ('candidate' in msg) {
      if (this.ignoreOffer) {
        // Perfect negotiation: a candidate of an ignored offer. W3C's addIceCandidate fails
        // without a remote description, and its error is dropped while ignoreOffer is true.
        if (!this.pc.remoteDescription) {
          process.stderr.write(`libwebrtc peer: candidate of an ignored offer dropped: ${JSON.stringify(msg.candidate)}\n`);
          return;
        }
        await this.applyCandidate(msg.candidate).catch((e) => process.stderr.write(`libwebrtc peer: candidate of an ignored offer: ${errorText(e)}\n`));
        return;
      }
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(msg.candidate);
        return;
      }
      await this.applyCandidate(msg.candidate);
    } else if (msg.error) {
      this.push('error', { context: 'relay', message: JSON.stringify(msg.error) });
    }
  }

  readConnectionStates() {
    if (this.pcClosed) return;
    this.state('ice', 'ice_connection_state', this.pc.iceConnectionState);
    this.state('connection', 'connection_state', this.pc.connectionState);
  }

  endOfCandidates() {
    if (this.eocSent || this.pcClosed || this.pc.iceGatheringState !== 'complete') return;
    this.eocSent = true;
    this.push('end_of_candidates', { form: 'null' });
    if (this.cfg.trickle) this.send({ candidate: null });
  }

  wire() {
    const pc = this.pc;
    pc.onnegotiationneeded = () => {
      if (this.pcClosed) return;
      this.push('negotiation_needed');
      if (this.cfg.auto_negotiate) this.chain.serial('negotiationneeded offer', () => this.offer());
    };
    pc.onicecandidate = (e) => {
      // The binding's own null candidates are ignored (see the header): endOfCandidates() sends it.
      if (!e.candidate || !e.candidate.candidate) return;
      this.eocSent = false;
      this.push('local_candidate', { candidate: e.candidate.candidate });
      if (this.cfg.trickle) this.send({ candidate: e.candidate.toJSON() });
    };
    // libwebrtc's own icecandidateerror (a STUN/TURN server's error response, or 701 when no
    // host candidate could reach the server), as the binding dispatches it.
    pc.onicecandidateerror = (e) => {
      if (this.pcClosed) return;
      this.push('candidate_error', { url: String(e.url || ''), error_code: Number(e.errorCode), error_text: String(e.errorText || '') });
    };
    pc.onicegatheringstatechange = () => {
      const s = pc.iceGatheringState;
      this.state('gathering', 'ice_gathering_state', s);
      if (s === 'complete') setImmediate(() => this.endOfCandidates());
    };
    pc.onsignalingstatechange = () => this.state('signaling', 'signaling_state', pc.signalingState);
    pc.oniceconnectionstatechange = () => this.readConnectionStates();
    pc.onconnectionstatechange = () => this.readConnectionStates();
    // The binding fires both events only from libwebrtc's legacy OnIceConnectionChange, while the
    // getters read standardized_ice_connection_state() and peer_connection_state(), which the
    // signaling thread updates a moment later from their own signals. When the JS thread runs
    // the event first, it reads the old state and no event follows the real change: a
    // fresh-clone CI run of network/blackout_12s (libwebrtc-firefox) saw libwebrtc's video rise
    // after the blackout while it never reported `connected` again. The getters are the stack's
    // state (W3C webrtc-pc 4.4.3, 4.4.4), so they are also read every STATE_POLL_MS.
    if (this.statePoll) clearInterval(this.statePoll);
    this.statePoll = setInterval(() => this.readConnectionStates(), STATE_POLL_MS);
    pc.ontrack = (e) => {
      // A track event queued before close() must not start a sink or a timer after it.
      if (this.pcClosed) return;
      this.push('track', { kind: e.track.kind });
      if (e.track.kind === 'video') this.watchVideo(e.track);
      else this.watchAudio(e.track);
    };
    pc.ondatachannel = (e) => this.watchChannel(e.channel, false);
  }

  async setup() {
    // The W3C configuration as it comes: libwebrtc takes RTCIceServer objects (urls, username,
    // credential) and iceTransportPolicy ('relay': only relay candidates are gathered and used).
    const servers = Array.isArray(this.cfg.ice_servers) ? this.cfg.ice_servers : [];
    const config = { iceServers: servers };
    const policy = this.cfg.ice_transport_policy;
    if (policy !== undefined && policy !== null) {
      if (policy !== 'all' && policy !== 'relay') throw new Error(`ice_transport_policy '${policy}' is neither 'all' nor 'relay'`);
      config.iceTransportPolicy = policy;
    }
    this.resolveCodecPreferences();
    this.pc = new RTCPeerConnection(config);
    this.wire();
    const socket = relay.openRelay(this.cfg.signaling_url, {
      binary: true,
      onMessage: (msg) => {
        if (this.live) this.chain.serial('signaling', () => this.onMessage(msg));
      },
      onError: (e) => this.push('error', { context: 'relay socket', message: errorText(e) }),
    });
    this.ws = socket.ws;
    await socket.opened;
  }

  // The protocol's actions: the shared W3C mapping (kernel/actions.js) over this case's methods.
  perform(a) {
    return actions.perform(this, a, (type, fields) => this.push(type, fields));
  }

  setDirection(kind, direction) {
    this.transceiverOf(kind).direction = direction;
  }

  stallVideo(a) {
    return marker.stallPainters(this.painters || [], a);
  }

  // libwebrtc's getStats as the agent page reads it (W3C names): inbound-rtp, outbound-rtp and the
  // transport's selected candidate pair, with the repair counters (REPAIR_IN for video, REPAIR_OUT).
  // Fields libwebrtc does not give for a kind are left out. `codec`: the mimeType of the codec
  // stats its codecId names.
  async collectStats() {
    const summary = w3cSummary(await this.pc.getStats(), {
      inboundKeys: (r) =>
        ['kind', 'packetsReceived', 'packetsLost', 'jitter', 'bytesReceived'].concat(
          r.kind === 'video' ? ['framesDecoded', 'framesPerSecond', 'frameWidth', 'frameHeight'].concat(REPAIR_IN) : ['totalAudioEnergy'],
        ),
      outboundKeys: ['kind', 'packetsSent', 'bytesSent'].concat(REPAIR_OUT),
      pairKeys: ['currentRoundTripTime', 'availableOutgoingBitrate'],
    });
    this.push('stats', { summary });
    this.markerRecords.forEach((r) => r.flush());
    this.listeners.forEach((l) => l.flush());
  }

  // The `close` action: media, sinks and timers stop, the connection and the socket close; the
  // case goes on (events of the close itself are still reported). After close(): the signaling
  // and connection states as read (the binding also fires its own `closed` events: one report
  // each), and data_channel_close for every channel opened and not closed yet.
  closePeer() {
    this.pacer.stop();
    if (this.statePoll) clearInterval(this.statePoll);
    this.statePoll = null;
    if (this.audioTimer) clearInterval(this.audioTimer);
    this.audioTimer = null;
    for (const sink of this.sinks) if (!sink.stopped) sink.stop();
    this.sinks = [];
    for (const track of this.tracks) if (track.readyState !== 'ended') track.stop();
    this.tracks = [];
    if (this.pc && !this.pcClosed) {
      this.pcClosed = true;
      this.pc.close();
      this.state('signaling', 'signaling_state', this.pc.signalingState);
      this.state('connection', 'connection_state', this.pc.connectionState);
      this.channels.closeAll();
    }
    if (this.ws && this.ws.readyState === relay.OPEN) this.ws.close();
  }

  // The harness's `close`: nothing of the case outlives it.
  async release() {
    this.live = false;
    this.closePeer();
    const ws = this.ws;
    if (ws && ws.readyState !== relay.CLOSED) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (ws.readyState === relay.CONNECTING) ws.terminate();
      });
    }
    this.ws = null;
    this.pc = null;
    this.channels.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The floor (PROTOCOL.md, last section): the stack's own time to first frame, two peer connections
// in this process and nothing of the harness in the path. The offerer sends video as a case does
// (addSourceTracks: the synthetic source, encoded by libwebrtc; media_files is not needed), the
// answerer counts decoded frames as a case does (countVideoFrames); descriptions and trickled
// candidates are handed over directly, candidates queued until their side has the remote
// description. Timed from just before createOffer to the answerer's first decoded frame. No event
// lines: this is not a case, and it touches no case state.

const FLOOR_LIMIT_MS = 15000;

// Hands `from`'s trickled candidates to `to`; the returned function is called once `to` has its
// remote description and applies what was queued before. The binding's null candidates are skipped
// (see the header); end-of-candidates is not needed for two host-candidate peers.
function handCandidates(from, to, failed) {
  let queue = [];
  from.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    const c = e.candidate.toJSON();
    if (queue) queue.push(c);
    else to.addIceCandidate(c).catch(failed);
  };
  return () => {
    const queued = queue;
    queue = null;
    return Promise.all(queued.map((c) => to.addIceCandidate(c)));
  };
}

async function floorOnce() {
  const pacer = new Pacer();
  const offerer = new RTCPeerConnection({ iceServers: [] });
  const answerer = new RTCPeerConnection({ iceServers: [] });
  let tracks = [];
  const sinks = [];
  let over = false;
  let fail;
  const failed = new Promise((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {}); // awaited through Promise.race; a late failure after the end is moot
  const timer = setTimeout(() => fail(new Error(`no first frame within ${FLOOR_LIMIT_MS} ms`)), FLOOR_LIMIT_MS);
  try {
    const firstFrame = new Promise((resolve) => {
      answerer.ontrack = (e) => {
        if (over || e.track.kind !== 'video') return;
        sinks.push(countVideoFrames(e.track, (count) => {
          if (count === 1) resolve(now());
        }));
      };
    });
    const toAnswerer = handCandidates(offerer, answerer, fail);
    const toOfferer = handCandidates(answerer, offerer, fail);
    tracks = addSourceTracks(offerer, ['video'], pacer).map((m) => m.track);
    const exchange = async () => {
      const t0 = now();
      const offer = await offerer.createOffer();
      await offerer.setLocalDescription(offer);
      await answerer.setRemoteDescription(offer);
      await toAnswerer();
      const answer = await answerer.createAnswer();
      await answerer.setLocalDescription(answer);
      await offerer.setRemoteDescription(answer);
      await toOfferer();
      return t0;
    };
    const t0 = await Promise.race([exchange(), failed]);
    const t1 = await Promise.race([firstFrame, failed]);
    return t1 - t0;
  } finally {
    over = true;
    clearTimeout(timer);
    // The order of a case's close: media, sinks, tracks, then the connections.
    pacer.stop();
    for (const sink of sinks) if (!sink.stopped) sink.stop();
    for (const track of tracks) if (track.readyState !== 'ended') track.stop();
    offerer.close();
    answerer.close();
  }
}

async function floor(iterations) {
  const n = Number.isInteger(iterations) && iterations >= 0 ? iterations : 1;
  return { floor: await floorLoop(n, floorOnce) };
}

// ---------------------------------------------------------------------------------------------
// The command loop.

// Every command is handled as it arrives (a perform waiting on the signaling chain does not hold
// up the lines after it).
const commands = caseCommands({
  open: (config) => new Case(config),
  release: (c) => c.release(),
  floor: (msg) => answerFloor(msg, () => floor(msg.iterations), { errorPrefix: 'floor: ' }),
  usable: (c) => !!(c && c.pc),
  log: (...a) => process.stderr.write(`libwebrtc peer: ${a.join(' ')}\n`),
});

hello('libwebrtc', `M106 (@roamhq/wrtc ${WRTC_VERSION})`);

readCommands((msg) => commands.handle(msg).catch((e) => process.stderr.write(`libwebrtc peer: ${errorText(e)}\n`)), {
  log: (...a) => process.stderr.write(`libwebrtc peer: ${a.join(' ')}\n`),
  // EOF: exit now. process.exit, not a natural end: the addon crashes in Node's own teardown.
  onEnd: () => process.exit(0),
});
