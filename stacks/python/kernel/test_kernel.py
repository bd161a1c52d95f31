"""Unit tests of the Python adapters' kernel (its pure helpers), with unittest only.

From the repository root:  python3 -m unittest discover -s stacks/python/kernel
"""

import io
import json
import os
import re
import subprocess
import sys
import threading
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
STACKS = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

from kernel import lines, marker, media, pattern, sdp  # noqa: E402


class Pattern(unittest.TestCase):
    def test_byte_i_is_i_mod_251(self):
        for size in (0, 1, 250, 251, 252, 502, 5000, 65536):
            p = pattern.binary_payload(size)
            self.assertIsInstance(p, bytes)
            self.assertEqual(len(p), size)
            self.assertEqual(p, bytes(i % 251 for i in range(size)))
        self.assertEqual(pattern.binary_payload(300)[251], 0)
        self.assertEqual(pattern.binary_payload(300)[250], 250)

    def test_the_adapters_former_rule(self):
        # What both adapters computed before the kernel: a 251-byte unit repeated, then cut.
        unit = bytes(range(251))
        for size in (0, 7, 251, 1000, 262144):
            whole, rest = divmod(size, 251)
            self.assertEqual(pattern.binary_payload(size), unit * whole + unit[:rest])

    def test_intact(self):
        p = pattern.binary_payload(600)
        self.assertTrue(pattern.binary_intact(p))
        self.assertTrue(pattern.binary_intact(bytearray(p)))
        self.assertTrue(pattern.binary_intact(memoryview(p)))
        self.assertTrue(pattern.binary_intact(b""))
        flipped = bytearray(p)
        flipped[300] ^= 1
        self.assertFalse(pattern.binary_intact(bytes(flipped)))
        self.assertFalse(pattern.binary_intact(p[1:]))  # the first byte lost
        self.assertTrue(pattern.binary_intact(p[:100]))  # a prefix is a pattern of its own size

    def test_negative_size(self):
        with self.assertRaises(ValueError):
            pattern.binary_payload(-1)

    def test_same_rule_as_the_node_kernel(self):
        # stacks/node/kernel/pattern.js: const MODULUS = N; fill() sets bytes[i] = i % MODULUS,
        # isIntact() checks bytes[i] !== i % MODULUS. Read from the file, so that a change there
        # shows here.
        with open(os.path.join(STACKS, "node", "kernel", "pattern.js"), encoding="utf-8") as f:
            js = f.read()
        modulus = int(re.search(r"const MODULUS = (\d+);", js).group(1))
        self.assertIn("bytes[i] = i % MODULUS", js)
        self.assertIn("bytes[i] !== i % MODULUS", js)
        self.assertEqual(modulus, pattern.MODULUS)
        for size in (0, 1, modulus - 1, modulus, modulus + 1, 3 * modulus + 17, 70000):
            self.assertEqual(pattern.binary_payload(size), bytes(i % modulus for i in range(size)))

    def test_same_rule_as_the_protocol(self):
        with open(os.path.join(STACKS, "PROTOCOL.md"), encoding="utf-8") as f:
            spec = f.read()
        rules = set(re.findall(r"byte i (?:=|was) i % (\d+)", spec))
        self.assertEqual(rules, {str(pattern.MODULUS)})


