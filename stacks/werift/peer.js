'use strict';
// rtc-harness command peer for werift (TypeScript WebRTC stack, npm `werift` 0.24.4).
//
// Speaks the command-peer protocol of ../PROTOCOL.md (JSON lines on stdin/stdout) and does what the
// browser agent page (src/peer/browser/agent.html) does, with werift's RTCPeerConnection:
//
//   protocol                    werift
//   negotiation_needed          pc.onNegotiationneeded (auto_negotiate: createOffer + setLocalDescription)
//   signaling_state, ...        pc.signalingStateChange / iceGatheringStateChange /
//                               iceConnectionStateChange / connectionStateChange
//   local_candidate             pc.onIceCandidate(candidate); end_of_candidates: onIceCandidate(undefined)
//   track                       pc.onTrack(MediaStreamTrack)
//   first_frame, first_packet,  track.onReceiveRtp: VP8 frames reassembled here (RFC 7741), the
//   media_progress              keyframe size read from its header (RFC 6386 section 9.1); werift
//                               does not decode
//   data_channel_*              pc.createDataChannel(label, RTCDataChannelInit) / pc.onDataChannel,
//                               channel.onMessage (string: text; Buffer: binary, size and intact);
//                               open carries id, protocol, ordered, maxRetransmits,
//                               maxPacketLifeTime, negotiated as werift reports them
//   restart_ice                 pc.restartIce() (werift then fires negotiationneeded itself)
//   polite (perfect negotiation) W3C webrtc-pc 10.7 in onMessage; werift's setRemoteDescription(offer)
//                               in have-local-offer rolls back by itself: rollback {implicit: true}
//   rollback                    pc.setLocalDescription({type: 'rollback'})
//   set_direction, remove_track transceiver.direction (+ werift's needNegotiation, see setDirection),
//                               pc.removeTrack(sender)
//   replace_track               sender.replaceTrack(new MediaStreamTrack) fed by a new source of the
//                               same fixture from its start (see replaceTrack)
//   codec_preferences           transceiver.codecs (werift has no setCodecPreferences), VP8 / Opus only
//   close_channel               channel.close() (SCTP stream reset)
//   stats codec                 the codec stats named by inbound-rtp / outbound-rtp codecId
//   floor                       two Cases in this process, signaling handed over in memory (floor())
//
// werift sends pre-encoded media: a `MediaStreamTrack({kind})` is added with addTrack and fed RTP
// with `track.writeRtp()`; the sender rewrites SSRC and payload type to the negotiated ones. This
// program packetizes VP8 frames from the IVF file (RFC 7741 payload descriptor, marker on a frame's
// last packet, 90 kHz timestamps, 30 fps) and Opus packets from the Ogg file (48 kHz timestamps,
// paced by each packet's duration), both looped in real time.
//
// Pitfalls worked around, and why (the werift ones are findings, see the functions named):
// - werift's default configuration has a public STUN server (stun.l.google.com): the harness's
//   `ice_servers` (usually none) replace it, so no traffic leaves this machine.
// - negotiationneeded (onNegotiationNeeded): werift fires it once per change made in the same
//   tick, from tasks that do not re-check the signaling state, and after answers or a remote ICE
//   restart when nothing needs negotiating; and it clears its flag only in setRemoteDescription.
//   Taken as is, an auto-negotiating peer sends several offers for one change and answers an
//   answer with an offer. The adapter applies the W3C checks (webrtc-pc 4.7.3) and reports only
//   the events that pass them.
// - ICE restart (startRestartedIce): werift restarts its ICE agent but never runs connectivity
//   checks again while DTLS is connected, so media stops. The adapter starts the checks of a
//   restarted agent once the answer is in force. RTC_HARNESS_WERIFT_RESTART_CHECKS=off: as werift.
// - Early DTLS (holdEarlyDtls): werift creates its DTLS endpoint only once its own ICE check has
//   succeeded and drops a ClientHello that arrives before, so the handshake waits for the peer's
//   retransmission (about 1 s against the webrtc crate). The adapter keeps such records and hands
//   them to werift's DTLS endpoint when it starts. RTC_HARNESS_WERIFT_EARLY_DTLS=drop: as werift.
// - werift rejects a remote candidate with `sdpMid: ""` ("Media section for sdpMid was not
//   found"; some stacks send that): the mid is filled in from sdpMLineIndex and the remote
//   description's mids.
// - werift's setLocalDescription() awaits candidate gathering, and its icecandidate events fire
//   inside it, before the description can be sent: trickled candidates are held back until the
//   description they belong to has gone to the relay (else the other side would receive a
//   candidate of an ICE generation it has not seen yet). So a werift description always carries
//   its (host) candidates, trickled or not.
// - Remote candidates that arrive before any remote description are queued here, not in werift
//   (which buffers them silently), so `remote_candidate` is reported when one is really applied.
// - werift fires `onTrack` again for an existing remote track on every description that keeps it
//   sending (W3C fires `track` only when the track is new): only the first one per track is a
//   `track` event here, and the track is watched once.
// - Video is held at the IVF's first keyframe until the sender's DTLS transport is connected
//   (werift drops RTP before that), so the first frame the peer gets is a keyframe; a PLI or FIR
//   from the peer resends from the last keyframe.
// - bundlePolicy "max-bundle": one ICE/DTLS transport for all m-sections, like browsers against a
//   BUNDLE-aware peer (werift's default "max-compat" gathers and connects one per m-section).
// - candidate_error: werift never fires its onicecandidateerror; the failure of its TURN
//   allocation is seen by wrapping werift's createStunOverTurnClient (turnGatheringErrors). werift
//   0.24.4 drops a 401 answered to its authenticated Allocate ("TURN STUN response failed
//   MESSAGE-INTEGRITY check": it requires MESSAGE-INTEGRITY on that error response, which a server
//   that rejected the credentials cannot add, RFC 8489 section 9.2.4), so wrong credentials end in
//   its transaction timeout (701, about 7 s), then the same again over TCP (its own retry).
// - ice_transport_policy 'relay' is werift's iceTransportPolicy (forceTurn): relay candidates only
//   when a TURN server with username and credential is configured. Its relay candidates still
//   carry the TURN mapped address as raddr/rport (RFC 9429 section 3.5.3 says to hide it).
//
// - Transceivers and data channels (workarounds described where they are done): set_direction
//   fires no negotiationneeded in werift (setDirection); werift sends whatever is written into a
//   track whatever the negotiated direction (newSource); replaceTrack loses the new track's first
//   frame and reuses a sequence number (replaceTrack); close() stops DTLS before SCTP, so its
//   ABORT never leaves (closePeer); the stream-id parity follows the ICE role instead of the DTLS
//   role (sctpStreamIdsByDtlsRole).
//
// Reported as werift gives them, not worked around: iceConnectionState goes to "completed" as
// soon as local gathering ends, before any connectivity check (its ICE agent uses that state for
// "gathered"), then to "checking" and "connected"; a subsequent offer keeps the DTLS role's
// a=setup (active/passive) instead of actpass; the SCTP association is initiated by the
// ICE-controlling side (the webrtc crate and pion initiate from the DTLS client), and a werift in
// the initiating role ignores an incoming INIT. Also (issue 10's flows):
// - The DCEP DATA_CHANNEL_OPEN of an unordered channel with maxRetransmits or maxPacketLifeTime
//   carries channel type 0x01 / 0x02 instead of 0x81 / 0x82 (RFC 8832 section 5.1: werift's
//   RTCSctpTransport.dataChannelOpen overwrites the 0x80 it set for !ordered), so the peer opens it
//   ordered (data_channel_open ordered: true on the other side).
// - maxPacketLifeTime is sent as an expiry of Date.now() + lifetime / 1000 and compared with
//   Date.now() / 1000 (sctp.js): a message never expires (reported options are right).
// - An m-section whose direction is inactive is written with port 0 in werift's offers and
//   answers (SDPManager.addTransportDescription), which RFC 3264 section 6 / RFC 8829 5.3.1 make a
//   rejected m-section: libwebrtc stops that transceiver for good (direction_cycle).
// - A message over the remote's a=max-message-size: send() throws a plain Error
//   ("max-message-size exceeded: N > M"), not TypeError; the done error says so.
// - Answering any description makes werift ICE-controlled (setLocalRole), renegotiations included.
// - getStats inbound-rtp codecId names the receiver's negotiated codec with the lowest payload
//   type (RTCRtpReceiver: codecArray[0], sorted by payload type), not the one received: with
//   PCMU (0) negotiated beside Opus, an Opus stream is reported as audio/PCMU (stats `codec`).

