'use strict';
// Unit tests of the kernel's pure helpers, with plain node and its assert module:
//   node stacks/node/kernel/test.js
// The VP8 payload descriptor on crafted payloads (RFC 7741 section 4.2), packetization and
// keyframe size, the fixture readers on fixtures/media, the binary pattern, pacing, and what the
// W3C adapters (libwebrtc, werift) share: the actions, the signaling chain, data channel
// bookkeeping, the answerer's start and the shape of codec_preferences;
// and the strict reading of the adapters' environment toggles (env.js).

const assert = require('assert');
const path = require('path');
const media = require('./media');
const { patternBuffer, patternBytes, isIntact } = require('./pattern');
const { pace } = require('./pacing');
const { floorLoop } = require('./floor');
const { caseCommands } = require('./cases');
const { w3cSummary } = require('./stats');
const marker = require('./marker');
const tone = require('./tone');
const lines = require('./lines');
const actions = require('./actions');
const { Chain } = require('./chain');
const channels = require('./channels');
const { envChoice } = require('./env');

const FIXTURES = path.join(__dirname, '..', '..', '..', 'fixtures', 'media');
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('vp8Descriptor: start of partition 0 is S=1 and PID=0; the reserved bit is ignored', () => {
  const d = (...bytes) => media.vp8Descriptor(Buffer.from(bytes));
  assert.deepStrictEqual(d(0x10, 0xaa), { start: true, offset: 1 });
  assert.deepStrictEqual(d(0x00, 0xaa), { start: false, offset: 1 }); // S=0: a continuation
  assert.deepStrictEqual(d(0x11, 0xaa), { start: false, offset: 1 }); // PID=1: another partition
  assert.deepStrictEqual(d(0x17, 0xaa), { start: false, offset: 1 }); // PID=7
  assert.deepStrictEqual(d(0x18, 0xaa), { start: true, offset: 1 }); // R (0x08) set: MUST be ignored
  assert.deepStrictEqual(d(0x30, 0xaa), { start: true, offset: 1 }); // N=1: still a start
  assert.strictEqual(d(), null);
});

test('vp8Descriptor: the extension fields give the payload offset', () => {
  const d = (...bytes) => media.vp8Descriptor(Buffer.from(bytes));
  assert.deepStrictEqual(d(0x90, 0x00, 0xaa), { start: true, offset: 2 }); // X, nothing set
  assert.deepStrictEqual(d(0x90, 0x80, 0x11, 0xaa), { start: true, offset: 3 }); // I, 7-bit PictureID
  assert.deepStrictEqual(d(0x90, 0x80, 0x81, 0x23, 0xaa), { start: true, offset: 4 }); // I, M: 15 bits
  assert.deepStrictEqual(d(0x90, 0xc0, 0x11, 0x05, 0xaa), { start: true, offset: 4 }); // I, L
  assert.deepStrictEqual(d(0x90, 0xf0, 0x81, 0x23, 0x05, 0x40, 0xaa), { start: true, offset: 6 }); // I (M), L, T/K
  assert.deepStrictEqual(d(0x80, 0x20, 0x40), { start: false, offset: 3 }); // T only, nothing after
  assert.strictEqual(d(0x90), null); // X without its octet
  assert.strictEqual(d(0x90, 0x80, 0x81), null); // 15-bit PictureID cut short
});

test('vp8Packets: chunks of MAX_RTP_PAYLOAD, S on the first, marker on the last', () => {
  const frame = Buffer.alloc(2 * media.MAX_RTP_PAYLOAD + 5, 7);
  const packets = media.vp8Packets(frame);
  assert.deepStrictEqual(packets.map((p) => [p.descriptor[0], p.chunk.length, p.marker]), [
    [0x10, media.MAX_RTP_PAYLOAD, false],
    [0x00, media.MAX_RTP_PAYLOAD, false],
    [0x00, 5, true],
  ]);
  assert.ok(Buffer.concat(packets.map((p) => p.chunk)).equals(frame));
  assert.deepStrictEqual(media.vp8Packets(Buffer.alloc(0)), []);
  // What one side sends the other reads back as a start.
  assert.strictEqual(media.vp8Descriptor(Buffer.concat([packets[0].descriptor, packets[0].chunk])).start, true);
  assert.strictEqual(media.vp8Descriptor(Buffer.concat([packets[1].descriptor, packets[1].chunk])).start, false);
});

