'use strict';
// The audio marker (docs/markers.md, "Audio: a tone per sender"; the reference is src/tone.rs),
// for the Node adapters and the agent page alike: each sender sends a continuous sine at its
// sender's frequency (600 Hz + 100 Hz x sender, -12 dBFS); each receiver cuts the audio it plays
// into 40 ms windows and classifies each (silence below -40 dBFS RMS; else the sender whose
// Hann-weighted Goertzel power holds at least 60% of the window's; else other sound), reporting
// runs of windows classified alike as `tones_heard` events (stacks/PROTOCOL.md).

const BASE_HZ = 600;
const STEP_HZ = 100;
const SENDERS = 32;
const WINDOW_MS = 40;
const AMPLITUDE = 0.25;
const SILENCE_RMS = 0.01;
const MIN_SHARE = 0.6;
const REPORT_EVERY = 25; // tones_heard every this many windows (1 s)
// Windows of the same kind further apart than this (ms) start a new run: a receiver handed audio
// in bursts (a jitter buffer's release) is not silent between them.
const JOIN_MS = 3 * WINDOW_MS;

function frequency(sender) {
  return BASE_HZ + STEP_HZ * sender;
}

function windowLength(rate) {
  return Math.round((rate * WINDOW_MS) / 1000);
}

/** What one window of samples (-1..1, one channel, at `rate` Hz) holds: a sender number, 'silence'
 * or 'other'. */
function classify(samples, rate) {
  const n = samples.length;
  if (n < 2 || !rate) return 'silence';
  let squares = 0;
  for (let i = 0; i < n; i++) squares += samples[i] * samples[i];
  if (Math.sqrt(squares / n) < SILENCE_RMS) return 'silence';
  const x = new Float64Array(n);
  let sumW = 0;
  let sumW2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    x[i] = samples[i] * w;
    sumW += w;
    sumW2 += w * w;
    energy += x[i] * x[i];
  }
  let best = 0;
  let power = -Infinity;
  for (let s = 0; s < SENDERS; s++) {
    const c = 2 * Math.cos((2 * Math.PI * frequency(s)) / rate);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i] + c * s1 - s2;
      s2 = s1;
      s1 = v;
    }
    const p = s1 * s1 + s2 * s2 - c * s1 * s2;
    if (p > power) {
      power = p;
      best = s;
    }
  }
  // 1 for a pure tone: |X|^2 = (A sumW / 2)^2, and the windowed power energy / sumW2 = A^2 / 2.
  const share = (2 * power * sumW2) / (sumW * sumW * energy);
  return share >= MIN_SHARE ? best : 'other';
}

/** A sender's tone, phase-continuous across calls: fill(n, rate) gives n samples (-1..1) as a
 * Float32Array; int16(n, rate) as an Int16Array. */
class Tone {
  constructor(sender) {
    this.sender = sender;
    this.at = 0;
  }

  fill(n, rate) {
    const out = new Float32Array(n);
    const step = (2 * Math.PI * frequency(this.sender)) / rate;
    for (let i = 0; i < n; i++) out[i] = AMPLITUDE * Math.sin((this.at + i) * step);
    this.at += n;
    return out;
  }

  int16(n, rate) {
    const f = this.fill(n, rate);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.round(f[i] * 32767);
    return out;
  }
}

/** A receiver's ears: samples(data, rate, channels) takes what it plays (a Float32Array -1..1 or an
 * Int16Array, one channel; `channels` > 1 takes the first of interleaved ones), cuts 40 ms
 * windows, classifies each when it completes (its end on `clock`, ms), and reports runs of
 * windows classified alike (at most JOIN_MS apart) as `tones_heard` every REPORT_EVERY windows and
 * on flush(), in ms relative to the event. */
class Listener {
  constructor(push, clock = () => Date.now()) {
    this.push = push;
    this.clock = clock;
    this.windows = 0;
    this.buffer = null;
    this.filled = 0;
    this.runs = [];
  }

  samples(data, rate, channels = 1) {
    const len = windowLength(rate);
    if (!this.buffer || this.buffer.length !== len) {
      this.buffer = new Float32Array(len);
      this.filled = 0;
    }
    const scale = data instanceof Int16Array ? 1 / 32768 : 1;
    for (let i = 0; i < data.length; i += channels) {
      this.buffer[this.filled++] = data[i] * scale;
      if (this.filled === len) {
        this.window(classify(this.buffer, rate));
        this.filled = 0;
      }
    }
  }

  window(heard) {
    const to = this.clock();
    const from = to - WINDOW_MS;
    this.windows += 1;
    const last = this.runs[this.runs.length - 1];
    if (last && last.heard === heard && from - last.to <= JOIN_MS) {
      last.to = to;
      last.windows += 1;
    } else this.runs.push({ from, to, heard, windows: 1 });
    if (this.windows % REPORT_EVERY === 0) this.flush();
  }

  // Always reports, new windows or not: at a stats collection the event marks how far the
  // receiver's timeline goes, so audio that stopped arriving counts as silence up to it.
  flush() {
    const now = this.clock();
    const rel = (t) => Math.min(0, Math.round((t - now) * 10) / 10);
    const runs = this.runs.map((r) => {
      const run = { from: rel(r.from), to: rel(r.to), windows: r.windows };
      if (typeof r.heard === 'number') run.sender = r.heard;
      else if (r.heard === 'silence') run.silence = true;
      return run;
    });
    this.runs = [];
    this.push('tones_heard', { windows: this.windows, runs });
  }
}

// Node requires it; the agent page gets it from the relay inside a function that gives it a
// `module` (src/peer/browser/mod.rs, TONE_SCRIPT).
module.exports = { BASE_HZ, STEP_HZ, WINDOW_MS, JOIN_MS, AMPLITUDE, REPORT_EVERY, frequency, windowLength, classify, Tone, Listener };
