"""The Python adapters' shared kernel: what the aiortc and gstreamer command peers have in common.

Standard library only, so that both interpreters load it: aiortc's adapter runs under its
virtualenv (stacks/aiortc/.venv/bin/python), the gstreamer one under Debian's /usr/bin/python3
(for python3-gi); see stacks/kinds.yaml. Neither has this directory on its path: an adapter puts
the kernel's parent there from its own __file__, before importing it:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from kernel import lines, pattern, sdp, media

- lines:   protocol lines (write, hello, write_event, write_done, now_ms), error_text, logging to
           stderr (configure_logging for `logging`, stderr_log for printed lines), stdout kept
           for the protocol (keep_stdout_for_protocol), and the stdin commands, read on a thread
           and handed to the adapter's loop (read_commands, parse_command).
- pattern: the binary message of `send_message` with `size` (binary_payload, binary_intact).
- sdp:     m-sections and ICE ufrags read from SDP text (sdp_sections, sdp_media_sections,
           ufrag_of, DIRECTIONS).
- media:   the media_progress marks and the decoded-frame counter of the stats (progress_marks,
           FrameCount).

`python3 -m unittest discover -s stacks/python/kernel` (from the repository root) tests them.

What stays in each adapter, and why: the two stacks run on different loops, and what depends on
the loop differs in substance, not in spelling.
- Scheduling: aiortc's adapter is asyncio (coroutines, an asyncio.Queue as the signaling chain);
  the gstreamer one is a GLib main loop on which webrtcbin's callbacks from its own threads are
  posted, with generator tasks over its own Future. Only the hand-over of stdin commands is
  shared, as one `post` parameter (loop.call_soon_threadsafe or GLib.idle_add).
- The relay socket: aiortc's uses the websockets package (asyncio), the gstreamer one libsoup 3 on
  the GLib loop; the standard library has no WebSocket client to share (the Node kernel's relay.js
  can share one because every Node adapter uses ws).
- The floor: the same protocol contract, but an awaited loop in one and a chain of GLib timeouts
  and idle calls in the other; only its `done` line (write_done) is shared.
- stdout: aiortc's adapter points fd 1 at stderr (keep_stdout_for_protocol) because FFmpeg and
  libvpx, loaded in-process, could write there; the gstreamer one leaves fd 1 as it was, where
  GLib's own fatal messages ("Bail out! ...") go and where a known finding's signature
  (scenarios/signaling/non_trickle_late_answer.yaml) has met them: moving them is a change of its
  own, not part of sharing code.
- Logging: aiortc and aioice log through `logging`, so that adapter configures it
  (configure_logging); GStreamer logs in C (GST_DEBUG), and its adapter prints its own lines
  (stderr_log). Error texts: aiortc's adapter answers error_text(e) (the exception's type and
  text); the gstreamer one answers str(e), since its errors are GLib messages and texts of its
  own that already name their cause; one rule for both would change every error answer of one.
- Media, stats, ICE servers, data channel options: each stack's own API (aiortc encodes frames
  made in Python, webrtcbin links GStreamer elements); only the counting rules are shared.
"""
