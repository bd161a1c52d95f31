'use strict';
// The frame marker (docs/markers.md; the reference is src/marker.rs), for the Node adapters and
// the agent page alike: who sent a video frame and which frame it is, painted as black and white
// luma cells into an I420 frame's Y plane and read back from a decoded one, plus the sender's and receiver's records of it (the `frame_painted`,
// `frame_shown` and `markers_seen` events of stacks/PROTOCOL.md). Layout: 4 rows x 10 columns of
// cells in the top quarter of the frame, placed relative to its size; each row a white and a black
// reference cell and 8 bits, most significant first: sender (5 bits), source (3), index (16), then
// a CRC-8 (polynomial 0x07) of those three bytes.

const WHITE = 235;
const BLACK = 16;
const ROWS = 4;
const COLUMNS = 10;
const REFERENCES = 2;
const SAMPLE_EVERY = 10; // frame_painted / frame_shown for indices divisible by this (latency samples)
const SEEN_EVERY = 30; // markers_seen every this many rendered frames

function crc8(bytes) {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** Cell (row, column) of a width x height frame: [x0, x1, y0, y1], end-exclusive. */
function cell(row, column, width, height) {
  const band = Math.floor(height / 4);
  return [Math.floor((column * width) / COLUMNS), Math.floor(((column + 1) * width) / COLUMNS),
    Math.floor((row * band) / ROWS), Math.floor(((row + 1) * band) / ROWS)];
}

/** The marker's cells in a width x height frame: [x0, x1, y0, y1, white] each. */
function cells(width, height, sender, source, index) {
  const body = [(sender << 3) | source, (index >> 8) & 0xff, index & 0xff];
  const data = [...body, crc8(body)];
  const out = [];
  for (let row = 0; row < ROWS; row++) {
    for (let column = 0; column < COLUMNS; column++) {
      const white = column === 0 || (column >= REFERENCES && ((data[row] >> (COLUMNS - 1 - column)) & 1) === 1);
      out.push([...cell(row, column, width, height), white]);
    }
  }
  return out;
}

/** Paints the marker into the Y plane `y` (rows `stride` bytes apart). */
function paint(y, width, height, stride, sender, source, index) {
  for (const [x0, x1, y0, y1, white] of cells(width, height, sender, source, index)) {
    for (let line = y0; line < y1; line++) y.fill(white ? WHITE : BLACK, line * stride + x0, line * stride + x1);
  }
}

function middleMean(y, stride, [x0, x1, y0, y1]) {
  const dx = Math.floor((x1 - x0) / 4);
  const dy = Math.floor((y1 - y0) / 4);
  let sum = 0;
  let n = 0;
  for (let line = y0 + dy; line < Math.max(y1 - dy, y0 + dy + 1); line++) {
    for (let x = x0 + dx; x < Math.max(x1 - dx, x0 + dx + 1); x++) {
      sum += y[line * stride + x];
      n += 1;
    }
  }
  return sum / n;
}

/**
 * {sender, source, index} from the Y plane `y`, or null: no contrast between a row's references
 * (half the painted contrast at least), or check bits that fail.
 */
function read(y, width, height, stride) {
  if (width < COLUMNS * 2 || height < ROWS * 8 || y.length < stride * Math.floor(height / 4)) return null;
  const data = [];
  for (let row = 0; row < ROWS; row++) {
    const white = middleMean(y, stride, cell(row, 0, width, height));
    const black = middleMean(y, stride, cell(row, 1, width, height));
    if (white - black < (WHITE - BLACK) / 2) return null;
    const threshold = (white + black) / 2;
    let byte = 0;
    for (let column = REFERENCES; column < COLUMNS; column++) byte = (byte << 1) | (middleMean(y, stride, cell(row, column, width, height)) > threshold ? 1 : 0);
    data.push(byte);
  }
  if (crc8(data.slice(0, 3)) !== data[3]) return null;
  return { sender: data[0] >> 3, source: data[0] & 7, index: (data[1] << 8) | data[2] };
}

/** A sender's marker for one source: paints frame after frame from index 0; `frame_painted` for
 * the first and every SAMPLE_EVERY-th, through `push(type, fields)`. stall(ms) holds the picture:
 * the same index again until ms have passed (the `stall_video` action). */
class Painter {
  constructor(sender, source, push, clock = () => performance.now()) {
    Object.assign(this, { sender, source, push, clock, index: 0, heldUntil: null });
  }

  stall(ms) {
    this.heldUntil = this.clock() + ms;
  }

  paint(y, width, height, stride) {
    const held = this.heldUntil !== null && this.clock() < this.heldUntil && this.index > 0;
    const i = (held ? this.index - 1 : this.index) & 0xffff;
    paint(y, width, height, stride, this.sender, this.source, i);
    if (held) return;
    if (i % SAMPLE_EVERY === 0) this.push('frame_painted', { kind: 'video', source: this.source, index: i });
    this.index += 1;
  }
}

/** The `stall_video` action (PROTOCOL.md): every painter holds its picture for `ms`. */
function stallPainters(painters, action) {
  if (!painters.length) throw new Error('stall_video: this peer paints no frame marker (no video source, or the case reads no markers)');
  for (const p of painters) p.stall(action.ms);
}

/** What a receiver read from the frames it rendered (per sender and source: count, first and last
 * index, repeats, skipped): `frame_shown` samples, and `markers_seen` every SEEN_EVERY frames
 * and on flush() when it changed, with `changes`: when each frame since the last one showed a new
 * picture (a marker that reads, unlike the last one read: a frame without one shows nothing of
 * the sender's), in ms before the event. */
class Record {
  constructor(push, clock = () => Date.now()) {
    Object.assign(this, { push, clock, frames: 0, unreadable: 0, senders: new Map(), pushed: 0, previous: undefined, changes: [] });
  }

  frame(m) {
    this.frames += 1;
    const p = this.previous;
    if (m && (!p || m.sender !== p.sender || m.source !== p.source || m.index !== p.index)) {
      this.changes.push(this.clock());
      this.previous = m;
    }
    if (!m) this.unreadable += 1;
    else {
      const key = `${m.sender}:${m.source}`;
      let r = this.senders.get(key);
      const sampled = !r || (m.index !== r.last && m.index % SAMPLE_EVERY === 0);
      if (!r) {
        r = { sender: m.sender, source: m.source, count: 0, first: m.index, last: m.index, repeats: 0, skipped: 0 };
        this.senders.set(key, r);
      } else if (m.index === r.last) r.repeats += 1;
      else {
        const step = (m.index - r.last + 65536) % 65536;
        if (step > 1 && step < 32768) r.skipped += step - 1;
      }
      r.last = m.index;
      r.count += 1;
      if (sampled) this.push('frame_shown', { kind: 'video', sender: m.sender, source: m.source, index: m.index });
    }
    if (this.frames % SEEN_EVERY === 0) this.flush();
  }

  flush() {
    if (this.frames === this.pushed) return;
    this.pushed = this.frames;
    const senders = [...this.senders.values()].map((r) => ({ ...r }));
    const now = this.clock();
    const changes = this.changes.map((t) => Math.round((t - now) * 10) / 10);
    this.changes = [];
    this.push('markers_seen', { kind: 'video', frames: this.frames, unreadable: this.unreadable, senders, changes });
  }
}

// Node requires it; the agent page gets it from the relay inside a function that gives it a
// `module` (src/peer/browser/mod.rs, MARKER_SCRIPT).
module.exports = { WHITE, BLACK, SAMPLE_EVERY, SEEN_EVERY, crc8, cell, cells, paint, read, Painter, Record, stallPainters };
