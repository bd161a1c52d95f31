// rtc-harness command peer for libdatachannel (C++), through the npm binding node-datachannel.
//
// Speaks the command-peer protocol of ../PROTOCOL.md on stdin/stdout (JSON lines; logs go to
// stderr), joins the harness relay with `ws`, and does the WebRTC work with libdatachannel's native
// API (`PeerConnection`, `Track`, `DataChannel`). The binding's W3C polyfill is data-channel only,
// so it is not used. Run from stacks/: `node libdatachannel/peer.mjs`.
//
// How libdatachannel's API maps onto the protocol (the browser agent page's flow):
// - The peer connection is created with `disableAutoNegotiation`: libdatachannel would otherwise
//   answer by itself inside setRemoteDescription(offer) and offer by itself on createDataChannel,
//   before this adapter could attach the answerer's media. Offers and answers are made here with
//   setLocalDescription('offer' | 'answer'), which is synchronous: the description in force is read
//   back with localDescription() right after, sent, and reported as `local_description`.
// - libdatachannel has no negotiationneeded event, so no `negotiation_needed` event is reported.
//   With auto_negotiate the adapter offers on `start`, on `add_track` and on a first
//   `create_data_channel`, and again once stable when something local is not negotiated yet (a
//   track added while answering): what the agent page's onnegotiationneeded handler does.
// - `track` is reported when an applied remote description first makes an m-section send to us
//   (sendrecv / sendonly): that is when a W3C stack fires ontrack. libdatachannel's own onTrack
//   fires for every new remote m-section, also recvonly ones, and never for m-sections this side
//   offered first, so it is only used to keep the Track objects alive.
// - Media is sent and received as raw RTP on `Track`s without media handlers: libdatachannel has no
//   VP8 packetizer, so VP8 frames from the IVF fixture are packetized here (RFC 7741), and Opus
//   packets from the Ogg fixture go one per RTP packet; both looped and paced in real time. A PLI
//   or FIR from the receiver makes the next video frame the last keyframe. Received RTP is
//   depacketized here: the first complete VP8 keyframe gives `first_frame` with its size (RFC 6386
//   section 9.1), then distinct frames (RTP timestamps) are counted; audio counts RTP packets.
//   Until the first keyframe a PLI is sent (at most every 500 ms), as the Rust peer does.
// - State callbacks map 1:1 (libdatachannel's gathering state `in-progress` is W3C `gathering`).
//   `end_of_candidates` is reported, and `{"candidate": null}` sent, when gathering is complete.
//
// Pitfalls worked around:
// - Candidate strings from onLocalCandidate carry an `a=` prefix: stripped. libdatachannel's
//   candidate lines carry no ufrag, so outgoing candidates get `usernameFragment` from the local
//   description (the harness checks candidates against the description in force).
// - addRemoteCandidate throws before a remote description: candidates are queued until then.
// - The binding's Track and DataChannel wrappers close the underlying object when they are
//   garbage-collected, and their native callbacks point at the wrapper: every wrapper is kept
//   referenced until the case closes.
// - A track added after a data-only negotiation needs the SRTP transport, which libdatachannel only
//   creates when media is negotiated first: `forceMediaTransport` is set.
// - Native callbacks reach JavaScript through separate thread-safe functions, so their relative
//   order is not guaranteed: gathering `complete` is handled after the pending candidates have
//   been delivered (checked against the candidates in the local description).
// - ICE restart: libdatachannel 0.24 (libjuice) can set ICE credentials only before gathering
//   (juice_set_local_ice_attributes), so `restart_ice` answers with an error; see restartIce().
// - The binding's threads keep the event loop alive: the process exits on stdin EOF.
// - ICE servers: STUN as a URL string, TURN as node-datachannel IceServer objects (no escaping);
//   libjuice relays over UDP only, so TURN over TCP/TLS URLs are left out (logged).
// - ice_transport_policy 'relay' is refused at setup (createPc): libdatachannel only filters the
//   candidates it signals, its libjuice agent still checks from host candidates and selects them.
// - candidate_error: libdatachannel has no such event; libjuice's log lines about its STUN/TURN
//   servers are read (onIceLog), so libdatachannel's log is always read at Info level.
//
// Protocol v1 additions (the hard flows):
// - Perfect negotiation (`polite` boolean, W3C webrtc-pc 10.7): offers are made on the signaling
//   chain, so a collision shows as signalingState have-local-offer. The impolite side drops the
//   offer (`offer_ignored`). libdatachannel rolls a local offer back inside
//   setRemoteDescription(offer) (PeerConnection::setRemoteDescription in have-local-offer), so the
//   polite side reports `rollback` with implicit: true and applies the offer. libdatachannel keeps
//   the mids it gave its tracks, so the tracks the rolled-back offer introduced are put back as
//   attached kinds: the answer places them on the offer's m-sections of their kind (W3C: a
//   transceiver without an mid is taken by the remote offer) and their mids are reused.
// - `rollback`: setLocalDescription('rollback'); libdatachannel returns without an error when there
//   is no local offer, which the action reports as an error (W3C: InvalidStateError). A rolled-back
//   first offer stays libdatachannel's localDescription(), so negotiationneeded is judged against
//   the description last negotiated (`stableLocal`).
// - Transceivers: `set_direction` sets a W3C direction on the m-section's Media (offered as it is,
//   answered intersected with the offer); `remove_track` is W3C's removeTrack (no more RTP, the
//   direction loses 'send'); `replace_track` reads the fixture again from its start on the same RTP
//   stream. A sender whose m-section stops sending pauses and keeps its sequence numbers: a new
//   random start would be refused by libdatachannel's SRTP session as a replay ("SRTP protect
//   error, status=10"). libdatachannel also drops what is sent on a Track described recvonly or
//   inactive.
// - codec_preferences: libdatachannel does not encode and the adapter sends the fixtures' VP8 and
//   Opus as they are, so only those can be preferred (anything else fails the setup).
// - Data channels: createDataChannel with the RTCDataChannelInit fields (node-datachannel's names);
//   `data_channel_open` reports what node-datachannel reads back: id and protocol (no getter for
//   the reliability or negotiated). Binary messages (the size form) with size / intact, echoed as
//   binary; over the remote's max-message-size libdatachannel throws ("Message size exceeds
//   limit"). `close_channel` closes the channel; `data_channel_close` is pushed once per channel,
//   and for every open one after the `close` action, with the connection and signaling states as
//   read (libdatachannel has no 'closed' signaling state: it reads 'stable').
// - Stats `codec`: the mimeType of the payload type received / sent on each m-section.
//
// Stack behaviour seen with this adapter (findings, not worked around):
// - libdatachannel drops DTLS records that arrive before its own ICE agent is connected (its DTLS
//   transport is only created then). The answerer's agent connects first and sends its ClientHello
//   at once, so the offerer often loses it and the handshake waits for the 1 s retransmission
//   (libdatachannel <-> libdatachannel: connected in ~10 ms or ~1010 ms; the floor shows both).
// - setRemoteDescription hands the ICE credentials to libjuice before it stores the description
//   whose fingerprint the DTLS verify callback reads: when ICE connects and the peer's DTLS flight
//   arrives in between, the handshake fails ("certificate verify failed", connection `failed`).
//   Seen in about 1 of 10 non-trickle libdatachannel <-> libdatachannel calls.
// - An incoming ICE restart offer is refused: "Invalid ICE settings from remote SDP" (libjuice:
//   "ICE restart is not supported"); reported as an `error` event.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(new URL('../node/package.json', import.meta.url));
const ndc = require('node-datachannel');
// The Node adapters' shared kernel (../node/kernel): protocol lines, relay, fixtures, VP8, floor.
const { now, write, errorText, hello, keepStdoutForProtocol, readCommands } = require('./kernel/lines.js');
const { openRelay, relaySend, memorySocket } = require('./kernel/relay.js');
const { patternBuffer, isIntact } = require('./kernel/pattern.js');
const { pace } = require('./kernel/pacing.js');
const { floorLoop, answerFloor } = require('./kernel/floor.js');
const { caseCommands } = require('./kernel/cases.js');
const { envChoice } = require('./kernel/env.js');
const mediaKernel = require('./kernel/media.js');
const { rand16, rand32, vp8Packets, vp8Descriptor, keyframeSize } = mediaKernel;
const BINDING_VERSION = bindingVersion();

