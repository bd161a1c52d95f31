"""rtc-harness command peer for aiortc (Python): the `aiortc` kind.

Speaks the command-peer protocol of ../PROTOCOL.md on stdin/stdout (JSON lines; stdout carries the
protocol only, logs go to stderr) and runs the seed's flow, as the browser agent page
(src/peer/browser/agent.html) does, with aiortc's RTCPeerConnection over the harness relay.

Run from stacks/:  aiortc/.venv/bin/python aiortc/peer.py

What is not aiortc's comes from the Python adapters' shared kernel (../python/kernel, put on
sys.path from this file's location): the protocol lines, the stdin commands (read on the kernel's
thread and handed to the asyncio loop), error texts, logging, the binary pattern, the SDP text
helpers and the media counting rules. This file holds the mapping onto aiortc.

How aiortc's API maps onto the protocol
- One process serves many cases: `setup` builds a Case (peer connection + relay WebSocket), `close`
  tears all of it down (peer connection, socket, media loops, tasks) before answering `closed`.
- Events come from aiortc's own emitters: signalingstatechange, icegatheringstatechange,
  iceconnectionstatechange, connectionstatechange, track, datachannel, and the data channels'
  open/message/close. aiortc only has the W3C states it reaches (ICE goes to `completed`, never
  `connected`; no `disconnected`), and they are reported as they are.
- Signaling messages and offers run strictly in order on one queue (the agent's promise chain).
- Media: aiortc encodes itself, so the tracks are synthetic but real: a moving 320x240 pattern at
  30 fps (VP8 by aiortc's default codec order) and a 400 Hz tone, 20 ms frames at 48 kHz (Opus).
  Received tracks are read with `track.recv()`, which gives decoded frames: the first video frame
  gives `first_frame` with its size, every 10th `media_progress`; the first audio frame (one per
  received Opus packet) gives `first_packet`, every 50th `media_progress`. With the
  configuration's `marker`, every video source paints the frame marker into its Y plane (source
  0, one more per replace_track) and every decoded frame's Y plane is read (kernel.marker); with
  its `tone`, the audio source is the sender's tone and every decoded audio frame is classified
  (kernel.tone).
- The floor (`rtc-harness bench`): two RTCPeerConnections in this process, the offerer sending the
  same PatternVideoTrack as in a case (the request's media_files are not needed: aiortc encodes);
  each complete description (aiortc gathers in setLocalDescription, no trickle) is handed to the
  other side in memory; timed from just before createOffer to the answerer's first decoded video
  frame, read by the same `read_track` loop as a case's `first_frame`. A fresh pair per
  iteration, closed (source, both connections, reader) after it; no events are written.
- Stats: each receiver's / sender's getStats() gives inbound-rtp (packetsReceived, packetsLost,
  jitter in RTP units, converted to seconds with the stream's clock rate) and outbound-rtp
  (packetsSent, bytesSent); framesDecoded / framesPerSecond are counted where aiortc's decoded
  frames come out (track.recv()); bytesReceived where its receiver handles each RTP packet
  (_counting_handle_rtp_packet). aiortc has no candidate-pair stats; the
  selected pair is read from aioice's nominated pair of the transport in use (what the stack uses),
  which has no RTT or bitrate.
- ICE servers and policy: RTCConfiguration(iceServers=[RTCIceServer(urls, username, credential)],
  iceTransportPolicy). aiortc uses the first STUN URL and the first TURN URL (udp or tcp) only;
  'relay' makes aioice gather relay candidates only (related address hidden).
- candidate_error: aiortc has no icecandidateerror and aioice drops the failures of its STUN/TURN
  gathering tasks; the two aioice functions those tasks run are wrapped to see them (see
  _gathering_failed): the server's ERROR-CODE (e.g. 401), or 701 for no answer.

aiortc behaviours this adapter works around, and why
- No negotiationneeded event. With `auto_negotiate`, the adapter offers itself when the spec's
  negotiation-needed flag would be set: after `start`, `add_track`, `create_data_channel`, and when
  an exchange returns to `stable` with a transceiver or data channel that has no m-section yet
  (e.g. an answerer whose audio had no m-section in the offer). No `negotiation_needed` event is
  emitted: the stack has none.
- No outgoing trickle: setLocalDescription gathers completely and the description carries every
  candidate. With `trickle: true` the description is sent at once, followed by `{"candidate": null}`
  (sent once per ICE generation; aiortc keeps one ufrag for the peer connection's life) so the
  other side sees the end of candidates. The candidates gathered by aiortc (read from its
  description) are reported as `local_candidate` events, then `end_of_candidates` (form null).
- aiortc 1.16 cannot answer when a transceiver was added after the remote offer and has no
  m-section in it: setLocalDescription(answer) computes that transceiver's direction from its
  offered direction, which is None (ValueError "None is not in list"). So an answerer attaches
  the kinds the offer has an m-section for before answering and the others right after its answer
  is set; they then go into the renegotiation offer as the browser's negotiationneeded would.
- Remote candidates given before the remote description are silently dropped by aiortc, so they
  are queued and applied after it. Incoming candidate strings are parsed with
  aiortc.sdp.candidate_from_sdp (after the `candidate:` prefix), with sdpMid / sdpMLineIndex set.
- No restartIce() in aiortc 1.16: the `restart_ice` action answers with an error.
- No rollback in aiortc 1.16: setLocalDescription(type 'rollback') resolves but rolls nothing back
  (the signaling state stays have-local-offer, the local description becomes an empty 'rollback'),
  so it is never called: the `rollback` action answers with an error. With `polite` set (perfect
  negotiation, W3C webrtc-pc 10.7) the impolite side ignores a colliding offer (`offer_ignored`);
  the polite side cannot roll back, so it pushes an `error` and does not apply the colliding offer
  (setRemoteDescription(offer) in have-local-offer raises InvalidStateError). Offers are made on
  the signaling chain, so a collision shows as signalingState have-local-offer.
- No removeTrack in aiortc 1.16: `remove_track` does W3C's removeTrack steps with aiortc's calls
  (RTCRtpSender.replaceTrack(None), the transceiver's direction losing 'send'). Direction changes
  (`set_direction`, `remove_track`, an addTrack that takes a negotiated transceiver) make the
  adapter offer, as the negotiation-needed flag would (aiortc's objects show no m-section missing).
  `replace_track` gives the sender a new synthetic source whose clock goes on from the replaced
  one (RTP timestamps keep increasing); the replaced source is not stopped (a stopped source ends
  aiortc's sender loop for good).
- codec_preferences: RTCRtpTransceiver.setCodecPreferences with RTCRtpReceiver.getCapabilities'
  entries (VP8, H264 and opus, PCMU, PCMA, G722; no VP9: setup fails). aiortc fixes an answerer's
  codecs inside setRemoteDescription(offer), so before applying an offer the transceivers its new
  m-sections will take are added (recvonly, as aiortc would add them) with their preferences.
- Stats `codec`: aiortc's getStats has no codec entries; the codec is resolved from what the stack
  does (the payload type of the RTP packets each receiver handles, through its negotiated codecs;
  the codec each sender encodes with), by wrapping the two methods that see them.
- Data channels: createDataChannel with the RTCDataChannelInit fields given; `data_channel_open`
  reports aiortc's own id, protocol, ordered, maxRetransmits, maxPacketLifeTime, negotiated.
  Binary messages (the size form, byte i = i % 251) are reported with size / intact and echoed as
  binary; send() over the remote's max-message-size raises aiortc's ValueError (the action's
  error). After the `close` action, the connection and signaling states are pushed as read.
- aiortc uses Google's public STUN server when no ICE servers are configured; the configuration
  always passes the case's list (usually empty) so that only this machine's addresses are used.
- Native libraries (FFmpeg, libvpx) could write to file descriptor 1: the protocol is written on a
  private duplicate of the original stdout, and fd 1 is pointed at stderr (the kernel's
  keep_stdout_for_protocol, called before aiortc is imported).
"""