const path = require('path');
const fs = require('fs');
const { createRequire } = require('module');
// The Node adapters' shared kernel (../node/kernel): protocol lines, relay, fixtures, VP8, floor.
const { now, write, errorText, hello, keepStdoutForProtocol, readCommands } = require('../node/kernel/lines');
const { openRelay, relaySend } = require('../node/kernel/relay');
const { patternBuffer } = require('../node/kernel/pattern');
const actions = require('../node/kernel/actions');
const { Chain } = require('../node/kernel/chain');
const { Channels } = require('../node/kernel/channels');
const { envChoice } = require('../node/kernel/env');
const { pace } = require('../node/kernel/pacing');
const { floorLoop, answerFloor, handOver } = require('../node/kernel/floor');
const { caseCommands } = require('../node/kernel/cases');
const { w3cSummary } = require('../node/kernel/stats');
const mediaKernel = require('../node/kernel/media');
const { rand16, rand32, vp8Packets, vp8Descriptor, keyframeSize } = mediaKernel;

// The Node stacks live in ../node/node_modules (one package.json for every Node adapter).
const nodeRequire = createRequire(path.join(__dirname, '..', 'node', 'package.json'));
const werift = nodeRequire('werift');
const { RTCPeerConnection, MediaStreamTrack, MediaStream, RtpPacket, RtpHeader } = werift;
// werift's TURN client module and STUN exceptions (see turnGatheringErrors below).
const weriftIceDir = path.join(path.dirname(nodeRequire.resolve('werift')), '..', '..', 'ice', 'src');
const weriftTurn = require(path.join(weriftIceDir, 'turn', 'protocol.js'));
const weriftIceErrors = require(path.join(weriftIceDir, 'exceptions.js'));
// werift's RTCSctpTransport (see sctpStreamIdsByDtlsRole below).
const weriftSctp = require(path.join(path.dirname(nodeRequire.resolve('werift')), 'transport', 'sctp.js'));

// stdout carries the protocol only: anything logged goes to stderr.
keepStdoutForProtocol();