/** node-datachannel's own version (its package.json is not in the package's exports). */
function bindingVersion() {
  let dir = dirname(require.resolve('node-datachannel'));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'node-datachannel') return pkg.version;
    } catch {
      // not there: one directory up
    }
  }
  return 'unknown';
}

// stdout is the protocol's alone.
keepStdoutForProtocol();
const log = (...a) => console.error('[libdatachannel]', ...a);

// libdatachannel's log: LDC_LOG=Verbose|Debug|Info|Warning|Error writes it to stderr. It is always
// read at Info level at least (a few dozen lines a case), because libjuice reports the failures of
// its STUN/TURN servers there and nowhere else (see Case.onIceLog): libdatachannel has no
// icecandidateerror.
const LOG_LEVELS = ['Verbose', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'];
const userLogLevel = LOG_LEVELS.includes(process.env.LDC_LOG) ? process.env.LDC_LOG : null;
const readLogLevel = userLogLevel && LOG_LEVELS.indexOf(userLogLevel) < LOG_LEVELS.indexOf('Info') ? userLogLevel : 'Info';
let iceLogSink = null; // the case in progress: (message) => void
ndc.initLogger(readLogLevel, (level, message) => {
  if (userLogLevel && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(userLogLevel)) console.error(`[rtc ${level}] ${message}`);
  if (iceLogSink) iceLogSink(String(message));
});

const VIDEO_PT = 96;
const AUDIO_PT = 111;
const VIDEO_PROGRESS_EVERY = 10;
const AUDIO_PROGRESS_EVERY = 50;
const KEYFRAME_REQUEST_GAP_MS = 500;

// ---------------------------------------------------------------------------------------------
// Fixtures

/** IVF (kernel media.js loadIvf): VP8 frames with their 90 kHz times. */
function loadIvf(path) {
  const { frames, rate, scale } = mediaKernel.loadIvf(path);
  const ticksPerPts = (90000 * scale) / rate;
  const samples = frames.map((f, i) => {
    const next = i + 1 < frames.length ? frames[i + 1].pts : f.pts + 1;
    const ticks = Math.max(1, Math.round((next - f.pts) * ticksPerPts));
    return { data: f.data, ticks, ms: (ticks / 90000) * 1000, key: f.key };
  });
  return samples;
}

/** Ogg Opus (kernel media.js loadOgg): the packets after the two header pages (RFC 7845), with
 * their 48 kHz durations. */
function loadOgg(path) {
  const pages = mediaKernel.loadOgg(path);
  const samples = [];
  let last = 0;
  for (const page of pages.slice(2)) {
    if (!page.packets.length) continue;
    const total = page.granule > last ? page.granule - last : 960 * page.packets.length;
    last = page.granule;
    const each = Math.max(1, Math.round(total / page.packets.length));
    for (const data of page.packets) samples.push({ data, ticks: each, ms: (each / 48000) * 1000, key: true });
  }
  if (!samples.length) throw new Error(`${path}: no Opus packets`);
  return samples;
}

const clip = mediaKernel.cachedLoader((kind, path) => (kind === 'video' ? loadIvf(path) : loadOgg(path)));

// ---------------------------------------------------------------------------------------------
// RTP

function rtpHeader(pt, marker, seq, ts, ssrc) {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | pt;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  return h;
}

/** RTCP (RFC 5761 section 4: packet types 192-223 in the second byte). */
const isRtcp = (b) => b.length >= 2 && b[1] >= 192 && b[1] <= 223;

function parseRtp(b) {
  if (b.length < 12 || b[0] >> 6 !== 2) return null;
  const cc = b[0] & 0x0f;
  let off = 12 + cc * 4;
  if (b[0] & 0x10) {
    if (off + 4 > b.length) return null;
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  let end = b.length;
  if (b[0] & 0x20) end -= b[b.length - 1];
  if (off > end) return null;
  return {
    marker: (b[1] & 0x80) !== 0,
    pt: b[1] & 0x7f,
    seq: b.readUInt16BE(2),
    ts: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: b.subarray(off, end),
  };
}

/** Whether a compound RTCP packet asks for a keyframe: PLI (206/1, RFC 4585) or FIR (206/4, RFC 5104). */
function asksForKeyframe(b) {
  let off = 0;
  while (off + 4 <= b.length) {
    const fmt = b[off] & 0x1f;
    const pt = b[off + 1];
    if (pt === 206 && (fmt === 1 || fmt === 4)) return true;
    off += (b.readUInt16BE(off + 2) + 1) * 4;
  }
  return false;
}

function pli(senderSsrc, mediaSsrc) {
  const b = Buffer.alloc(12);
  b[0] = 0x81;
  b[1] = 206;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  return b;
}

/** Reassembles VP8 frames from RTP packets: from a start packet to the marker bit, no sequence gap. */
class Vp8Assembler {
  constructor() {
    this.parts = null;
    this.ts = 0;
    this.nextSeq = 0;
  }
  push(pkt) {
    const d = vp8Descriptor(pkt.payload);
    if (!d) return null;
    const body = pkt.payload.subarray(d.offset);
    if (d.start) {
      this.parts = [body];
      this.ts = pkt.ts;
    } else if (this.parts && pkt.seq === this.nextSeq && pkt.ts === this.ts) {
      this.parts.push(body);
    } else {
      this.parts = null;
      return null;
    }
    this.nextSeq = (pkt.seq + 1) & 0xffff;
    if (!pkt.marker) return null;
    const data = Buffer.concat(this.parts);
    this.parts = null;
    return { ts: pkt.ts, data };
  }
}

// ---------------------------------------------------------------------------------------------
// SDP helpers (text only: what the relay carries)

/** The m-sections of an SDP: kind, mid, direction, rejection (port 0 without bundle-only) and codec payload types. */
function sections(sdp) {
  const out = [];
  let cur = null;
  for (const raw of (sdp || '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      const [kind, port] = line.slice(2).split(' ');
      cur = { kind, mid: null, direction: 'sendrecv', rejected: port === '0', rtpmap: new Map(), names: new Map(), fmtp: new Map(), ufrag: null };
      out.push(cur);
    } else if (!cur) {
      continue;
    } else if (line === 'a=bundle-only') {
      // Port 0 with bundle-only is a bundled section, not a rejected one (RFC 8843 section 6).
      cur.rejected = false;
    } else if (line.startsWith('a=mid:')) {
      cur.mid = line.slice(6);
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      cur.direction = line.slice(2);
    } else if (line.startsWith('a=rtpmap:')) {
      const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
      if (m) {
        cur.rtpmap.set(Number(m[1]), m[2].toLowerCase());
        cur.names.set(Number(m[1]), m[2]);
      }
    } else if (line.startsWith('a=fmtp:')) {
      const m = /^a=fmtp:(\d+) (.*)$/.exec(line);
      if (m) cur.fmtp.set(Number(m[1]), m[2]);
    } else if (line.startsWith('a=ice-ufrag:')) {
      cur.ufrag = line.slice(12);
    }
  }
  return out;
}

function ufragOf(sdp) {
  const m = /a=ice-ufrag:(\S+)/.exec(sdp || '');
  return m ? m[1] : null;
}

const sends = (dir) => dir === 'sendrecv' || dir === 'sendonly';
const receives = (dir) => dir === 'sendrecv' || dir === 'recvonly';
const DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];
/** The direction with these send / receive parts. */
const directionOf = (send, recv) => (send && recv ? 'sendrecv' : send ? 'sendonly' : recv ? 'recvonly' : 'inactive');
/** libdatachannel's Direction names. */
const LDC_DIRECTION = { sendrecv: 'SendRecv', sendonly: 'SendOnly', recvonly: 'RecvOnly', inactive: 'Inactive' };

/**
 * A `data_channels` item's W3C RTCDataChannelInit in node-datachannel's form (its
 * DataChannelInitConfig: `unordered` for !ordered; absent fields are libdatachannel's defaults,
 * which are W3C's: ordered, reliable, no protocol, DCEP-announced, id chosen by the stack).
 */
function channelInit(spec) {
  const init = {};
  if (spec.ordered != null) init.unordered = !spec.ordered;
  if (spec.maxRetransmits != null) init.maxRetransmits = spec.maxRetransmits;
  if (spec.maxPacketLifeTime != null) init.maxPacketLifeTime = spec.maxPacketLifeTime;
  if (spec.negotiated) init.negotiated = true;
  if (spec.id != null) init.id = spec.id;
  if (spec.protocol != null) init.protocol = spec.protocol;
  return init;
}

/**
 * `codec_preferences`, checked: libdatachannel does not encode, and this adapter sends the
 * fixtures' VP8 frames and Opus packets as they are, so its m-sections offer VP8 (video) and Opus
 * (audio) only. A preference for exactly those is what it does already; any other codec cannot be
 * offered, which fails the setup (the protocol's rule for a codec the stack does not have).
 */
function checkCodecPreferences(prefs) {
  const have = { video: 'VP8', audio: 'opus' };
  for (const [kind, names] of Object.entries(prefs || {})) {
    if (!(kind in have)) throw new Error(`codec_preferences: '${kind}' is not a media kind`);
    for (const name of names || []) {
      if (String(name).toLowerCase() !== have[kind].toLowerCase()) {
        throw new Error(
          `codec_preferences ${kind} ${name}: libdatachannel does not encode, and this adapter sends the fixtures' VP8 and Opus as they are: its ${kind} m-sections offer ${have[kind]} only`,
        );
      }
    }
  }
}
const ptFor = (section, codec) => {
  for (const [pt, name] of section.rtpmap) if (name === codec) return pt;
  return null;
};

/**
 * The W3C RTCIceServer list in node-datachannel's form: a STUN URL as the string libdatachannel
 * parses ("stun:host:port"); a TURN URL as an IceServer object (hostname, port, username,
 * password, relayType), so that no username or credential has to be escaped into a URL.
 * libdatachannel 0.24 over libjuice uses one STUN server and up to two TURN servers, TURN over
 * UDP only ("TURN transports TCP and TLS are not supported with libjuice"): the TURN URLs it cannot
 * use are returned apart (`unusable`), with the reason.
 */
function iceServers(servers) {
  const out = [];
  const turn = [];
  const unusable = [];
  for (const s of servers || []) {
    const entry = typeof s === 'string' ? { urls: [s] } : s;
    const urls = Array.isArray(entry.urls) ? entry.urls : [entry.urls || entry.url].filter(Boolean);
    for (const u of urls) {
      const m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?\/]+)(?::(\d+))?(?:\?transport=(\w+))?$/i.exec(String(u));
      if (!m) {
        unusable.push(`${u}: not a STUN/TURN URL libdatachannel parses`);
        continue;
      }
      const scheme = m[1].toLowerCase();
      if (scheme === 'stun' || scheme === 'stuns') {
        out.push(u);
        continue;
      }
      const transport = (m[4] || (scheme === 'turns' ? 'tcp' : 'udp')).toLowerCase();
      if (scheme === 'turns' || transport !== 'udp') {
        unusable.push(`${u}: libjuice, libdatachannel's ICE agent here, relays over UDP only`);
        continue;
      }
      const server = {
        hostname: m[2].replace(/^\[|\]$/g, ''),
        port: Number(m[3] || 3478),
        username: entry.username || '',
        password: entry.credential || '',
        relayType: 'TurnUdp',
      };
      out.push(server);
      turn.push({ url: u, server });
    }
  }
  return { servers: out, turn, unusable };
}

