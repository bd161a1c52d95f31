#!/usr/bin/python3
"""rtc-harness command peer for GStreamer webrtcbin 1.22 (Debian packages, libnice ICE).

Run with Debian's interpreter, which has PyGObject (`gi`):

    /usr/bin/python3 gstreamer/peer.py        (current directory: stacks/)

It speaks the command-peer protocol of ../PROTOCOL.md on stdin/stdout (JSON lines) and behaves like
the browser agent page (src/peer/browser/agent.html): one case at a time, setup ... close, until EOF
on stdin.

What is not webrtcbin's comes from the Python adapters' shared kernel (../python/kernel, put on
sys.path from this file's location; standard library only, as this interpreter has no virtualenv):
the protocol lines, the stdin commands, the binary pattern, the SDP text helpers and the media
counting rules. This file holds the mapping onto GStreamer, on its GLib loop.

How the protocol maps onto GStreamer
------------------------------------
Everything runs on one GLib main loop. The relay WebSocket is libsoup 3 (`Soup.Session`
`websocket_connect_async`), so it lives on that loop too; stdin is read by the kernel's thread
(`read_commands`), which hands each command to the loop with `GLib.idle_add`. webrtcbin calls back
from its own threads (its ":pc" task thread, libnice, streaming threads): every such callback only
captures what it needs (the time, the SDP text, the counter) and posts the rest to the loop, where
events are written and state is changed. Each case is a `Case` object; callbacks of a closed case
are dropped.

- peer connection  = a `Gst.Pipeline` holding one `webrtcbin` (bundle-policy max-bundle), PLAYING
                     from `setup` on. `close` (action) sets it to NULL: webrtcbin has no close();
                     then signaling_state and connection_state as webrtcbin reads them.
- createOffer / createAnswer / setLocalDescription / setRemoteDescription / getStats = webrtcbin's
  action signals with a `Gst.Promise`, wrapped into small futures; signaling work (remote messages,
  offers) runs one task at a time in arrival order (the agent page's promise chain), as generators.
- addTrack(kind)   = a live test source (the "track": videotestsrc is-live 320x240 30 fps, or
                     audiotestsrc is-live) linked to a "sender" bin (queue ! I420 ! vp8enc
                     deadline=1 ! rtpvp8pay, or queue ! opusenc ! rtpopuspay) on a requested
                     `sink_%u` pad.
                     The `media_files` are not used.
- replace_track    = the track bin is swapped (on an IDLE probe) for another test pattern before
                     the same sender: SSRC, sequence numbers and timestamps go on (webrtc-pc 5.2).
- codec_preferences = the sender encodes the first preferred codec the adapter has (vp8enc,
                     vp9enc lag-in-frames=0 on I420: profile 0) and the transceiver's
                     `codec-preferences` is set to it; an answerer
                     without preferences encodes VP8 if offered, else another codec it has.
                     Stats `codec` = the encoding-name of the caps of webrtcbin's src pad (inbound)
                     or of our sender (outbound), by SSRC.
- ontrack          = webrtcbin `pad-added` (it fires when the first RTP packet of the stream arrives,
                     later than a browser's ontrack). Video: rtpvp8depay ! vp8dec (decodebin for
                     other codecs) ! fakesink, a probe counts decoded frames (first_frame with the
                     caps' width/height, media_progress every 10). With the configuration's
                     `marker`, video comes from an appsrc fed I420 frames painted with the frame
                     marker (kernel.marker) instead of videotestsrc, and the probe reads each
                     decoded frame's Y plane. Audio: a probe on webrtcbin's
                     src pad counts RTP packets (first_packet, media_progress every 50), fakesink.
- data channels    = `create-data-channel` (options ordered, max-retransmits, max-packet-lifetime,
                     negotiated, id, protocol), `on-data-channel`, the channel's `on-open` (the
                     options read back from its properties, -1 = unset), `on-close`,
                     `on-message-string` / `on-message-data` (binary: size and intact),
                     `send_string_full` / `send_data_full` (their GError is the refusal; webrtcbin
                     applies a=max-message-size itself), `close()` for close_channel. A peer that
                     has not started creates its negotiated channels when the offer arrives.
- perfect negotiation (`polite`) = webrtc-pc 10.7 on the serial queue: the impolite side ignores a
                     colliding offer (`offer_ignored`); the polite side tries the rollback, which
                     webrtcbin refuses (below), and reports that error.
- candidates       = `on-ice-candidate` (m-line index + "candidate:..." text; sdpMid and
                     usernameFragment are looked up in our local SDP text), `add-ice-candidate` by
                     m-line index (webrtcbin itself holds candidates that come before the remote
                     description; ours are also applied in order, after it). webrtcbin has no
                     null candidate: ice-gathering-state "complete" is its end of candidates, and is
                     reported and signalled as `{"candidate": null}`. A remote end-of-candidates is
                     passed as an empty candidate, which webrtcbin hands to libnice as "peer
                     gathering done".
- states           = notify:: of signaling-state, ice-gathering-state, ice-connection-state,
                     connection-state; the enums are mapped to the W3C strings by value.
- floor (bench)    = two `Case`s in this process with an in-memory link instead of the relay and
                     stdout: each one's signaling messages go straight into the other's serial queue,
                     and their events go to the `Floor` runner, which writes none of them. The
                     offerer attaches video as in a case (videotestsrc ! vp8enc, before the clock
                     starts, like the browsers' floor page captures first); the time runs from just
                     before create-offer to the answerer's `first_frame` (its decoder-output probe).
                     Both pipelines go to NULL after each iteration; the next pair is fresh.

Pitfalls worked around (verified here; the findings are in docs/findings.md)
------------------------------------------------------------------
- PyGObject: the reply of a promise is kept in a variable before reading a field from it
  (`promise.get_reply().get_value(...)` chained segfaults).
- A description created by webrtcbin is not handed back to it: it is rebuilt from its SDP text
  (`GstSdp.SDPMessage.new_from_text`) before `set-local-description` (else webrtcbin sees sdp=NULL).
- `desc.sdp.get_media()` segfaults when walked from Python: m-lines, mids, payload types and
  directions are parsed from the SDP text (the kernel's `sdp_sections`).
- `on-negotiation-needed` fires when webrtcbin goes to READY, with nothing to negotiate (an offer
  made then is empty), and its flag then stays set, so it does not fire again for the first tracks
  or data channels. So: a negotiation-needed signal is acted on (and reported) only once this peer
  has something of its own to negotiate, and `start` / `add_track` / `create_data_channel` offer
  by themselves when auto_negotiate; a serial queue plus a "signaling state is stable" check keeps
  it to one offer.
- Transceivers that webrtcbin creates from a remote offer take the offer's direction (sendrecv)
  instead of "recvonly" (W3C); a transceiver we do not send on is set to recvonly before answering,
  else webrtcbin sees its own answer as needing a new negotiation.
- Requesting a `sink_%u` pad without a name never reuses a free transceiver in 1.22 (its caps test
  is inverted): the answerer asks for `sink_<m-line index>` of the offered m-line of that kind, and
  sets the payloader's payload type to the one the offer uses for VP8 / Opus.
- webrtcbin's default DTLS certificate is RSA; aiortc offers ECDSA suites only and fails as DTLS
  client against it. An ECDSA P-256 certificate (made once per process) is set as `pem` on each
  `dtlssrtpdec` as it is created (`deep-element-added`). webrtcbin computes its a=fingerprint over
  every base64 line of that PEM, the private key's included, so the a=fingerprint lines of our
  offers and answers are replaced with the certificate's own SHA-256 fingerprint before
  set-local-description. Without python3-cryptography or openssl the RSA default stays.
- The first dtlssrtpdec of a process generates webrtcbin's default RSA certificate (~1 s): one is
  made at start-up so that this cost is not in the first case's time to connect.
- webrtcbin writes a=ssrc lines only from an "ssrc" field in the caps it reads from the linked
  payloader, which an offer made at once or any answer does not have yet. Without them, a peer
  that routes bundled RTP by SSRC (webrtc-rs) drops all streams but one. The SSRC is chosen here,
  set on the payloader and written into the capsfilter's caps.
- webrtcbin 1.22 stats give every bundled RTP stream the kind and codec-id of one pad: the kind in
  the stats summary is found by SSRC instead.
- libnice gathers link-local fe80:: and TCP candidates and no 127.0.0.1; they are passed on as is.
- ICE servers: `stun-server` = stun://host:port (webrtcbin has one), `add-turn-server` =
  turn(s)://user:credential@host:port?transport=... per TURN URL (escaped); ice_transport_policy
  'relay' = ice-transport-policy RELAY (libnice force-relay). webrtcbin 1.22 and libnice 0.1.21 have
  no candidate error of any kind (no signal; libnice drops a TURN error response after logging
  "stun_turn_process/disc for %p res %d" at debug level), so no `candidate_error` is reported.
- Stats: webrtcbin's inbound-rtp packets-received / packets-lost / jitter (seconds) / bytes-received
  and outbound-rtp packets-sent / bytes-sent; framesDecoded and framesPerSecond are counted at our
  vp8dec's output; its candidate-pair has no RTT or bitrate.

Not supported by webrtcbin 1.22 (declared absent in kinds.yaml, answered with an error here)
- ICE restart: webrtcbin reuses the previous ufrag/pwd in every later offer and answer ("FIXME:
  deal with ICE restarts" in gstwebrtcbin.c) and has no restartIce(). It cannot follow a remote
  restart either: its answer keeps the old credentials.
- Rollback (RFC 8829 section 4.1.10.2): set-local-description of type rollback is refused in every
  state (webrtcsdp.c _check_valid_state_for_sdp_change has no case for it: "Not in the correct
  state (have-local-offer) for setting local rollback description"), and a remote offer in
  have-local-offer is refused (no implicit rollback). So no polite side of perfect negotiation.
- Direction changes: webrtcbin refuses to apply a description that changes a negotiated
  transceiver's direction to anything but inactive ("transceiver direction changes are not
  implemented. Media %u", gstwebrtcbin.c _update_transceiver_from_sdp_media). set_direction and
  remove_track do what W3C says (the transceiver's direction; removeTrack, which webrtcbin does not
  have, also unlinks the source) and webrtcbin's refusal of the next answer is the outcome.
  webrtcbin also fires no negotiation-needed for a direction change (it re-checks the flag only on
  sink caps, data channels and descriptions): an auto peer offers by itself after them.

webrtcbin 1.22 bugs left visible (not worked around: they are what the harness is for)
- A re-offer with a=setup:actpass is answered a=setup:active even when webrtcbin is the DTLS server
  of the association in place (it only intersects with the offer, RFC 8842 section 5.5): the
  roles flip and the connection fails.
- Answering an Opus offer with sprop-stereo=1 (libdatachannel's), webrtcbin intersects the offer's
  caps with its payloader's negotiated sprop-stereo=0 and finds nothing in common, though
  sprop-stereo only describes what the sender sends (RFC 7587 section 7.1): the audio section is
  rejected, copied from the offer (its ufrag, candidates and a=setup:actpass, no fingerprint), and
  webrtcbin then refuses its own answer ("No fingerprint lines in sdp for media 0"). When the
  payloader's transceiver was fixed to that m-line first, the next create-offer aborts the process
  (gstwebrtcbin.c: assertion trans->mline == -1 || trans->mline == media_idx).
- webrtcbin does not check the peer's certificate against its a=fingerprint (upstream added that
  later: "webrtcbin: validate remote fingerprints match peer dtls certificate").
- Its maximum message size for sends is MIN(local, remote) a=max-message-size (gstwebrtcbin.c
  _update_data_channel_from_sdp_media), 64 KiB when absent (RFC 8841), and webrtcbin writes no
  a=max-message-size in its own descriptions: it refuses any send over 64 KiB ("Requested to send
  data that is too large"), even to a peer that advertises more (RFC 8841 section 6: the limit is
  what the receiver can take).
- A negotiated channel (with an id) created once the SCTP transport exists but before its
  association is up is refused: max-channels reads 0 then and create-data-channel fails
  "assertion 'id <= max_channels' failed" (fixed in 1.22.6, c067269737). So an answerer's
  negotiated channel, created when the offer arrives, does not exist.
- After the remote peer closes, sctpenc posts an ERROR ("SCTP association went into error state",
  gstsctpenc.c on_sctp_association_state_changed) and no data channel closes.
- In NULL (its only "close") webrtcbin's signaling-state and connection-state keep their last
  values (stable, connected): nothing sets GST_WEBRTC_SIGNALING_STATE_CLOSED.
"""

