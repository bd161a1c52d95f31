"""The command-peer protocol's line plumbing, shared by the Python adapters.

stdout carries protocol lines only, one JSON object per line (stacks/PROTOCOL.md, "Messages");
commands arrive as JSON lines on stdin; logs go to stderr. Each adapter had its own copy of these
functions; they live here once so that both write the same lines the same way. What an adapter
does with a command, and how its loop runs it, stays in the adapter (see kernel/__init__.py).
"""

import json
import logging
import os
import sys
import threading
import time

# The stream protocol lines are written on: sys.stdout (as it is at the time of writing), unless
# keep_stdout_for_protocol() has made a private copy of it.
_protocol = None


def now_ms():
    """The protocol's `t`: wall-clock milliseconds, with sub-millisecond precision."""
    return time.time() * 1000.0


def keep_stdout_for_protocol():
    """Makes stdout the protocol's alone, before a stack's native libraries are loaded: the
    protocol is written on a private duplicate of file descriptor 1, fd 1 is pointed at stderr
    (so that whatever a library writes there, FFmpeg or libvpx say, lands on stderr), and
    sys.stdout is sys.stderr (Python code that prints logs)."""
    global _protocol
    _protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def write(obj):
    """One protocol line: obj as compact JSON, flushed at once."""
    out = _protocol if _protocol is not None else sys.stdout
    out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    out.flush()


def hello(stack, version):
    """The first line of every program (PROTOCOL.md, "Start and hello")."""
    write({"type": "hello", "protocol": 1, "stack": stack, "version": version})


def write_event(name, fields, t=None):
    """An `event` line: {"type": name, **fields}, at `t` (now when None)."""
    write({"type": "event", "t": now_ms() if t is None else t, "event": {"type": name, **fields}})


def write_done(ident, error=None, result=None):
    """The `done` line that answers a request (perform, collect_stats, floor) of id `ident`, with
    its `error` or its `result` when given."""
    reply = {"type": "done", "id": ident}
    if error is not None:
        reply["error"] = error
    if result is not None:
        reply["result"] = result
    write(reply)


def error_text(e):
    """The text of an exception for the `error` of a `done` line or the `message` of an `error`
    event: its type's name, then its text when it has one (a Python stack's exceptions say little
    without their type: `InvalidStateError`, `KeyError: 'mid'`)."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# RTC_HARNESS_LOG's level names (tracing's, as the harness reads them, and Python's "warning"),
# any case, and the `logging` level of each.
LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR, "off": logging.CRITICAL + 1}


def log_level(value, name="RTC_HARNESS_LOG"):
    """The `logging` level of an RTC_HARNESS_LOG value. The harness reads the same variable in
    tracing's filter syntax (src/main.rs): comma-separated directives, each a LEVEL or a
    TARGET=LEVEL. The level here is the last bare LEVEL's; WARNING when there is none (unset or
    blank, or directives for the harness's crates only). A level that is not one of LOG_LEVELS, or
    a bare word that is not one, is a ValueError naming the variable: never a silent default."""
    level = logging.WARNING
    for directive in (value or "").split(","):
        directive = directive.strip()
        if not directive:
            continue
        target, _, word = directive.rpartition("=")
        if word.strip().lower() not in LOG_LEVELS:
            expected = ", ".join(LOG_LEVELS)
            raise ValueError(f"{name}={value!r}: '{directive}' is not a level ({expected}) "
                             "nor a TARGET=LEVEL directive")
        if not target:
            level = LOG_LEVELS[word.strip().lower()]
    return level


def configure_logging():
    """Logging through Python's `logging`, for an adapter whose stack logs through it too: one
    configuration on stderr, at the level of RTC_HARNESS_LOG (log_level: debug, info, warning (the
    default), error, ...), with the time and the logger's name on each line. A bad value raises
    ValueError naming the variable."""
    level = log_level(os.environ.get("RTC_HARNESS_LOG"))
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def stderr_log(name):
    """A log function for an adapter that prints its own log lines (its stack logs elsewhere):
    log(*parts) writes `[name] part part ...` to stderr, flushed."""
    prefix = f"[{name}]"

    def log(*parts):
        print(prefix, *parts, file=sys.stderr, flush=True)

    return log


def _complain(text):
    print(text, file=sys.stderr, flush=True)


def parse_command(raw, complain=_complain):
    """One line of stdin (bytes or text) as a command: its JSON object, or None for a blank line
    and for one that is not a JSON object (then complain(text) says so, on stderr by default)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    line = raw.strip()
    if not line:
        return None
    try:
        cmd = json.loads(line)
    except ValueError:
        cmd = None
    if not isinstance(cmd, dict):
        complain(f"not a JSON object on stdin: {line[:200]!r}")
        return None
    return cmd


def read_commands(post, on_command, on_end, complain=_complain, stream=None):
    """Reads the commands of stdin (`stream`: a binary stream, sys.stdin.buffer when None) on a
    daemon thread: each one is handed to the adapter's loop as post(on_command, cmd), in order,
    and post(on_end) follows at EOF (the harness is done with this program). `post` is the loop's
    thread-safe way in: asyncio's loop.call_soon_threadsafe, or GLib.idle_add (whose callbacks
    must return a false value, else GLib calls them again). Returns the thread."""

    def run():
        for raw in stream if stream is not None else sys.stdin.buffer:
            cmd = parse_command(raw, complain)
            if cmd is not None:
                post(on_command, cmd)
        post(on_end)

    thread = threading.Thread(target=run, name="stdin-commands", daemon=True)
    thread.start()
    return thread