// ---------------------------------------------------------------------------------------------
// One case

class Case {
  constructor(config) {
    this.cfg = config;
    this.alive = true;
    this.started = false;
    this.chain = Promise.resolve();
    this.channels = new Map(); // label -> { dc, mine }
    this.keep = []; // every binding wrapper, so that none is garbage-collected (which closes it)
    this.tracks = new Map(); // mid -> Media
    this.pendingCandidates = [];
    this.timers = new Set();
    this.dirty = false; // a local change a negotiation must carry (a direction change)
    this.directionDirty = false; // set_direction / remove_track: carried by the next offer or answer
    // Perfect negotiation (W3C webrtc-pc 10.7) when `polite` is a boolean; null: the seed's flow.
    this.polite = typeof config.polite === 'boolean' ? config.polite : null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    // The local description in force when the signaling state last became stable through an
    // exchange (libdatachannel keeps a rolled-back first offer as its localDescription()).
    this.stableLocal = null;
    this.spareMids = new Map(); // mid -> kind: m-sections of a rolled-back offer, free for reuse
    this.sentCandidates = 0;
    this.gatheringDone = false;
    this.announcedTracks = new Set(); // mids whose `track` event was reported
    this.unplaced = []; // kinds the answerer attached, waiting for an m-section of the offer
    this.ws = null;
    this.pc = null;
  }

  push(event) {
    if (!this.alive) return;
    if (this.sink) this.sink(event, now());
    else write({ type: 'event', t: now(), event });
  }

  error(context, e) {
    log(`error (${context}):`, errorText(e));
    this.push({ type: 'error', context, message: errorText(e) });
  }

  serial(what, fn) {
    this.chain = this.chain.then(() => (this.alive ? fn() : undefined)).catch((e) => this.error(what, e));
    return this.chain;
  }

  /** Like serial, for an action whose failure is its answer (not an `error` event). */
  serialAction(fn) {
    const run = this.chain.then(() => (this.alive ? fn() : undefined));
    this.chain = run.catch(() => {});
    return run;
  }

  send(obj) {
    relaySend(this.ws, obj);
  }

  setTimer(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.alive) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  createPc() {
    const ice = iceServers(this.cfg.ice_servers);
    for (const u of ice.unusable) log('ICE server left out:', u);
    this.turnServers = ice.turn;
    const config = {
      iceServers: ice.servers,
      disableAutoNegotiation: true,
      forceMediaTransport: true,
    };
    const policy = this.cfg.ice_transport_policy;
    // Read for every case, so that a bad value fails whatever the policy (kernel env.js).
    const filterOnly = envChoice('RTC_HARNESS_LIBDATACHANNEL_RELAY', ['filter']) === 'filter';
    if (policy !== undefined && policy !== null) {
      if (policy !== 'all' && policy !== 'relay') throw new Error(`ice_transport_policy '${policy}' is neither 'all' nor 'relay'`);
      if (policy === 'relay' && !filterOnly) {
        // libdatachannel's iceTransportPolicy 'relay' only keeps it from signalling its host and
        // server-reflexive candidates (PeerConnection::processLocalCandidate); its libjuice agent
        // still pairs them and checks from them, and in a relay-only call through a TURN server on
        // this machine it selects host/udp -> prflx/udp: the media bypass the relay.
        // RTC_HARNESS_LIBDATACHANNEL_RELAY=filter passes the policy anyway (to see that).
        throw new Error(
          "libdatachannel cannot honour ice_transport_policy 'relay': with libjuice (node-datachannel's ICE agent) the policy only filters the signalled candidates, libjuice still checks from its host candidates and selects a host/udp -> prflx/udp pair",
        );
      }
      config.iceTransportPolicy = policy;
    }
    this.pc = new ndc.PeerConnection(this.cfg.name || 'peer', config);
    this.wire();
  }

  async setup() {
    const cfg = this.cfg;
    checkCodecPreferences(cfg.codec_preferences);
    this.iceLog = { stun: null, turnCode: null };
    this.iceLogSink = (m) => this.onIceLog(m);
    iceLogSink = this.iceLogSink;
    this.createPc();
    const relay = openRelay(cfg.signaling_url, {
      onMessage: (msg) => this.serial('signaling', () => this.onSignal(msg)),
      onBadMessage: (e) => this.error('signaling', e),
      onClose: () => log('relay socket closed'),
    });
    this.ws = relay.ws;
    await relay.opened;
  }

  wire() {
    const pc = this.pc;
    pc.onStateChange((s) => this.push({ type: 'connection_state', state: s }));
    pc.onIceStateChange((s) => this.push({ type: 'ice_connection_state', state: s }));
    pc.onSignalingStateChange((s) => this.push({ type: 'signaling_state', state: s }));
    pc.onGatheringStateChange((s) => {
      this.push({ type: 'ice_gathering_state', state: s === 'in-progress' ? 'gathering' : s });
      if (s === 'complete') setImmediate(() => this.endOfCandidates(0));
    });
    pc.onLocalCandidate((candidate, mid) => this.onLocalCandidate(candidate, mid));
    pc.onDataChannel((dc) => this.watchChannel(dc, false));
    pc.onTrack((track) => {
      this.keep.push(track);
      log(`libdatachannel onTrack mid=${track.mid()} ${track.type()} ${track.direction()}`);
    });
  }