test('loadIvf and keyframeSize on fixtures/media/video.ivf', () => {
  const { frames, rate, scale } = media.loadIvf(path.join(FIXTURES, 'video.ivf'));
  assert.ok(frames.length > 0);
  assert.ok(rate > 0 && scale > 0);
  assert.strictEqual(frames[0].key, true);
  const size = media.keyframeSize(frames[0].data);
  assert.ok(size && size.width > 0 && size.height > 0, `keyframe size ${JSON.stringify(size)}`);
  for (const f of frames) assert.strictEqual(media.keyframeSize(f.data) !== null, f.key);
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i].pts > frames[i - 1].pts);
  assert.throws(() => media.loadIvf(path.join(FIXTURES, 'audio.ogg')), /not an IVF file/);
});

test('keyframeSize on a crafted keyframe header', () => {
  const f = Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
  assert.deepStrictEqual(media.keyframeSize(f), { width: 320, height: 240 });
  f[0] |= 1; // an interframe
  assert.strictEqual(media.keyframeSize(f), null);
});

test('loadOgg and opusSamples on fixtures/media/audio.ogg', () => {
  const pages = media.loadOgg(path.join(FIXTURES, 'audio.ogg'));
  const packets = pages.flatMap((p) => p.packets);
  assert.strictEqual(packets[0].toString('ascii', 0, 8), 'OpusHead');
  assert.strictEqual(packets[1].toString('ascii', 0, 8), 'OpusTags');
  const audio = packets.filter((p) => !media.isOpusHeader(p));
  assert.strictEqual(audio.length, packets.length - 2);
  // Opus frames last 2.5 to 60 ms: a packet's samples are a positive multiple of 120 (2.5 ms).
  for (const p of audio) assert.ok(media.opusSamples(p) > 0 && media.opusSamples(p) % 120 === 0);
  assert.strictEqual(media.opusSamples(Buffer.from([0xfc, 0xff])), 960); // config 31 (20 ms), code 0
  assert.strictEqual(media.opusSamples(Buffer.from([0x03 | (1 << 3), 0x03])), 3 * 960); // 20 ms SILK, code 3, 3 frames
  assert.throws(() => media.loadOgg(path.join(FIXTURES, 'video.ivf')), /bad Ogg page/);
});

test('cachedLoader reads once per kind and file', () => {
  let reads = 0;
  const load = media.cachedLoader((kind, file) => ({ kind, file, n: ++reads }));
  assert.strictEqual(load('video', 'a'), load('video', 'a'));
  assert.notStrictEqual(load('audio', 'a'), load('video', 'a'));
  assert.strictEqual(reads, 2);
});

test('the binary pattern round trip', () => {
  for (const size of [0, 1, 250, 251, 252, 5000]) {
    const b = patternBuffer(size);
    const u = patternBytes(size);
    assert.ok(Buffer.isBuffer(b));
    assert.ok(!Buffer.isBuffer(u) && u.byteOffset === 0 && u.buffer.byteLength === size);
    assert.strictEqual(b.length, size);
    assert.ok(isIntact(b) && isIntact(u) && isIntact(new Uint8Array(b)));
    assert.ok(Buffer.from(u).equals(b));
  }
  const b = patternBuffer(600);
  b[300] ^= 1;
  assert.strictEqual(isIntact(b), false);
  assert.strictEqual(patternBuffer(300)[251], 0);
});