function weriftVersion() {
  let dir = path.dirname(nodeRequire.resolve('werift'));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (pkg.name === 'werift') return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

// ---------------------------------------------------------------------------------------------
// candidate_error: werift 0.24.4 declares onicecandidateerror but never fires it, and drops the
// failure of its TURN allocation (RTCIceGatherer.getCandidatePromises catches it and logs
// "query TURN server" under DEBUG). The module function it calls for that allocation,
// createStunOverTurnClient (looked up on the module's exports at each call), is wrapped here so
// that its own failure is seen and then passed on unchanged: a TURN error response (werift's
// TransactionFailed, e.g. 401 once werift has retried with the realm and nonce) is reported with
// the server's ERROR-CODE and reason; no response (TransactionTimeout) or a socket error is W3C's
// 701. werift retries a failed UDP allocation over TCP by itself: that attempt is reported too,
// with its transport in the text. STUN binding failures are swallowed inside werift
// (serverReflexiveCandidate returns nothing, with no code): not reported. Events go to the case in
// progress (the floor configures no servers).
let turnErrorSink = null; // (address [host, port], transport, error) => void

function turnGatheringErrors() {
  const original = weriftTurn.createStunOverTurnClient;
  weriftTurn.createStunOverTurnClient = async function createStunOverTurnClient(server, options) {
    try {
      return await original.call(this, server, options);
    } catch (e) {
      if (turnErrorSink) {
        try {
          turnErrorSink(server && server.address, (options && options.transport) || 'udp', e);
        } catch (err) {
          console.error('candidate_error:', err);
        }
      }
      throw e;
    }
  };
}
turnGatheringErrors();

// ---------------------------------------------------------------------------------------------
// Data channel stream ids: RFC 8832 section 6 gives the DTLS client the even SCTP stream ids and
// the DTLS server the odd ones. werift 0.24.4 picks the parity from its ICE role when its SCTP
// transport starts (RTCSctpTransport.start: `isServer` = not ICE-controlling, then even ids), and
// its setLocalDescription(answer) makes it ICE-controlled for every answer, renegotiations
// included (SecureTransportManager.setLocalRole). So a werift offerer (DTLS server, odd ids) that
// answers a re-offer before its SCTP transport has started (the peer's offer right after a
// perfect-negotiation glare) takes the even ids, the same as the peer: both sides' first channels
// get stream 0, and each side's messages arrive on the other's channel (seen against libwebrtc:
// "hi from a" received on channel "b"). Here the parity follows the DTLS role once werift has
// chosen the parity (which side sends the SCTP INIT is left as werift decides); when the two roles
// agree nothing changes. RTC_HARNESS_WERIFT_SCTP_IDS=ice: as werift.
function sctpStreamIdsByDtlsRole() {
  const proto = weriftSctp.RTCSctpTransport.prototype;
  const original = proto.start;
  proto.start = function start(...args) {
    // werift's start() sets dataChannelId synchronously, before its first await.
    const run = original.apply(this, args);
    if (asWerift().sctpIds) return run;
    const role = this.dtlsTransport && this.dtlsTransport.role;
    if (role === 'client') this.dataChannelId = 0;
    else if (role === 'server') this.dataChannelId = 1;
    return run;
  };
}
sctpStreamIdsByDtlsRole();

// The toggles that show werift's own behaviour, each turning one workaround of this adapter off
// (the header and the functions named say which): a documented value, or unset (or blank) for the
// workaround. Read when a peer connection is created (createPeer), so that any other value fails
// the case's setup with an error naming the variable (kernel env.js), not a silent default.
let toggles = null;
function asWerift() {
  toggles ||= {
    sctpIds: envChoice('RTC_HARNESS_WERIFT_SCTP_IDS', ['ice']) !== null, // sctpStreamIdsByDtlsRole
    earlyDtls: envChoice('RTC_HARNESS_WERIFT_EARLY_DTLS', ['drop']) !== null, // holdEarlyDtls
    restartChecks: envChoice('RTC_HARNESS_WERIFT_RESTART_CHECKS', ['off']) !== null, // startRestartedIce
    closeAbort: envChoice('RTC_HARNESS_WERIFT_CLOSE_ABORT', ['off']) !== null, // closePeer
  };
  return toggles;
}

/** W3C errorCode / errorText for a failure of werift's TURN client, or null when not a server error. */
function turnErrorFields(e) {
  if (e instanceof weriftIceErrors.TransactionFailed && e.response) {
    const ec = e.response.getAttributeValue('ERROR-CODE');
    if (Array.isArray(ec) && typeof ec[0] === 'number') return { code: ec[0], text: String(ec[1] || '') };
    return null;
  }
  if (e instanceof weriftIceErrors.TransactionTimeout) return { code: 701, text: 'werift: TURN transaction timed out' };
  if (e && (e.code || e.syscall)) return { code: 701, text: `werift: ${errorText(e)}` };
  return null;
}

// ---------------------------------------------------------------------------------------------
// Media files

// The IVF (kernel media.js loadIvf) as werift's video source plays it: from its first frame, which
// must be a keyframe (video is held there until DTLS is up).
function loadVideo(file) {
  const { frames } = mediaKernel.loadIvf(file);
  if (!frames[0].key) throw new Error(`${file}: no frames, or the first is not a keyframe`);
  return frames;
}

// The Opus packets of the Ogg file (kernel media.js loadOgg), headers left out, each with its
// duration in 48 kHz samples from its TOC byte.
function loadOggOpus(file) {
  const packets = mediaKernel.loadOgg(file).flatMap((page) => page.packets);
  const audio = packets.filter((p) => !mediaKernel.isOpusHeader(p));
  if (!audio.length) throw new Error(`${file}: no Opus packets`);
  return audio.map((data) => ({ data, samples: mediaKernel.opusSamples(data) }));
}

const cached = mediaKernel.cachedLoader((kind, file) => (kind === 'video' ? loadVideo(file) : loadOggOpus(file)));

// A real-time loop (kernel pacing.js pace): calls `tick` every `periodMs` (or what tick returns),
// without drift; a tick that throws is logged and the loop goes on.
function pacer(tick, periodMs) {
  return pace(() => {
    try {
      return tick() || periodMs;
    } catch (e) {
      console.error('media source:', e);
      return periodMs;
    }
  });
}

// VP8 frames from the IVF file as RTP, 30 fps, looped. Held at the first keyframe until the
// sender's DTLS transport is connected, and while its transceiver's negotiated direction does not
// send (`sending`, see attachMedia); a keyframe request rewinds to the last keyframe sent.
// `before` is the header of a packet just before the source's first one (see replaceTrack).
function videoSource(frames, track, sender, sending) {
  let cursor = 0;
  let lastKey = 0;
  let seq = rand16();
  let ts = rand32();
  const before = { sequenceNumber: (seq - 1) & 0xffff, timestamp: (ts - 3000) >>> 0 };
  const connected = () => sender.dtlsTransport && sender.dtlsTransport.state === 'connected' && sender.codec;
  const stop = pacer(() => {
    if (!connected() || !sending()) {
      cursor = 0;
    } else {
      const frame = frames[cursor];
      if (frame.key) lastKey = cursor;
      // RFC 7741 (kernel media.js vp8Packets): S=1 on the frame's first packet, marker on its last.
      for (const { descriptor, chunk, marker } of vp8Packets(frame.data)) {
        const header = new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: ts, marker, ssrc: 0 });
        seq = (seq + 1) & 0xffff;
        track.writeRtp(new RtpPacket(header, Buffer.concat([descriptor, chunk])));
      }
      cursor = (cursor + 1) % frames.length;
    }
    ts = (ts + 3000) >>> 0; // 90 kHz / 30 fps
    return 1000 / 30;
  }, 1000 / 30);
  const onPli = () => {
    cursor = lastKey;
  };
  return { stop, onPli, before };
}

// Opus packets from the Ogg file as RTP, paced by each packet's duration, looped (none written
// while the transceiver's negotiated direction does not send).
function audioSource(packets, track, sending) {
  let i = 0;
  let seq = rand16();
  let ts = rand32();
  let first = true;
  const before = { sequenceNumber: (seq - 1) & 0xffff, timestamp: (ts - packets[0].samples) >>> 0 };
  const stop = pacer(() => {
    const p = packets[i];
    i = (i + 1) % packets.length;
    if (sending()) {
      const header = new RtpHeader({ payloadType: 111, sequenceNumber: seq, timestamp: ts, marker: first, ssrc: 0 });
      first = false;
      seq = (seq + 1) & 0xffff;
      track.writeRtp(new RtpPacket(header, p.data));
    }
    ts = (ts + p.samples) >>> 0;
    return p.samples / 48;
  }, 20);
  return { stop, onPli() {}, before };
}

// ---------------------------------------------------------------------------------------------
// Receiving

// Reassembles VP8 frames per RTP timestamp: a frame is complete when it has its start packet,
// its marker packet and every sequence number between them (retransmissions and reordering are
// fine). The first complete keyframe is the first frame; after it, each complete frame with a new
// timestamp counts. Until that first keyframe is complete, a keyframe is requested (PLI, RFC 4585
// section 6.3.1) every 500 ms from 500 ms after the first packet: werift sends none itself, and a
// sender that lost its first keyframe on a lossy path (Firefox over 3G) otherwise sends none again.
function videoReceiver(emit, requestKeyframe) {
  const pending = new Map(); // timestamp -> Map(seq -> {payload, start, marker})
  let first = false;
  let firstPacketAt = null;
  let lastRequest = 0;
  let count = 0;
  let lastTs = null;
  const done = new Set();
  return (rtp) => {
    const { timestamp, sequenceNumber, marker } = rtp.header;
    if (!first && requestKeyframe) {
      const now = Date.now();
      if (firstPacketAt === null) firstPacketAt = now;
      if (now - firstPacketAt >= 500 && now - lastRequest >= 500) {
        lastRequest = now;
        requestKeyframe(rtp.header.ssrc);
      }
    }
    if (done.has(timestamp)) return;
    const d = vp8Descriptor(rtp.payload);
    if (!d) return;
    let frame = pending.get(timestamp);
    if (!frame) {
      frame = new Map();
      pending.set(timestamp, frame);
      if (pending.size > 64) pending.delete(pending.keys().next().value);
    }
    frame.set(sequenceNumber, { payload: rtp.payload.subarray(d.offset), start: d.start, marker });
    let startSeq = null;
    let endSeq = null;
    for (const [s, p] of frame) {
      if (p.start) startSeq = s;
      if (p.marker) endSeq = s;
    }
    if (startSeq === null || endSeq === null) return;
    const parts = [];
    for (let s = startSeq; ; s = (s + 1) & 0xffff) {
      const p = frame.get(s);
      if (!p) return; // a packet is still missing
      parts.push(p.payload);
      if (s === endSeq) break;
      if (parts.length > frame.size) return;
    }
    pending.delete(timestamp);
    done.add(timestamp);
    if (done.size > 256) done.delete(done.values().next().value);
    const data = Buffer.concat(parts);
    if (!first) {
      const size = keyframeSize(data);
      if (!size) return;
      first = true;
      emit('first_frame', { kind: 'video', width: size.width, height: size.height });
    }
    if (timestamp === lastTs) return;
    lastTs = timestamp;
    count += 1;
    if (count % 10 === 0) emit('media_progress', { kind: 'video', count });
  };
}