  // --- ICE candidates -------------------------------------------------------------------------

  onLocalCandidate(candidate, mid) {
    if (!this.alive) return;
    const line = candidate.replace(/^a=/, '');
    this.sentCandidates += 1;
    this.push({ type: 'local_candidate', candidate: line });
    if (!this.cfg.trickle) return;
    const local = this.pc.localDescription();
    const secs = sections(local && local.sdp);
    const index = Math.max(0, secs.findIndex((s) => s.mid === mid));
    const msg = { candidate: line, sdpMid: mid, sdpMLineIndex: index };
    const ufrag = (secs[index] && secs[index].ufrag) || ufragOf(local && local.sdp);
    if (ufrag) msg.usernameFragment = ufrag;
    this.send({ candidate: msg });
  }

  /** Gathering is complete: once every candidate the description holds has been delivered here. */
  endOfCandidates(tries) {
    if (!this.alive || this.gatheringDone) return;
    const local = this.pc.localDescription();
    const held = ((local && local.sdp) || '').split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).length;
    if (held > this.sentCandidates && tries < 100) {
      this.setTimer(() => this.endOfCandidates(tries + 1), 5);
      return;
    }
    this.gatheringDone = true;
    this.push({ type: 'end_of_candidates', form: 'null' });
    if (this.cfg.trickle) this.send({ candidate: null });
    for (const w of this.gatheringWaiters || []) w();
    this.gatheringWaiters = [];
  }

  /** For non-trickle sends: the stack's own gathering state (the event may still be on its way). */
  gatheringComplete() {
    if (this.gatheringDone || this.pc.gatheringState() === 'complete') return Promise.resolve();
    return new Promise((resolve) => (this.gatheringWaiters = (this.gatheringWaiters || []).concat(resolve)));
  }

  applyCandidate(c) {
    let mid = c.sdpMid;
    if (mid == null || mid === '') {
      const remote = this.pc.remoteDescription();
      const secs = sections(remote && remote.sdp);
      const s = secs[c.sdpMLineIndex || 0];
      mid = (s && s.mid) || '0';
    }
    this.pc.addRemoteCandidate(c.candidate, mid);
    this.push({ type: 'remote_candidate', candidate: c.candidate });
  }

  // --- signaling ------------------------------------------------------------------------------

  async onSignal(msg) {
    if (msg.desc) {
      await this.onDescription(msg.desc);
    } else if ('candidate' in msg) {
      const c = msg.candidate;
      if (c && c.candidate) {
        if (!this.pc.remoteDescription()) this.pendingCandidates.push(c);
        else if (this.ignoreOffer) {
          // W3C 10.7: while an offer is ignored, the candidates that came with it may fail.
          try {
            this.applyCandidate(c);
          } catch (e) {
            log('candidate of an ignored offer:', errorText(e));
          }
        } else this.applyCandidate(c);
      } else if (!this.pc.remoteDescription()) {
        this.pendingCandidates.push({ candidate: '' });
      } else {
        // End-of-candidates (RFC 8838 section 4.4): libdatachannel has no call for it; nothing to
        // apply, so it is acknowledged as the agent page does once its addIceCandidate resolved.
        this.push({ type: 'remote_candidate', candidate: '' });
      }
    } else if (msg.error) {
      this.push({ type: 'error', context: 'relay', message: JSON.stringify(msg.error) });
    }
  }

  async onDescription(d) {
    const pc = this.pc;
    let implicitRollback = false;
    if (this.polite !== null) {
      // W3C webrtc-pc 10.7. Offers are made on this chain, so makingOffer is only true while an
      // offer of this peer is being made; a collision shows as the signaling state.
      const collision = d.type === 'offer' && (this.makingOffer || pc.signalingState() !== 'stable');
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) {
        this.push({ type: 'offer_ignored' });
        return;
      }
      if (collision) {
        if (pc.signalingState() !== 'have-local-offer') {
          throw new Error(`offer collision in signaling state ${pc.signalingState()}: libdatachannel rolls back only a local offer`);
        }
        // libdatachannel 0.24.5 rolls a local offer back inside setRemoteDescription(offer)
        // (PeerConnection::setRemoteDescription in have-local-offer: rollbackLocalDescription, then
        // stable, then have-remote-offer): the rollback is implicit.
        this.push({ type: 'rollback', implicit: true });
        implicitRollback = true;
      }
    }
    pc.setRemoteDescription(d.sdp, d.type);
    if (implicitRollback) this.afterRollback(true);
    this.push({ type: 'remote_description', sdp_type: d.type, sdp: d.sdp });
    const queued = this.pendingCandidates.splice(0);
    for (const c of queued) {
      if (c.candidate) {
        try {
          this.applyCandidate(c);
        } catch (e) {
          this.error('addRemoteCandidate', e);
        }
      } else {
        this.push({ type: 'remote_candidate', candidate: '' });
      }
    }
    this.afterRemoteDescription(d.sdp);
    if (d.type !== 'offer') {
      this.markStable();
      this.startSenders();
      this.maybeNegotiate();
      return;
    }
    if (!this.started) {
      // The seed's answerer attaches its media when the offer arrives.
      this.started = true;
      this.attachMedia(this.cfg.media || [], true);
      this.createChannels(true);
    }
    this.prepareAnswer(d.sdp);
    this.directionDirty = false; // the answer carries the directions as the offer allows them
    pc.setLocalDescription('answer');
    this.markStable();
    await this.sendLocal();
    this.startSenders();
    this.maybeNegotiate();
  }

  /** The exchange is complete: what is negotiated now (for negotiationNeeded). */
  markStable() {
    const local = this.pc.localDescription();
    if (this.pc.signalingState() === 'stable' && local) this.stableLocal = local.sdp;
  }

  /**
   * After a rollback of a local offer. W3C: the transceivers that offer associated with an mid lose
   * it, and negotiation is needed again for what it carried. libdatachannel assigns mids when a
   * track is added and keeps them, so for the polite peer's implicit rollback (a remote offer is
   * applied next) the tracks the rolled-back offer had introduced are taken back into `unplaced`:
   * the answer puts them on the offer's m-sections of their kind, as W3C's setRemoteDescription
   * does with transceivers without an mid, and their mids become spare, for the remote offer (same
   * mid: libdatachannel re-describes its Track for it) or for the kinds left over.
   */
  afterRollback(implicit) {
    this.directionDirty = this.directionDirty || this.offerDirty;
    this.dirty = this.dirty || this.offerWasDirty;
    if (!implicit) return;
    const negotiated = new Set(sections(this.stableLocal).map((s) => s.mid));
    for (const [mid, media] of [...this.tracks]) {
      if (!media.local || negotiated.has(mid)) continue;
      media.stop();
      this.tracks.delete(mid);
      this.spareMids.set(mid, media.kind);
      if (media.sending) this.unplaced.push(media.kind);
      log(`rollback: ${media.kind} track of mid ${mid} waits for an m-section of the remote offer`);
    }
  }

  /** W3C `track`: an m-section the remote now sends on (first time per mid). */
  afterRemoteDescription(sdp) {
    for (const s of sections(sdp)) {
      if ((s.kind !== 'audio' && s.kind !== 'video') || s.rejected || !s.mid) continue;
      let media = this.tracks.get(s.mid);
      if (!media) {
        media = new Media(this, s.kind, s.mid);
        this.tracks.set(s.mid, media);
      }
      media.remote = s;
      this.spareMids.delete(s.mid);
      if (sends(s.direction) && !this.announcedTracks.has(s.mid)) {
        this.announcedTracks.add(s.mid);
        this.push({ type: 'track', kind: s.kind });
      } else if (!sends(s.direction) && media.direction !== null) {
        // W3C [[FiredDirection]]: a remote sender that stopped and comes back fires `track` again
        // (only followed for m-sections whose direction this side has set).
        this.announcedTracks.delete(s.mid);
      }
    }
  }

  /** Gives every remote m-section of the offer our own description before answering. */
  prepareAnswer(sdp) {
    for (const s of sections(sdp)) {
      if ((s.kind !== 'audio' && s.kind !== 'video') || !s.mid) continue;
      const media = this.tracks.get(s.mid);
      if (!media || s.rejected) continue;
      // A kind attached but not yet on an m-section rides on this one (as W3C addTrack reuses a
      // transceiver the remote offer created).
      const i = this.unplaced.indexOf(s.kind);
      if (!media.sending && i >= 0) {
        this.unplaced.splice(i, 1);
        media.sending = true;
      }
      media.describe(s);
    }
    // Kinds still without an m-section get their own: negotiated by our next offer.
    for (const kind of this.unplaced.splice(0)) this.newLocalTrack(kind);
    // m-sections of a rolled-back offer that nothing took: libdatachannel keeps their Tracks and
    // would offer them as they were; they stay as inactive transceivers of their kind.
    for (const [mid, kind] of [...this.spareMids]) {
      this.spareMids.delete(mid);
      const media = new Media(this, kind, mid);
      media.local = true;
      media.direction = 'inactive';
      this.tracks.set(mid, media);
      media.describe(null);
    }
  }

  async sendLocal() {
    const d = this.pc.localDescription();
    this.push({ type: 'local_description', sdp_type: d.type, sdp: d.sdp });
    if (!this.cfg.trickle) {
      await this.gatheringComplete();
      this.send({ desc: this.pc.localDescription() });
    } else {
      this.send({ desc: { type: d.type, sdp: d.sdp } });
    }
  }

  async offer() {
    this.makingOffer = true;
    try {
      this.push({ type: 'create_offer' });
      this.offerWasDirty = this.dirty;
      this.offerDirty = this.directionDirty;
      this.dirty = false;
      this.directionDirty = false;
      // A transceiver whose direction was set offers that direction (W3C [[Direction]]); the
      // others are offered as libdatachannel holds them.
      for (const media of this.tracks.values()) if (media.direction !== null) media.describe(media.remote, true);
      this.pc.setLocalDescription('offer');
      await this.sendLocal();
    } finally {
      this.makingOffer = false;
    }
  }

  /** What onnegotiationneeded would say: something local not in the description last negotiated. */
  negotiationNeeded() {
    if (this.dirty || this.directionDirty) return true;
    const secs = sections(this.stableLocal);
    for (const [mid, media] of this.tracks) if (media.local && !secs.some((s) => s.mid === mid)) return true;
    if (this.channels.size && !secs.some((s) => s.kind === 'application')) return true;
    return false;
  }

  maybeNegotiate() {
    if (!this.cfg.auto_negotiate) return;
    this.serial('negotiation', async () => {
      if (this.pc.signalingState() !== 'stable' || !this.negotiationNeeded()) return;
      await this.offer();
    });
  }

  // --- media ----------------------------------------------------------------------------------

  /**
   * Attaches kinds to send: on an m-section the remote offered that we do not send on yet when
   * there is one (the answerer, or a later add_track), else on a new track of our own.
   */
  attachMedia(kinds, answering = false) {
    for (const kind of kinds) {
      if (answering) {
        this.unplaced.push(kind); // placed by prepareAnswer()
        continue;
      }
      const reuse = [...this.tracks.values()].find((m) => m.kind === kind && !m.sending && m.remote && !m.remote.rejected);
      if (reuse) {
        reuse.sending = true;
        // W3C addTrack on a transceiver without a track: its direction gains 'send'.
        if (reuse.direction !== null) reuse.direction = directionOf(true, receives(reuse.direction));
        reuse.describe(reuse.remote);
        this.dirty = true; // a direction change: the next offer carries it
      } else {
        this.newLocalTrack(kind);
      }
    }
  }

  newLocalTrack(kind) {
    const used = new Set([...this.tracks.keys()]);
    for (const d of [this.pc.localDescription(), this.pc.remoteDescription()]) {
      for (const s of sections(d && d.sdp)) if (s.mid) used.add(s.mid);
    }
    let n = 0;
    while (used.has(String(n))) n += 1;
    let mid = String(n);
    // After a rollback: an m-section the rolled-back offer had made and nothing took is reused
    // (libdatachannel still holds its Track; addTrack with that mid re-describes it).
    const spare = [...this.spareMids.keys()].find((m) => !this.tracks.has(m));
    if (spare !== undefined) {
      this.spareMids.delete(spare);
      mid = spare;
    }
    const media = new Media(this, kind, mid);
    media.local = true;
    media.sending = true;
    this.tracks.set(media.mid, media);
    media.describe(null);
  }

  startSenders() {
    for (const media of this.tracks.values()) {
      media.maybeStopSending();
      media.maybeStartSending();
    }
  }

  /** The first transceiver of a kind (m-section order of creation). */
  mediaOf(kind) {
    const media = [...this.tracks.values()].find((m) => m.kind === kind);
    if (!media) throw new Error(`no ${kind} transceiver`);
    return media;
  }

  /** The first sender with a track of that kind. */
  senderOf(kind) {
    const media = [...this.tracks.values()].find((m) => m.kind === kind && m.sending);
    if (!media) throw new Error(`no sender with a ${kind} track`);
    return media;
  }

  /** W3C RTCRtpTransceiver.direction = direction: offered from the next negotiation on. */
  setDirection(kind, direction) {
    if (!DIRECTIONS.includes(direction)) throw new Error(`direction '${direction}' is none of ${DIRECTIONS.join(', ')}`);
    const media = this.mediaOf(kind);
    const before = media.direction ?? media.impliedDirection();
    media.direction = direction;
    if (before !== direction) this.directionDirty = true;
  }

  /**
   * W3C removeTrack (webrtc-pc 5.1): the sender's track is gone (this adapter's sender loop for it
   * stops: no more RTP), the direction loses 'send' (sendrecv -> recvonly, sendonly -> inactive),
   * and negotiation is needed. libdatachannel has no removeTrack: its Track stays, re-described
   * with that direction (and no SSRC) for the next offer or answer.
   */
  removeTrack(kind) {
    const media = this.senderOf(kind);
    const before = media.direction ?? media.impliedDirection();
    media.sending = false;
    media.pause();
    media.direction = directionOf(false, receives(before));
    this.directionDirty = true;
  }

  /**
   * replaceTrack with a new source of the same kind (webrtc-pc 5.2): the sender goes on on the same
   * SSRC, sequence numbers and clock, with a new reader of the fixture from its start (a keyframe
   * first). No renegotiation.
   */
  replaceTrack(kind) {
    const media = this.senderOf(kind);
    media.replaceSource();
    this.push({ type: 'track_replaced', kind });
  }

  // --- data channels --------------------------------------------------------------------------

  watchChannel(dc, mine) {
    this.keep.push(dc);
    const label = dc.getLabel();
    const ch = { dc, mine, opened: false, closed: false, released: false };
    this.channels.set(label, ch);
    const onOpen = () => {
      if (ch.opened || !this.alive) return;
      ch.opened = true;
      // What node-datachannel 0.33.4 reads back from libdatachannel: the id and the protocol
      // (its DataChannel has no getter for the reliability or the negotiated flag).
      this.push({ type: 'data_channel_open', label, id: dc.getId(), protocol: dc.getProtocol() });
      const spec = mine && (this.cfg.data_channels || []).find((c) => c.label === label);
      if (spec && spec.send && !dc.sendMessage(spec.send)) log(`greeting on '${label}' was buffered`);
    };
    dc.onOpen(onOpen);
    dc.onMessage((msg) => {
      if (!this.alive) return;
      const text = typeof msg === 'string';
      if (text) this.push({ type: 'data_channel_message', label, data: msg });
      else {
        const b = Buffer.from(msg);
        this.push({ type: 'data_channel_message', label, binary: true, size: b.length, intact: isIntact(b) });
      }
      if (this.cfg.echo && !mine && !ch.released) {
        if (!dc.isOpen()) {
          // Delivered before the channel closed, handled after: nothing to echo on.
          log(`echo on '${label}' skipped: the channel has closed since`);
          return;
        }
        try {
          if (text) dc.sendMessage(msg);
          else dc.sendMessageBinary(Buffer.from(msg));
        } catch (e) {
          this.error('echo', e);
        }
      }
    });
    dc.onClosed(() => {
      ch.released = true; // the binding drops its native channel after this callback
      this.channelClosed(label, ch);
    });
    dc.onError((e) => this.error(`data channel ${label}`, e));
    if (dc.isOpen()) onOpen();
  }

  /** `data_channel_close`, once per channel (the stack's close, or the peer connection's end). */
  channelClosed(label, ch) {
    if (ch.closed) return;
    ch.closed = true;
    this.push({ type: 'data_channel_close', label });
  }

  createChannel(label, init) {
    const dc = init ? this.pc.createDataChannel(label, init) : this.pc.createDataChannel(label);
    this.watchChannel(dc, true);
  }

  /** The case's `data_channels` (all at `start`; only the negotiated ones for an answerer that
   * never starts, when the first offer arrives). */
  createChannels(negotiatedOnly = false) {
    for (const c of this.cfg.data_channels || []) {
      if (negotiatedOnly && !c.negotiated) continue;
      const init = channelInit(c);
      this.createChannel(c.label, Object.keys(init).length ? init : undefined);
    }
  }

  channelOf(label) {
    const ch = this.channels.get(label);
    if (!ch) throw new Error(`no data channel '${label}'`);
    if (ch.released) throw new Error(`data channel '${label}' is closed`);
    return ch;
  }

  // --- actions --------------------------------------------------------------------------------

  async perform(a) {
    switch (a.type) {
      case 'start':
        this.started = true;
        this.attachMedia(this.cfg.media || []);
        this.createChannels();
        this.maybeNegotiate();
        return;
      case 'add_track':
        this.attachMedia([a.kind]);
        this.maybeNegotiate();
        return;
      case 'create_data_channel':
        this.createChannel(a.label);
        this.maybeNegotiate();
        return;
      case 'send_offer':
        return this.serial('send_offer', () => this.offer());
      case 'restart_ice':
        return this.restartIce();
      case 'send_message': {
        const ch = this.channelOf(a.label);
        if (a.size != null) {
          // libdatachannel throws over the remote's a=max-message-size (W3C 6.2: TypeError).
          if (!ch.dc.sendMessageBinary(patternBuffer(a.size))) log(`send_message on '${a.label}' was buffered`);
        } else if (!ch.dc.sendMessage(a.text)) log(`send_message on '${a.label}' was buffered`);
        return;
      }
      case 'close_channel': {
        const ch = this.channelOf(a.label);
        ch.released = true; // the binding drops its native channel in close()
        ch.dc.close();
        return;
      }
      case 'rollback':
        return this.serialAction(() => this.rollback());
      case 'set_direction':
        this.setDirection(a.kind, a.direction);
        this.maybeNegotiate();
        return;
      case 'remove_track':
        this.removeTrack(a.kind);
        this.maybeNegotiate();
        return;
      case 'replace_track':
        this.replaceTrack(a.kind);
        return;
      case 'close':
        this.closePc(true);
        this.push({ type: 'connection_state', state: this.pc.state() });
        this.push({ type: 'signaling_state', state: this.pc.signalingState() });
        return;
      default:
        throw new Error(`unknown action ${JSON.stringify(a)}`);
    }
  }

  /** setLocalDescription({type: 'rollback'}) (RFC 8829 section 4.1.10.2). */
  rollback() {
    const before = this.pc.signalingState();
    this.pc.setLocalDescription('rollback');
    const after = this.pc.signalingState();
    if (after === before) {
      // libdatachannel returns without an error when there is no local offer to roll back.
      throw new Error(`libdatachannel's setLocalDescription('rollback') in signaling state ${before} rolled nothing back (W3C: InvalidStateError)`);
    }
    this.afterRollback(false);
    this.push({ type: 'rollback', implicit: false });
    this.maybeNegotiate(); // what the rollback took back is to be negotiated again
  }

  restartIce() {
    // libdatachannel builds every description from one libjuice agent whose ICE credentials can
    // only be set before gathering (juice_set_local_ice_attributes), and has no restartIce.
    throw new Error('libdatachannel 0.24.5 has no ICE restart (its libjuice agent keeps one ufrag/pwd for the connection)');
  }

  /**
   * candidate_error from libjuice's own log lines, the only place libdatachannel reports a STUN or
   * TURN server failure (libjuice agent.c): "TURN authentication failed" (a 401 answered to the
   * Allocate that carried the credentials) is 401; "Got TURN Allocate error response, code=N"
   * then "TURN allocation failed" is N; "TURN allocation failed" alone (no answer after its
   * retransmissions) and "STUN server binding failed" are W3C's 701. The lines do not name the
   * server: the STUN URL is the one libdatachannel logged as "Using STUN server", a TURN URL is
   * reported only when a single usable TURN URL was configured.
   */
  onIceLog(message) {
    if (!this.alive) return;
    const stun = /Using STUN server "([^"]+)"/.exec(message);
    if (stun) {
      this.iceLog.stun = stun[1];
      return;
    }
    const m = /\bjuice: (?:\S+\.c:\d+: )?(.*)$/.exec(message);
    if (!m) return;
    const text = m[1];
    const code = /^Got TURN Allocate error response, code=(\d+)/.exec(text);
    if (code) {
      this.iceLog.turnCode = Number(code[1]);
      return;
    }
    if (text.startsWith('TURN authentication failed')) {
      this.turnError(401, `libjuice: ${text}`);
    } else if (text.startsWith('TURN allocation failed')) {
      const c = this.iceLog.turnCode;
      this.iceLog.turnCode = null;
      if (c) this.turnError(c, `libjuice: Got TURN Allocate error response, code=${c}`);
      else this.turnError(701, `libjuice: ${text} (no response)`);
    } else if (text.startsWith('STUN server binding failed')) {
      const url = this.stunUrl(this.iceLog.stun);
      if (url) this.push({ type: 'candidate_error', url, error_code: 701, error_text: `libjuice: ${text}` });
    }
  }

  turnError(code, text) {
    const turn = this.turnServers || [];
    if (turn.length !== 1) {
      log(`TURN failure not reported (${turn.length} TURN URLs, libjuice does not say which):`, text);
      return;
    }
    this.push({ type: 'candidate_error', url: turn[0].url, error_code: code, error_text: text });
  }

  /** The configured STUN URL for libdatachannel's "host:port". */
  stunUrl(hostport) {
    if (!hostport) return null;
    for (const s of this.cfg.ice_servers || []) {
      for (const u of Array.isArray(s.urls) ? s.urls : [s.urls]) {
        const m = /^stuns?:(\[[^\]]+\]|[^:?]+)(?::(\d+))?/i.exec(String(u || ''));
        if (m && `${m[1].replace(/^\[|\]$/g, '')}:${m[2] || 3478}` === hostport) return u;
      }
    }
    return null;
  }

  /**
   * libdatachannel hands RTP to this adapter raw (no media handler), so the RTP figures are this
   * adapter's, as the RTP endpoint: packets and payload bytes sent and received on each Track,
   * and packetsLost and jitter of the received stream computed as RFC 3550 (A.3, A.8) receivers
   * do. Nothing is decoded (no framesDecoded / framesPerSecond). The pair is libdatachannel's
   * selected candidate pair (libjuice); it has no RTT or bitrate for it.
   */
  collectStats() {
    const summary = { inbound_rtp: [], outbound_rtp: [], candidate_pair: null };
    for (const m of this.tracks.values()) {
      if (m.received > 0 || (m.remote && sends(m.remote.direction))) summary.inbound_rtp.push(m.inboundStats());
      if (m.packetsSent > 0 || m.sending) {
        const out = { kind: m.kind, packetsSent: m.packetsSent, bytesSent: m.bytesSent };
        if (m.packetsSent > 0) out.codec = m.mimeType(m.pt);
        summary.outbound_rtp.push(out);
      }
    }
    try {
      const pair = this.pc.getSelectedCandidatePair();
      const proto = (c) => (/^udp/i.test(c.transportType) ? 'udp' : 'tcp');
      if (pair) summary.candidate_pair = { local: `${pair.local.type}/${proto(pair.local)}`, remote: `${pair.remote.type}/${proto(pair.remote)}` };
    } catch (e) {
      log('getSelectedCandidatePair:', errorText(e));
    }
    this.push({ type: 'stats', summary });
  }

  stopMedia() {
    for (const m of this.tracks.values()) m.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  closePc(report = false) {
    this.stopMedia();
    for (const ch of this.channels.values()) {
      if (ch.released) continue;
      ch.released = true;
      try {
        ch.dc.close();
      } catch (e) {
        log('dc.close:', errorText(e));
      }
    }
    try {
      if (this.pc) this.pc.close();
    } catch (e) {
      log('pc.close:', errorText(e));
    }
    // Every channel that was open is closed with the connection (the `close` action).
    if (report) for (const [label, ch] of this.channels) if (ch.opened) this.channelClosed(label, ch);
  }

  shutdown() {
    if (iceLogSink && iceLogSink === this.iceLogSink) iceLogSink = null;
    if (!this.alive) return;
    this.closePc();
    this.alive = false;
    for (const m of this.tracks.values()) {
      try {
        if (m.track) m.track.close();
      } catch (e) {
        log('track.close:', errorText(e));
      }
    }
    if (this.ws) this.ws.terminate();
    this.keep = [];
    this.tracks.clear();
    this.channels.clear();
  }
}