import base64
import collections
import datetime
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile

# The Python adapters' shared kernel (../python/kernel): protocol lines, stdin commands, binary
# pattern, SDP text, media counting.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from kernel.lines import hello, now_ms, read_commands, stderr_log, write, write_done, write_event  # noqa: E402
from kernel import marker as frame_marker  # noqa: E402
from kernel.media import FrameCount, progress_marks  # noqa: E402
from kernel.pattern import binary_intact, binary_payload  # noqa: E402
from kernel.sdp import sdp_sections  # noqa: E402

try:  # the audio marker's kernel needs numpy (Debian's python3-numpy); --check names it missing
    from kernel import tone  # noqa: E402
except ImportError as e:
    tone, TONE_MISSING = None, str(e)

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("Soup", "3.0")
from gi.repository import GLib, GObject, Gst, GstSdp, GstWebRTC, Soup  # noqa: E402

STACK = "gstreamer"
VIDEO_PT = 96
AUDIO_PT = 111
# What the adapter can encode, per codec name as SDP spells it: encoder and payloader.
ENCODERS = {
    "VP8": ("vp8enc deadline=1 keyframe-max-dist=60", "rtpvp8pay"),
    "VP9": ("vp9enc deadline=1 cpu-used=8 lag-in-frames=0 keyframe-max-dist=60", "rtpvp9pay"),
}
DEFAULT_CODECS = {"video": ["VP8"], "audio": ["OPUS"]}
ENCODABLE = {"video": ["VP8", "VP9"], "audio": ["OPUS"]}
GATHER_TIMEOUT_MS = 10000
# How long after webrtcbin's ice-gathering-state `complete` its end of candidates is sent (see
# Peer._state).
END_OF_CANDIDATES_SETTLE_MS = 100

SIGNALING = {
    GstWebRTC.WebRTCSignalingState.STABLE: "stable",
    GstWebRTC.WebRTCSignalingState.CLOSED: "closed",
    GstWebRTC.WebRTCSignalingState.HAVE_LOCAL_OFFER: "have-local-offer",
    GstWebRTC.WebRTCSignalingState.HAVE_REMOTE_OFFER: "have-remote-offer",
    GstWebRTC.WebRTCSignalingState.HAVE_LOCAL_PRANSWER: "have-local-pranswer",
    GstWebRTC.WebRTCSignalingState.HAVE_REMOTE_PRANSWER: "have-remote-pranswer",
}
GATHERING = {
    GstWebRTC.WebRTCICEGatheringState.NEW: "new",
    GstWebRTC.WebRTCICEGatheringState.GATHERING: "gathering",
    GstWebRTC.WebRTCICEGatheringState.COMPLETE: "complete",
}
ICE_CONNECTION = {
    GstWebRTC.WebRTCICEConnectionState.NEW: "new",
    GstWebRTC.WebRTCICEConnectionState.CHECKING: "checking",
    GstWebRTC.WebRTCICEConnectionState.CONNECTED: "connected",
    GstWebRTC.WebRTCICEConnectionState.COMPLETED: "completed",
    GstWebRTC.WebRTCICEConnectionState.FAILED: "failed",
    GstWebRTC.WebRTCICEConnectionState.DISCONNECTED: "disconnected",
    GstWebRTC.WebRTCICEConnectionState.CLOSED: "closed",
}
CONNECTION = {
    GstWebRTC.WebRTCPeerConnectionState.NEW: "new",
    GstWebRTC.WebRTCPeerConnectionState.CONNECTING: "connecting",
    GstWebRTC.WebRTCPeerConnectionState.CONNECTED: "connected",
    GstWebRTC.WebRTCPeerConnectionState.DISCONNECTED: "disconnected",
    GstWebRTC.WebRTCPeerConnectionState.FAILED: "failed",
    GstWebRTC.WebRTCPeerConnectionState.CLOSED: "closed",
}
STATE_PROPS = [
    ("signaling-state", "signaling_state", SIGNALING),
    ("ice-gathering-state", "ice_gathering_state", GATHERING),
    ("ice-connection-state", "ice_connection_state", ICE_CONNECTION),
    ("connection-state", "connection_state", CONNECTION),
]
Dir = GstWebRTC.WebRTCRTPTransceiverDirection
DIRECTIONS = {"sendrecv": Dir.SENDRECV, "sendonly": Dir.SENDONLY, "recvonly": Dir.RECVONLY,
              "inactive": Dir.INACTIVE}


def gst_version():
    return ".".join(str(v) for v in Gst.version()[:3])


log = stderr_log("gstreamer")


# ---------------------------------------------------------------- ECDSA certificate