class Marker(unittest.TestCase):
    W, H = 320, 240

    def frame(self, stride=None):
        stride = stride or self.W
        return bytearray([128]) * (stride * self.H), stride

    def test_the_reference_bits(self):
        # src/marker.rs's unit test `the_bits_match_the_kernels` asserts the same word.
        body = [(21 << 3) | 3, 0xBE, 0xEF]
        self.assertEqual(body + [marker.crc8(body)], [0xAB, 0xBE, 0xEF, 0xBE])

    def test_paint_then_read_with_a_stride(self):
        for stride in (self.W, self.W + 32):
            y, stride = self.frame(stride)
            marker.paint(y, self.W, self.H, stride, 21, 3, 0xBEEF)
            self.assertEqual(marker.read(bytes(y), self.W, self.H, stride), (21, 3, 0xBEEF))

    def test_a_flipped_bit_or_no_marker_reads_nothing(self):
        y, stride = self.frame()
        self.assertIsNone(marker.read(bytes(y), self.W, self.H, stride))
        marker.paint(y, self.W, self.H, stride, 1, 0, 7)
        x0, x1, y0, y1 = marker.cell(2, 5, self.W, self.H)
        value = marker.WHITE + marker.BLACK - y[y0 * stride + x0]
        for line in range(y0, y1):
            y[line * stride + x0 : line * stride + x1] = bytes([value]) * (x1 - x0)
        self.assertIsNone(marker.read(bytes(y), self.W, self.H, stride))

    def test_records_sample_and_count(self):
        events = []
        painter = marker.Painter(2, 1, lambda name, **f: events.append((name, f)))
        record = marker.Record(lambda name, **f: events.append((name, f)))
        for _ in range(61):
            y, stride = self.frame()
            painter.paint(y, self.W, self.H, stride)
            m = marker.read(bytes(y), self.W, self.H, stride)
            record.frame(m)
            if painter.index == 10:
                record.frame(m)  # the same frame rendered twice: a repeat
        record.frame(None)
        record.frame((2, 1, 70))  # 9 indices skipped after 60
        record.flush()
        painted = [f["index"] for n, f in events if n == "frame_painted"]
        shown = [f["index"] for n, f in events if n == "frame_shown"]
        self.assertEqual((painted, shown), ([0, 10, 20, 30, 40, 50, 60], [0, 10, 20, 30, 40, 50, 60, 70]))
        last = [f for n, f in events if n == "markers_seen"][-1]
        self.assertEqual((last["frames"], last["unreadable"]), (64, 1))
        self.assertEqual(last["senders"], [{"sender": 2, "source": 1, "count": 63, "first": 0, "last": 70, "repeats": 1, "skipped": 9}])
        # 64 frames, neither the repeat nor the unreadable frame a new picture: 62 changes.
        changes = [c for n, f in events if n == "markers_seen" for c in f["changes"]]
        self.assertEqual(len(changes), 62)
        self.assertTrue(all(c <= 0 for c in changes))

    def test_a_frame_read_on_another_thread_during_a_flush_waits_for_it(self):
        """GStreamer reads frames on a streaming thread while its main loop flushes: a frame that
        arrives between the flush's clock and its copy belongs to the next markers_seen."""
        events = []
        now = [1000.0]
        record = None
        late = []

        def clock():
            t = now[0]
            if late == [] and record is not None and record.pushed == 1:
                # Once, inside the first flush (pushed is set before its clock; frame() also reads
                # the clock, with frames already 1): a new picture read on another thread, 5 ms later.
                now[0] += 5.0
                late.append(threading.Thread(target=record.frame, args=((1, 0, 2),)))
                late[0].start()
                late[0].join(0.2)
            return t

        record = marker.Record(lambda name, **f: events.append((name, f)), clock=clock)
        record.frame((1, 0, 1))
        record.flush()
        late[0].join(5)
        record.flush()
        seen = [f for n, f in events if n == "markers_seen"]
        self.assertEqual([f["frames"] for f in seen], [1, 2])
        changes = [c for f in seen for c in f["changes"]]
        self.assertEqual(len(changes), 2, "no change lost")
        self.assertTrue(all(c <= 0 for c in changes), changes)

    def test_a_stall_holds_the_index_and_the_receiver_sees_no_new_picture(self):
        now = [0.0]
        events = []
        painter = marker.Painter(2, 0, lambda name, **f: events.append((name, f)), clock=lambda: now[0])
        record = marker.Record(lambda name, **f: events.append((name, f)), clock=lambda: now[0] * 1000)
        shown = []
        for frame in range(150):  # 5 s at 30 fps, a 2 s stall from 1 s
            now[0] = frame / 30
            if frame == 30:
                painter.stall(2000)
            y, stride = self.frame()
            painter.paint(y, self.W, self.H, stride)
            m = marker.read(bytes(y), self.W, self.H, stride)
            shown.append(m[2])
            record.frame(m)
        record.flush()
        self.assertEqual(shown[29:32], [29, 29, 29])
        self.assertEqual(shown[89:91], [29, 30], "painting resumes where it stopped after 2 s")
        changes = [c for n, f in events if n == "markers_seen" for c in f["changes"]]
        self.assertEqual(len(changes), 150 - 60)
        self.assertEqual([f["index"] for n, f in events if n == "frame_painted"], [0, 10, 20, 30, 40, 50, 60, 70, 80])