test('rand16 / rand32 ranges', () => {
  for (let i = 0; i < 200; i++) {
    const a = media.rand16();
    const b = media.rand32();
    assert.ok(Number.isInteger(a) && a >= 0 && a <= 0xffff);
    assert.ok(Number.isInteger(b) && b >= 0 && b <= 0xffffffff);
  }
});

test('pace: due times are the sum of the durations, and stop() ends it', async () => {
  const t0 = performance.now();
  const at = [];
  await new Promise((resolve) => {
    const stop = pace(() => {
      at.push(performance.now() - t0);
      if (at.length === 5) {
        stop();
        resolve();
      }
      return 20;
    }, { startNow: true });
  });
  assert.strictEqual(at.length, 5);
  assert.ok(at[0] < 5, `first tick at ${at[0]} ms`);
  assert.ok(at[4] >= 79 && at[4] < 160, `fifth tick at ${at[4]} ms`);
  await new Promise((r) => setTimeout(r, 50));
  assert.strictEqual(at.length, 5);
});

test('floorLoop runs the iterations one after the other', async () => {
  let running = 0;
  const times = await floorLoop(3, async (i) => {
    running += 1;
    assert.strictEqual(running, 1);
    await new Promise((r) => setTimeout(r, 1));
    running -= 1;
    return i * 10;
  });
  assert.deepStrictEqual(times, [0, 10, 20]);
});

/** The protocol lines `fn` writes to stdout, parsed. */
async function linesOf(fn) {
  const out = [];
  const original = process.stdout.write;
  process.stdout.write = (chunk) => {
    out.push(JSON.parse(String(chunk)));
    return true;
  };
  try {
    await fn();
  } finally {
    process.stdout.write = original;
  }
  return out;
}

test('caseCommands: setup, perform, stats and close answer as the protocol says', async () => {
  const log = [];
  class FakeCase {
    constructor(config) {
      this.config = config;
    }
    async setup() {
      if (this.config.fail) throw new Error('cannot');
    }
    async perform(a) {
      if (a.type === 'bad') throw new Error('refused');
      log.push(`perform ${a.type}`);
    }
    collectStats() {
      log.push('stats');
    }
  }
  const released = [];
  const cases = caseCommands({ open: (c) => new FakeCase(c), release: (c) => released.push(c.config.n), floor: () => {}, log: () => {} });
  const lines = await linesOf(async () => {
    await cases.handle({ type: 'perform', id: 1, action: { type: 'start' } });
    await cases.handle({ type: 'setup', config: { n: 1 } });
    await cases.handle({ type: 'perform', id: 2, action: { type: 'start' } });
    await cases.handle({ type: 'perform', id: 3, action: { type: 'bad' } });
    await cases.handle({ type: 'collect_stats', id: 4 });
    await cases.handle({ type: 'setup', config: { n: 2, fail: true } });
    await cases.handle({ type: 'close' });
  });
  assert.deepStrictEqual(lines, [
    { type: 'done', id: 1, error: 'no case set up' },
    { type: 'ready' },
    { type: 'done', id: 2 },
    { type: 'done', id: 3, error: 'refused' },
    { type: 'done', id: 4 },
    { type: 'fail', message: 'cannot' },
    { type: 'closed' },
  ]);
  assert.deepStrictEqual(log, ['perform start', 'stats']);
  assert.deepStrictEqual(released, [1, 2], 'the previous case and the failed one, each once');
});

test('caseCommands: a released case answers nothing when the adapter says so', async () => {
  const c = { alive: true, setup: async () => {}, perform: async () => { c.alive = false; } };
  const cases = caseCommands({ open: () => c, release: () => {}, floor: () => {}, answers: (x) => x.alive });
  const lines = await linesOf(async () => {
    await cases.handle({ type: 'setup', config: {} });
    await cases.handle({ type: 'perform', id: 9, action: { type: 'close' } });
  });
  assert.deepStrictEqual(lines, [{ type: 'ready' }]);
  assert.strictEqual(cases.takeCurrent(), c);
  assert.strictEqual(cases.takeCurrent(), null);
});