function audioReceiver(emit) {
  let count = 0;
  return () => {
    count += 1;
    if (count === 1) emit('first_packet', { kind: 'audio' });
    if (count % 50 === 0) emit('media_progress', { kind: 'audio', count });
  };
}

// The mids of a description's m-sections, in order.
function sdpMids(sdp) {
  const mids = [];
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const m = /\r?\na=mid:(\S+)/.exec(section);
    mids.push(m ? m[1] : null);
  }
  return mids;
}

// The m-sections of a description: kind, mid, direction.
function sdpSections(sdp) {
  return sdp.split(/\r?\nm=/).slice(1).map((section) => {
    const mid = /\r?\na=mid:(\S+)/.exec(section);
    const dir = /\r?\na=(sendrecv|sendonly|recvonly|inactive)\b/.exec(section);
    return { kind: section.split(' ')[0], mid: mid ? mid[1] : null, direction: dir ? dir[1] : 'sendrecv' };
  });
}

// The intersection of two transceiver directions (what an answer may use, RFC 8829 5.3.1).
function intersect(a, b) {
  const send = a.includes('send') && b.includes('send');
  const recv = (a === 'sendrecv' || a === 'recvonly') && (b === 'sendrecv' || b === 'recvonly');
  return send && recv ? 'sendrecv' : send ? 'sendonly' : recv ? 'recvonly' : 'inactive';
}

// ---------------------------------------------------------------------------------------------
// One case: a peer connection and its relay socket.

class Case {
  // `link` (the floor only): {emit(type, fields), send(obj)} replace the event lines and the relay
  // socket, so two cases can run in this process and hand their signaling over in memory.
  constructor(cfg, link) {
    this.cfg = cfg;
    this.link = link || null;
    this.alive = true;
    this.pc = null;
    this.ws = null;
    this.started = false;
    // Signaling messages, offers and answers are applied strictly in order.
    this.chain = new Chain((type, fields) => this.emit(type, fields));
    // Data channels by label, and whether data_channel_open / data_channel_close were pushed.
    this.channels = new Channels((type, fields) => this.emit(type, fields), cfg);
    this.sources = [];
    this.watchedTracks = new Set();
    this.subscriptions = [];
    // Trickled candidates wait until the description they belong to has been sent.
    this.holdCandidates = true;
    this.heldCandidates = [];
    this.negotiationFlag = false;
    this.pendingRemote = [];
    this.dtlsHeld = new Set();
    // Perfect negotiation (W3C webrtc-pc 10.7) when cfg.polite is a boolean; null: the seed flow.
    this.polite = typeof cfg.polite === 'boolean' ? cfg.polite : null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    // What is sent per m-section: {kind, sender, transceiver, track, source} (replace_track swaps
    // track and source).
    this.outgoing = [];
    // codec_preferences resolved at setup: kind -> [werift codec name, ...] in order.
    this.codecPrefs = null;
    // The last signaling / connection state pushed (the states read after the `close` action).
    this.lastReported = { signaling_state: null, connection_state: null };
  }

  emit(type, fields) {
    if (!this.alive) return;
    if (type in this.lastReported) this.lastReported[type] = fields.state;
    if (this.link) return this.link.emit(type, fields || {});
    write({ type: 'event', t: now(), event: Object.assign({ type }, fields || {}) });
  }

  send(obj) {
    if (this.link) return this.link.send(obj);
    relaySend(this.ws, obj);
  }

  sendCandidate(obj) {
    if (!this.cfg.trickle) return;
    if (this.holdCandidates) this.heldCandidates.push(obj);
    else this.send(this.withUfrag(obj));
  }

  // werift builds its server-reflexive candidates without the ICE ufrag (no "ufrag" in the line,
  // no usernameFragment), unlike its host and relay ones: such a candidate gets the ufrag of the
  // description in force when it is sent (the one it was gathered for: held ones go right after
  // their description), as a W3C stack's RTCIceCandidate.usernameFragment would.
  withUfrag(obj) {
    const c = obj && obj.candidate;
    if (!c || !c.candidate || c.usernameFragment || / ufrag \S+/.test(c.candidate)) return obj;
    const d = this.pc && this.pc.localDescription;
    const sdp = (d && d.sdp) || '';
    const sections = sdp.split(/\r?\nm=/);
    const section = sections.slice(1).find((x) => (/\r?\na=mid:(\S+)/.exec(x) || [])[1] === c.sdpMid) || sdp;
    const ufrag = (/a=ice-ufrag:(\S+)/.exec(section) || /a=ice-ufrag:(\S+)/.exec(sdp) || [])[1];
    return ufrag ? { candidate: { ...c, usernameFragment: ufrag } } : obj;
  }