/** One audio/video m-section: our libdatachannel Track on it, the sender loop and the receiver. */
class Media {
  constructor(c, kind, mid) {
    this.c = c;
    this.kind = kind;
    this.mid = mid;
    this.local = false; // created by this side (vs. an m-section the remote offered)
    this.sending = false; // the sender has a track (attached media)
    // W3C [[Direction]] once set_direction or remove_track set it; null: the seed's flow, where the
    // direction follows the attached media and the remote's m-section.
    this.direction = null;
    this.remote = null; // the remote's m-section
    this.track = null;
    this.ssrc = rand32();
    this.pt = kind === 'video' ? VIDEO_PT : AUDIO_PT;
    this.open = false;
    this.sender = null;
    this.packetsSent = 0;
    this.bytesSent = 0; // RTP payload bytes (W3C bytesSent: no headers, no padding)
    this.received = 0;
    this.bytesReceived = 0; // RTP payload bytes of every stream received on this Track
    this.rx = null; // RFC 3550 receiver state of the stream received
    this.frames = 0;
    this.seenKeyframe = false;
    this.assembler = new Vp8Assembler();
    this.lastPli = 0;
    this.remoteSsrc = 0;
  }

  /** W3C [[Direction]] as the seed's flow has it: addTrack's sendrecv, or recvonly without media. */
  impliedDirection() {
    return this.sending ? 'sendrecv' : 'recvonly';
  }