def make_ecdsa_pem():
    """A self-signed ECDSA P-256 certificate and its key, as one PEM string (or None)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rtc-harness-gstreamer")])
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=30))
                .sign(key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM)
                + key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())).decode()
    except Exception as e:  # fall back to the openssl command
        log("python3-cryptography unavailable for the ECDSA certificate:", e)
    try:
        with tempfile.TemporaryDirectory() as d:
            key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                            "-days", "30", "-subj", "/CN=rtc-harness-gstreamer"],
                           check=True, capture_output=True, timeout=20)
            with open(crt) as c, open(key) as k:
                return c.read() + k.read()
    except Exception as e:
        log("no ECDSA certificate, webrtcbin keeps its RSA one:", e)
    return None


def pem_fingerprint(pem):
    """The SHA-256 fingerprint (a=fingerprint form) of the certificate block of a PEM string."""
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    der = base64.b64decode("".join(m.group(1).split()))
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def with_fingerprint(sdp, fingerprint):
    """The SDP text with every a=fingerprint line replaced by ours."""
    if not fingerprint:
        return sdp
    return re.sub(r"(?m)^a=fingerprint:[^\r\n]*", f"a=fingerprint:sha-256 {fingerprint}", sdp)


# ---------------------------------------------------------------- futures and serial tasks


class Future:
    """A value that arrives later on the main loop; tasks (generators) yield them."""

    def __init__(self):
        self.done = False
        self.value = None
        self.error = None
        self._callbacks = []

    def _finish(self, value, error):
        if self.done:
            return
        self.done, self.value, self.error = True, value, error
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def resolve(self, value=None):
        self._finish(value, None)

    def reject(self, error):
        self._finish(None, error if isinstance(error, Exception) else RuntimeError(str(error)))

    def then(self, cb):
        if self.done:
            cb(self)
        else:
            self._callbacks.append(cb)


def run_task(gen, on_end):
    """Drives a generator that yields Futures; on_end(error or None) when it ends."""

    def step(value=None, error=None):
        try:
            fut = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration:
            on_end(None)
            return
        except Exception as e:  # noqa: BLE001 - reported as an error event
            on_end(e)
            return
        fut.then(lambda f: step(f.value, f.error))

    step()


# ---------------------------------------------------------------- one case


class Case:
    def __init__(self, app, config, cert_pem, link=None):
        self.app = app
        self.cfg = config
        # In-memory link (the floor): link.signal(msg) instead of the relay, link.event(type, t,
        # fields) instead of event lines on stdout. None in a case.
        self.link = link
        self.cert_pem = cert_pem
        self.fingerprint = pem_fingerprint(cert_pem) if cert_pem else None
        self.closed = False  # the case is over (protocol close)
        self.pc_closed = False  # the peer connection is closed (action close)
        self.marker = (config.get("marker") or {}).get("sender")  # docs/markers.md; None: no markers
        self.sources = 0  # the marker's source number of the next video track
        self.marker_records = []
        self.tone = (config.get("tone") or {}).get("sender")  # docs/markers.md, "Audio"; None: no tones
        self.listeners = []  # a tone listener per received audio stream
        self.painters = []  # every video source's marker painter (stall_video holds them all)
        self.started = False
        self.has_local = False  # something of ours to negotiate (a track or a channel)
        self.offer_pending = False
        self.queue = collections.deque()
        self.busy = False
        self.channels = {}  # label -> channel
        self.channel_handlers = []
        self.my_transceivers = []
        self.outgoing = []  # our senders: {kind, mline, trans, track, sender, ssrc, codec}
        self.sending_mlines = set()
        # Perfect negotiation (webrtc-pc 10.7) when `polite` is a boolean; None: the seed's flow.
        polite = config.get("polite")
        self.polite = polite if isinstance(polite, bool) else None
        self.ignore_offer = False
        self.codec_prefs = self._codec_preferences(config.get("codec_preferences") or {})
        self.rx_codecs = {}  # SSRC -> mimeType of the streams received (webrtcbin's src pad caps)
        self.local_sdp = ""  # the SDP texts last set (for mids and m-line counts)
        self.remote_sdp = ""
        self.next_mline = 0
        self.last_state = {}
        self.gather_waiters = []
        self.timers = []
        self.eoc_timer = None
        self.ws = None
        self.ws_handlers = []
        self.session = None
        self.cancel = None
        self.video_frames = FrameCount()  # decoded at our decoders' output (framesDecoded, framesPerSecond)
        self.rx_kinds = {}  # SSRC -> kind of the streams received (from webrtcbin's src pad caps)

        self.pipeline = Gst.Pipeline.new("pc")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self._ice_servers(config.get("ice_servers") or [], config.get("ice_transport_policy"))
        self.pipeline.add(self.webrtc)
        self.handlers = []
        w = self.webrtc
        self._on(w, "on-negotiation-needed", self._on_negotiation_needed)
        self._on(w, "on-ice-candidate", self._on_ice_candidate)
        self._on(w, "on-data-channel", self._on_data_channel)
        self._on(w, "pad-added", self._on_pad_added)
        for prop, name, table in STATE_PROPS:
            self._on(w, "notify::" + prop, self._on_state, prop, name, table)
        self.deep_handler = self.pipeline.connect("deep-element-added", self._on_deep_element)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        self.bus_handler = bus.connect("message", self._on_bus)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError("webrtcbin does not start (missing nice/dtls/srtp/sctp plugins?)")

    # ---- plumbing

    def _on(self, obj, signal, fn, *extra):
        self.handlers.append((obj, obj.connect(signal, fn, *extra)))

    def post(self, fn, *args, **kwargs):
        """Runs fn(*args, **kwargs) on the main loop unless the case is over by then."""

        def run():
            if not self.closed:
                try:
                    fn(*args, **kwargs)
                except Exception as e:  # noqa: BLE001
                    log("callback failed:", repr(e))
                    self.event("error", context="callback", message=str(e))
            return False

        GLib.idle_add(run)

    def event(self, etype, t=None, **fields):
        if self.closed:
            return
        if self.link is not None:
            self.link.event(etype, t if t is not None else now_ms(), fields)
            return
        write_event(etype, fields, t)

    def send(self, obj):
        if self.link is not None:
            self.link.signal(obj)
            return
        if self.ws is not None and self.ws.get_state() == Soup.WebsocketState.OPEN:
            self.ws.send_text(json.dumps(obj))

    def serial(self, what, genfn, *args):
        self.queue.append((what, genfn, args))
        if not self.busy:
            self._next()

    def _next(self):
        if self.closed or not self.queue:
            self.busy = False
            return
        self.busy = True
        what, genfn, args = self.queue.popleft()

        def ended(error):
            if error is not None and not self.closed:
                log(f"{what}: {error!r}")
                self.event("error", context=what, message=str(error))
            GLib.idle_add(lambda: self._next() and False)

        run_task(genfn(*args), ended)

    def promise(self, signal, *args, field=None):
        """Emits a webrtcbin action signal taking a promise; the future gets the reply field's
        SDP text (field given) or None."""
        fut = Future()

        def changed(promise, *_data):
            reply = promise.get_reply()  # kept referenced: see the header
            value, error = None, None
            if reply is not None and reply.has_field("error"):
                err = reply.get_value("error")
                error = getattr(err, "message", None) or reply.to_string()
            elif field is not None:
                if reply is None or not reply.has_field(field):
                    error = f"{signal}: no {field} in the reply"
                else:
                    desc = reply.get_value(field)
                    value = desc.sdp.as_text()
            GLib.idle_add(lambda: (fut.reject(error) if error else fut.resolve(value)) and False)

        self.webrtc.emit(signal, *args, Gst.Promise.new_with_change_func(changed, None))
        return fut

    def set_description(self, where, sdp_type, text):
        res, msg = GstSdp.SDPMessage.new_from_text(text)
        if res != GstSdp.SDPResult.OK:
            raise RuntimeError(f"cannot parse the SDP ({res})")
        kind = GstWebRTC.WebRTCSDPType.OFFER if sdp_type == "offer" else GstWebRTC.WebRTCSDPType.ANSWER
        desc = GstWebRTC.WebRTCSessionDescription.new(kind, msg)
        return self.promise(f"set-{where}-description", desc)

    def signaling_state(self):
        return self.webrtc.get_property("signaling-state")

    # ---- setup pieces

    @staticmethod
    def _codec_preferences(prefs):
        """`codec_preferences` ({"video": ["VP9"]}) as the codecs this adapter can encode, in
        order. webrtcbin does not transcode: the sender sends what its encoder makes, so a first
        preferred codec the adapter cannot encode fails the setup."""
        out = {}
        for kind, names in prefs.items():
            if kind not in ENCODABLE:
                raise RuntimeError(f"codec_preferences: '{kind}' is not a media kind")
            names = [str(n).upper() for n in names or []]
            if not names:
                continue
            if names[0] not in ENCODABLE[kind]:
                raise RuntimeError(f"codec_preferences: no {kind} encoder for {names[0]} here "
                                   f"(the adapter encodes {', '.join(ENCODABLE[kind])})")
            out[kind] = [n for n in names if n in ENCODABLE[kind]]
        return out

    def _ice_servers(self, servers, policy):
        """W3C RTCIceServer objects in webrtcbin's form: the first STUN URL as `stun-server`
        (stun://host:port: webrtcbin has one), every TURN URL through `add-turn-server` as
        turn(s)://user:credential@host:port[?transport=udp|tcp] (user and credential URL-escaped;
        webrtcbin hands the transport to libnice as a TURN UDP / TCP / TLS relay). The policy
        `relay` is webrtcbin's ice-transport-policy RELAY, which sets libnice's force-relay: the
        agent then gathers and checks relayed candidates only."""
        stun_set = False
        for server in servers:
            urls = server.get("urls") or server.get("url") or []
            if isinstance(urls, str):
                urls = [urls]
            for url in urls:
                m = re.match(r"(stuns?|turns?):([^?]+)(\?.*)?$", url)
                if not m:
                    log(f"ICE server URL not understood, left out: {url}")
                    continue
                scheme, hostport, query = m.group(1), m.group(2), m.group(3) or ""
                if scheme.startswith("stun"):
                    if not stun_set:
                        self.webrtc.set_property("stun-server", f"{scheme}://{hostport}")
                        stun_set = True
                    else:
                        log(f"webrtcbin has one STUN server, left out: {url}")
                else:
                    user = GLib.Uri.escape_string(server.get("username", ""), None, False)
                    cred = GLib.Uri.escape_string(server.get("credential", ""), None, False)
                    if not self.webrtc.emit("add-turn-server", f"{scheme}://{user}:{cred}@{hostport}{query}"):
                        log(f"webrtcbin refused the TURN server {url}")
        if policy is None or policy == "all":
            return
        if policy != "relay":
            raise RuntimeError(f"ice_transport_policy {policy!r} is neither 'all' nor 'relay'")
        self.webrtc.set_property("ice-transport-policy", GstWebRTC.WebRTCICETransportPolicy.RELAY)

    def connect_relay(self, on_ready):
        """Opens the relay WebSocket; on_ready(error or None)."""
        self.session = Soup.Session()
        self.cancel = Gio_cancellable()
        msg = Soup.Message.new("GET", self.cfg["signaling_url"])
        if msg is None:
            on_ready(f"bad signaling_url {self.cfg['signaling_url']!r}")
            return

        def connected(session, result, _data):
            try:
                ws = session.websocket_connect_finish(result)
            except GLib.Error as e:
                if not self.closed:
                    on_ready(f"cannot reach the relay at {self.cfg['signaling_url']}: {e.message}")
                return
            if self.closed:
                ws.close(Soup.WebsocketCloseCode.NORMAL, None)
                return
            ws.set_max_incoming_payload_size(0)
            self.ws = ws
            self.ws_handlers = [ws.connect("message", self._on_ws_message),
                                ws.connect("closed", self._on_ws_closed)]
            on_ready(None)

        self.session.websocket_connect_async(msg, None, None, GLib.PRIORITY_DEFAULT, self.cancel,
                                             connected, None)

    def _on_ws_message(self, _ws, kind, data):
        if kind != Soup.WebsocketDataType.TEXT:
            return
        text = data.get_data().decode("utf-8", "replace")
        try:
            msg = json.loads(text)
        except ValueError:
            self.event("error", context="relay", message=f"not JSON: {text[:200]}")
            return
        self.serial("signaling", self.on_message, msg)

    def _on_ws_closed(self, _ws):
        log("relay WebSocket closed")

    # ---- media

    def _make_track(self, kind, pattern):
        """The 'track': a live raw source (W3C MediaStreamTrack). replace_track swaps only this
        part; the sender (encoder, payloader) stays, as RTCRtpSender does (webrtc-pc 5.2)."""
        if kind == "video" and self.marker is not None:
            return self._marked_track()
        if kind == "video":
            desc = (f"videotestsrc is-live=true pattern={pattern} ! "
                    f"video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert")
        elif self.tone is not None:
            # The audio marker (docs/markers.md, "Audio"): the sender's tone at its amplitude.
            desc = (f"audiotestsrc is-live=true wave=sine freq={tone.frequency(self.tone)} volume={tone.AMPLITUDE} ! "
                    "audioconvert ! audioresample")
        else:
            freq = 440 if pattern == "ball" else 660
            desc = f"audiotestsrc is-live=true wave=sine freq={freq} ! audioconvert ! audioresample"
        return Gst.parse_bin_from_description(desc, True)

    def _marked_track(self):
        """A video track of 320x240 I420 frames made here, 30 a second, each with the frame
        marker (docs/markers.md) of the next source number over a moving bar; the frames are
        pushed into an appsrc until it refuses them (the track was replaced or the case closed)."""
        width, height = 320, 240
        bin_ = Gst.parse_bin_from_description(
            "appsrc name=src is-live=true format=time do-timestamp=true max-buffers=3 leaky-type=downstream "
            f"caps=video/x-raw,format=I420,width={width},height={height},framerate=30/1 ! videoconvert", True)
        src = bin_.get_by_name("src")
        painter = frame_marker.Painter(self.marker, self.sources, self._marker_report)
        self.painters.append(painter)
        self.sources += 1
        chroma = bytes([128]) * (width * height // 2)
        n = [0]

        def push():
            if self.closed or self.pc_closed:
                return False
            y = bytearray([112]) * (width * height)
            x0 = (n[0] * 4) % (width - 40)
            for line in range(70, height):
                y[line * width + x0 : line * width + x0 + 40] = b"\xc8" * 40
            painter.paint(y, width, height, width)
            n[0] += 1
            flow = src.emit("push-buffer", Gst.Buffer.new_wrapped(bytes(y) + chroma))
            return flow == Gst.FlowReturn.OK

        GLib.timeout_add(1000 // 30, push)
        return bin_

    def _marker_report(self, name, **fields):
        """A marker event, from any thread, on the case clock now; none after the close action."""
        self.post(lambda t: None if self.pc_closed else self.event(name, t, **fields), now_ms())

    def _make_sender(self, kind, pt, codec):
        # The payloader's SSRC is chosen here and written into the caps: webrtcbin writes a=ssrc
        # lines only from an "ssrc" field of the caps it reads, which an unnegotiated payloader
        # (an offer made at once, every answer) does not have yet. A peer that routes bundled RTP
        # by a=ssrc (webrtc-rs) otherwise drops all but one of our streams.
        ssrc = random.randint(1, 0xFFFFFFFF)
        if kind == "video":
            enc, pay = ENCODERS[codec]
            # I420: else videoconvert and vp9enc settle on Y444_12LE, i.e. VP9 profile 3, where
            # an SDP without profile-id means profile 0 (RFC 9628 section 6).
            desc = (f"queue max-size-buffers=3 leaky=downstream ! video/x-raw,format=I420 ! "
                    f"{enc} ! {pay} pt={pt} ssrc={ssrc} mtu=1200")
            caps = (f"application/x-rtp,media=video,encoding-name={codec},clock-rate=90000,"
                    f"payload={pt},ssrc=(uint){ssrc},rtcp-fb-nack-pli=(boolean)true")
        else:
            desc = (f"queue max-size-buffers=4 leaky=downstream ! opusenc ! "
                    f"rtpopuspay pt={pt} ssrc={ssrc}")
            # encoding-params=2: when webrtcbin builds an offer before rtpopuspay has set its
            # caps it reads these, and without it writes `a=rtpmap:111 OPUS/48000`, which RFC
            # 7587 section 7 forbids (Opus is always /2) and libwebrtc M106 refuses.
            caps = (f"application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,"
                    f"encoding-params=(string)2,payload={pt},ssrc=(uint){ssrc}")
        # The capsfilter makes the caps webrtcbin reads for the offer specific (payload, SSRC).
        desc += f' ! capsfilter caps="{caps}"'
        return Gst.parse_bin_from_description(desc, True), caps, ssrc

    def alloc_mline(self):
        """The m-line index a new transceiver will take in the next offer: after every m-line
        negotiated or in negotiation, and after the ones already handed out."""
        n = max(len(sdp_sections(self.local_sdp)), len(sdp_sections(self.remote_sdp)), self.next_mline)
        self.next_mline = n + 1
        return n

    def add_source(self, kind, mline, pt=None, codec=None):
        """Links a source of `kind` to the sink pad `sink_<mline>`: the transceiver of that m-line
        if there is one, else a new transceiver locked to that m-line. (An unnamed request would
        take webrtcbin's own counter, which collides with named pads: "sink_0 is not unique".)"""
        codec = codec or self.send_codec(kind)
        pt = pt or (VIDEO_PT if kind == "video" else AUDIO_PT)
        track = self._make_track(kind, "ball")
        sender, caps_text, ssrc = self._make_sender(kind, pt, codec)
        caps = Gst.Caps.from_string(caps_text)
        templ = self.webrtc.get_pad_template("sink_%u")
        name = f"sink_{mline}"
        sinkpad = self.webrtc.request_pad(templ, name, caps)
        if sinkpad is None:
            raise RuntimeError(f"webrtcbin refused a {kind} sink pad {name}")
        self.pipeline.add(sender)
        self.pipeline.add(track)
        if (sender.get_static_pad("src").link(sinkpad) != Gst.PadLinkReturn.OK
                or track.get_static_pad("src").link(sender.get_static_pad("sink")) != Gst.PadLinkReturn.OK):
            raise RuntimeError(f"cannot link the {kind} source")
        sender.sync_state_with_parent()
        track.sync_state_with_parent()
        trans = sinkpad.get_property("transceiver")
        if trans is not None:
            self.my_transceivers.append(trans)
            if kind in self.codec_prefs:
                # setCodecPreferences (webrtc-pc 5.4) is webrtcbin's codec-preferences; webrtcbin
                # intersects it with the sink pad's caps, so the m-line carries the codec this
                # sender encodes: the first preferred one the adapter has (see send_codec).
                trans.set_property("codec-preferences", caps)
        self.outgoing.append({"kind": kind, "mline": mline, "trans": trans, "track": track,
                              "sender": sender, "ssrc": ssrc, "codec": codec, "patterns": 0})
        self.sending_mlines.add(mline)
        self.has_local = True
        log(f"sending {kind} {codec} pt {pt} on {sinkpad.get_name()}")

    def send_codec(self, kind, offered=None):
        """The codec a new sender of `kind` encodes: the first of the codec preferences the
        adapter can encode (else VP8 / Opus), restricted to those of the offered m-section when
        answering (without preferences: VP8 if offered, else another codec the adapter encodes)."""
        order = self.codec_prefs.get(kind)
        if not order:
            order = DEFAULT_CODECS[kind] + [c for c in ENCODABLE[kind] if c not in DEFAULT_CODECS[kind]]
        if offered is None:
            return order[0]
        for c in order:
            if c in offered:
                return c
        return None

    def transceivers(self):
        out, i = [], 0
        while True:
            t = self.webrtc.emit("get-transceiver", i)
            if t is None:
                return out
            out.append(t)
            i += 1

    def attach_media(self, kinds, offer_text=None):
        """The agent's attachMedia. With a remote offer in force, each kind goes onto the offered
        m-line of that kind (answerer), with the payload type the offer uses for the codec sent."""
        sections = sdp_sections(offer_text) if offer_text else []
        for kind in kinds:
            idx, pt, codec = None, None, None
            for i, s in enumerate(sections):
                c = self.send_codec(kind, s["codecs"])
                if (s["kind"] == kind and (s["port"] != 0 or s["bundle_only"])
                        and i not in self.sending_mlines and c is not None):
                    idx, pt, codec = i, s["codecs"][c], c
                    break
            if idx is not None:
                for t in self.transceivers():
                    if t.get_property("mlineindex") == idx and t.get_property("direction") in (
                            Dir.RECVONLY, Dir.INACTIVE):
                        t.set_property("direction", Dir.SENDRECV)
            self.add_source(kind, idx if idx is not None else self.alloc_mline(), pt, codec)

    def _recvonly_for_foreign_transceivers(self):
        """Transceivers webrtcbin made from a remote offer copy its direction; we do not send on
        them, so they are recvonly, as a browser's would be."""
        mine = {hash(t) for t in self.my_transceivers}
        for t in self.transceivers():
            if hash(t) in mine:
                continue
            if t.get_property("direction") in (Dir.SENDRECV, Dir.SENDONLY):
                t.set_property("direction", Dir.RECVONLY)

    def _on_pad_added(self, _webrtc, pad):
        # webrtcbin's thread: build and link the receive branch right here, before data flows.
        if pad.get_direction() != Gst.PadDirection.SRC or self.closed:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        kind = s.get_string("media") or "unknown"
        enc = (s.get_string("encoding-name") or "").upper()
        t = now_ms()
        ok, ssrc = s.get_uint("ssrc")
        if ok:
            self.rx_kinds[ssrc] = kind
            if enc:
                self.rx_codecs[ssrc] = f"{kind}/{enc}"
        log(f"pad-added {pad.get_name()} {kind} {enc} ssrc {ssrc if ok else '?'}")
        self.post(self.event, "track", t, kind=kind)
        if kind == "audio":
            self._count_audio(pad)
            if self.tone is not None and enc == "OPUS":
                # The audio marker: the decoded stream, mono 16-bit, classified in a pad probe.
                branch = Gst.parse_bin_from_description(
                    "queue ! rtpopusdepay ! opusdec ! audioconvert ! audio/x-raw,format=S16LE,channels=1 ! "
                    "fakesink name=ears sync=false async=false", True)
                self._listen(branch.get_by_name("ears").get_static_pad("sink"))
            else:
                branch = Gst.parse_bin_from_description("fakesink sync=false async=false", True)
        elif kind == "video":
            if enc == "VP8":
                branch = Gst.parse_bin_from_description(
                    "queue ! rtpvp8depay request-keyframe=true wait-for-keyframe=true ! vp8dec ! "
                    "fakesink name=frames sync=false async=false", True)
                self._count_video(branch.get_by_name("frames").get_static_pad("sink"))
            else:
                branch = Gst.Bin.new(None)
                dec = Gst.ElementFactory.make("decodebin")
                branch.add(dec)
                branch.add_pad(Gst.GhostPad.new("sink", dec.get_static_pad("sink")))
                dec.connect("pad-added", self._on_decoded_pad, branch)
        else:
            branch = Gst.parse_bin_from_description("fakesink sync=false async=false", True)
        self.pipeline.add(branch)
        branch.sync_state_with_parent()
        pad.link(branch.get_static_pad("sink"))

    def _on_decoded_pad(self, _dec, pad, branch):
        caps = pad.get_current_caps() or pad.query_caps(None)
        if not caps.get_structure(0).get_name().startswith("video/"):
            return
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        sink.set_property("async", False)
        branch.add(sink)
        sink.sync_state_with_parent()
        self._count_video(sink.get_static_pad("sink"))
        pad.link(sink.get_static_pad("sink"))

    def _count_video(self, pad):
        record = None
        if self.marker is not None:
            record = frame_marker.Record(self._marker_report)
            self.marker_records.append(record)

        def probe(pad, info):
            n = self.video_frames.add()
            t = now_ms()
            if record is not None:
                record.frame(self._read_marker(pad, info.get_buffer()))
            if n == 1:
                caps = pad.get_current_caps()
                s = caps.get_structure(0) if caps else None
                w = s.get_int("width")[1] if s else 0
                h = s.get_int("height")[1] if s else 0
                self.post(self.event, "first_frame", t, kind="video", width=w, height=h)
            for mark in progress_marks("video", n - 1, n):
                self.post(self.event, "media_progress", t, kind="video", count=mark)
            return Gst.PadProbeReturn.OK

        pad.add_probe(Gst.PadProbeType.BUFFER, probe)

    def _read_marker(self, pad, buffer):
        """The frame marker of a decoded I420 frame (its Y plane's rows are the width rounded up to
        4 bytes, GStreamer's default stride), or None."""
        caps = pad.get_current_caps()
        s = caps.get_structure(0) if caps else None
        if s is None or buffer is None:
            return None
        w, h = s.get_int("width")[1], s.get_int("height")[1]
        ok, info = buffer.map(Gst.MapFlags.READ)
        if not ok:
            return None
        try:
            return frame_marker.read(bytes(info.data), w, h, (w + 3) & ~3)
        finally:
            buffer.unmap(info)

    def _listen(self, pad):
        """Classify the decoded audio reaching `pad` (the audio marker's Listener), on the
        streaming thread; the listener's lock keeps a flush for a stats collection apart."""
        ears = tone.Listener(self._marker_report)
        self.listeners.append(ears)

        def probe(pad, info):
            buffer = info.get_buffer()
            caps = pad.get_current_caps()
            if buffer is None or caps is None:
                return Gst.PadProbeReturn.OK
            rate = caps.get_structure(0).get_int("rate")[1]
            ok, mapped = buffer.map(Gst.MapFlags.READ)
            if ok:
                try:
                    ears.samples(tone.np.frombuffer(bytes(mapped.data), dtype="<i2"), rate)
                finally:
                    buffer.unmap(mapped)
            return Gst.PadProbeReturn.OK

        pad.add_probe(Gst.PadProbeType.BUFFER, probe)

    def _count_audio(self, pad):
        counter = [0]

        def probe(pad, info):
            n0 = counter[0]
            if info.type & Gst.PadProbeType.BUFFER_LIST:
                lst = info.get_buffer_list()
                counter[0] += lst.length() if lst else 0
            else:
                counter[0] += 1
            t = now_ms()
            if n0 == 0 and counter[0] > 0:
                self.post(self.event, "first_packet", t, kind="audio")
            for mark in progress_marks("audio", n0, counter[0]):
                self.post(self.event, "media_progress", t, kind="audio", count=mark)
            return Gst.PadProbeReturn.OK

        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, probe)

    def _on_deep_element(self, _bin, _sub, element):
        factory = element.get_factory()
        if self.cert_pem and factory is not None and factory.get_name() == "dtlssrtpdec":
            # webrtcbin computes its a=fingerprint over every base64 line of this PEM, the key's
            # too, so the offers and answers get the certificate's own fingerprint instead.
            element.set_property("pem", self.cert_pem)

    def _on_bus(self, _bus, message):
        if message.type == Gst.MessageType.ERROR:
            err, dbg = message.parse_error()
            log("pipeline error:", err.message, dbg)
            self.post(self.event, "error", None, context="gstreamer", message=err.message)
        elif message.type == Gst.MessageType.WARNING:
            err, dbg = message.parse_warning()
            log("pipeline warning:", err.message)

    # ---- data channels

    def watch_channel(self, ch, mine):
        """Connects the channel's signals. Runs on webrtcbin's thread for a remote channel: its
        first message may follow at once, so the handlers are connected there, not later."""
        label = ch.get_property("label")
        state = {"opened": False, "closed": False}

        def on_open(t=None):
            if state["opened"]:
                return
            state["opened"] = True
            # The options as webrtcbin reports them on this side (for a remote channel: from its
            # DCEP DATA_CHANNEL_OPEN, RFC 8832 section 5.1); -1 is webrtcbin's "unset".
            def opt(name):
                v = ch.get_property(name)
                return None if v is None or v < 0 else v
            self.event("data_channel_open", t, label=label, id=opt("id"),
                       protocol=ch.get_property("protocol") or "",
                       ordered=bool(ch.get_property("ordered")),
                       maxRetransmits=opt("max-retransmits"),
                       maxPacketLifeTime=opt("max-packet-lifetime"),
                       negotiated=bool(ch.get_property("negotiated")))
            spec = next((c for c in self.cfg.get("data_channels") or [] if c.get("label") == label),
                        None) if mine else None
            if spec and spec.get("send"):
                ch.emit("send-string", spec["send"])

        def on_string(_ch, text, t):
            self.event("data_channel_message", t, label=label, data=text)
            if self.cfg.get("echo") and not mine:
                ch.emit("send-string", text)

        def on_data(_ch, data, t):
            raw = data.get_data() if data is not None else b""
            self.event("data_channel_message", t, label=label, size=len(raw),
                       intact=binary_intact(raw))
            if self.cfg.get("echo") and not mine:
                ch.emit("send-data", data)

        def on_close(t):
            if state["closed"]:
                return
            state["closed"] = True
            self.event("data_channel_close", t, label=label)

        def registered():
            self.channels[label] = ch
            if ch.get_property("ready-state") == GstWebRTC.WebRTCDataChannelState.OPEN:
                on_open()

        for sig, fn in (("on-open", lambda *a: self.post(on_open, now_ms())),
                        ("on-message-string", lambda c, s: self.post(on_string, c, s, now_ms())),
                        ("on-message-data", lambda c, d: self.post(on_data, c, d, now_ms())),
                        ("on-close", lambda *a: self.post(on_close, now_ms()))):
            self.channel_handlers.append((ch, ch.connect(sig, fn)))
        self.post(registered)

    def create_channel(self, spec):
        """createDataChannel with the RTCDataChannelInit of a data_channels item (W3C names, as
        the config carries them) in webrtcbin's option names (absent: webrtcbin's default)."""
        if isinstance(spec, str):
            spec = {"label": spec}
        opts = Gst.Structure.new_empty("options")
        for w3c, gst in (("ordered", "ordered"), ("maxRetransmits", "max-retransmits"),
                         ("maxPacketLifeTime", "max-packet-lifetime"), ("negotiated", "negotiated"),
                         ("id", "id"), ("protocol", "protocol")):
            v = spec.get(w3c)
            if v is None:
                continue
            if isinstance(v, bool):
                opts.set_value(gst, v)
            elif isinstance(v, int):
                # gst_structure_get_int: a G_TYPE_INT field (a Python int would be a gint64)
                val = GObject.Value(GObject.TYPE_INT)
                val.set_int(v)
                opts.set_value(gst, val)
            else:
                opts.set_value(gst, str(v))
        ch = self.webrtc.emit("create-data-channel", spec["label"], opts)
        if ch is None:
            raise RuntimeError(f"webrtcbin refused data channel {spec['label']!r} ({spec})")
        self.has_local = True
        self.watch_channel(ch, True)

    def send_binary(self, label, size):
        """send_message with `size`: one binary message (byte i = i % 251). webrtcbin's send-data
        ignores errors; send_data_full raises its GError, which is the refusal (webrtc-pc 6.2:
        TypeError over the remote's maximum message size)."""
        ch = self.channels.get(label)
        if ch is None:
            raise RuntimeError(f"no data channel '{label}'")
        if not isinstance(size, int) or size < 0:
            raise RuntimeError(f"send_message: size {size!r} is not a byte count")
        try:
            ch.send_data_full(GLib.Bytes.new(binary_payload(size)))
        except GLib.Error as e:
            name = "TypeError" if e.code == int(GstWebRTC.WebRTCError.TYPE_ERROR) else e.domain
            raise RuntimeError(f"{name}: {e.message}") from None

    def _on_data_channel(self, _webrtc, ch):
        if not self.closed:
            self.watch_channel(ch, False)

    # ---- negotiation

    def _on_negotiation_needed(self, _webrtc):
        self.post(self._negotiation_needed, now_ms())

    def _negotiation_needed(self, t):
        if not self.has_local or self.pc_closed:
            # The READY-time signal with nothing to negotiate (see the header).
            log("negotiation-needed with nothing of ours to negotiate: ignored")
            return
        self.event("negotiation_needed", t)
        if self.cfg.get("auto_negotiate"):
            self.request_offer("negotiationneeded offer")

    def request_offer(self, what):
        if self.offer_pending:
            return
        self.offer_pending = True
        self.serial(what, self.offer, True)

    def offer(self, auto):
        try:
            if self.pc_closed:
                raise RuntimeError("the peer connection is closed")
            if auto and self.signaling_state() != GstWebRTC.WebRTCSignalingState.STABLE:
                log("offer skipped: signaling state is not stable")
                return
            self.event("create_offer")
            text = yield self.promise("create-offer", None, field="offer")
            text = with_fingerprint(text, self.fingerprint)
            yield self.set_description("local", "offer", text)
        finally:
            if auto:
                self.offer_pending = False
        self.local_sdp = text
        yield from self.send_local("offer", text)

    def send_local(self, sdp_type, text):
        self.event("local_description", sdp_type=sdp_type, sdp=text)
        if not self.cfg.get("trickle", True):
            yield self.gathering_complete()
            desc = self.webrtc.get_property("local-description")
            if desc is not None:
                text = desc.sdp.as_text()
        self.send({"desc": {"type": sdp_type, "sdp": text}})

    def gathering_complete(self):
        fut = Future()
        if self.webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            fut.resolve()
            return fut
        self.gather_waiters.append(fut)

        def timeout():
            self.timers.remove(tid)
            if fut in self.gather_waiters:
                log("ICE gathering did not complete in time; sending what there is")
                self.gather_waiters.remove(fut)
                fut.resolve()
            return False

        tid = GLib.timeout_add(GATHER_TIMEOUT_MS, timeout)
        self.timers.append(tid)
        return fut

    def on_message(self, msg):
        if msg.get("desc"):
            d = msg["desc"]
            sdp_type, text = d.get("type"), d.get("sdp", "")
            if sdp_type not in ("offer", "answer"):
                raise RuntimeError(f"unsupported description type {sdp_type!r}")
            if self.pc_closed:
                raise RuntimeError("the peer connection is closed")
            if self.polite is not None:
                # webrtc-pc 10.7. Our offers and remote messages run on one serial queue, so an
                # offer of ours is always sent by now: a collision shows as have-local-offer.
                collision = (sdp_type == "offer"
                             and self.signaling_state() != GstWebRTC.WebRTCSignalingState.STABLE)
                self.ignore_offer = not self.polite and collision
                if self.ignore_offer:
                    self.event("offer_ignored")
                    return
                if collision:
                    # webrtcbin 1.22 does no implicit rollback (a remote offer in
                    # have-local-offer is refused) and refuses an explicit one (see rollback()):
                    # the polite side cannot give way, and says so.
                    try:
                        yield from self.rollback()
                    except Exception as e:
                        raise RuntimeError(f"perfect negotiation (polite): cannot roll back the local "
                                           f"offer to apply the colliding one: {e}") from None
            yield self.set_description("remote", sdp_type, text)
            self.remote_sdp = text
            self.event("remote_description", sdp_type=sdp_type, sdp=text)
            if sdp_type != "offer":
                return
            if not self.started:
                # The seed's answerer attaches its media when the offer arrives, and creates its
                # negotiated data channels (the other side announces none, RFC 8832 section 1).
                self.started = True
                self.attach_media(self.cfg.get("media") or [], text)
                for c in self.cfg.get("data_channels") or []:
                    if c.get("negotiated"):
                        self.create_channel(c)
            self._recvonly_for_foreign_transceivers()
            answer = yield self.promise("create-answer", None, field="answer")
            answer = with_fingerprint(answer, self.fingerprint)
            yield self.set_description("local", "answer", answer)
            self.local_sdp = answer
            yield from self.send_local("answer", answer)
        elif "candidate" in msg:
            c = msg["candidate"]
            if self.pc_closed:
                raise RuntimeError("the peer connection is closed")
            if self.ignore_offer and not self.remote_sdp:
                # A candidate of an offer this impolite peer ignored (webrtc-pc 10.7: W3C's
                # addIceCandidate fails without a remote description and the error is dropped;
                # webrtcbin would keep it for whatever description comes next).
                log("candidate of an ignored offer dropped:", json.dumps(c))
                return
            if c and c.get("candidate"):
                line = c["candidate"]
                if line.startswith("a="):
                    line = line[2:]
                self.webrtc.emit("add-ice-candidate", self._mline_of(c), line)
                self.event("remote_candidate", candidate=c["candidate"])
            else:
                # End of candidates: an empty candidate is libnice's "peer gathering done".
                self.webrtc.emit("add-ice-candidate", self._mline_of(c or {}), "")
                self.event("remote_candidate", candidate="")
        elif msg.get("error") is not None:
            self.event("error", context="relay", message=json.dumps(msg["error"]))
        return
        yield  # a generator, even when nothing is awaited

    def rollback(self):
        """setLocalDescription({type: 'rollback'}) (RFC 8829 section 4.1.10.2). webrtcbin 1.22
        refuses it in every state: webrtcsdp.c _check_valid_state_for_sdp_change has no case for
        GST_WEBRTC_SDP_TYPE_ROLLBACK ("Not in the correct state (have-local-offer) for setting
        local rollback description"); the error is answered as is."""
        res, empty = GstSdp.SDPMessage.new()
        if res != GstSdp.SDPResult.OK:
            raise RuntimeError(f"cannot make an empty SDP ({res})")
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ROLLBACK, empty)
        try:
            yield self.promise("set-local-description", desc)
        except Exception as e:
            raise RuntimeError(f"webrtcbin {gst_version()} refuses the rollback: {e}") from None
        self.event("rollback", implicit=False)

    def _mline_of(self, c):
        idx = c.get("sdpMLineIndex")
        if isinstance(idx, int) and idx >= 0:
            return idx
        mid = c.get("sdpMid")
        mids = [s["mid"] for s in sdp_sections(self.remote_sdp)]
        if mid is not None and mid in mids:
            return mids.index(mid)
        return 0

    def _on_ice_candidate(self, _webrtc, mline, candidate):
        self.post(self._local_candidate, mline, candidate, now_ms())

    def _local_candidate(self, mline, candidate, t):
        if candidate.startswith("a="):
            candidate = candidate[2:]
        self.event("local_candidate", t, candidate=candidate)
        if self.cfg.get("trickle", True):
            # sdpMid and usernameFragment (RTCIceCandidate.toJSON) from our description in force.
            sections = sdp_sections(self.local_sdp)
            sec = sections[mline] if mline < len(sections) else {}
            msg = {"candidate": candidate, "sdpMid": sec.get("mid") or str(mline), "sdpMLineIndex": mline}
            if sec.get("ufrag"):
                msg["usernameFragment"] = sec["ufrag"]
            self.send({"candidate": msg})

    def _on_state(self, webrtc, _pspec, prop, name, table):
        value = webrtc.get_property(prop)
        self.post(self._state, prop, name, table, value, now_ms())

    def _state(self, prop, name, table, value, t):
        state = table.get(value)
        if state is None:
            log(f"unmapped {prop} value {value!r}")
            return
        if self.last_state.get(prop) == state:
            return
        self.last_state[prop] = state
        self.event(name, t, state=state)
        if prop == "ice-gathering-state" and state == "complete":
            # webrtcbin 1.22 can report `complete` before it emits its last candidate (seen in
            # CI: the relayed candidate 0-1 ms after the state, so the peer got end-of-candidates
            # first, which RFC 8838 section 4.4 forbids, and aiortc's ICE failed with no remote
            # candidate). The two come from different webrtcbin tasks; a candidate still on its
            # way is posted to the loop within this settle time, so it goes out first.
            if self.eoc_timer is not None:
                return  # one end of candidates per settle time

            def done():
                self.timers.remove(self.eoc_timer)
                self.eoc_timer = None
                self._gathering_done()
                return False

            self.eoc_timer = GLib.timeout_add(END_OF_CANDIDATES_SETTLE_MS, done)
            self.timers.append(self.eoc_timer)

    def _gathering_done(self):
        """End of candidates, once gathering is complete and has settled (see _state)."""
        if self.closed or self.last_state.get("ice-gathering-state") != "complete":
            return
        self.event("end_of_candidates", now_ms(), form="null")
        if self.cfg.get("trickle", True):
            self.send({"candidate": None})
        waiters, self.gather_waiters = self.gather_waiters, []
        for fut in waiters:
            fut.resolve()

    # ---- actions

    def perform(self, action):
        """Returns None (done now) or a Future."""
        kind = action.get("type")
        if self.pc_closed and kind != "close":
            raise RuntimeError("the peer connection is closed")
        if kind == "start":
            self.started = True
            self.attach_media(self.cfg.get("media") or [])
            for c in self.cfg.get("data_channels") or []:
                self.create_channel(c)
            self._kick()
        elif kind == "add_track":
            self.attach_media([action["kind"]])
            self._kick()
        elif kind == "create_data_channel":
            self.create_channel(action["label"])
            self._kick()
        elif kind == "send_offer":
            fut = Future()
            self.queue.append(("send_offer", self._offer_then, (fut,)))
            if not self.busy:
                self._next()
            return fut
        elif kind == "restart_ice":
            raise RuntimeError("webrtcbin 1.22 has no ICE restart (it reuses the ICE credentials)")
        elif kind == "send_message":
            if action.get("size") is not None:
                self.send_binary(action.get("label"), action["size"])
                return None
            ch = self.channels.get(action.get("label"))
            if ch is None:
                raise RuntimeError(f"no data channel '{action.get('label')}'")
            try:
                ch.send_string_full(action.get("text", ""))
            except GLib.Error as e:
                raise RuntimeError(e.message) from None
        elif kind == "close_channel":
            ch = self.channels.get(action.get("label"))
            if ch is None:
                raise RuntimeError(f"no data channel '{action.get('label')}'")
            # RTCDataChannel.close() (webrtc-pc 6.2): webrtcbin resets the outgoing SCTP stream
            # (RFC 8831 section 6.7); on-close follows on both sides.
            ch.close()
        elif kind == "rollback":
            fut = Future()
            self.serial("rollback", self._task_then, self.rollback, fut)
            return fut
        elif kind == "set_direction":
            self.set_direction(action.get("kind"), action.get("direction"))
        elif kind == "remove_track":
            self.remove_track(action.get("kind"))
        elif kind == "replace_track":
            return self.replace_track(action.get("kind"))
        elif kind == "stall_video":
            frame_marker.stall_painters(self.painters, action)
        elif kind == "close":
            self.close_pc()
        else:
            raise RuntimeError(f"unknown action {json.dumps(action)}")
        return None

    def _task_then(self, genfn, fut):
        """A serial task whose outcome is an action's answer (its error is the answer's, not an
        error event)."""
        try:
            yield from genfn()
        except Exception as e:  # noqa: BLE001
            fut.reject(e)
            return
        fut.resolve()

    # ---- transceivers

    def _outgoing_of(self, kind):
        out = next((o for o in self.outgoing if o["kind"] == kind and o["track"] is not None), None)
        if out is None:
            raise RuntimeError(f"no {kind} sender with a track")
        return out

    def _transceiver_of(self, kind):
        """The first transceiver of a kind: ours (we send on it), else one webrtcbin made from a
        remote offer (by its kind, or its m-line's kind in the descriptions)."""
        for o in self.outgoing:
            if o["kind"] == kind and o["trans"] is not None:
                return o["trans"]
        sections = sdp_sections(self.remote_sdp or self.local_sdp)
        want = GstWebRTC.WebRTCKind.VIDEO if kind == "video" else GstWebRTC.WebRTCKind.AUDIO
        for t in self.transceivers():
            idx = t.get_property("mlineindex")
            if t.get_property("kind") == want or (0 <= idx < len(sections) and sections[idx]["kind"] == kind):
                return t
        raise RuntimeError(f"no {kind} transceiver")

    def _renegotiate(self):
        """webrtc-pc 5.4 (direction setter) and 5.1 (removeTrack) end by updating the
        negotiation-needed flag; webrtcbin 1.22 re-checks it only on sink pad caps, data channel
        creation and descriptions (gstwebrtcbin.c _update_need_negotiation), never for a
        direction change, so no negotiation-needed comes: an auto peer offers here, as on start."""
        if self.cfg.get("auto_negotiate"):
            self.request_offer("negotiationneeded offer")

    def set_direction(self, kind, direction):
        value = DIRECTIONS.get(direction)
        if value is None:
            raise RuntimeError(f"TypeError: '{direction}' is not a valid RTCRtpTransceiverDirection")
        t = self._transceiver_of(kind)
        if t.get_property("direction") == value:
            return
        t.set_property("direction", value)
        self._renegotiate()

    def _swap_track(self, out, new, on_done):
        """Takes the track (raw source bin) off the sender once no buffer is in flight on its
        pad, and links `new` (or nothing) in its place; on_done() on the main loop."""
        old = out["track"]
        srcpad = old.get_static_pad("src")
        sinkpad = srcpad.get_peer()
        if new is not None:
            self.pipeline.add(new)
        done = [False]

        def idle(pad, _info):
            if done[0]:
                return Gst.PadProbeReturn.REMOVE
            done[0] = True
            if sinkpad is not None:
                pad.unlink(sinkpad)
                if new is not None:
                    new.get_static_pad("src").link(sinkpad)

            def finish():
                if new is not None:
                    new.sync_state_with_parent()
                old.set_state(Gst.State.NULL)
                self.pipeline.remove(old)
                on_done()

            self.post(finish)
            return Gst.PadProbeReturn.REMOVE

        out["track"] = new
        srcpad.add_probe(Gst.PadProbeType.IDLE, idle)

    def remove_track(self, kind):
        """removeTrack (webrtc-pc 5.1), which webrtcbin does not have: the sender's track goes
        (its source is unlinked and stopped), the transceiver's direction loses 'send'
        (sendrecv -> recvonly, sendonly -> inactive), and negotiation is needed."""
        out = self._outgoing_of(kind)
        self._swap_track(out, None, lambda: log(f"{kind} track removed"))
        t = out["trans"]
        if t is not None:
            d = t.get_property("direction")
            if d == Dir.SENDRECV:
                t.set_property("direction", Dir.RECVONLY)
            elif d == Dir.SENDONLY:
                t.set_property("direction", Dir.INACTIVE)
        self._renegotiate()

    def replace_track(self, kind):
        """replaceTrack (webrtc-pc 5.2), which webrtcbin does not have: a new source of the same
        kind (another test pattern) is linked to the same encoder and payloader, so the RTP stream
        (SSRC, sequence numbers, timestamps) goes on; no renegotiation."""
        out = self._outgoing_of(kind)
        out["patterns"] += 1
        new = self._make_track(kind, ["smpte", "snow", "ball"][(out["patterns"] - 1) % 3])
        fut = Future()

        def swapped():
            self.event("track_replaced", kind=kind)
            fut.resolve()

        self._swap_track(out, new, swapped)
        return fut

    def _offer_then(self, fut):
        try:
            yield from self.offer(False)
        except Exception as e:
            fut.reject(e)
            raise
        fut.resolve()

    def _kick(self):
        # webrtcbin's negotiation-needed flag may be stuck from READY (see the header).
        if self.cfg.get("auto_negotiate") and self.has_local:
            self.request_offer("negotiationneeded offer")

    def collect_stats(self):
        fut = Future()
        if self.pc_closed:
            fut.reject("the peer connection is closed")
            return fut

        def changed(promise, *_data):
            reply = promise.get_reply()
            entries = {}
            if reply is not None:
                def each(field_id, value, *_d):
                    if isinstance(value, Gst.Structure):
                        entries[GLib.quark_to_string(field_id)] = _structure_dict(value)
                    return True

                reply.foreach(each, None)
            GLib.idle_add(lambda: fut.resolve(entries) and False)

        self.webrtc.emit("get-stats", None, Gst.Promise.new_with_change_func(changed, None))
        return fut

    def stats_summary(self, entries):
        """webrtcbin's stats, in the agent page's summary. With BUNDLE, webrtcbin 1.22 gives every
        RTP stream the "kind" and "codec-id" of one pad, so the kind is found by SSRC: ours from
        the encoder codec stats (ssrc + mime-type), the peer's from the caps of webrtcbin's src
        pads or the a=ssrc lines of its SDP."""
        summary = {"inbound_rtp": [], "outbound_rtp": [], "candidate_pair": None}
        kinds = dict(self.rx_kinds)
        for sec in sdp_sections(self.remote_sdp):
            for ssrc in sec["ssrcs"]:
                kinds.setdefault(ssrc, sec["kind"])
        for e in entries.values():
            mime = e.get("mime-type") or ""
            if e.get("type") == "codec" and "ssrc" in e and "/" in mime:
                kinds[e["ssrc"]] = mime.split("/")[0].lower()

        def kind_of(e):
            return kinds.get(e.get("ssrc"), e.get("kind"))

        def pick(e, names):
            return {w3c: e[gst] for gst, w3c in names if e.get(gst) is not None}

        for e in entries.values():
            typ = e.get("type")
            if typ == "inbound-rtp":
                kind = kind_of(e)
                item = {"kind": kind, "packetsReceived": e.get("packets-received", 0)}
                # codec: the encoding-name of the caps webrtcbin gave the stream's src pad (its
                # codec-id is one pad's for every bundled stream, see above)
                if self.rx_codecs.get(e.get("ssrc")):
                    item["codec"] = self.rx_codecs[e["ssrc"]]
                # webrtcbin's rtpsource figures; its jitter is already in seconds
                item.update(pick(e, (("packets-lost", "packetsLost"), ("jitter", "jitter"), ("bytes-received", "bytesReceived"))))
                if kind == "video":
                    # counted at our decoder's output (vp8dec in this pipeline): webrtcbin does not decode
                    item["framesDecoded"] = self.video_frames.decoded
                    item["framesPerSecond"] = self.video_frames.per_second()
                summary["inbound_rtp"].append(item)
            elif typ == "outbound-rtp":
                item = {"kind": kind_of(e), "packetsSent": e.get("packets-sent", 0)}
                codec = next((f"{o['kind']}/{o['codec']}" for o in self.outgoing if o["ssrc"] == e.get("ssrc")), None)
                if codec:
                    item["codec"] = codec
                item.update(pick(e, (("bytes-sent", "bytesSent"),)))
                summary["outbound_rtp"].append(item)
            elif typ == "transport" and e.get("selected-candidate-pair-id"):
                # webrtcbin 1.22's candidate-pair entry has only the two candidate ids (no RTT, no
                # bitrate); its candidate entries carry swapped "type" fields (local-candidate /
                # remote-candidate), so the ids are what is followed.
                pair = entries.get(e["selected-candidate-pair-id"]) or {}
                local = entries.get(pair.get("local-candidate-id")) or {}
                remote = entries.get(pair.get("remote-candidate-id")) or {}
                if local and remote:
                    summary["candidate_pair"] = {
                        "local": f"{local.get('candidate-type')}/{local.get('protocol')}",
                        "remote": f"{remote.get('candidate-type')}/{remote.get('protocol')}",
                    }
        return summary

    # ---- teardown

    def close_pc(self):
        """The action `close`: the peer connection goes away, the case goes on."""
        if self.pc_closed:
            return
        self.pc_closed = True
        self.pipeline.set_state(Gst.State.NULL)
        # close() fires no state events (webrtc-pc 4.4.1.7): the states as webrtcbin reads them
        # once stopped (it has no close(); NULL is the closest).
        for prop, name, table in STATE_PROPS:
            if prop in ("connection-state", "signaling-state"):
                state = table.get(self.webrtc.get_property(prop))
                if state is not None:
                    self.last_state[prop] = state
                    self.event(name, state=state)

    def close(self):
        """The protocol `close`: release everything of the case."""
        self.closed = True
        self.queue.clear()
        for tid in self.timers:
            GLib.source_remove(tid)
        self.timers = []
        self.eoc_timer = None
        if self.cancel is not None:
            self.cancel.cancel()
        if self.ws is not None:
            for h in self.ws_handlers:
                self.ws.disconnect(h)
            if self.ws.get_state() == Soup.WebsocketState.OPEN:
                self.ws.close(Soup.WebsocketCloseCode.NORMAL, None)
            self.ws = None
        self.session = None
        for obj, h in self.channel_handlers:
            obj.disconnect(h)
        self.channel_handlers = []
        self.channels.clear()
        self.pipeline.set_state(Gst.State.NULL)
        for obj, h in self.handlers:
            obj.disconnect(h)
        self.handlers = []
        self.pipeline.disconnect(self.deep_handler)
        bus = self.pipeline.get_bus()
        bus.disconnect(self.bus_handler)
        bus.remove_signal_watch()
        self.my_transceivers = []
        self.outgoing = []
        self.webrtc = None
        self.pipeline = None