test('w3cSummary: entries with their codec, the selected pair as type/protocol', () => {
  const report = new Map(
    [
      { id: 'c1', type: 'codec', mimeType: 'video/VP8' },
      { id: 'in', type: 'inbound-rtp', kind: 'video', codecId: 'c1', packetsReceived: 10, packetsLost: null, framesDecoded: 3 },
      { id: 'out', type: 'outbound-rtp', kind: 'audio', packetsSent: 5, bytesSent: 500 },
      { id: 'p1', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'l', remoteCandidateId: 'r', currentRoundTripTime: 0.02 },
      { id: 'p2', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'l', remoteCandidateId: 'r2' },
      { id: 'l', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
      { id: 'r', type: 'remote-candidate', candidateType: 'srflx', protocol: 'UDP' },
      { id: 'r2', type: 'remote-candidate', candidateType: 'relay', protocol: 'udp' },
    ].map((r) => [r.id, r]),
  );
  const keys = { inboundKeys: () => ['kind', 'packetsReceived', 'packetsLost', 'framesDecoded'], pairKeys: ['currentRoundTripTime'] };
  assert.deepStrictEqual(w3cSummary(report, keys), {
    inbound_rtp: [{ kind: 'video', packetsReceived: 10, framesDecoded: 3, codec: 'video/VP8' }],
    outbound_rtp: [{ kind: 'audio', packetsSent: 5, bytesSent: 500 }],
    candidate_pair: { local: 'host/udp', remote: 'srflx/udp', currentRoundTripTime: 0.02 },
  });
  report.set('t', { id: 't', type: 'transport', selectedCandidatePairId: 'p2' });
  assert.strictEqual(w3cSummary(report, keys).candidate_pair.remote, 'relay/udp', "the transport's pair first");
  assert.strictEqual(w3cSummary(new Map(), keys).candidate_pair, null);
});

test('marker: the reference word, shared with src/marker.rs and the Python kernel', () => {
  const body = [(21 << 3) | 3, 0xbe, 0xef];
  assert.deepStrictEqual([...body, marker.crc8(body)], [0xab, 0xbe, 0xef, 0xbe]);
});

test('marker: painted with a stride, read back; a flipped cell or no marker reads nothing', () => {
  const [w, h] = [320, 240];
  for (const stride of [w, w + 32]) {
    const y = new Uint8Array(stride * h).fill(128);
    assert.strictEqual(marker.read(y, w, h, stride), null);
    marker.paint(y, w, h, stride, 21, 3, 0xbeef);
    assert.deepStrictEqual(marker.read(y, w, h, stride), { sender: 21, source: 3, index: 0xbeef });
    const [x0, x1, y0, y1] = marker.cell(2, 5, w, h);
    const flipped = marker.WHITE + marker.BLACK - y[y0 * stride + x0];
    for (let line = y0; line < y1; line++) y.fill(flipped, line * stride + x0, line * stride + x1);
    assert.strictEqual(marker.read(y, w, h, stride), null);
  }
});

test('marker: the painter samples, the record counts repeats and skips', () => {
  const events = [];
  const push = (type, fields) => events.push({ type, ...fields });
  const painter = new marker.Painter(2, 1, push);
  const record = new marker.Record(push);
  for (let n = 0; n < 61; n++) {
    const y = new Uint8Array(320 * 240).fill(128);
    painter.paint(y, 320, 240, 320);
    const m = marker.read(y, 320, 240, 320);
    record.frame(m);
    if (painter.index === 10) record.frame(m);
  }
  record.frame(null);
  record.frame({ sender: 2, source: 1, index: 70 });
  record.flush();
  const of = (type) => events.filter((e) => e.type === type);
  assert.deepStrictEqual(of('frame_painted').map((e) => e.index), [0, 10, 20, 30, 40, 50, 60]);
  assert.deepStrictEqual(of('frame_shown').map((e) => e.index), [0, 10, 20, 30, 40, 50, 60, 70]);
  const last = of('markers_seen').pop();
  assert.deepStrictEqual([last.frames, last.unreadable], [64, 1]);
  assert.deepStrictEqual(last.senders, [{ sender: 2, source: 1, count: 63, first: 0, last: 70, repeats: 1, skipped: 9 }]);
  // 64 frames, neither the repeat nor the unreadable frame a new picture: 62 changes.
  const changes = of('markers_seen').flatMap((e) => e.changes);
  assert.strictEqual(changes.length, 62);
  assert.ok(changes.every((c) => c <= 0));
});

test('marker: a stall holds the index and the receiver sees no new picture', () => {
  let now = 0;
  const events = [];
  const push = (type, fields) => events.push({ type, ...fields });
  const painter = new marker.Painter(2, 0, push, () => now);
  const record = new marker.Record(push, () => now);
  const shown = [];
  for (let frame = 0; frame < 150; frame++) {
    now = (frame * 1000) / 30;
    if (frame === 30) painter.stall(2000);
    const y = new Uint8Array(320 * 240).fill(128);
    painter.paint(y, 320, 240, 320);
    const m = marker.read(y, 320, 240, 320);
    shown.push(m.index);
    record.frame(m);
  }
  record.flush();
  assert.deepStrictEqual(shown.slice(29, 32), [29, 29, 29]);
  assert.deepStrictEqual(shown.slice(89, 91), [29, 30]);
  assert.strictEqual(events.filter((e) => e.type === 'markers_seen').flatMap((e) => e.changes).length, 90);
  assert.deepStrictEqual(events.filter((e) => e.type === 'frame_painted').map((e) => e.index), [0, 10, 20, 30, 40, 50, 60, 70, 80]);
});

test('actions: the W3C mapping calls the case and checks what W3C checks', async () => {
  const calls = [];
  const events = [];
  const dc = { sent: [], send(x) { this.sent.push(x); }, close() { calls.push('dc.close'); } };
  const peer = {
    cfg: { media: ['video'], data_channels: [{ label: 'chat' }] },
    channels: new Map([['chat', dc]]),
    pc: { restartIce: () => calls.push('restartIce'), setLocalDescription: async (d) => calls.push(`sld ${d.type}`), createDataChannel: (l) => ({ label: l }) },
    attachMedia: (k) => calls.push(`media ${k}`),
    watchChannel: (d, ours) => calls.push(`watch ${d.label} ${ours}`),
    chain: { chained: (fn) => fn() },
    sendBinary: (d, size) => calls.push(`binary ${size}`),
    setDirection: (k, d) => calls.push(`direction ${k} ${d}`),
  };
  const run = (a) => actions.perform(peer, a, (type, fields) => events.push({ type, ...fields }));
  await run({ type: 'start' });
  await run({ type: 'send_message', label: 'chat', text: 'hi' });
  await run({ type: 'send_message', label: 'chat', size: 300 });
  await run({ type: 'rollback' });
  await run({ type: 'set_direction', kind: 'video', direction: 'recvonly' });
  await run({ type: 'create_data_channel', label: 'late' });
  assert.ok(peer.started);
  assert.deepStrictEqual(calls, ['media video', 'watch chat true', 'binary 300', 'sld rollback', 'direction video recvonly', 'watch late true']);
  assert.deepStrictEqual(dc.sent, ['hi']);
  assert.deepStrictEqual(events, [{ type: 'rollback', implicit: false }]);
  const refused = async (a, text) => assert.ok((await run(a).then(() => '', (e) => e.message)).includes(text), JSON.stringify(a));
  await refused({ type: 'set_direction', kind: 'video', direction: 'sendonly ' }, "TypeError: 'sendonly ' is not a valid RTCRtpTransceiverDirection");
  await refused({ type: 'send_message', label: 'nope', text: 'x' }, "no data channel 'nope'");
  await refused({ type: 'send_message', label: 'chat', size: -1 }, 'is not a byte count');
  await refused({ type: 'stall_video', ms: 2000 }, 'paints no frame marker');
  await refused({ type: 'dance' }, 'unknown action');
});

test('actions.createChannel and startAnswerer: the RTCDataChannelInit given, negotiated channels on the first offer', () => {
  const made = [];
  const calls = [];
  const peer = {
    started: false,
    cfg: {
      media: ['audio'],
      data_channels: [
        { label: 'a', ordered: false, maxRetransmits: 0, send: 'hi' },
        { label: 'n', negotiated: true, id: 3, protocol: 'p', maxPacketLifeTime: null },
      ],
    },
    pc: { createDataChannel: (label, init) => (made.push([label, init]), { label }) },
    attachMedia: (k) => calls.push(`media ${k}`),
    watchChannel: (dc, ours) => (calls.push(`watch ${dc.label} ${ours}`), dc),
  };
  assert.deepStrictEqual(actions.createChannel(peer, { label: 'x' }), { label: 'x' });
  assert.deepStrictEqual(channels.channelInit({ label: 'y', ordered: true, id: null, send: 'z' }), { ordered: true });
  actions.startAnswerer(peer);
  actions.startAnswerer(peer); // started: nothing more
  assert.ok(peer.started);
  assert.deepStrictEqual(made, [['x', {}], ['n', { negotiated: true, id: 3, protocol: 'p' }]]);
  assert.deepStrictEqual(calls, ['watch x true', 'media audio', 'watch n true']);
  const late = { started: true, cfg: {}, attachMedia: () => assert.fail('started already') };
  actions.startAnswerer(late);
});

test('actions.codecPreferences: the shape is checked here, the names by the stack', () => {
  const seen = [];
  const resolve = (kind, names) => (seen.push(kind), names.map((n) => `${kind}/${n}`));
  assert.strictEqual(actions.codecPreferences(undefined, resolve), null);
  assert.strictEqual(actions.codecPreferences(null, resolve), null);
  assert.strictEqual(actions.codecPreferences({ video: [], audio: [] }, resolve), null);
  assert.deepStrictEqual(actions.codecPreferences({ video: ['VP8'], audio: [] }, resolve), { video: ['video/VP8'] });
  assert.deepStrictEqual(seen, ['video']);
  assert.throws(() => actions.codecPreferences('vp8', resolve), /codec_preferences must be an object/);
  assert.throws(() => actions.codecPreferences({ screen: ['vp8'] }, resolve), /codec_preferences: unknown kind 'screen'/);
  assert.throws(() => actions.codecPreferences({ video: 'vp8' }, resolve), /codec_preferences.video must be a list of codec names/);
  const lacking = () => {
    throw new Error("no video codec 'H265'");
  };
  assert.throws(() => actions.codecPreferences({ video: ['H265'] }, lacking), /no video codec 'H265'/);
});

test('Chain: serial steps run in order, a failure is an error event; chained hands the outcome back', async () => {
  const events = [];
  const order = [];
  const chain = new Chain((type, fields) => events.push({ type, ...fields }));
  const slow = chain.serial('first', () => new Promise((r) => setTimeout(() => (order.push(1), r()), 20)));
  chain.serial('second', () => {
    order.push(2);
    throw new Error('boom');
  });
  const third = chain.chained(async () => (order.push(3), 'three'));
  const fourth = chain.chained(async () => {
    throw new Error('four');
  });
  const fifth = chain.serial('fifth', () => order.push(5));
  assert.strictEqual(await third, 'three');
  await assert.rejects(fourth, /four/);
  await fifth;
  await slow;
  assert.deepStrictEqual(order, [1, 2, 3, 5]);
  assert.deepStrictEqual(events, [{ type: 'error', context: 'second', message: 'boom' }]);
});

test('Channels: open and close pushed once per channel, greetings, messages', () => {
  const events = [];
  const cfg = { data_channels: [{ label: 'a', send: 'hi a' }, { label: 'b' }] };
  const chans = new channels.Channels((type, fields) => events.push({ type, ...fields }), cfg);
  const a = { label: 'a', id: 1, protocol: '', ordered: true, maxRetransmits: 65535, maxPacketLifeTime: 500, negotiated: false };
  const b = { label: 'b', id: -1, protocol: 'x', ordered: false, maxRetransmits: 0, maxPacketLifeTime: undefined, negotiated: true };
  chans.add(a);
  chans.add(b);
  assert.strictEqual(chans.get('a'), a);
  assert.strictEqual(chans.get('c'), undefined);
  assert.strictEqual(chans.opened(a, 65535), true);
  assert.strictEqual(chans.opened(a, 65535), false);
  assert.strictEqual(chans.opened(b), true);
  assert.strictEqual(chans.opened({ label: 'unknown' }), false);
  assert.strictEqual(chans.greeting(a, true), 'hi a');
  assert.strictEqual(chans.greeting(a, false), null); // the other side's channel of that label
  assert.strictEqual(chans.greeting(b, true), null);
  chans.message(a, 'text');
  chans.message(a, Buffer.from([0, 1, 2]));
  chans.message(a, new Uint8Array([0, 1, 3]).buffer);
  chans.closed(a);
  chans.closed(a);
  chans.closeAll(); // b: open, not closed yet
  chans.closeAll();
  chans.clear();
  assert.strictEqual(chans.get('a'), undefined);
  assert.deepStrictEqual(events, [
    { type: 'data_channel_open', label: 'a', id: 1, protocol: '', ordered: true, maxRetransmits: null, maxPacketLifeTime: 500, negotiated: false },
    { type: 'data_channel_open', label: 'b', id: null, protocol: 'x', ordered: false, maxRetransmits: 0, maxPacketLifeTime: null, negotiated: true },
    { type: 'data_channel_message', label: 'a', data: 'text' },
    { type: 'data_channel_message', label: 'a', binary: true, size: 3, intact: true },
    { type: 'data_channel_message', label: 'a', binary: true, size: 3, intact: false },
    { type: 'data_channel_close', label: 'a' },
    { type: 'data_channel_close', label: 'b' },
  ]);
});

test('envChoice: unset or blank is the default (null), a documented value is itself, anything else names the variable', () => {
  const env = { OFF: 'off', PADDED: ' off ', BLANK: '  ', BAD: 'of', CASE: 'OFF' };
  assert.strictEqual(envChoice('UNSET', ['off'], env), null);
  assert.strictEqual(envChoice('BLANK', ['off'], env), null);
  assert.strictEqual(envChoice('OFF', ['off'], env), 'off');
  assert.strictEqual(envChoice('PADDED', ['off'], env), 'off');
  assert.throws(() => envChoice('BAD', ['off'], env), (e) => e.message === `BAD="of": expected 'off', or unset for the default`);
  assert.throws(() => envChoice('CASE', ['off'], env), /^Error: CASE="OFF": expected 'off'/);
  assert.throws(() => envChoice('BAD', ['ice', 'dtls'], env), /BAD="of": expected 'ice' or 'dtls'/);
  process.env.RTC_HARNESS_KERNEL_TEST_TOGGLE = 'yes';
  try {
    assert.throws(() => envChoice('RTC_HARNESS_KERNEL_TEST_TOGGLE', ['filter']), /RTC_HARNESS_KERNEL_TEST_TOGGLE="yes"/);
  } finally {
    delete process.env.RTC_HARNESS_KERNEL_TEST_TOGGLE;
  }
});

test('tone: the reference figures, shared with src/tone.rs and the Python kernel', () => {
  assert.strictEqual(tone.frequency(21), 2700);
  assert.strictEqual(tone.windowLength(48000), 1920);
  assert.strictEqual(tone.windowLength(44100), 1764);
});

test('tone: every sender reads as itself; silence, noise and a mix name no one', () => {
  for (const rate of [48000, 44100, 16000]) {
    for (let s = 0; s < 32; s++) {
      const t = new tone.Tone(s);
      t.fill(12345, rate);
      assert.strictEqual(tone.classify(t.fill(tone.windowLength(rate), rate), rate), s, `sender ${s} at ${rate}`);
    }
  }
  const n = tone.windowLength(48000);
  let seed = 7;
  const noise = (a) => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return ((seed >>> 8) / (1 << 24)) * 2 * a - a; };
  assert.strictEqual(tone.classify(new Float32Array(n), 48000), 'silence');
  assert.strictEqual(tone.classify(Float32Array.from({ length: n }, () => noise(0.005)), 48000), 'silence');
  assert.strictEqual(tone.classify(Float32Array.from({ length: n }, () => noise(0.3)), 48000), 'other');
  const [a, b] = [new tone.Tone(3).fill(n, 48000), new tone.Tone(4).fill(n, 48000)];
  assert.strictEqual(tone.classify(a.map((x, i) => (x + b[i]) / 2), 48000), 'other');
  const quiet = new tone.Tone(5).fill(n, 48000).map((x) => x / 4 + noise(0.025));
  assert.strictEqual(tone.classify(quiet, 48000), 5);
});

