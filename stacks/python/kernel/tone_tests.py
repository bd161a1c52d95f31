"""Unit tests of the Python kernel's audio marker (tone.py), which needs numpy: run with the
aiortc virtualenv's Python (or any with numpy), from the repository root:

    stacks/aiortc/.venv/bin/python -m unittest stacks/python/kernel/tone_tests.py

(`cargo test -- kernels::python_tone` runs it. Not named test_*.py: `python3 -m unittest discover`
runs test_kernel.py, standard library only, with any Python.)"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from kernel import tone  # noqa: E402


def noise(seed, n, amplitude):
    """The Rust and Node tests' generator (a 32-bit LCG), so the figures agree."""
    out = []
    for _ in range(n):
        seed = (seed * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append((seed >> 8) / (1 << 24) * 2 * amplitude - amplitude)
    return np.array(out), seed


class Tone(unittest.TestCase):
    def test_the_reference_figures_shared_with_src_tone_rs_and_the_node_kernel(self):
        self.assertEqual(tone.frequency(21), 2700)
        self.assertEqual(tone.window_length(48000), 1920)
        self.assertEqual(tone.window_length(44100), 1764)

    def test_every_sender_reads_as_itself_silence_noise_and_a_mix_name_no_one(self):
        for rate in (48000, 44100, 16000):
            for s in range(32):
                t = tone.Tone(s)
                t.fill(12345, rate)
                self.assertEqual(tone.classify(t.fill(tone.window_length(rate), rate), rate), s, f"sender {s} at {rate}")
        n = tone.window_length(48000)
        self.assertEqual(tone.classify(np.zeros(n), 48000), "silence")
        hiss, seed = noise(7, n, 0.005)
        self.assertEqual(tone.classify(hiss, 48000), "silence")
        loud, seed = noise(seed, n, 0.3)
        self.assertEqual(tone.classify(loud, 48000), "other")
        mix = (tone.Tone(3).fill(n, 48000) + tone.Tone(4).fill(n, 48000)) / 2
        self.assertEqual(tone.classify(mix, 48000), "other")
        under, seed = noise(seed, n, 0.025)
        self.assertEqual(tone.classify(tone.Tone(5).fill(n, 48000) / 4 + under, 48000), 5)

    def test_the_listener_reports_runs_on_its_clock_int16_and_interleaved(self):
        now = [1000.0]
        events = []
        ears = tone.Listener(lambda name, **f: events.append((name, f)), clock=lambda: now[0])
        t = tone.Tone(2)
        for i in range(100):
            mono = np.zeros(480, dtype=np.int16) if i < 40 else t.int16(480, 48000)
            stereo = np.zeros(960, dtype=np.int16)
            stereo[0::2] = mono
            now[0] += 10
            ears.samples(stereo, 48000, channels=2)
        # The 25th window reported on its own.
        self.assertEqual(len(events), 1)
        name, fields = events[0]
        self.assertEqual(name, "tones_heard")
        self.assertEqual(fields["windows"], 25)
        self.assertEqual(fields["runs"], [{"from": -1000.0, "to": -600.0, "windows": 10, "silence": True}, {"from": -600.0, "to": 0.0, "windows": 15, "sender": 2}])
        now[0] += 500
        ears.flush()
        self.assertEqual(events[1], ("tones_heard", {"windows": 25, "runs": []}), "a flush marks the timeline's end, new windows or not")


if __name__ == "__main__":
    unittest.main()