def Gio_cancellable():
    from gi.repository import Gio

    return Gio.Cancellable()


def _structure_dict(s):
    out = {}

    def each(field_id, value, *_d):
        name = GLib.quark_to_string(field_id)
        if name == "type":
            out["type"] = getattr(value, "value_nick", str(value))
        elif isinstance(value, (str, int, float, bool)):
            out[name] = value
        return True

    s.foreach(each, None)
    return out


# ---------------------------------------------------------------- the floor (bench)

FLOOR_ITERATION_TIMEOUT_MS = 15000


class FloorLink:
    """One side's in-memory link to the other side of a floor pair: its signaling messages are
    queued on the other case as relay messages would be, its events go to the floor runner."""

    def __init__(self, floor, role):
        self.floor = floor
        self.role = role
        self.peer = None  # the other side's Case

    def signal(self, msg):
        peer = self.peer

        def deliver():
            if not peer.closed:
                peer.serial("signaling", peer.on_message, msg)
            return False

        GLib.idle_add(deliver)  # asynchronous, in order, like a message off the WebSocket

    def event(self, etype, t, fields):
        self.floor.on_event(self.role, etype, t, fields)


class Floor:
    """The protocol's `floor` request: `iterations` times, a fresh offerer (video, as in a case) and
    answerer in this process, timed from just before create-offer to the answerer's first_frame."""

    def __init__(self, app, ident, iterations, on_end):
        self.app = app
        self.ident = ident
        self.iterations = iterations
        self.on_end = on_end
        self.times = []
        self.pair = None  # (offerer, answerer) of the running iteration
        self.t0 = None
        self.timer = None
        self.finished = False

    def start(self):
        GLib.idle_add(lambda: self._iteration() and False)

    def _iteration(self):
        if self.finished:
            return
        if len(self.times) >= self.iterations:
            self._end(None)
            return
        try:
            links = (FloorLink(self, "offerer"), FloorLink(self, "answerer"))
            offerer = Case(self.app, {"media": ["video"], "trickle": True}, self.app.cert_pem, links[0])
            answerer = Case(self.app, {"media": [], "trickle": True}, self.app.cert_pem, links[1])
            links[0].peer, links[1].peer = answerer, offerer
            self.pair = (offerer, answerer)
            offerer.started = True
            offerer.attach_media(["video"])
        except Exception as e:  # noqa: BLE001
            self._end(f"iteration {len(self.times) + 1}: {e}")
            return
        self.timer = GLib.timeout_add(FLOOR_ITERATION_TIMEOUT_MS, self._timeout)
        self.t0 = now_ms()
        offerer.serial("floor offer", offerer.offer, False)

    def on_event(self, role, etype, t, fields):
        if self.finished or self.pair is None:
            return
        if etype == "error":
            self._end(f"iteration {len(self.times) + 1}: {role} {fields.get('context')}: "
                      f"{fields.get('message')}")
        elif etype == "first_frame" and role == "answerer":
            self.times.append(t - self.t0)
            self._close_pair()
            GLib.idle_add(lambda: self._iteration() and False)

    def _timeout(self):
        self.timer = None
        self._end(f"iteration {len(self.times) + 1}: no first frame within "
                  f"{FLOOR_ITERATION_TIMEOUT_MS // 1000} s")
        return False

    def _close_pair(self):
        if self.timer is not None:
            GLib.source_remove(self.timer)
            self.timer = None
        pair, self.pair = self.pair, None
        for case in pair or ():
            case.close()

    def _end(self, error):
        if self.finished:
            return
        self.finished = True
        self._close_pair()
        if error is None:
            write_done(self.ident, result={"floor": self.times})
        else:
            log("floor failed:", error)
            write_done(self.ident, error=f"floor: {error}")
        self.on_end(self)

    def abort(self):
        """stdin ended: stop without answering."""
        self.finished = True
        self._close_pair()