import array
import asyncio
import fractions
import json
import logging
import math
import os
import sys
import time

# The Python adapters' shared kernel (../python/kernel): protocol lines, stdin commands, binary
# pattern, SDP text, media counting.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from kernel.lines import (  # noqa: E402
    configure_logging,
    error_text,
    hello,
    keep_stdout_for_protocol,
    read_commands,
    write,
    write_done,
    write_event,
)
from kernel import marker, tone  # noqa: E402
from kernel.media import FrameCount, progress_marks  # noqa: E402
from kernel.pattern import binary_intact, binary_payload  # noqa: E402
from kernel.sdp import DIRECTIONS as W3C_DIRECTIONS  # noqa: E402
from kernel.sdp import sdp_media_sections, ufrag_of  # noqa: E402

# The protocol stream is a private copy of stdout; anything else that writes to fd 1 (FFmpeg,
# libvpx, loaded with aiortc) lands on stderr.
keep_stdout_for_protocol()

import aiortc  # noqa: E402
import websockets  # noqa: E402
import aioice.ice  # noqa: E402
import aioice.stun  # noqa: E402
from aiortc import (  # noqa: E402
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy  # noqa: E402
from aiortc.rtcicetransport import parse_stun_turn_uri  # noqa: E402
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack  # noqa: E402
from aiortc.sdp import candidate_from_sdp  # noqa: E402
from av import AudioFrame, VideoFrame  # noqa: E402

log = logging.getLogger("aiortc-peer")


# ---------------------------------------------------------------------------------------------
# Synthetic media sources (aiortc encodes them: VP8 / Opus)


class PatternVideoTrack(VideoStreamTrack):
    """A 320x240 diagonal gradient that moves one step per frame, with slowly cycling colour,
    paced at 30 fps by aiortc's VideoStreamTrack clock."""

    WIDTH, HEIGHT = 320, 240

    def __init__(self, pts_start=0, painter=None):
        super().__init__()
        self._n = 0
        self._painter = painter  # the frame marker (kernel.marker.Painter) when the case reads them
        self._ramp = bytes((i * 3) & 0xFF for i in range(256)) * 8
        # A replacement source (replace_track) goes on from the replaced one's clock, so that the
        # sender's RTP timestamps keep increasing as a camera's capture times would.
        self._pts_start = pts_start
        self._last_pts = None

    def next_pts(self):
        """The pts a source replacing this one starts at (one frame after the last one read)."""
        if self._last_pts is None:
            return self._pts_start
        return self._last_pts + 3000  # 90 kHz, 30 fps

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        pts += self._pts_start
        self._last_pts = pts
        frame = VideoFrame(width=self.WIDTH, height=self.HEIGHT, format="yuv420p")
        y_plane, u_plane, v_plane = frame.planes
        shift = (self._n * 4) % 256
        ramp = self._ramp
        stride = y_plane.line_size
        rows = []
        for y in range(y_plane.height):
            start = (y + shift) % 256
            rows.append(ramp[start : start + stride])
        y = bytearray(b"".join(rows))
        if self._painter is not None:
            self._painter.paint(y, self.WIDTH, self.HEIGHT, stride)
        y_plane.update(bytes(y))
        u = 128 + int(60 * math.sin(self._n / 20))
        v = 128 + int(60 * math.cos(self._n / 20))
        u_plane.update(bytes([u]) * u_plane.buffer_size)
        v_plane.update(bytes([v]) * v_plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        self._n += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 400 Hz tone, 48 kHz mono s16, 20 ms frames paced in real time; with `sound` (the kernel's
    tone.Tone, when the case reads tones), the sender's tone instead (docs/markers.md, "Audio")."""

    kind = "audio"
    RATE = 48000
    SAMPLES = 960  # 20 ms; exactly 8 periods of 400 Hz, so every frame is the same

    def __init__(self, pts_start=0, sound=None):
        super().__init__()
        self._pts_start = pts_start  # see PatternVideoTrack
        self._sound = sound
        wave = array.array(
            "h", (int(8000 * math.sin(2 * math.pi * 400 * i / self.RATE)) for i in range(self.SAMPLES))
        )
        if sys.byteorder != "little":
            wave.byteswap()
        self._pcm = wave.tobytes()
        self._start = None
        self._pts = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self.SAMPLES
            wait = self._start + self._pts / self.RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        pcm = self._pcm if self._sound is None else self._sound.int16(self.SAMPLES, self.RATE).astype("<i2").tobytes()
        frame.planes[0].update(pcm)
        frame.pts = self._pts_start + self._pts
        frame.sample_rate = self.RATE
        frame.time_base = fractions.Fraction(1, self.RATE)
        return frame

    def next_pts(self):
        """The pts a source replacing this one starts at (one frame after the last one read)."""
        if self._start is None:
            return self._pts_start
        return self._pts_start + self._pts + self.SAMPLES


def source_track(kind, pts_start=0, painter=None, sound=None):
    """The synthetic source a peer sends for a media kind (a replacement goes on from pts_start);
    video carries the frame marker when a painter is given, audio the sender's tone when a sound
    is."""
    return PatternVideoTrack(pts_start, painter) if kind == "video" else ToneAudioTrack(pts_start, sound)


def read_marker(frame):
    """The frame marker of a decoded frame (kernel.marker.read on its Y plane), or None."""
    plane = frame.planes[0]
    return marker.read(bytes(plane), frame.width, frame.height, plane.line_size)


async def read_track(track, report, frames=None, on_video=None, on_audio=None):
    """Read a received track until it ends, reporting as `report(name, **fields)`: the first
    decoded video frame is `first_frame` (with its size), every 10th `media_progress`; the first
    audio frame is `first_packet`, every 50th `media_progress` (the kernel's progress_marks). A
    case reports these as events; the floor only watches for `first_frame`. `frames` (the
    kernel's FrameCount) counts decoded video frames where aiortc's decoder hands them out: its
    getStats has no framesDecoded or framesPerSecond."""
    count = 0
    try:
        while True:
            frame = await track.recv()
            count += 1
            if frames is not None:
                frames.add()
            kind = "video" if track.kind == "video" else "audio"
            if on_video is not None and kind == "video":
                on_video(frame)
            if on_audio is not None and kind == "audio":
                on_audio(frame)
            if count == 1:
                if kind == "video":
                    report("first_frame", kind="video", width=frame.width, height=frame.height)
                else:
                    report("first_packet", kind="audio")
            for mark in progress_marks(kind, count - 1, count):
                report("media_progress", kind=kind, count=mark)
    except MediaStreamError:
        pass


# ---------------------------------------------------------------------------------------------
# Data channel and codec helpers (protocol v1 additions: init options, binary messages, codec
# preferences)

# The W3C RTCDataChannelInit fields a `data_channels` item may carry, as aiortc's createDataChannel
# names them.
CHANNEL_INIT_FIELDS = ("ordered", "maxRetransmits", "maxPacketLifeTime", "negotiated", "id", "protocol")


def channel_init(spec):
    """The RTCDataChannelInit fields of a `data_channels` item that are present (absent = aiortc's
    default, which is the W3C default)."""
    return {k: spec[k] for k in CHANNEL_INIT_FIELDS if spec.get(k) is not None}


def codec_capabilities(kind, names):
    """The RTCRtpCodecCapability list for setCodecPreferences: the entries of
    RTCRtpReceiver.getCapabilities(kind) whose mimeType is kind/NAME, in the order of `names`
    (aiortc has two H264 entries, one per profile), then aiortc's rtx entry so that retransmission
    stays negotiated for the preferred codecs. A name aiortc does not have is an error."""
    caps = RTCRtpReceiver.getCapabilities(kind).codecs
    chosen = []
    for name in names:
        mime = f"{kind}/{name}".lower()
        match = [c for c in caps if c.mimeType.lower() == mime]
        if not match:
            have = sorted({c.mimeType.split("/", 1)[1] for c in caps if c.mimeType.lower() != f"{kind}/rtx"})
            raise ValueError(
                f"aiortc {aiortc.__version__} has no {kind} codec {name} (RTCRtpReceiver.getCapabilities"
                f"('{kind}'): {', '.join(have)})"
            )
        chosen += [c for c in match if c not in chosen]
    if chosen:
        chosen += [c for c in caps if c.mimeType.lower() == f"{kind}/rtx"]
    return chosen


# Seen with aiortc 1.16.0: setLocalDescription(RTCSessionDescription(type="rollback")) in
# have-local-offer resolves but rolls nothing back: the signaling state stays have-local-offer and
# the local description becomes an empty description of type 'rollback'. It is never called.
ROLLBACK_UNSUPPORTED = (
    "aiortc 1.16 cannot roll back: its setLocalDescription(type 'rollback') resolves without rolling "
    "back (the signaling state stays have-local-offer, the local description becomes an empty 'rollback')"
)


ICE_TRANSPORT_POLICIES = {"all": RTCIceTransportPolicy.ALL, "relay": RTCIceTransportPolicy.RELAY}


def ice_configuration(ice_servers, policy=None):
    """The RTCConfiguration for a list of ICE servers (strings or {urls, username, credential}) and
    an ice_transport_policy ("all" when absent; "relay": aioice then gathers relay candidates only
    and hides their related address, RFC 9429 section 3.5.3). Always an explicit list, even empty:
    aiortc falls back to a public STUN server on None. aiortc uses the first STUN URL and the
    first TURN URL (udp or tcp; turns over tcp) it can use and ignores the others."""
    if policy is None:
        policy = "all"
    if policy not in ICE_TRANSPORT_POLICIES:
        raise ValueError(f"ice_transport_policy {policy!r} is neither 'all' nor 'relay'")
    servers = []
    for s in ice_servers or []:
        if isinstance(s, str):
            s = {"urls": s}
        servers.append(RTCIceServer(urls=s.get("urls"), username=s.get("username"), credential=s.get("credential")))
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=ICE_TRANSPORT_POLICIES[policy])


def server_urls(ice_servers):
    """The configured URL of each server as aioice knows it: ("stun", host, port) or ("turn",
    host, port, transport) -> URL, for the `url` of candidate_error."""
    urls = {}
    for s in ice_servers or []:
        u = s if isinstance(s, str) else s.get("urls")
        for url in [u] if isinstance(u, str) else (u or []):
            try:
                p = parse_stun_turn_uri(url)
            except ValueError:
                continue
            if p["scheme"].startswith("stun"):
                urls.setdefault(("stun", p["host"], p["port"]), url)
            else:
                urls.setdefault(("turn", p["host"], p["port"], p["transport"]), url)
    return urls


# bytesReceived: aiortc's inbound-rtp has none. The receiver's packet handler is wrapped to count
# each RTP packet's payload bytes (W3C webrtc-stats: headers and padding excluded) per SSRC, for
# exactly the packets aiortc's own packetsReceived counts (the receiver enabled, the payload type
# negotiated); RTX packets count on the RTX stream, as aiortc's packets do.
_aiortc_handle_rtp_packet = RTCRtpReceiver._handle_rtp_packet


async def _counting_handle_rtp_packet(self, packet, arrival_time_ms):
    if self._enabled and packet.payload_type in self._RTCRtpReceiver__codecs:
        counts = self.__dict__.setdefault("harness_bytes_received", {})
        counts[packet.ssrc] = counts.get(packet.ssrc, 0) + len(packet.payload)
    return await _aiortc_handle_rtp_packet(self, packet, arrival_time_ms)


RTCRtpReceiver._handle_rtp_packet = _counting_handle_rtp_packet


# candidate_error: aioice gathers server-reflexive and relayed candidates in tasks whose exceptions
# it drops (Connection.get_component_candidates keeps the results without an exception and cancels
# the tasks still pending after 5 s); aiortc has no icecandidateerror. The two module functions
# those tasks run are wrapped so that the stack's own failure is seen: a STUN/TURN error response
# (aioice's TransactionFailed, with the server's ERROR-CODE, e.g. 401 after the authenticated retry)
# is reported with its code and reason; no response (TransactionTimeout, or aioice giving up at its
# 5 s gathering timeout) or a socket error reaching the server is W3C's 701. The exception then goes
# on to aioice unchanged. Events go to the case in progress (one per process at a time).
CURRENT_CASE = None
_aioice_relayed_candidate = aioice.ice.relayed_candidate
_aioice_server_reflexive_candidate = aioice.ice.server_reflexive_candidate


def _gathering_failed(key, e):
    case = CURRENT_CASE
    if case is None or not case.active or case.closing:
        return
    url = case.server_urls.get(key)
    if url is None:
        return
    if isinstance(e, aioice.stun.TransactionFailed):
        code, reason = e.response.attributes.get("ERROR-CODE", (None, ""))
        if code is None:
            return
        case.event("candidate_error", url=url, error_code=code, error_text=reason or str(e))
    elif isinstance(e, aioice.stun.TransactionTimeout):
        case.event("candidate_error", url=url, error_code=701, error_text=f"aioice: {e}")
    elif isinstance(e, asyncio.CancelledError):
        case.event("candidate_error", url=url, error_code=701,
                   error_text="aioice: no answer from the server within its 5 s gathering timeout")
    elif isinstance(e, OSError):
        case.event("candidate_error", url=url, error_code=701, error_text=f"aioice: {error_text(e)}")
    else:
        log.warning("gathering from %s failed: %s", url, error_text(e))


async def _relayed_candidate(**kwargs):
    try:
        return await _aioice_relayed_candidate(**kwargs)
    except BaseException as e:
        host, port = kwargs["turn_server"]
        _gathering_failed(("turn", host, port, kwargs["turn_transport"]), e)
        raise


async def _server_reflexive_candidate(protocol, stun_server):
    try:
        return await _aioice_server_reflexive_candidate(protocol, stun_server)
    except BaseException as e:
        _gathering_failed(("stun", stun_server[0], stun_server[1]), e)
        raise


aioice.ice.relayed_candidate = _relayed_candidate
aioice.ice.server_reflexive_candidate = _server_reflexive_candidate


# The `codec` of the stats summary: aiortc's getStats has no codec entries (no codecId). The codec
# is resolved as a codecId would resolve it, from what the stack itself does: the payload type of
# the RTP packets a receiver handles, through that receiver's negotiated codecs (RTX packets left
# out: they carry the codec they repair), and the codec aiortc's sender encodes with (the one its
# RTP loop is started with). The two methods are wrapped to see them; they run unchanged.
_aiortc_receiver_handle_rtp = aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet
_aiortc_sender_run_rtp = aiortc.rtcrtpsender.RTCRtpSender._run_rtp


async def _receiver_handle_rtp(self, packet, *args, **kwargs):
    codec = getattr(self, "_RTCRtpReceiver__codecs", {}).get(packet.payload_type)
    if codec is not None and codec.name.lower() != "rtx":
        self.harness_codec = codec.mimeType
    return await _aiortc_receiver_handle_rtp(self, packet, *args, **kwargs)


async def _sender_run_rtp(self, codec, *args, **kwargs):
    self.harness_codec = codec.mimeType
    return await _aiortc_sender_run_rtp(self, codec, *args, **kwargs)


aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = _receiver_handle_rtp
aiortc.rtcrtpsender.RTCRtpSender._run_rtp = _sender_run_rtp


# ---------------------------------------------------------------------------------------------
# One case: a peer connection and its relay socket


class Case:
    def __init__(self, config):
        self.cfg = config
        self.active = True  # events are reported while the case is active
        self.closing = False  # the peer connection is being closed (gathering tasks get cancelled)
        self.server_urls = server_urls(config.get("ice_servers"))
        self.frames = {}  # received video track -> FrameCount (framesDecoded, framesPerSecond)
        self.started = False
        self.pc = None
        self.ws = None
        self.tasks = set()
        self.tracks = []
        self.channels = {}
        self.channel_closers = {}  # channel -> pushes its data_channel_close once (if it was open)
        self.pending_candidates = []  # candidate messages that arrived before the remote description
        self.reported_candidates = set()
        self.eoc_sent_for = set()  # ICE ufrags whose end-of-candidates went to the relay
        # Perfect negotiation (W3C webrtc-pc 10.7) when `polite` is a boolean; None: the seed's flow.
        polite = config.get("polite")
        self.polite = polite if isinstance(polite, bool) else None
        self.making_offer = False
        self.ignore_offer = False
        self.dirty = False  # a direction change (set_direction, remove_track) the next offer carries
        self.codec_prefs = {}  # kind -> [RTCRtpCodecCapability], from `codec_preferences`
        self.marker = (config.get("marker") or {}).get("sender")  # docs/markers.md; None: no markers
        self.sources = 0  # the marker's source number of the next video source
        self.marker_records = []
        self.tone = (config.get("tone") or {}).get("sender")  # docs/markers.md, "Audio"; None: no tones
        self.listeners = []  # a tone listener per received audio track
        self.painters = []  # every video source's marker painter (stall_video holds them all)
        self.chain = asyncio.Queue()
        self.spawn(self.chain_worker())

    # -- plumbing

    def event(self, name, /, **fields):
        if self.active:
            write_event(name, fields)

    def marker_event(self, name, /, **fields):
        """A marker's event: none once the close action began (PROTOCOL.md, After the close action)."""
        if not self.closing:
            self.event(name, **fields)

    def audio_sound(self):
        """The next audio source's tone, or None when the case reads no tones."""
        return None if self.tone is None else tone.Tone(self.tone)

    def video_painter(self):
        """The next video source's marker painter, or None when the case reads no markers."""
        if self.marker is None:
            return None
        self.sources += 1
        painter = marker.Painter(self.marker, self.sources - 1, self.marker_event)
        self.painters.append(painter)
        return painter

    def spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def send(self, obj):
        if self.ws is not None:
            try:
                await self.ws.send(json.dumps(obj))
            except Exception as e:  # the relay went away: the case will fail on its own
                log.warning("relay send failed: %s", e)

    def serial(self, context, fn):
        """Queue fn (an async callable) behind every signaling step already queued; the returned
        future resolves when it has run (its failure is reported as an `error` event)."""
        done = asyncio.get_running_loop().create_future()
        self.chain.put_nowait((context, fn, done))
        return done

    async def chain_worker(self):
        while True:
            context, fn, done = await self.chain.get()
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("%s failed", context)
                self.event("error", context=context, message=error_text(e))
            if not done.done():
                done.set_result(None)

    # -- set-up

    async def setup(self):
        global CURRENT_CASE
        for kind, names in (self.cfg.get("codec_preferences") or {}).items():
            if kind not in ("audio", "video"):
                raise ValueError(f"codec_preferences: '{kind}' is not a media kind")
            if names:
                self.codec_prefs[kind] = codec_capabilities(kind, names)
        self.pc = RTCPeerConnection(ice_configuration(self.cfg.get("ice_servers"), self.cfg.get("ice_transport_policy")))
        CURRENT_CASE = self
        self.wire()
        self.ws = await asyncio.wait_for(websockets.connect(self.cfg["signaling_url"], max_size=None), 10)
        self.spawn(self.read_relay())

    def wire(self):
        pc = self.pc
        pc.on("signalingstatechange", lambda: self.event("signaling_state", state=pc.signalingState))
        pc.on("icegatheringstatechange", lambda: self.event("ice_gathering_state", state=pc.iceGatheringState))
        pc.on(
            "iceconnectionstatechange", lambda: self.event("ice_connection_state", state=pc.iceConnectionState)
        )
        pc.on("connectionstatechange", lambda: self.event("connection_state", state=pc.connectionState))
        pc.on("track", self.on_track)
        pc.on("datachannel", lambda dc: self.watch_channel(dc, mine=False))

    async def read_relay(self):
        try:
            async for raw in self.ws:
                if not isinstance(raw, str):
                    log.warning("binary frame from the relay ignored")
                    continue
                try:
                    msg = json.loads(raw)
                except ValueError as e:
                    self.event("error", context="relay", message=f"not JSON: {e}")
                    continue
                if isinstance(msg, dict):
                    self.serial("signaling", lambda m=msg: self.on_message(m))
        except websockets.ConnectionClosed as e:
            if self.active:
                log.warning("relay closed the socket: %s", e)

    # -- negotiation

    def needs_negotiation(self):
        """The parts of the spec's negotiation-needed check that aiortc's objects show: a
        transceiver or the data channel transport that has no m-section yet."""
        pc = self.pc
        if self.dirty:
            return True
        if any(t.mid is None and not t.stopped for t in pc.getTransceivers()):
            return True
        return pc.sctp is not None and pc.sctp.mid is None

    def negotiate_if_needed(self):
        """aiortc has no negotiationneeded event: with auto_negotiate, offer when the flag would be
        set and the exchange is stable (checked on the chain, behind queued signaling)."""
        if not self.cfg.get("auto_negotiate", True):
            return

        async def check():
            if self.pc.signalingState == "stable" and self.needs_negotiation():
                await self.offer()

        self.serial("negotiation offer", check)

    async def offer(self):
        self.making_offer = True
        try:
            self.dirty = False
            self.event("create_offer")
            offer = await self.pc.createOffer()
            await self.pc.setLocalDescription(offer)
            await self.send_local()
        finally:
            self.making_offer = False

    async def send_local(self):
        desc = self.pc.localDescription
        self.event("local_description", sdp_type=desc.type, sdp=desc.sdp)
        # setLocalDescription has gathered completely: report what aiortc gathered.
        fresh = []
        for line in desc.sdp.splitlines():
            if line.startswith("a=candidate:"):
                cand = line[2:]
                if cand not in self.reported_candidates:
                    self.reported_candidates.add(cand)
                    fresh.append(cand)
        for cand in fresh:
            self.event("local_candidate", candidate=cand)
        if fresh:
            self.event("end_of_candidates", form="null")
        # The description carries every candidate, which is all non-trickle needs; with trickle,
        # the end of candidates follows it (once per ICE generation).
        await self.send({"desc": {"type": desc.type, "sdp": desc.sdp}})
        log.info("sent %s, ice-ufrag %s", desc.type, ufrag_of(desc.sdp))
        if self.cfg.get("trickle", True):
            ufrag = ufrag_of(desc.sdp)
            if ufrag not in self.eoc_sent_for:
                self.eoc_sent_for.add(ufrag)
                await self.send({"candidate": None})

    async def on_message(self, msg):
        pc = self.pc
        if "desc" in msg and msg["desc"]:
            d = msg["desc"]
            if self.polite is not None and not self.admit_description(d):
                return
            if d["type"] == "offer" and self.codec_prefs:
                self.prepare_preferred_transceivers(d["sdp"])
            await pc.setRemoteDescription(RTCSessionDescription(sdp=d["sdp"], type=d["type"]))
            self.event("remote_description", sdp_type=d["type"], sdp=d["sdp"])
            log.info("applied remote %s, ice-ufrag %s", d["type"], ufrag_of(d["sdp"]))
            queued, self.pending_candidates = self.pending_candidates, []
            for c in queued:
                await self.apply_candidate(c)
            if d["type"] == "offer":
                later = []
                if not self.started:
                    # The seed's answerer attaches its media when the offer arrives. A kind the
                    # offer has no m-section for is attached once the answer is set (see header).
                    self.started = True
                    now, later = self.split_by_offer(self.cfg.get("media") or [])
                    self.attach_media(now)
                    self.create_channels(negotiated_only=True)
                # The answer carries every direction as aiortc can answer it (W3C 4.7.3: no
                # negotiation is needed for a direction the answer intersected with the offer's).
                self.dirty = False
                answer = await pc.createAnswer()
                await pc.setLocalDescription(answer)
                await self.send_local()
                self.attach_media(later)
            self.negotiate_if_needed()
        elif "candidate" in msg:
            if pc.remoteDescription is None and self.ignore_offer:
                # Candidates of an offer this impolite peer ignored (W3C 10.7: their errors are dropped).
                log.info("candidate of an ignored offer dropped")
            elif pc.remoteDescription is None:
                self.pending_candidates.append(msg["candidate"])
            else:
                await self.apply_candidate(msg["candidate"])
        elif "error" in msg:
            self.event("error", context="relay", message=json.dumps(msg["error"]))

    async def apply_candidate(self, c):
        try:
            if c and c.get("candidate"):
                cand = candidate_from_sdp(c["candidate"].split(":", 1)[1])
                cand.sdpMid = c.get("sdpMid")
                cand.sdpMLineIndex = c.get("sdpMLineIndex")
                await self.pc.addIceCandidate(cand)
                self.event("remote_candidate", candidate=c["candidate"])
            else:
                # End of candidates: `null` or Firefox's empty string.
                await self.pc.addIceCandidate(None)
                self.event("remote_candidate", candidate="")
        except Exception as e:
            if self.ignore_offer:
                log.info("addIceCandidate failed while an offer is ignored: %s", error_text(e))
                return
            self.event("error", context="addIceCandidate", message=error_text(e))

    def admit_description(self, d):
        """Perfect negotiation (W3C webrtc-pc 10.7) for a remote description: whether to apply it.
        The peer offers from its own chain, so `making_offer` is only true while an offer of its
        own is being made; a collision is seen as signalingState have-local-offer."""
        collision = d["type"] == "offer" and (self.making_offer or self.pc.signalingState != "stable")
        self.ignore_offer = not self.polite and collision
        if self.ignore_offer:
            self.event("offer_ignored")
            return False
        if collision:
            # The polite peer would roll its offer back now; aiortc 1.16 cannot (see
            # ROLLBACK_UNSUPPORTED), and setRemoteDescription(offer) in have-local-offer raises
            # InvalidStateError. Nothing is pretended: the offer is not applied and the case sees why.
            self.event(
                "error",
                context="perfect negotiation",
                message=f"{ROLLBACK_UNSUPPORTED}; setRemoteDescription(offer) in have-local-offer raises "
                "InvalidStateError: the colliding offer is not applied",
            )
            return False
        return True

    def prepare_preferred_transceivers(self, sdp):
        """codec_preferences for an answerer: aiortc fixes a transceiver's codecs inside
        setRemoteDescription(offer), from the preferences the transceiver has then, and creates the
        transceivers of new m-sections itself (recvonly, no preferences). So the transceivers the
        offer will take (one per new m-section of a kind with preferences) are added first, as aiortc
        would add them (recvonly), with setCodecPreferences; the offer then takes them (aiortc gives
        a new m-section the first transceiver of its kind without a mid)."""
        pc = self.pc
        mids = {t.mid for t in pc.getTransceivers() if t.mid is not None}
        free = {}
        for t in pc.getTransceivers():
            if t.mid is None and not t.stopped:
                free[t.kind] = free.get(t.kind, 0) + 1
        for kind, mid in sdp_media_sections(sdp):
            if kind not in self.codec_prefs or mid in mids:
                continue
            if free.get(kind):
                free[kind] -= 1
                continue
            t = pc.addTransceiver(kind, direction="recvonly")
            t.setCodecPreferences(self.codec_prefs[kind])

    # -- media and data channels

    def split_by_offer(self, kinds):
        """Kinds that can ride on an m-section of the remote offer just applied (a transceiver of
        that kind with a mid and no track to send), and the others."""
        free = [t for t in self.pc.getTransceivers() if t.mid is not None and t.sender.track is None]
        now, later = [], []
        for kind in kinds:
            t = next((t for t in free if t.kind == kind), None)
            if t is not None:
                free.remove(t)
                now.append(kind)
            else:
                later.append(kind)
        return now, later

    def attach_media(self, kinds):
        for kind in kinds:
            track = source_track(kind, painter=self.video_painter() if kind == "video" else None, sound=self.audio_sound() if kind == "audio" else None)
            self.tracks.append(track)
            before = {t: t.direction for t in self.pc.getTransceivers()}
            sender = self.pc.addTrack(track)
            t = next(t for t in self.pc.getTransceivers() if t.sender is sender)
            if t.mid is not None and before.get(t) not in (None, t.direction):
                # addTrack took a negotiated transceiver and changed its direction (W3C 5.1:
                # negotiation is needed; aiortc's own objects show no m-section missing).
                self.dirty = True
            if kind in self.codec_prefs:
                t.setCodecPreferences(self.codec_prefs[kind])

    def create_channels(self, negotiated_only=False):
        """The case's `data_channels`, with their RTCDataChannelInit fields (all of them at
        `start`; an answerer that never starts creates its negotiated ones with its media)."""
        for c in self.cfg.get("data_channels") or []:
            if negotiated_only and not c.get("negotiated"):
                continue
            self.watch_channel(self.pc.createDataChannel(c["label"], **channel_init(c)), mine=True)

    def on_track(self, track):
        self.event("track", kind=track.kind)
        self.spawn(self.consume(track))

    async def consume(self, track):
        frames, on_video, on_audio = None, None, None
        if track.kind == "audio" and self.tone is not None:
            ears = tone.Listener(self.marker_event)
            self.listeners.append(ears)
            # aiortc's Opus decoder hands out packed s16 frames (48 kHz stereo): one row, interleaved.
            on_audio = lambda frame: ears.samples(frame.to_ndarray(), frame.sample_rate, len(frame.layout.channels))  # noqa: E731
        if track.kind == "video":
            frames = self.frames[track] = FrameCount()
            if self.marker is not None:
                record = marker.Record(self.marker_event)
                self.marker_records.append(record)
                on_video = lambda frame: record.frame(read_marker(frame))  # noqa: E731
        await read_track(track, self.event, frames, on_video, on_audio)

    def watch_channel(self, dc, mine):
        self.channels[dc.label] = dc
        state = {"opened": False, "closed": False}

        def on_open():
            if state["opened"]:
                return
            state["opened"] = True
            # The channel's properties as aiortc reports them on this side (for a channel the
            # other side created: as its DATA_CHANNEL_OPEN announced them).
            self.event(
                "data_channel_open",
                label=dc.label,
                id=dc.id,
                protocol=dc.protocol,
                ordered=dc.ordered,
                maxRetransmits=dc.maxRetransmits,
                maxPacketLifeTime=dc.maxPacketLifeTime,
                negotiated=dc.negotiated,
            )
            spec = next((c for c in self.cfg.get("data_channels") or [] if c.get("label") == dc.label), None)
            if mine and spec and spec.get("send"):
                dc.send(spec["send"])

        def on_message(data):
            if isinstance(data, str):
                self.event("data_channel_message", label=dc.label, data=data)
            else:
                self.event("data_channel_message", label=dc.label, binary=True, size=len(data), intact=binary_intact(data))
            if self.cfg.get("echo", True) and not mine:
                if dc.readyState != "open":
                    log.info("echo on '%s' skipped: the channel is %s", dc.label, dc.readyState)
                    return
                try:
                    dc.send(data)
                except Exception as e:
                    self.event("error", context="echo", message=error_text(e))

        def on_close():
            if state["closed"]:
                return
            state["closed"] = True
            self.event("data_channel_close", label=dc.label)

        dc.on("open", on_open)
        dc.on("message", on_message)
        dc.on("close", on_close)
        self.channel_closers[dc] = lambda: state["opened"] and on_close()
        if dc.readyState == "open":
            on_open()

    # -- actions

    async def perform(self, action):
        kind = action.get("type")
        if kind == "start":
            self.started = True
            self.attach_media(self.cfg.get("media") or [])
            self.create_channels()
            self.negotiate_if_needed()
        elif kind == "add_track":
            self.attach_media([action["kind"]])
            self.negotiate_if_needed()
        elif kind == "create_data_channel":
            self.watch_channel(self.pc.createDataChannel(action["label"]), mine=True)
            self.negotiate_if_needed()
        elif kind == "send_offer":
            await self.serial("send_offer", self.offer)
        elif kind == "restart_ice":
            raise RuntimeError("aiortc 1.16 has no restartIce(): ICE credentials are fixed for the connection's life")
        elif kind == "send_message":
            dc = self.channel(action)
            if action.get("size") is not None:
                # W3C 6.2 send(): aiortc raises ValueError over the remote's max message size.
                dc.send(binary_payload(int(action["size"])))
            else:
                dc.send(action["text"])
        elif kind == "close_channel":
            self.channel(action).close()
        elif kind == "rollback":
            raise RuntimeError(ROLLBACK_UNSUPPORTED)
        elif kind == "set_direction":
            direction = action.get("direction")
            if direction not in W3C_DIRECTIONS:
                raise ValueError(f"direction {direction!r} is none of {', '.join(W3C_DIRECTIONS)}")
            t = self.transceiver_of(action["kind"])
            if t.direction != direction:
                t.direction = direction
                self.dirty = True
            self.negotiate_if_needed()
        elif kind == "remove_track":
            self.remove_track(action["kind"])
            self.negotiate_if_needed()
        elif kind == "replace_track":
            sender = self.sender_of(action["kind"])
            old = sender.track
            painter = self.video_painter() if old.kind == "video" else None
            sound = self.audio_sound() if old.kind == "audio" else None
            track = source_track(old.kind, old.next_pts() if hasattr(old, "next_pts") else 0, painter, sound)
            self.tracks.append(track)
            sender.replaceTrack(track)
            # The replaced source is not stopped here: aiortc's sender may be waiting on its next
            # frame, and a stopped source ends the sender's loop for good (MediaStreamError).
            self.event("track_replaced", kind=old.kind)
        elif kind == "stall_video":
            marker.stall_painters(self.painters, action)
        elif kind == "close":
            await self.close_pc()
        else:
            raise RuntimeError(f"unknown action {json.dumps(action)}")

    def channel(self, action):
        dc = self.channels.get(action.get("label"))
        if dc is None:
            raise RuntimeError(f"no data channel '{action.get('label')}'")
        return dc

    def transceiver_of(self, kind):
        """The first transceiver of a kind (aiortc's transceivers have the kind of their m-section)."""
        t = next((t for t in self.pc.getTransceivers() if t.kind == kind and not t.stopped), None)
        if t is None:
            raise RuntimeError(f"no {kind} transceiver")
        return t

    def sender_of(self, kind):
        """The first sender with a track of that kind."""
        for t in self.pc.getTransceivers():
            if t.sender.track is not None and t.sender.track.kind == kind:
                return t.sender
        raise RuntimeError(f"no sender with a {kind} track")

    def remove_track(self, kind):
        """W3C removeTrack (webrtc-pc 5.1) with aiortc's own calls: aiortc 1.16 has no
        RTCPeerConnection.removeTrack, and the steps are these: the sender's track becomes null
        (RTCRtpSender.replaceTrack(None): aiortc's sender then sends nothing), the transceiver's
        direction loses 'send' (sendrecv -> recvonly, sendonly -> inactive), and negotiation is
        needed. The removed source is not stopped (W3C removeTrack does not stop the track)."""
        sender = self.sender_of(kind)
        t = next(t for t in self.pc.getTransceivers() if t.sender is sender)
        sender.replaceTrack(None)
        t.direction = {"sendrecv": "recvonly", "sendonly": "inactive"}.get(t.direction, t.direction)
        self.dirty = True

    async def close_pc(self):
        self.closing = True
        for t in self.tracks:
            t.stop()
        if self.pc is not None:
            await self.pc.close()
            # W3C close() fires no event: the states are reported as read right after it.
            self.event("connection_state", state=self.pc.connectionState)
            self.event("signaling_state", state=self.pc.signalingState)
        # Every channel that was open is closed with the connection (aiortc closes them in
        # RTCSctpTransport.stop(); one that did not say so is reported here).
        for close in list(self.channel_closers.values()):
            close()

    async def stats(self):
        """The summary from aiortc's own figures: each receiver's and sender's getStats()
        (inbound-rtp packetsReceived, packetsLost, jitter; outbound-rtp packetsSent, bytesSent),
        the payload bytes its receivers handled, the decoded video frames its tracks hand out,
        and aioice's nominated pair. aiortc has no RTT or available bitrate for the pair: those
        are left out."""
        summary = {"inbound_rtp": [], "outbound_rtp": [], "candidate_pair": None}
        for t in self.pc.getTransceivers():
            receiver, sender = t.receiver, t.sender
            report = await receiver.getStats()
            streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", {})
            for s in report.values():
                if s.type != "inbound-rtp":
                    continue
                item = {"kind": s.kind, "packetsReceived": s.packetsReceived, "packetsLost": s.packetsLost}
                received = getattr(receiver, "harness_bytes_received", {}).get(s.ssrc)
                if received is not None:
                    item["bytesReceived"] = received
                clockrate = getattr(streams.get(s.ssrc), "_clockrate", None)
                if clockrate:
                    item["jitter"] = s.jitter / clockrate  # aiortc gives RTP timestamp units
                frames = self.frames.get(receiver.track)
                if s.kind == "video" and frames is not None:
                    item["framesDecoded"] = frames.decoded
                    item["framesPerSecond"] = frames.per_second()
                codec = getattr(receiver, "harness_codec", None)
                if codec:
                    item["codec"] = codec
                summary["inbound_rtp"].append(item)
            for s in (await sender.getStats()).values():
                if s.type == "outbound-rtp":
                    item = {"kind": s.kind, "packetsSent": s.packetsSent, "bytesSent": s.bytesSent}
                    codec = getattr(sender, "harness_codec", None)
                    if codec:
                        item["codec"] = codec
                    summary["outbound_rtp"].append(item)
        summary["candidate_pair"] = self.selected_pair()
        self.event("stats", summary=summary)
        for record in self.marker_records:
            record.flush()
        for ears in self.listeners:
            ears.flush()

    def selected_pair(self):
        """aiortc's getStats has no candidate-pair entry; aioice knows the nominated pair of each
        ICE transport. The transports in use are those the transceivers / SCTP point at now."""
        transports = [t.receiver.transport.transport for t in self.pc.getTransceivers()]
        if self.pc.sctp is not None:
            transports.append(self.pc.sctp.transport.transport)
        for ice in transports:
            pairs = getattr(getattr(ice, "_connection", None), "_nominated", None) or {}
            pair = pairs.get(1)
            if pair is not None:
                local, remote = pair.local_candidate, pair.remote_candidate
                return {
                    "local": f"{local.type}/{local.transport.lower()}",
                    "remote": f"{remote.type}/{remote.transport.lower()}",
                }
        return None

    # -- teardown

    async def close(self):
        global CURRENT_CASE
        self.active = False
        self.closing = True
        if CURRENT_CASE is self:
            CURRENT_CASE = None
        for t in self.tracks:
            t.stop()
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except Exception:
                pass
        if self.pc is not None:
            try:
                await asyncio.wait_for(self.pc.close(), 5)
            except Exception as e:
                log.warning("closing the peer connection: %s", error_text(e))
        tasks = [t for t in self.tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        self.channels.clear()
        self.tracks.clear()
        self.frames.clear()
        self.pc = None
        self.ws = None


# ---------------------------------------------------------------------------------------------
# The floor (for `rtc-harness bench`): two peer connections in this process, no relay


async def floor_once(timeout=30.0):
    """One offerer/answerer pair: the offerer sends the case's video source; descriptions go across
    in memory, each complete (aiortc gathers in setLocalDescription and does not trickle). Timed
    from just before createOffer to the answerer's first decoded video frame (`first_frame` of
    read_track). Returns milliseconds; everything is closed before returning."""
    loop = asyncio.get_running_loop()
    offerer = RTCPeerConnection(ice_configuration([]))
    answerer = RTCPeerConnection(ice_configuration([]))
    source = source_track("video")
    readers = []
    first = loop.create_future()

    def report(name, **_fields):
        if name == "first_frame" and not first.done():
            first.set_result(time.perf_counter())

    def on_track(track):
        if track.kind == "video":
            readers.append(asyncio.ensure_future(read_track(track, report)))

    answerer.on("track", on_track)
    try:
        offerer.addTrack(source)
        t0 = time.perf_counter()
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        try:
            t1 = await asyncio.wait_for(first, timeout)
        except asyncio.TimeoutError:
            raise RuntimeError(f"no first video frame within {timeout:.0f} s") from None
        return (t1 - t0) * 1000.0
    finally:
        source.stop()
        for pc in (offerer, answerer):
            try:
                await asyncio.wait_for(pc.close(), 5)
            except Exception as e:
                log.warning("floor: closing a peer connection: %s", error_text(e))
        for r in readers:
            r.cancel()
        if readers:
            await asyncio.wait(readers, timeout=2)


async def floor(iterations):
    """A fresh pair per iteration; the times in milliseconds, in order."""
    times = []
    for i in range(iterations):
        times.append(await floor_once())
        log.info("floor %d/%d: %.1f ms", i + 1, iterations, times[-1])
    return times


# ---------------------------------------------------------------------------------------------
# The command loop


async def main():
    hello("aiortc", aiortc.__version__)
    # stdin is read on the kernel's thread; its commands come here in order, then None at EOF.
    commands = asyncio.Queue()
    read_commands(asyncio.get_running_loop().call_soon_threadsafe, commands.put_nowait,
                  lambda: commands.put_nowait(None), log.error)
    case = None
    while True:
        cmd = await commands.get()
        if cmd is None:
            break
        kind = cmd.get("type")
        if kind == "setup":
            if case is not None:
                await case.close()
            log.info("setup %s", cmd.get("case"))
            case = Case(cmd.get("config") or {})
            try:
                await case.setup()
            except Exception as e:
                await case.close()
                case = None
                write({"type": "fail", "message": f"setup failed: {error_text(e)}"})
                continue
            write({"type": "ready"})
        elif kind in ("perform", "collect_stats"):
            error = None
            try:
                if case is None:
                    raise RuntimeError("no case is set up")
                if kind == "perform":
                    await case.perform(cmd.get("action") or {})
                else:
                    await case.stats()
            except Exception as e:
                log.warning("%s failed: %s", kind, error_text(e))
                error = error_text(e)
            write_done(cmd.get("id"), error=error)
        elif kind == "floor":
            # Not a case: no events; an open case (if any) is left as it is.
            try:
                times = await floor(int(cmd.get("iterations") or 10))
            except Exception as e:
                log.warning("floor failed: %s", error_text(e))
                write_done(cmd.get("id"), error=error_text(e))
            else:
                write_done(cmd.get("id"), result={"floor": times})
        elif kind == "close":
            if case is not None:
                await case.close()
                case = None
            write({"type": "closed"})
        else:
            log.error("unknown command %r", kind)
    # EOF: exit now.
    if case is not None:
        try:
            await asyncio.wait_for(case.close(), 3)
        except Exception:
            pass


if __name__ == "__main__":
    configure_logging()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    sys.stderr.flush()  # every protocol line was flushed as it was written
    # aiortc's codec threads must not hold the exit up: EOF means exit now, status 0.
    os._exit(0)
