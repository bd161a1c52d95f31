"""The audio marker (docs/markers.md, "Audio: a tone per sender"; the reference is src/tone.rs):
each sender sends a continuous sine at its sender's frequency (600 Hz + 100 Hz x sender, -12
dBFS); each receiver cuts the audio it plays into 40 ms windows and classifies each (silence
below -40 dBFS RMS; else the sender whose Hann-weighted Goertzel power holds at least 60% of the
window's; else other sound), reporting runs of windows classified alike as `tones_heard` events
(stacks/PROTOCOL.md).

numpy does the arithmetic (aiortc's virtualenv has it; the GStreamer adapter's Debian Python gets
python3-numpy from scripts/install-stacks.sh): 32 filters over 1,920 samples 25 times a second
is too much for a Python loop beside a call."""

import threading
import time

import numpy as np

BASE_HZ, STEP_HZ, SENDERS = 600.0, 100.0, 32
WINDOW_MS, AMPLITUDE = 40.0, 0.25
SILENCE_RMS, MIN_SHARE = 0.01, 0.6
REPORT_EVERY = 25  # tones_heard every this many windows (1 s)
# Windows of the same kind further apart than this (ms) start a new run: a receiver handed audio in
# bursts (a jitter buffer's release) is not silent between them.
JOIN_MS = 3 * WINDOW_MS


def frequency(sender):
    return BASE_HZ + STEP_HZ * sender


def window_length(rate):
    return int(round(rate * WINDOW_MS / 1000))


_basis = {}


def _filters(n, rate):
    """Per (n, rate): the Hann window and the 32 senders' complex exponentials (a Goertzel filter
    at f gives |sum x[i] e^(-j 2 pi f i / rate)|^2, computed here as one matrix product)."""
    key = (n, rate)
    if key not in _basis:
        i = np.arange(n)
        hann = 0.5 - 0.5 * np.cos(2 * np.pi * i / (n - 1))
        freqs = np.array([frequency(s) for s in range(SENDERS)])
        _basis[key] = (hann, np.exp(-2j * np.pi * np.outer(freqs, i) / rate))
    return _basis[key]


def classify(samples, rate):
    """What one window (-1..1, one channel, at `rate` Hz) holds: a sender number, "silence" or
    "other"."""
    x = np.asarray(samples, dtype=np.float64)
    n = len(x)
    if n < 2 or not rate or np.sqrt(np.mean(x * x)) < SILENCE_RMS:
        return "silence"
    hann, basis = _filters(n, rate)
    xw = x * hann
    power = np.abs(basis @ xw) ** 2
    best = int(np.argmax(power))
    # 1 for a pure tone: |X|^2 = (A sum_w / 2)^2, and the windowed power energy / sum_w2 = A^2 / 2.
    share = 2 * power[best] * np.sum(hann * hann) / (np.sum(hann) ** 2 * np.sum(xw * xw))
    return best if share >= MIN_SHARE else "other"


class Tone:
    """A sender's tone, phase-continuous across calls: int16(n, rate) gives n samples as an int16
    numpy array."""

    def __init__(self, sender):
        self.sender, self.at = sender, 0

    def fill(self, n, rate):
        i = np.arange(self.at, self.at + n)
        self.at += n
        return AMPLITUDE * np.sin(2 * np.pi * frequency(self.sender) * i / rate)

    def int16(self, n, rate):
        return np.round(self.fill(n, rate) * 32767).astype(np.int16)


class Listener:
    """A receiver's ears: samples(data, rate, channels) takes what it plays (int16 or float -1..1;
    interleaved channels, the first one read), cuts 40 ms windows, classifies each when it
    completes (its end on `clock`, ms) and reports runs of windows classified alike (at most
    JOIN_MS apart) as
    `tones_heard` every REPORT_EVERY windows and on flush(), in ms relative to the event.

    Thread-safe, like the frame marker's Record: GStreamer hands decoded audio over on a streaming
    thread while its main loop flushes for a stats collection."""

    def __init__(self, report, clock=lambda: time.time() * 1000):
        self.report, self.clock = report, clock
        self.windows = 0
        self.pending = np.zeros(0)
        self.runs = []
        self.lock = threading.RLock()

    def samples(self, data, rate, channels=1):
        x = np.asarray(data)
        scale = 1 / 32768 if x.dtype == np.int16 else 1.0
        x = x.reshape(-1)[::channels].astype(np.float64) * scale
        n = window_length(rate)
        with self.lock:
            self.pending = np.concatenate([self.pending, x])
            while len(self.pending) >= n:
                heard = classify(self.pending[:n], rate)
                self.pending = self.pending[n:]
                self._window(heard)

    def _window(self, heard):
        to = self.clock()
        frm = to - WINDOW_MS
        self.windows += 1
        last = self.runs[-1] if self.runs else None
        if last is not None and last["heard"] == heard and frm - last["to"] <= JOIN_MS:
            last["to"] = to
            last["windows"] += 1
        else:
            self.runs.append({"from": frm, "to": to, "heard": heard, "windows": 1})
        if self.windows % REPORT_EVERY == 0:
            self._flush()

    def flush(self):
        with self.lock:
            self._flush()

    def _flush(self):
        # Always reports, new windows or not: at a stats collection the event marks how far the
        # receiver's timeline goes, so audio that stopped arriving counts as silence up to it.
        now = self.clock()
        runs = []
        for r in self.runs:
            run = {"from": min(0.0, round(r["from"] - now, 1)), "to": min(0.0, round(r["to"] - now, 1)), "windows": r["windows"]}
            if isinstance(r["heard"], int):
                run["sender"] = r["heard"]
            elif r["heard"] == "silence":
                run["silence"] = True
            runs.append(run)
        self.runs = []
        self.report("tones_heard", windows=self.windows, runs=runs)