# ---------------------------------------------------------------- the process


class App:
    def __init__(self):
        self.loop = GLib.MainLoop()
        self.case = None
        self.floor = None  # the running Floor, if any
        self.cert_pem = make_ecdsa_pem()
        # The DTLS elements make webrtcbin's default RSA certificate once per process, on the first
        # dtlssrtpdec (about a second): pay it here, not in the first case's time to connect.
        Gst.ElementFactory.make("dtlssrtpdec")

    def run(self):
        hello(STACK, gst_version())
        # stdin is read on the kernel's thread; each command is handed to the main loop.
        read_commands(GLib.idle_add, self._on_command, self._eof, log)
        self.loop.run()

    def _eof(self):
        if self.floor is not None:
            self.floor.abort()
            self.floor = None
        if self.case is not None:
            self.case.close()
            self.case = None
        self.loop.quit()
        return False

    def _on_command(self, msg):
        try:
            self.handle(msg)
        except Exception as e:  # noqa: BLE001
            log("handling", msg.get("type"), "failed:", repr(e))
        return False

    def handle(self, msg):
        typ = msg.get("type")
        if typ == "setup":
            self.setup(msg.get("config") or {})
        elif typ == "perform":
            self.perform(msg.get("id"), msg.get("action") or {})
        elif typ == "collect_stats":
            self.collect_stats(msg.get("id"))
        elif typ == "floor":
            self.run_floor(msg.get("id"), msg.get("iterations"))
        elif typ == "close":
            if self.case is not None:
                self.case.close()
                self.case = None
            write({"type": "closed"})
        else:
            log("unknown harness line:", msg)

    def run_floor(self, ident, iterations):
        if self.floor is not None:
            write_done(ident, error="a floor is already running")
            return
        if not isinstance(iterations, int) or iterations < 0:
            write_done(ident, error=f"bad iterations {iterations!r}")
            return

        def ended(floor):
            if self.floor is floor:
                self.floor = None

        self.floor = Floor(self, ident, iterations, ended)
        self.floor.start()

    def setup(self, config):
        if self.floor is not None:
            # A setup while a floor runs: the floor gives way (answered with an error).
            self.floor._end("interrupted by setup")
        if self.case is not None:
            self.case.close()
            self.case = None
        try:
            case = Case(self, config, self.cert_pem)
        except Exception as e:  # noqa: BLE001
            write({"type": "fail", "message": f"setup: {e}"})
            return
        self.case = case

        def ready(error):
            if case is not self.case:
                return
            if error:
                case.close()
                self.case = None
                write({"type": "fail", "message": error})
            else:
                write({"type": "ready"})

        case.connect_relay(ready)

    def perform(self, ident, action):
        case = self.case
        if case is None:
            write_done(ident, error="no case is set up")
            return
        try:
            fut = case.perform(action)
        except Exception as e:  # noqa: BLE001
            write_done(ident, error=str(e))
            return
        if fut is None:
            write_done(ident)
            return

        def finished(f):
            if case is not self.case:
                return
            if f.error is not None:
                write_done(ident, error=str(f.error))
            else:
                write_done(ident)

        fut.then(finished)

    def collect_stats(self, ident):
        case = self.case
        if case is None:
            write_done(ident, error="no case is set up")
            return

        def finished(f):
            if case is not self.case:
                return
            if f.error is not None:
                write_done(ident, error=str(f.error))
                return
            case.event("stats", summary=case.stats_summary(f.value))
            for record in case.marker_records:
                record.flush()
            for ears in case.listeners:
                ears.flush()
            write_done(ident)

        case.collect_stats().then(finished)


NEEDED_ELEMENTS = ["webrtcbin", "nicesrc", "nicesink", "dtlssrtpdec", "srtpdec", "sctpdec",
                   "videotestsrc", "vp8enc", "vp8dec", "rtpvp8pay", "rtpvp8depay", "audiotestsrc",
                   "opusenc", "rtpopuspay", "rtpopusdepay", "opusdec", "decodebin", "fakesink"]


def main():
    Gst.init(None)
    if sys.argv[1:] == ["--check"]:
        # kinds.yaml `check`: exits 0 when every GStreamer element the adapter uses is installed.
        missing = [e for e in NEEDED_ELEMENTS if Gst.ElementFactory.find(e) is None]
        if missing:
            print("missing GStreamer elements:", " ".join(missing), file=sys.stderr)
        if tone is None:
            print(f"the audio marker's kernel cannot load: {TONE_MISSING} (Debian's python3-numpy)", file=sys.stderr)
        sys.exit(1 if missing or tone is None else 0)
    App().run()
    sys.exit(0)


if __name__ == "__main__":
    main()