  /**
   * (Re)describes the track to libdatachannel (addTrack with an existing mid replaces it): for an
   * answer to the remote's m-section, or (`forOffer`) for an offer of this side.
   */
  describe(remote, forOffer = false) {
    const c = this.c;
    let pt = this.pt;
    let dir = 'SendRecv';
    let ssrc = this.sending;
    if (remote) {
      const codec = this.kind === 'video' ? 'vp8' : 'opus';
      const remotePt = ptFor(remote, codec);
      if (remotePt == null) {
        log(`remote ${this.kind} m-section ${this.mid} has no ${codec}: left to libdatachannel`);
        this.sending = false;
        return;
      }
      pt = remotePt;
    }
    if (this.direction !== null) {
      // The direction set (W3C): offered as it is; answered as the offer allows it (RFC 8829
      // section 5.3.1).
      const d = remote && !forOffer ? directionOf(sends(this.direction) && receives(remote.direction), receives(this.direction) && sends(remote.direction)) : this.direction;
      dir = LDC_DIRECTION[d];
      ssrc = this.sending && sends(d);
    } else if (remote) {
      const weSend = this.sending && receives(remote.direction);
      const weRecv = sends(remote.direction);
      dir = weSend && weRecv ? 'SendRecv' : weSend ? 'SendOnly' : weRecv ? 'RecvOnly' : 'Inactive';
    } else if (!this.sending) {
      dir = 'RecvOnly';
    }
    this.pt = pt;
    const desc = this.kind === 'video' ? new ndc.Video(this.mid, dir) : new ndc.Audio(this.mid, dir);
    if (this.kind === 'video') desc.addVP8Codec(pt);
    else desc.addOpusCodec(pt);
    if (ssrc) desc.addSSRC(this.ssrc, `ldc-${c.cfg.name}`, `stream-${c.cfg.name}`, `${this.kind}-${this.mid}`);
    const track = c.pc.addTrack(desc);
    c.keep.push(desc, track);
    this.track = track;
    this.open = false;
    track.onOpen(() => {
      this.open = true;
      this.maybeStartSending();
    });
    track.onClosed(() => {
      this.open = false;
    });
    track.onError((e) => c.error(`track ${this.mid}`, e));
    track.onMessage((msg) => this.onPacket(msg));
    if (track.isOpen()) {
      this.open = true;
      this.maybeStartSending();
    }
  }