test('tone: the listener reports runs of windows on its clock, int16 and interleaved', () => {
  let now = 1000;
  const events = [];
  const ears = new tone.Listener((type, fields) => events.push({ type, at: now, ...fields }), () => now);
  const t = new tone.Tone(2);
  const chunk = 480; // 10 ms at 48 kHz
  for (let i = 0; i < 100; i++) {
    // Stereo, interleaved: the tone on the left, noise-free silence for the first 0.4 s.
    const mono = i < 40 ? new Int16Array(chunk) : t.int16(chunk, 48000);
    const stereo = new Int16Array(chunk * 2);
    mono.forEach((v, j) => { stereo[2 * j] = v; stereo[2 * j + 1] = 0; });
    now += 10;
    ears.samples(stereo, 48000, 2);
  }
  // The 25th window reported on its own.
  const heard = events.filter((e) => e.type === 'tones_heard');
  assert.strictEqual(heard.length, 1);
  assert.strictEqual(heard[0].windows, 25);
  assert.deepStrictEqual(heard[0].runs, [{ from: -1000, to: -600, windows: 10, silence: true }, { from: -600, to: 0, windows: 15, sender: 2 }]);
  now += 500;
  ears.flush();
  assert.deepStrictEqual(events[1], { type: 'tones_heard', at: 2500, windows: 25, runs: [] }, 'a flush marks the end of the timeline, new windows or not');
});

test('lines.now: epoch ms that follow a step of the wall clock (not a base taken at start)', () => {
  const real = Date.now;
  try {
    assert.ok(Math.abs(lines.now() - Date.now()) <= 20);
    const step = 42000; // the wall clock jumps 42 s ahead, as a resumed virtual machine's did
    Date.now = () => real() + step;
    assert.ok(Math.abs(lines.now() - Date.now()) <= 20, `now() ${lines.now()} vs Date.now() ${Date.now()}`);
    const a = lines.now();
    const b = lines.now();
    assert.ok(b >= a, 'monotonic between steps');
  } finally {
    Date.now = real;
  }
  assert.ok(Math.abs(lines.now() - Date.now()) <= 20, 'and back');
});

(async () => {
  let failed = 0;
  for (const t of tests) {
    try {
      await t.fn();
      console.log(`ok   ${t.name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${t.name}\n${(e && e.stack) || e}`);
    }
  }
  console.log(`${tests.length - failed} of ${tests.length} passed`);
  process.exit(failed ? 1 : 0);
})();
