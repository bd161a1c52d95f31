"""The frame marker (docs/markers.md; the reference is src/marker.rs): who sent a video frame and
which frame it is, painted as black and white luma cells into an I420 frame's Y plane and read
back from a decoded one, plus the sender's and receiver's records of it (the `frame_painted`,
`frame_shown` and `markers_seen` events of stacks/PROTOCOL.md).

Layout: 4 rows x 10 columns of cells in the top quarter of the frame, placed relative to its size;
each row a white and a black reference cell and 8 bits, most significant first: sender (5 bits),
source (3), index (16), then a CRC-8 (polynomial 0x07) of those three bytes."""

import threading
import time

WHITE, BLACK = 235, 16
ROWS, COLUMNS, REFERENCES = 4, 10, 2
SAMPLE_EVERY = 10  # frame_painted / frame_shown for indices divisible by this (latency samples)
SEEN_EVERY = 30  # markers_seen every this many rendered frames


def crc8(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def cell(row, column, width, height):
    """Cell (row, column) of a width x height frame: (x0, x1, y0, y1), end-exclusive."""
    band = height // 4
    return (column * width // COLUMNS, (column + 1) * width // COLUMNS, row * band // ROWS, (row + 1) * band // ROWS)


def paint(y, width, height, stride, sender, source, index):
    """Paint the marker into the Y plane `y` (a bytearray, rows `stride` bytes apart)."""
    body = [(sender << 3) | source, (index >> 8) & 0xFF, index & 0xFF]
    data = body + [crc8(body)]
    for row in range(ROWS):
        for column in range(COLUMNS):
            white = column == 0 or (column >= REFERENCES and (data[row] >> (COLUMNS - 1 - column)) & 1)
            x0, x1, y0, y1 = cell(row, column, width, height)
            fill = bytes([WHITE if white else BLACK]) * (x1 - x0)
            for line in range(y0, y1):
                y[line * stride + x0 : line * stride + x1] = fill


def _middle_mean(y, stride, x0, x1, y0, y1):
    dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
    xs, xe = x0 + dx, max(x1 - dx, x0 + dx + 1)
    total = n = 0
    for line in range(y0 + dy, max(y1 - dy, y0 + dy + 1)):
        row = y[line * stride + xs : line * stride + xe]
        total += sum(row)
        n += len(row)
    return total / n


def read(y, width, height, stride):
    """(sender, source, index) from the Y plane `y`, or None: no contrast between a row's
    references (half the painted contrast at least), or check bits that fail."""
    if width < COLUMNS * 2 or height < ROWS * 8 or len(y) < stride * (height // 4):
        return None
    data = []
    for row in range(ROWS):
        white = _middle_mean(y, stride, *cell(row, 0, width, height))
        black = _middle_mean(y, stride, *cell(row, 1, width, height))
        if white - black < (WHITE - BLACK) / 2:
            return None
        threshold = (white + black) / 2
        byte = 0
        for column in range(REFERENCES, COLUMNS):
            byte = (byte << 1) | (1 if _middle_mean(y, stride, *cell(row, column, width, height)) > threshold else 0)
        data.append(byte)
    if crc8(data[:3]) != data[3]:
        return None
    return data[0] >> 3, data[0] & 0x07, (data[1] << 8) | data[2]


class Painter:
    """A sender's marker: paints frame after frame of one source, counting from 0, and reports
    `frame_painted` for the first frame and every SAMPLE_EVERY-th (as `report(name, **fields)`).
    stall(ms) holds the picture: the same index is painted again until ms have passed (the
    `stall_video` action: a camera that delivers one picture over and over)."""

    def __init__(self, sender, source, report, clock=time.monotonic):
        self.sender, self.source, self.report, self.index = sender, source, report, 0
        self.clock, self.held_until = clock, None

    def stall(self, ms):
        self.held_until = self.clock() + ms / 1000

    def paint(self, y, width, height, stride):
        held = self.held_until is not None and self.clock() < self.held_until and self.index > 0
        i = (self.index - 1 if held else self.index) & 0xFFFF
        paint(y, width, height, stride, self.sender, self.source, i)
        if not held:
            if i % SAMPLE_EVERY == 0:
                self.report("frame_painted", kind="video", source=self.source, index=i)
            self.index += 1


def stall_painters(painters, action):
    """The `stall_video` action (PROTOCOL.md): every painter holds its picture for `ms`."""
    if not painters:
        raise RuntimeError("stall_video: this peer paints no frame marker (no video source, or the case reads no markers)")
    for painter in painters:
        painter.stall(action["ms"])


class Record:
    """What a receiver read from the frames it rendered: per sender and source the count, first
    and last index, repeats (the same index again: a freeze) and skipped indices. `frame_shown`
    for each sender and source's first read and each new index divisible by SAMPLE_EVERY;
    `markers_seen` every SEEN_EVERY frames and on flush() when it changed, with `changes`: when
    each frame since the last one showed a new picture (a marker that reads, unlike the last one
    read: a frame without one shows nothing of the sender's), in ms before the event.

    Thread-safe: a receiver may read frames on a streaming thread (GStreamer's appsink) while its
    main loop flushes for a stats collection. Without the lock a change taken between flush()'s
    clock and its copy came out after the event (a positive entry, which the protocol's schema
    refuses: seen in CI) or was dropped with the reset list."""

    def __init__(self, report, clock=lambda: time.time() * 1000):
        self.report, self.frames, self.unreadable, self.senders, self.pushed = report, 0, 0, {}, 0
        self.clock, self.previous, self.changes = clock, None, []
        # Reentrant: frame() flushes every SEEN_EVERY frames.
        self.lock = threading.RLock()

    def frame(self, marker):
        with self.lock:
            self._frame(marker)

    def _frame(self, marker):
        self.frames += 1
        if marker is not None and marker != self.previous:
            self.changes.append(self.clock())
            self.previous = marker
        if marker is None:
            self.unreadable += 1
        else:
            sender, source, index = marker
            r = self.senders.get((sender, source))
            sampled = r is None or (index != r["last"] and index % SAMPLE_EVERY == 0)
            if r is None:
                r = self.senders[(sender, source)] = {
                    "sender": sender, "source": source, "count": 0, "first": index, "last": index, "repeats": 0, "skipped": 0,
                }
            elif index == r["last"]:
                r["repeats"] += 1
            else:
                step = (index - r["last"]) % 65536
                if 1 < step < 32768:
                    r["skipped"] += step - 1
            r["last"] = index
            r["count"] += 1
            if sampled:
                self.report("frame_shown", kind="video", sender=sender, source=source, index=index)
        if self.frames % SEEN_EVERY == 0:
            self.flush()

    def flush(self):
        with self.lock:
            self._flush()

    def _flush(self):
        if self.frames != self.pushed:
            self.pushed = self.frames
            senders = [dict(r) for r in self.senders.values()]
            now = self.clock()
            changes = [round(t - now, 1) for t in self.changes]
            self.changes = []
            self.report("markers_seen", kind="video", frames=self.frames, unreadable=self.unreadable, senders=senders, changes=changes)