  // --- sending --------------------------------------------------------------------------------

  /** Sends once the track is open and the m-section is negotiated with us sending. */
  maybeStartSending() {
    if (this.sender || !this.sending || !this.open || !this.c.alive) return;
    const local = this.c.pc.localDescription();
    const remote = this.c.pc.remoteDescription();
    const l = sections(local && local.sdp).find((s) => s.mid === this.mid);
    const r = sections(remote && remote.sdp).find((s) => s.mid === this.mid);
    if (!l || !r || !sends(l.direction) || !receives(r.direction)) return;
    if (this.paused) {
      // Sending again on this m-section (a direction back to send): the same RTP stream goes on,
      // its clock advanced by the pause.
      const s = this.paused;
      this.paused = null;
      s.ts = (s.ts + Math.round(((performance.now() - s.pausedAt) / 1000) * s.rate)) >>> 0;
      s.keyframe = true;
      this.sender = s;
      log(`sending ${this.kind} on mid ${this.mid} again`);
      this.startPacing(s);
      return;
    }
    let samples;
    try {
      samples = clip(this.kind, this.c.cfg.media_files[this.kind]);
    } catch (e) {
      this.c.error(`${this.kind} fixture`, e);
      return;
    }
    const rate = this.kind === 'video' ? 90000 : 48000;
    this.sender = { samples, index: 0, seq: rand16(), ts: rand32(), rate, stop: null, keyframe: false };
    log(`sending ${this.kind} on mid ${this.mid} (pt ${this.pt}, ssrc ${this.ssrc})`);
    this.startPacing(this.sender);
  }

  /** The sender loop (kernel pacing.js pace), from now: a sample per tick, each due after the one
   * before has lasted its duration; on the case's timers (none runs once the case is over). */
  startPacing(s) {
    s.stop = pace(() => this.sendNext(s), { startNow: true, schedule: (fn, ms) => this.c.setTimer(fn, ms) });
  }

  /** Sends the next sample; returns its duration (ms). */
  sendNext(s) {
    if (s.keyframe && this.kind === 'video') {
      // A keyframe was asked for: the last keyframe at or before this point of the clip.
      s.keyframe = false;
      let k = s.index % s.samples.length;
      while (k > 0 && !s.samples[k].key) k -= 1;
      s.index = k;
    }
    const sample = s.samples[s.index % s.samples.length];
    s.index += 1;
    try {
      if (this.kind === 'video') this.sendVp8(sample.data, s);
      else this.sendPacket(rtpHeader(this.pt, false, s.seq++, s.ts, this.ssrc), sample.data);
    } catch (e) {
      log(`send ${this.kind}:`, errorText(e));
    }
    s.ts = (s.ts + sample.ticks) >>> 0;
    return sample.ms;
  }

  /** RFC 7741: a 1-byte payload descriptor (S on the first packet), marker on the last. */
  sendVp8(frame, s) {
    for (const { descriptor, chunk, marker } of vp8Packets(frame)) {
      this.sendPacket(rtpHeader(this.pt, marker, s.seq++, s.ts, this.ssrc), descriptor, chunk);
    }
  }

  sendPacket(...parts) {
    if (this.track && this.track.sendMessageBinary(Buffer.concat(parts))) {
      this.packetsSent += 1;
      for (let i = 1; i < parts.length; i++) this.bytesSent += parts[i].length; // parts[0] is the header
    }
  }

  stop() {
    if (this.sender && this.sender.stop) this.sender.stop();
    this.sender = null;
    this.paused = null;
  }

