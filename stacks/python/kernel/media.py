"""Counting received media as the protocol reports it, shared by the Python adapters.

`media_progress` comes every 10 video frames and every 50 audio packets (PROTOCOL.md, "Events");
the stats summary's framesDecoded and framesPerSecond (W3C webrtc-stats) are counted where the
adapter sees decoded frames, since neither aiortc's getStats nor webrtcbin's has them. Where the
frames come from (aiortc's track.recv(), a pad probe on a GStreamer streaming thread) is the
adapter's.
"""

import collections
import time

# media_progress: one every this many video frames / audio packets.
PROGRESS_EVERY = {"video": 10, "audio": 50}


def progress_marks(kind, before, after):
    """The counts of `media_progress` events due when the count of a kind goes from `before` to
    `after` (several when a buffer list brings many packets at once), in order."""
    step = PROGRESS_EVERY[kind]
    return range((before // step + 1) * step, after + 1, step)


class FrameCount:
    """Decoded video frames: the total (W3C framesDecoded) and those of the last second (W3C
    framesPerSecond). add() may run on a streaming thread while per_second() runs on the main
    loop: the times are kept in a bounded deque that only add() changes (WINDOW frames: more than
    any stack here decodes in a second)."""

    WINDOW = 256

    def __init__(self):
        self.decoded = 0
        self._times = collections.deque(maxlen=self.WINDOW)

    def add(self):
        """One more decoded frame; returns the total."""
        self.decoded += 1
        self._times.append(time.monotonic())
        return self.decoded

    def per_second(self):
        """The frames decoded in the last second."""
        since = time.monotonic() - 1.0
        return sum(1 for t in list(self._times) if t >= since)