class Capture:
    """sys.stdout replaced by a StringIO (the kernel writes protocol lines to sys.stdout unless
    keep_stdout_for_protocol() ran, which the tests do only in a child process)."""

    def __enter__(self):
        self.out = io.StringIO()
        self._patch = mock.patch.object(sys, "stdout", self.out)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()

    def lines(self):
        return self.out.getvalue().splitlines()


class Lines(unittest.TestCase):
    def test_write_is_one_compact_json_line(self):
        with Capture() as c:
            lines.write({"type": "ready"})
            lines.write({"a": [1, 2], "s": "é\n"})
        self.assertEqual(c.out.getvalue(), '{"type":"ready"}\n{"a":[1,2],"s":"\\u00e9\\n"}\n')

    def test_hello(self):
        with Capture() as c:
            lines.hello("aiortc", "1.16.0")
        self.assertEqual(json.loads(c.lines()[0]),
                         {"type": "hello", "protocol": 1, "stack": "aiortc", "version": "1.16.0"})

    def test_write_event(self):
        with Capture() as c:
            lines.write_event("track", {"kind": "video"}, 12.5)
            before = lines.now_ms()
            lines.write_event("signaling_state", {"state": "stable"})
            after = lines.now_ms()
        first, second = c.lines()
        self.assertEqual(first, '{"type":"event","t":12.5,"event":{"type":"track","kind":"video"}}')
        msg = json.loads(second)
        self.assertEqual(msg["event"], {"type": "signaling_state", "state": "stable"})
        self.assertTrue(before <= msg["t"] <= after)

    def test_write_done(self):
        with Capture() as c:
            lines.write_done(3)
            lines.write_done(4, error="no case is set up")
            lines.write_done(None, result={"floor": [1.5, 2.0]})
        self.assertEqual(c.lines(), [
            '{"type":"done","id":3}',
            '{"type":"done","id":4,"error":"no case is set up"}',
            '{"type":"done","id":null,"result":{"floor":[1.5,2.0]}}',
        ])

    def test_now_ms(self):
        import time

        t = lines.now_ms()
        self.assertAlmostEqual(t, time.time() * 1000.0, delta=1000.0)
        self.assertIsInstance(t, float)

    def test_error_text(self):
        self.assertEqual(lines.error_text(ValueError("bad size")), "ValueError: bad size")
        self.assertEqual(lines.error_text(RuntimeError()), "RuntimeError")
        self.assertEqual(lines.error_text(KeyError("mid")), "KeyError: 'mid'")

    def test_stderr_log(self):
        err = io.StringIO()
        with mock.patch.object(sys, "stderr", err):
            lines.stderr_log("gstreamer")("pad-added", 3, None)
        self.assertEqual(err.getvalue(), "[gstreamer] pad-added 3 None\n")

    def test_parse_command(self):
        said = []
        self.assertEqual(lines.parse_command(b'{"type":"close"}\n', said.append), {"type": "close"})
        self.assertEqual(lines.parse_command('  {"type": "setup", "config": {}}\r\n', said.append),
                         {"type": "setup", "config": {}})
        self.assertIsNone(lines.parse_command(b"\n", said.append))
        self.assertIsNone(lines.parse_command("   ", said.append))
        self.assertEqual(said, [])
        self.assertIsNone(lines.parse_command(b"not json\n", said.append))
        self.assertIsNone(lines.parse_command(b"[1, 2]\n", said.append))
        self.assertIsNone(lines.parse_command(b"\xff{\n", said.append))
        self.assertEqual(len(said), 3)
        self.assertIn("not json", said[0])

    def test_read_commands_posts_in_order_then_the_end(self):
        stream = io.BytesIO(b'{"type":"setup"}\n\nnot json\n{"type":"perform","id":1}\n{"type":"close"}')
        posted = []
        said = []
        done = threading.Event()

        def post(fn, *args):
            posted.append((fn, args))
            if fn is on_end:
                done.set()

        def on_command(cmd):
            pass

        def on_end():
            pass

        thread = lines.read_commands(post, on_command, on_end, said.append, stream=stream)
        self.assertTrue(done.wait(5))
        thread.join(5)
        self.assertTrue(thread.daemon)
        self.assertEqual(posted, [
            (on_command, ({"type": "setup"},)),
            (on_command, ({"type": "perform", "id": 1},)),
            (on_command, ({"type": "close"},)),
            (on_end, ()),
        ])
        self.assertEqual(len(said), 1)

    def test_keep_stdout_for_protocol(self):
        # In a child process: it changes this process's file descriptors for good.
        child = (
            "import os, sys\n"
            f"sys.path.insert(0, {os.path.dirname(HERE)!r})\n"
            "from kernel import lines\n"
            "lines.keep_stdout_for_protocol()\n"
            "os.write(1, b'native library\\n')\n"
            "print('python print')\n"
            "lines.hello('x', '1')\n"
        )
        r = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b'{"type":"hello","protocol":1,"stack":"x","version":"1"}\n')
        self.assertIn(b"native library\n", r.stderr)
        self.assertIn(b"python print\n", r.stderr)