  /**
   * After a negotiation: a sender whose m-section no longer sends (its direction was set, or its
   * track removed) pauses; its RTP state is kept for when the direction allows sending again.
   */
  maybeStopSending() {
    const s = this.sender;
    if (!s || (this.direction === null && this.sending)) return;
    const local = this.c.pc.localDescription();
    const remote = this.c.pc.remoteDescription();
    const l = sections(local && local.sdp).find((x) => x.mid === this.mid);
    const r = sections(remote && remote.sdp).find((x) => x.mid === this.mid);
    if (this.sending && l && r && sends(l.direction) && receives(r.direction)) return;
    this.pause();
    log(`${this.kind} on mid ${this.mid}: sending stopped (direction ${l ? l.direction : '-'} / remote ${r ? r.direction : '-'})`);
  }

  /**
   * No more RTP for now; the stream's state (SSRC, sequence number, clock) is kept: sending again
   * on this m-section goes on with it (a new random sequence number would be refused by
   * libdatachannel's SRTP session as a replay: "SRTP protect error, status=10").
   */
  pause() {
    const s = this.sender;
    if (!s) return;
    if (s.stop) s.stop();
    s.stop = null;
    s.pausedAt = performance.now();
    this.sender = null;
    this.paused = s;
  }

  /** A new source: the fixture read again from its start; the RTP stream goes on. */
  replaceSource() {
    const s = this.sender || this.paused;
    if (s) {
      s.index = 0;
      s.keyframe = false;
    }
  }

  /** The codec's mimeType for the stats (as RTCCodecStats.mimeType), by payload type. */
  mimeType(pt) {
    const name = (this.remote && this.remote.names.get(pt)) || (pt === this.pt ? (this.kind === 'video' ? 'VP8' : 'opus') : null);
    return name ? `${this.kind}/${name}` : null;
  }

  // --- receiving ------------------------------------------------------------------------------

  onPacket(buf) {
    const c = this.c;
    if (!c.alive) return;
    if (isRtcp(buf)) {
      if (this.sender && asksForKeyframe(buf)) this.sender.keyframe = true;
      return;
    }
    const pkt = parseRtp(buf);
    if (!pkt) return;
    if (this.remote && pkt.pt !== this.pt && this.remote.rtpmap.get(pkt.pt) !== (this.kind === 'video' ? 'vp8' : 'opus')) return;
    this.remoteSsrc = pkt.ssrc;
    this.lastPt = pkt.pt;
    this.received += 1;
    this.account(pkt);
    if (this.kind === 'audio') {
      if (this.received === 1) c.push({ type: 'first_packet', kind: 'audio' });
      if (this.received % AUDIO_PROGRESS_EVERY === 0) c.push({ type: 'media_progress', kind: 'audio', count: this.received });
      return;
    }
    const frame = this.assembler.push(pkt);
    if (!frame) return;
    if (!this.seenKeyframe) {
      const size = keyframeSize(frame.data);
      if (!size) {
        this.requestKeyframe();
        return;
      }
      this.seenKeyframe = true;
      this.lastTs = null;
      c.push({ type: 'first_frame', kind: 'video', width: size.width, height: size.height });
    }
    if (frame.ts === this.lastTs) return;
    this.lastTs = frame.ts;
    this.frames += 1;
    if (this.frames % VIDEO_PROGRESS_EVERY === 0) c.push({ type: 'media_progress', kind: 'video', count: this.frames });
  }

  /** RFC 3550 A.3 (extended highest sequence number, expected - received) and A.8 (interarrival
   * jitter in RTP timestamp units), per received SSRC; a new SSRC starts over. */
  account(pkt) {
    const rate = this.kind === 'video' ? 90000 : 48000;
    const arrival = (performance.now() / 1000) * rate;
    let rx = this.rx;
    if (!rx || rx.ssrc !== pkt.ssrc) {
      rx = this.rx = { ssrc: pkt.ssrc, base: pkt.seq, maxExt: pkt.seq, received: 0, jitter: 0, transit: null };
    }
    rx.received += 1;
    this.bytesReceived += pkt.payload.length;
    const maxSeq = rx.maxExt & 0xffff;
    const delta = (pkt.seq - maxSeq + 0x10000) & 0xffff;
    if (delta > 0 && delta < 0x8000) rx.maxExt += delta; // in order, or a wrap
    const transit = arrival - pkt.ts;
    if (rx.transit !== null) {
      let d = transit - rx.transit;
      // RTP timestamps wrap at 2^32
      if (d > 2 ** 31) d -= 2 ** 32;
      else if (d < -(2 ** 31)) d += 2 ** 32;
      rx.jitter += (Math.abs(d) - rx.jitter) / 16;
    }
    rx.transit = transit;
  }

  inboundStats() {
    const out = { kind: this.kind, packetsReceived: this.received };
    const codec = this.lastPt != null ? this.mimeType(this.lastPt) : null;
    if (codec) out.codec = codec;
    const rx = this.rx;
    if (rx) {
      const rate = this.kind === 'video' ? 90000 : 48000;
      out.bytesReceived = this.bytesReceived;
      out.packetsLost = rx.maxExt - rx.base + 1 - rx.received;
      out.jitter = rx.jitter / rate;
    }
    return out;
  }

  /** Until the first keyframe: a PLI (RFC 4585 section 6.3.1), at most every 500 ms. */
  requestKeyframe() {
    if (this.seenKeyframe || !this.track || !this.open || !this.remoteSsrc) return;
    const t = performance.now();
    if (t - this.lastPli < KEYFRAME_REQUEST_GAP_MS) return;
    this.lastPli = t;
    try {
      this.track.sendMessageBinary(pli(this.ssrc, this.remoteSsrc));
    } catch (e) {
      log('PLI:', errorText(e));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The floor (PROTOCOL.md, optional section): two peer connections in this process, descriptions
// and candidates handed over in memory, from just before the offer to the answerer's first frame.

/** A relay socket stand-in (kernel relay.js memorySocket): what one case sends is applied by the
 * other, in order. */
const socketTo = (other) => memorySocket((msg) => other.serial('signaling', () => other.onSignal(msg)));

async function floorOnce(mediaFiles) {
  const base = { data_channels: [], trickle: true, auto_negotiate: true, echo: false, ice_servers: [], media_files: mediaFiles };
  let start = null;
  let failed = null;
  let resolve;
  const frame = new Promise((r) => (resolve = r));
  const a = new Case({ ...base, name: 'floor-offerer', media: ['video'] });
  const b = new Case({ ...base, name: 'floor-answerer', media: [] });
  a.sink = (e, t) => {
    if (e.type === 'create_offer') start = t;
    if (e.type === 'error') failed = `${e.context}: ${e.message}`;
  };
  b.sink = (e, t) => {
    if (e.type === 'first_frame') resolve(t);
    if (e.type === 'error') failed = `${e.context}: ${e.message}`;
  };
  let timer;
  try {
    a.createPc();
    b.createPc();
    a.ws = socketTo(b);
    b.ws = socketTo(a);
    await a.perform({ type: 'start' });
    const t = await Promise.race([frame, new Promise((r) => (timer = setTimeout(() => r(null), 15000)))]);
    if (t == null || start == null) throw new Error(failed || 'no first frame within 15 s');
    return t - start;
  } finally {
    clearTimeout(timer);
    a.shutdown();
    b.shutdown();
  }
}

async function floor(msg) {
  const n = Math.max(1, msg.iterations || 10);
  return { floor: await floorLoop(n, () => floorOnce(msg.media_files || {})) };
}

// ---------------------------------------------------------------------------------------------
// The protocol loop

const cases = caseCommands({
  open: (config) => new Case(config),
  release: (c) => c.shutdown(),
  floor: (msg) => answerFloor(msg, floor),
  log,
});

hello('libdatachannel', `${ndc.getLibraryVersion()} (node-datachannel ${BINDING_VERSION})`);

let inbox = Promise.resolve();
readCommands((msg) => {
  // perform may wait on the signaling chain; other lines must not wait behind it, except that
  // setup and close stay ordered with everything before them.
  if (msg.type === 'perform' || msg.type === 'collect_stats') {
    cases.handle(msg).catch((e) => log('handler:', errorText(e)));
  } else {
    inbox = inbox.then(() => cases.handle(msg)).catch((e) => log('handler:', errorText(e)));
  }
}, {
  log,
  onEnd: () => {
    try {
      const c = cases.takeCurrent();
      if (c) c.shutdown();
    } catch (e) {
      log('shutdown:', errorText(e));
    }
    process.exit(0);
  },
});