  gatheringComplete() {
    const pc = this.pc;
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          unSubscribe();
          resolve();
        }
      });
      this.subscriptions.push(unSubscribe);
    });
  }

  // werift creates its DTLS endpoint only when its own ICE agent reports connected; a DTLS
  // record that arrives before (the peer's ClientHello, sent as soon as the peer's own check
  // succeeded) has no reader and is dropped, and the handshake waits for the peer's
  // retransmission (1 s for the webrtc crate). RFC 8445 section 12.2 asks an agent to accept data
  // on a pair before it selects it. Until werift's DTLS transport starts, DTLS records received on
  // its ICE connection are kept here and handed to its DTLS endpoint as soon as that exists,
  // before any record received later, so the endpoint sees every record in arrival order, as if
  // it had been listening from the start. (Handed over later, say from setImmediate, records
  // received meanwhile overtake them: werift then answers a stale cookie-less ClientHello after
  // its flight 4 and regenerates its random and ECDHE key (flight2.js), or mixes the fragments
  // of two ClientHellos (Chrome's are fragmented) into one; either way the handshake never ends.)
  // RTC_HARNESS_WERIFT_EARLY_DTLS=drop turns this off (werift's own behaviour).
  holdEarlyDtls() {
    if (asWerift().earlyDtls) return;
    for (const dtls of this.pc.dtlsTransports) {
      if (this.dtlsHeld.has(dtls) || dtls.state !== 'new') continue;
      this.dtlsHeld.add(dtls);
      const conn = dtls.iceTransport.connection;
      const early = [];
      let done = false;
      // werift's endpoint (`dtls.dtls`) is created in start(), in the same task that sets
      // `connecting`, and from then on reads the ICE connection's onData itself.
      const flush = () => {
        if (done) return;
        done = true;
        if (!dtls.dtls) return; // closed or failed before starting: nothing reads them
        early.splice(0).forEach((b) => conn.onData.execute(b));
      };
      const data = conn.onData.subscribe((buf) => {
        if (done || buf.length === 0 || buf[0] < 20 || buf[0] > 63) return;
        // Runs before werift's own reader (subscribed later): a record arriving once the
        // endpoint exists is preceded by the held ones.
        if (dtls.dtls) flush();
        else if (early.length < 64) early.push(buf);
      });
      const state = dtls.onStateChange.subscribe((s) => {
        if (s === 'new') return;
        // Called from setState('connecting'), just before start() creates the endpoint: the
        // microtask runs once start() has returned to its first await, before any I/O callback.
        queueMicrotask(() => {
          flush();
          data.unSubscribe();
          state.unSubscribe();
        });
      });
      this.subscriptions.push(data.unSubscribe, state.unSubscribe);
    }
  }

  // Sends the description in force: now with trickle ICE (then the candidates held back), or
  // once gathering is complete so that it carries every candidate (RFC 8838 section 3).
  async sendLocal() {
    const pc = this.pc;
    this.holdEarlyDtls();
    const d = pc.localDescription;
    this.emit('local_description', { sdp_type: d.type, sdp: d.sdp });
    if (!this.cfg.trickle) await this.gatheringComplete();
    const final = pc.localDescription;
    this.send({ desc: { type: final.type, sdp: final.sdp } });
    this.holdCandidates = false;
    const held = this.heldCandidates.splice(0);
    held.forEach((c) => this.send(this.withUfrag(c)));
  }

  // makingOffer (perfect negotiation) is true from just before createOffer until the offer has
  // gone to the relay.
  async offer() {
    this.makingOffer = true;
    try {
      this.emit('create_offer');
      this.applyCodecPreferences();
      const o = await this.pc.createOffer();
      this.holdCandidates = true;
      await this.pc.setLocalDescription(o);
      await this.sendLocal();
    } finally {
      this.makingOffer = false;
    }
  }

  attachMedia(kinds) {
    if (!kinds.length) return;
    const stream = new MediaStream();
    for (const kind of kinds) {
      const file = this.cfg.media_files && this.cfg.media_files[kind];
      if (!file) throw new Error(`no media file for ${kind}`);
      const track = new MediaStreamTrack({ kind });
      stream.addTrack(track);
      const sender = this.pc.addTrack(track, stream);
      const transceiver = this.pc.getTransceivers().find((t) => t.sender === sender) || null;
      const out = { kind, sender, transceiver, track, source: null };
      out.source = this.newSource(out, track);
      this.outgoing.push(out);
      // Keyframe requests (PLI, FIR) from the peer: resend from the last keyframe (of the source
      // in use: replace_track swaps it).
      const pli = sender.onPictureLossIndication.subscribe(() => out.source && out.source.onPli());
      this.subscriptions.push(pli.unSubscribe);
      const rtcp = sender.onRtcp.subscribe((p) => {
        if (p && p.type === 206 && p.feedback && p.feedback.count === 4 && out.source) out.source.onPli(); // FIR (RFC 5104)
      });
      this.subscriptions.push(rtcp.unSubscribe);
    }
  }

  // A source of the fixture file of `out.kind`, from its start, writing into `track`. werift's
  // RTCRtpSender sends whatever is written into its track whatever the transceiver's direction,
  // so the source writes only while the negotiated direction (currentDirection; none before the
  // first negotiation) sends, as a W3C sender does.
  newSource(out, track) {
    const media = cached(out.kind, this.cfg.media_files[out.kind]);
    const sending = () => {
      const d = out.transceiver && out.transceiver.currentDirection;
      return !d || d === 'sendrecv' || d === 'sendonly';
    };
    const source = out.kind === 'video' ? videoSource(media, track, out.sender, sending) : audioSource(media, track, sending);
    this.sources.push(source);
    return source;
  }

  stopSource(source) {
    if (!source) return;
    source.stop();
    this.sources = this.sources.filter((s) => s !== source);
  }

  // The first transceiver of a kind (W3C: by its receiver's track; werift's transceiver.kind).
  transceiverOf(kind) {
    const t = this.pc.getTransceivers().find((x) => !x.stopped && x.kind === kind);
    if (!t) throw new Error(`no ${kind} transceiver`);
    return t;
  }

  // set_direction: werift's direction setter does not update the negotiation-needed flag (W3C
  // webrtc-pc 5.4, the direction setter's last step), so nothing would renegotiate: werift's own
  // needNegotiation() (what its addTrack and removeTrack call) is called after it, and the event
  // passes through onNegotiationNeeded like any other.
  setDirection(kind, direction) {
    const t = this.transceiverOf(kind);
    if (t.direction === direction) return;
    t.direction = direction;
    this.pc.needNegotiation();
  }

  // remove_track: pc.removeTrack(sender) of the first sender with a track of that kind; its source
  // stops (werift's removeTrack detaches the track from the sender).
  removeTrack(kind) {
    const out = this.outgoing.find((o) => o.kind === kind && o.sender.track);
    if (!out) throw new Error(`no sender with a ${kind} track`);
    this.pc.removeTrack(out.sender);
    this.stopSource(out.source);
    out.source = null;
  }

  // replace_track: a new track fed by a new source reading the same fixture from its start.
  // werift's replaceTrack, once the sender has sent, waits for the new track's first packet to
  // compute its sequence-number and timestamp offsets (RTCRtpSender.replaceRTP), and only
  // subscribes to the track after it: that packet and the rest of its frame are lost (the first
  // keyframe), and the offsets map the new first packet onto the last sequence number already
  // sent (offset = last - first, not + 1). The new track is given, as werift's `header`, the
  // header of a packet just before its source's first one, so replaceTrack subscribes at once and
  // the first packet follows the last one sent.
  async replaceTrack(kind) {
    const out = this.outgoing.find((o) => o.kind === kind && o.sender.track);
    if (!out) throw new Error(`no sender with a ${kind} track`);
    const track = new MediaStreamTrack({ kind });
    const old = out.source;
    out.source = null;
    this.stopSource(old);
    const source = this.newSource(out, track);
    track.header = new RtpHeader(Object.assign({ payloadType: 0, ssrc: 0, marker: false }, source.before));
    try {
      await out.sender.replaceTrack(track);
    } catch (e) {
      this.stopSource(source);
      throw e;
    }
    out.track = track;
    out.source = source;
    this.emit('track_replaced', { kind });
  }

  // codec_preferences, checked at setup: werift has no setCodecPreferences; its counterpart is
  // the transceiver's `codecs` (the codecs of its m-section in the offer and the answer). Only
  // what this adapter can carry is accepted: VP8 (the IVF fixture, packetized here, and VP8 frames
  // reassembled on receipt) and Opus (the Ogg fixture). werift knows more names (VP9, H264, AV1X,
  // PCMU) but sends pre-encoded media, and the adapter has none of them to send or to check.
  resolveCodecPreferences() {
    const usable = { video: ['vp8'], audio: ['opus'] };
    this.codecPrefs = actions.codecPreferences(this.cfg.codec_preferences, (kind, names) => {
      for (const n of names) {
        if (!usable[kind].includes(String(n).toLowerCase())) {
          throw new Error(
            `codec_preferences: no ${kind} codec '${n}' here: werift ${weriftVersion()} sends pre-encoded media and this adapter ` +
              'has VP8 (IVF fixture) and Opus (Ogg fixture) only',
          );
        }
      }
      return names.map((n) => String(n).toLowerCase());
    });
  }

  // Before each offer and answer: the `codecs` of every transceiver of a kind with preferences are
  // the preferred ones, in order (werift rewrites them from every remote description, so they are
  // set each time), taken from the transceiver's own list (the negotiated payload types) or, before
  // any, from werift's configuration; an rtx entry of a kept codec follows it.
  applyCodecPreferences() {
    if (!this.codecPrefs) return;
    for (const t of this.pc.getTransceivers()) {
      const names = this.codecPrefs[t.kind];
      if (!names || t.stopped) continue;
      const base = t.codecs && t.codecs.length ? t.codecs : this.pc.config.codecs[t.kind] || [];
      const name = (c) => String(c.mimeType).split('/')[1].toLowerCase();
      const kept = [];
      for (const n of names) {
        for (const c of base) {
          if (name(c) !== n || kept.includes(c)) continue;
          kept.push(c);
          const rtx = base.find((r) => name(r) === 'rtx' && new RegExp(`apt=${c.payloadType}\\b`).test(r.parameters || ''));
          if (rtx) kept.push(rtx);
        }
      }
      if (kept.length) t.codecs = kept;
      else console.error(`codec_preferences: none of ${names.join(', ')} in the ${t.kind} m-section`);
    }
  }

  // A remote candidate as werift takes it: an empty sdpMid (werift: "Media section for sdpMid
  // was not found") is replaced by the mid at sdpMLineIndex in the remote description.
  fixCandidate(c) {
    if (c.sdpMid !== '') return c;
    const fixed = Object.assign({}, c);
    const mids = this.pc.remoteDescription ? sdpMids(this.pc.remoteDescription.sdp) : [];
    const mid = typeof c.sdpMLineIndex === 'number' ? mids[c.sdpMLineIndex] : null;
    if (mid) fixed.sdpMid = mid;
    else delete fixed.sdpMid;
    if (typeof fixed.sdpMid !== 'string' && typeof fixed.sdpMLineIndex !== 'number') fixed.sdpMLineIndex = 0;
    return fixed;
  }

  async applyCandidate(c) {
    if (c && c.candidate) {
      await this.pc.addIceCandidate(this.fixCandidate(c));
      this.emit('remote_candidate', { candidate: c.candidate });
    } else {
      // End-of-candidates (RFC 8838 section 4.4): `null`, or an empty-string candidate.
      await this.pc.addIceCandidate(c ? this.fixCandidate(c) : null);
      this.emit('remote_candidate', { candidate: '' });
    }
  }

  async onMessage(msg) {
    const pc = this.pc;
    if (msg.desc) {
      const d = msg.desc;
      if (this.polite !== null) {
        // W3C webrtc-pc 10.7. Signaling is applied in order on one chain with our own offers,
        // so an offer of ours is always sent by now (makingOffer is kept all the same), and a
        // collision shows as have-local-offer.
        const offerCollision = d.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && offerCollision;
        if (this.ignoreOffer) {
          this.emit('offer_ignored');
          return;
        }
        // werift's setRemoteDescription(offer) in have-local-offer rolls the local offer back
        // itself (signaling state stable, then have-remote-offer).
        if (offerCollision) this.emit('rollback', { implicit: true });
      }
      await pc.setRemoteDescription({ type: d.type, sdp: d.sdp });
      this.emit('remote_description', { sdp_type: d.type, sdp: d.sdp });
      for (const c of this.pendingRemote.splice(0)) {
        await this.applyCandidate(c).catch((e) => this.emit('error', { context: 'signaling', message: errorText(e) }));
      }
      if (d.type === 'answer') this.startRestartedIce();
      if (d.type !== 'offer') return;
      actions.startAnswerer(this);
      this.applyCodecPreferences();
      const answer = await pc.createAnswer();
      this.holdCandidates = true;
      await pc.setLocalDescription(answer);
      this.startRestartedIce();
      await this.sendLocal();
    } else if ('candidate' in msg) {
      if (this.ignoreOffer) {
        // Perfect negotiation: a candidate of an ignored offer. W3C's addIceCandidate fails
        // without a remote description, and its error is dropped while ignoreOffer is true.
        if (!pc.remoteDescription) {
          console.error('candidate of an ignored offer dropped:', JSON.stringify(msg.candidate));
          return;
        }
        await this.applyCandidate(msg.candidate).catch((e) => console.error('candidate of an ignored offer:', errorText(e)));
        return;
      }
      // Before any remote description a candidate is queued here (werift would buffer it
      // silently, and the event must say when it was really applied).
      if (!pc.remoteDescription) this.pendingRemote.push(msg.candidate);
      else await this.applyCandidate(msg.candidate);
    } else if (msg.error) {
      this.emit('error', { context: 'relay', message: JSON.stringify(msg.error) });
    }
  }

  // werift's negotiationneeded, with the checks W3C webrtc-pc 4.7.3 ("update the
  // negotiation-needed flag") makes and werift does not: werift fires once per change made in
  // the same tick (its flag is set only inside the queued task), fires from a task queued while
  // stable even when the state is no longer stable when it runs, and fires after an answer or a
  // remote ICE restart though nothing needs negotiating. Such events are dropped here: without
  // that, an auto-negotiating peer sends several offers for one change, or answers an answer
  // with an offer.
  // A dropped event also clears werift's own flag (`pc.negotiationneeded`, which werift clears
  // only in setRemoteDescription), as W3C clears it: else werift would never fire again for a
  // later change, such as a track added after an answer.
  onNegotiationNeeded() {
    const pc = this.pc;
    if (!pc || this.negotiationFlag) return;
    if (pc.signalingState !== 'stable' || !this.negotiationIsNeeded()) {
      pc.negotiationneeded = false;
      return;
    }
    this.negotiationFlag = true;
    this.emit('negotiation_needed');
    if (this.cfg.auto_negotiate) this.chain.serial('negotiationneeded offer', () => this.offer());
  }

  // W3C webrtc-pc 4.7.3, "check if negotiation is needed", over werift's transceivers and the
  // local description in force.
  negotiationIsNeeded() {
    const pc = this.pc;
    if (pc.needRestart) return true; // restartIce() was called
    const local = pc.localDescription;
    const sections = local ? sdpSections(local.sdp) : [];
    if (pc.sctpTransport && !sections.some((m) => m.kind === 'application')) return true;
    for (const t of pc.getTransceivers()) {
      if (t.stopped) continue;
      const m = t.mid != null ? sections.find((x) => x.mid === t.mid) : null;
      if (!m) return true; // not negotiated yet
      if (local.type === 'offer' && m.direction !== t.direction) return true;
      if (local.type === 'answer' && m.direction !== intersect(t.direction, t.offerDirection || 'inactive')) return true;
    }
    return false;
  }

  // werift 0.24.4 restarts its ICE agent (new credentials, candidates gathered again, the
  // nominated pair dropped) but, once the answer is applied, starts connectivity checks only on a
  // transport whose DTLS is not connected yet (RTCPeerConnection.connect() returns early): after
  // an ICE restart no check runs, incoming checks wait forever as "early checks", and media stops.
  // Here the checks of a restarted agent are started once the answer is in force, as werift does
  // for a new transport; DTLS and SRTP stay as they are and move to the new pair.
  // RTC_HARNESS_WERIFT_RESTART_CHECKS=off turns this off (werift's own behaviour).
  startRestartedIce() {
    if (asWerift().restartChecks) return;
    const pc = this.pc;
    for (const dtls of pc.dtlsTransports) {
      const ice = dtls.iceTransport;
      if (dtls.state !== 'connected' || !ice || ice.connection.nominated) continue;
      if (['checking', 'connected', 'closed', 'failed'].includes(ice.state)) continue;
      ice.start().catch((e) => this.emit('error', { context: 'ICE restart checks', message: errorText(e) }));
    }
  }

  // data_channel_open carries the channel's options as werift reports them on this side (for a
  // channel the other side created: from its DCEP DATA_CHANNEL_OPEN, RFC 8832 5.1).
  // data_channel_close is pushed once per channel: on werift's `closed`, or by closePeer.
  watchChannel(dc, mine) {
    this.channels.add(dc);
    const onOpen = () => {
      if (!this.channels.opened(dc)) return;
      const greeting = this.channels.greeting(dc, mine);
      if (greeting) dc.send(greeting);
    };
    const state = dc.stateChanged.subscribe((s) => {
      if (s === 'open') onOpen();
      else if (s === 'closed') this.channels.closed(dc);
    });
    const message = dc.onMessage.subscribe((data) => {
      this.channels.message(dc, data);
      if (this.cfg.echo && !mine) dc.send(data);
    });
    this.subscriptions.push(state.unSubscribe, message.unSubscribe);
    if (dc.readyState === 'open') onOpen();
    return dc;
  }

  watchTrack(track) {
    if (this.watchedTracks.has(track)) return; // werift repeats onTrack on renegotiation
    this.watchedTracks.add(track);
    this.emit('track', { kind: track.kind });
    const emit = this.emit.bind(this);
    const requestKeyframe = (ssrc) => {
      const t = this.pc.getTransceivers().find((x) => x.receiver && (x.receiver.tracks || []).includes(track));
      if (t) t.receiver.sendRtcpPLI(ssrc).catch(() => {});
    };
    const onRtp = track.kind === 'video' ? videoReceiver(emit, requestKeyframe) : audioReceiver(emit);
    const sub = track.onReceiveRtp.subscribe((rtp) => {
      if (this.alive) onRtp(rtp);
    });
    this.subscriptions.push(sub.unSubscribe);
  }

  wire() {
    const pc = this.pc;
    const on = (ev, fn) => this.subscriptions.push(ev.subscribe(fn).unSubscribe);
    on(pc.onNegotiationneeded, () => this.onNegotiationNeeded());
    on(pc.onIceCandidate, (c) => {
      if (c && c.candidate) {
        this.emit('local_candidate', { candidate: c.candidate });
        this.sendCandidate({
          candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment },
        });
      } else {
        this.emit('end_of_candidates', { form: 'null' });
        this.sendCandidate({ candidate: null });
      }
    });
    on(pc.signalingStateChange, (state) => {
      // W3C: negotiation that reached `stable` clears the flag; werift fires again if still needed.
      if (state === 'stable') this.negotiationFlag = false;
      this.emit('signaling_state', { state });
    });
    on(pc.iceGatheringStateChange, (state) => this.emit('ice_gathering_state', { state }));
    on(pc.iceConnectionStateChange, (state) => this.emit('ice_connection_state', { state }));
    on(pc.connectionStateChange, (state) => this.emit('connection_state', { state }));
    on(pc.onTrack, (track) => this.watchTrack(track));
    on(pc.onDataChannel, (dc) => this.watchChannel(dc, false));
  }

  // The peer connection, wired to the protocol's events (no relay yet).
  // werift takes W3C RTCIceServer objects (it uses the first STUN and the first TURN URL, with
  // ?transport=udp|tcp) and iceTransportPolicy ('relay': werift's forceTurn, which gathers only the
  // TURN relay candidate when a TURN server with username and credential is configured).
  createPeer() {
    asWerift(); // a bad toggle fails here, the variable named
    const cfg = this.cfg;
    const iceServers = (cfg.ice_servers || []).map((s) => {
      const out = { urls: s.urls };
      if (s.username !== undefined) out.username = s.username;
      if (s.credential !== undefined) out.credential = s.credential;
      return out;
    });
    const config = { iceServers, bundlePolicy: 'max-bundle' };
    const policy = cfg.ice_transport_policy;
    if (policy !== undefined && policy !== null) {
      if (policy !== 'all' && policy !== 'relay') throw new Error(`ice_transport_policy '${policy}' is neither 'all' nor 'relay'`);
      config.iceTransportPolicy = policy;
    }
    this.pc = new RTCPeerConnection(config);
    this.wire();
  }

  // The configured TURN URL for an address werift's TURN client used (candidate_error's `url`).
  turnUrl(address) {
    if (!Array.isArray(address)) return null;
    for (const s of this.cfg.ice_servers || []) {
      for (const u of Array.isArray(s.urls) ? s.urls : [s.urls]) {
        const m = /^turns?:(\[[^\]]+\]|[^:?]+)(?::(\d+))?/i.exec(String(u || ''));
        if (!m) continue;
        const host = m[1].replace(/^\[|\]$/g, '');
        const port = Number(m[2] || (/^turns/i.test(u) ? 5349 : 3478));
        if (host === String(address[0]) && port === Number(address[1])) return u;
      }
    }
    return null;
  }

  onTurnError(address, transport, e) {
    const url = this.turnUrl(address);
    const f = turnErrorFields(e);
    if (!url || !f) {
      console.error('TURN allocation failed:', errorText(e));
      return;
    }
    const configured = (/[?&]transport=(\w+)/i.exec(url) || [])[1] || 'udp';
    const text = transport !== configured ? `${f.text} (werift's retry over ${transport})` : f.text;
    this.emit('candidate_error', { url, error_code: f.code, error_text: text });
  }

  async setup() {
    const cfg = this.cfg;
    this.turnSink = (address, transport, e) => this.onTurnError(address, transport, e);
    turnErrorSink = this.turnSink;
    this.resolveCodecPreferences();
    this.createPeer();
    const relay = openRelay(cfg.signaling_url, {
      onMessage: (msg) => this.chain.serial('signaling', () => this.onMessage(msg)),
      onError: (e) => console.error('relay socket:', errorText(e)),
    });
    this.ws = relay.ws;
    await relay.opened;
  }

  // The protocol's actions: the shared W3C mapping (kernel/actions.js) over this case's methods.
  perform(a) {
    return actions.perform(this, a, (type, fields) => this.emit(type, fields));
  }

  // werift throws a plain Error ("max-message-size exceeded: N > M") where W3C throws a
  // TypeError; the text starts with the exception's name and message either way.
  sendBinary(dc, size) {
    try {
      return dc.send(patternBuffer(size));
    } catch (e) {
      throw new Error(`${(e && e.name) || 'Error'}: ${errorText(e)}`);
    }
  }

  // werift's getStats, in W3C names: inbound-rtp packetsReceived, packetsLost, jitter (werift
  // converts to seconds), bytesReceived; outbound-rtp packetsSent, bytesSent; the nominated,
  // succeeded pair with its currentRoundTripTime (werift's STUN check RTT, seconds). werift does
  // not decode (no framesDecoded / framesPerSecond) and estimates no availableOutgoingBitrate.
  // `codec`: the mimeType of the codec stats its codecId names, as werift spells it ("audio/OPUS").
  async collectStats() {
    const summary = w3cSummary(await this.pc.getStats(), {
      inboundKeys: () => ['kind', 'packetsReceived', 'packetsLost', 'jitter', 'bytesReceived'],
      // werift keeps a remote candidate's transport as signalled (Firefox writes "UDP"); the
      // summary's form is lower-case (PROTOCOL.md, stats.summary), as the kernel writes it.
      pairKeys: ['currentRoundTripTime'],
    });
    this.emit('stats', { summary });
  }

  // The `close` action: the peer connection and the media go, the case goes on (as the agent
  // page does, the relay socket is closed too).
  // werift's close() stops its DTLS transports before its SCTP association, so the SCTP ABORT it
  // then sends goes nowhere (and it sends no DTLS close_notify): the peer's data channels would
  // stay open until its ICE consent fails. The association is stopped first (werift's own
  // SCTP.stop: an ABORT, RFC 4960 9.1), as browsers do on close(); werift then closes its
  // channels. RTC_HARNESS_WERIFT_CLOSE_ABORT=off: as werift.
  // After close(): the signaling and connection states as read (werift fires `closed` for both
  // itself; nothing is repeated), and data_channel_close for every channel opened and not closed.
  async closePeer() {
    this.sources.forEach((s) => s.stop());
    this.sources = [];
    if (this.pc) {
      const pc = this.pc;
      const sctp = pc.sctpTransport && pc.sctpTransport.sctp;
      if (sctp && !pc.isClosed && !asWerift().closeAbort) {
        await Promise.race([sctp.stop(), new Promise((r) => setTimeout(r, 1000))]).catch((e) => console.error('SCTP abort:', e));
      }
      await Promise.race([pc.close(), new Promise((r) => setTimeout(r, 2000))]).catch((e) => console.error('close:', e));
      for (const type of ['signaling_state', 'connection_state']) {
        const state = type === 'signaling_state' ? pc.signalingState : pc.connectionState;
        if (this.lastReported[type] !== state) this.emit(type, { state });
      }
      this.channels.closeAll();
    }
    if (this.ws) this.ws.close();
  }

  // The `close` command: everything of the case is released; nothing of it is reported after.
  async release() {
    if (this.turnSink && turnErrorSink === this.turnSink) turnErrorSink = null;
    await this.closePeer();
    this.alive = false;
    this.subscriptions.forEach((u) => {
      try {
        u();
      } catch (e) {
        /* already gone */
      }
    });
    this.subscriptions = [];
    if (this.ws) this.ws.terminate();
    this.ws = null;
    this.pc = null;
    this.channels.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The floor (PROTOCOL.md, "Optional: the floor"): werift's own time to first frame, werift
// against werift in this process with nothing of the harness in the path. Each iteration is a
// fresh pair of the Case above, so the offerer sends video exactly as in a case (videoSource,
// held at the keyframe until DTLS is up) and the answerer's first frame is the `first_frame` of a
// case (videoReceiver); their `link` hands the signaling messages to each other in memory (in
// order, through the same onMessage, trickle on) and turns events into timestamps instead of
// lines. Timed from the offerer's `create_offer` (just before createOffer) to the answerer's
// `first_frame`; both cases are released (peer connections closed, sources stopped) after each.
// Note for reading the bench: both peers share this one JavaScript thread, so their DTLS
// handshakes (werift's JavaScript crypto, the larger part of the time to first frame) compete
// for it, while a harness pair runs two processes; and the first iteration of a fresh process
// pays the JIT warm-up. The floor can therefore come out above a werift pair's median.

const FLOOR_TIMEOUT_MS = 20000;

function floorConfig(name, media, mediaFiles) {
  return {
    name, room: 'floor', media, data_channels: [], trickle: true, auto_negotiate: false, echo: false,
    ice_servers: [], media_files: mediaFiles,
  };
}

async function floorOnce(mediaFiles) {
  let start = null;
  let settle;
  const outcome = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  const failed = (who) => (type, f) => {
    if (type === 'error') settle.reject(new Error(`${who}: ${f.context}: ${f.message}`));
  };
  // A message goes to the other side's signaling chain, as one from the relay would (a copy, as
  // if it had been through JSON on the wire).
  const deliver = (to, obj) => handOver(obj, (msg) => to.chain.serial('signaling', () => to.onMessage(msg)));
  const offererEvents = failed('offerer');
  const answererEvents = failed('answerer');
  const offerer = new Case(floorConfig('floor-offerer', ['video'], mediaFiles), {
    emit: (type, f) => {
      if (type === 'create_offer' && start === null) start = performance.now();
      offererEvents(type, f);
    },
    send: (obj) => deliver(answerer, obj),
  });
  const answerer = new Case(floorConfig('floor-answerer', [], mediaFiles), {
    emit: (type, f) => {
      if (type === 'first_frame') settle.resolve(performance.now());
      answererEvents(type, f);
    },
    send: (obj) => deliver(offerer, obj),
  });
  const timer = setTimeout(() => settle.reject(new Error(`no first frame within ${FLOOR_TIMEOUT_MS} ms`)), FLOOR_TIMEOUT_MS);
  try {
    offerer.createPeer();
    answerer.createPeer();
    await offerer.perform({ type: 'start' });
    offerer.chain.serial('offer', () => offerer.offer());
    const end = await outcome;
    return Math.round((end - start) * 1000) / 1000;
  } finally {
    clearTimeout(timer);
    await Promise.all([offerer.release(), answerer.release()]).catch((e) => console.error('floor release:', e));
  }
}

async function floor(cmd) {
  const mediaFiles = cmd.media_files || {};
  if (!mediaFiles.video) throw new Error('floor: no media_files.video');
  const iterations = Number.isInteger(cmd.iterations) && cmd.iterations > 0 ? cmd.iterations : 10;
  return { floor: await floorLoop(iterations, () => floorOnce(mediaFiles)) };
}

// ---------------------------------------------------------------------------------------------
// The command loop

// A released case answers nothing more: its `alive` goes false at `close`, even while a perform
// of it still runs.
const cases = caseCommands({
  open: (config) => new Case(config),
  release: (c) => c.release(),
  floor: (cmd) => answerFloor(cmd, floor),
  answers: (c) => c.alive,
  log: (...a) => console.error(...a),
});
let commands = Promise.resolve();

function main() {
  hello('werift', weriftVersion());
  readCommands((cmd) => {
    // `close` does not wait behind a perform that hangs: the case is released at once, and the
    // commands after it wait for that release only.
    if (cmd.type === 'close') {
      const c = cases.takeCurrent();
      if (c) c.alive = false;
      commands = (c ? c.release() : Promise.resolve())
        .catch((e) => console.error('release:', e))
        .then(() => write({ type: 'closed' }));
      return;
    }
    commands = commands.then(() => cases.handle(cmd)).catch((e) => console.error('command failed:', e));
  }, {
    onEnd: () => {
      const c = cases.takeCurrent();
      const finish = () => process.exit(0);
      setTimeout(finish, 1500).unref();
      if (c) c.release().then(finish, finish);
      else finish();
    },
  });
}

process.on('unhandledRejection', (e) => console.error('unhandled rejection:', e));
process.on('uncaughtException', (e) => console.error('uncaught exception:', e));

if (process.argv.includes('--check')) {
  // `check` of stacks/kinds.yaml: werift and ws load (the requires above), and the version.
  console.error(`werift ${weriftVersion()}`);
  process.exit(0);
} else {
  main();
}