class LogLevel(unittest.TestCase):
    def test_levels_and_default(self):
        import logging
        self.assertEqual(lines.log_level(None), logging.WARNING)
        self.assertEqual(lines.log_level("  "), logging.WARNING)
        self.assertEqual(lines.log_level("debug"), logging.DEBUG)
        self.assertEqual(lines.log_level("INFO"), logging.INFO)
        self.assertEqual(lines.log_level("warn"), logging.WARNING)
        self.assertEqual(lines.log_level("error"), logging.ERROR)
        self.assertGreater(lines.log_level("off"), logging.CRITICAL)

    def test_the_harness_filter_syntax(self):
        import logging
        # Directives for the harness's crates leave the default; a bare level sets it.
        self.assertEqual(lines.log_level("rtc_dtls=debug"), logging.WARNING)
        self.assertEqual(lines.log_level("error,turn=off,rtc_sctp::association=off"), logging.ERROR)
        self.assertEqual(lines.log_level("rtc_dtls=debug, info"), logging.INFO)

    def test_a_bad_value_names_the_variable(self):
        for bad in ("verbose", "warning,loud", "rtc_dtls=lots"):
            with self.assertRaisesRegex(ValueError, r"^RTC_HARNESS_LOG="):
                lines.log_level(bad)
        with mock.patch.dict(os.environ, {"RTC_HARNESS_LOG": "verbose"}):
            with self.assertRaisesRegex(ValueError, "RTC_HARNESS_LOG='verbose'"):
                lines.configure_logging()


SDP = "\r\n".join([
    "v=0",
    "o=- 1 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1 2",
    "a=ice-ufrag:sess",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
    "c=IN IP4 0.0.0.0",
    "a=mid:0",
    "a=sendonly",
    "a=rtpmap:111 opus/48000/2",
    "a=rtpmap:0 PCMU/8000",
    "a=ssrc:1234 cname:x",
    "a=ssrc:1234 msid:a b",
    "m=video 0 UDP/TLS/RTP/SAVPF 96 97 98",
    "a=bundle-only",
    "a=mid:1",
    "a=ice-ufrag:vid",
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:97 rtx/90000",
    "a=rtpmap:98 vp8/90000",
    "a=ssrc:5 cname:x",
    "a=ssrc:6 cname:x",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=mid:data",
    "a=sctp-port:5000",
    "",
])


class Sdp(unittest.TestCase):
    def test_sections(self):
        audio, video, data = sdp.sdp_sections(SDP)
        self.assertEqual(audio, {"kind": "audio", "port": 9, "mid": "0", "direction": "sendonly",
                                 "codecs": {"OPUS": 111, "PCMU": 0}, "bundle_only": False,
                                 "ssrcs": {1234}, "ufrag": "sess"})
        self.assertEqual(video["port"], 0)
        self.assertTrue(video["bundle_only"])
        self.assertEqual(video["ufrag"], "vid")
        self.assertEqual(video["codecs"], {"VP8": 96, "RTX": 97})  # the first payload type of a name
        self.assertEqual(video["ssrcs"], {5, 6})
        self.assertEqual(video["direction"], "sendrecv")
        self.assertEqual((data["kind"], data["mid"], data["codecs"]), ("application", "data", {}))

    def test_media_sections(self):
        self.assertEqual(sdp.sdp_media_sections(SDP), [("audio", "0"), ("video", "1"), ("application", "data")])
        self.assertEqual(sdp.sdp_media_sections(SDP.replace("\r\n", "\n")), sdp.sdp_media_sections(SDP))
        self.assertEqual(sdp.sdp_media_sections("v=0\r\nm=audio 9 RTP/AVP 0\r\n"), [("audio", None)])
        self.assertEqual(sdp.sdp_media_sections(""), [])

    def test_ufrag_of(self):
        self.assertEqual(sdp.ufrag_of(SDP), "sess")
        self.assertEqual(sdp.ufrag_of("v=0\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:m0 \r\n"), "m0")
        self.assertEqual(sdp.ufrag_of("v=0\r\n"), "")

    def test_without_a_session_ufrag(self):
        text = "v=0\nm=audio 9 RTP/AVP 0\nm=video 9 RTP/AVP 96\na=ice-ufrag:v\n"
        self.assertEqual([s["ufrag"] for s in sdp.sdp_sections(text)], [None, "v"])
        self.assertEqual(sdp.ufrag_of(text), "v")

    def test_directions(self):
        self.assertEqual(sdp.DIRECTIONS, ("sendrecv", "sendonly", "recvonly", "inactive"))
        for d in sdp.DIRECTIONS:
            self.assertEqual(sdp.sdp_sections(f"m=audio 9 RTP/AVP 0\r\na={d}\r\n")[0]["direction"], d)


class Media(unittest.TestCase):
    def test_progress_marks(self):
        marks = lambda kind, a, b: list(media.progress_marks(kind, a, b))  # noqa: E731
        self.assertEqual(marks("video", 0, 1), [])
        self.assertEqual(marks("video", 9, 10), [10])
        self.assertEqual(marks("video", 10, 11), [])
        self.assertEqual(marks("audio", 49, 50), [50])
        self.assertEqual(marks("audio", 0, 120), [50, 100])
        self.assertEqual(marks("audio", 50, 99), [])
        # One frame at a time: a mark exactly when the count is a multiple of the step.
        for kind, step in (("video", 10), ("audio", 50)):
            got = [n for n in range(1, 301) if marks(kind, n - 1, n)]
            self.assertEqual(got, list(range(step, 301, step)))

    def test_frame_count(self):
        clock = [100.0]
        fake = mock.Mock()
        fake.monotonic = lambda: clock[0]
        with mock.patch.object(media, "time", fake):
            frames = media.FrameCount()
            self.assertEqual((frames.decoded, frames.per_second()), (0, 0))
            self.assertEqual([frames.add() for _ in range(3)], [1, 2, 3])
            clock[0] = 100.5
            frames.add()
            self.assertEqual((frames.decoded, frames.per_second()), (4, 4))
            clock[0] = 101.2
            self.assertEqual(frames.per_second(), 1)  # the three at 100.0 are over a second old
            clock[0] = 101.5
            self.assertEqual(frames.per_second(), 1)  # exactly one second old still counts
            for _ in range(media.FrameCount.WINDOW + 10):
                frames.add()
            self.assertEqual(frames.decoded, 4 + media.FrameCount.WINDOW + 10)
            self.assertEqual(frames.per_second(), media.FrameCount.WINDOW)


if __name__ == "__main__":
    unittest.main()
