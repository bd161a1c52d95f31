"""SDP text helpers shared by the Python adapters: m-sections and ICE ufrags read from the text.

An adapter reads these from the SDP text, not from its stack's parsed description: aiortc's
objects do not show the m-sections of an offer not yet applied, and walking webrtcbin's parsed
SDP from Python crashes (see the gstreamer adapter's header).
"""

import re

# The W3C RTCRtpTransceiverDirection values, which are also the SDP direction attributes.
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

_RTPMAP = re.compile(r"a=rtpmap:(\d+)\s+([^/\s]+)")


def sdp_sections(text):
    """The m-sections of an SDP text, in order, each a dict: kind, port (0 when absent), mid (None
    when absent), direction (sendrecv when absent), codecs ({ENCODING-NAME: its first payload
    type}), ufrag (its a=ice-ufrag, else the session's), bundle_only, ssrcs (a set)."""
    sections = []
    session_ufrag = None
    for line in text.splitlines():
        line = line.strip()
        if not sections and line.startswith("a=ice-ufrag:"):
            session_ufrag = line[12:]
        elif line.startswith("m="):
            parts = line[2:].split()
            sections.append({
                "kind": parts[0] if parts else "",
                "port": int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0,
                "mid": None,
                "direction": "sendrecv",
                "codecs": {},
                "bundle_only": False,
                "ssrcs": set(),
                "ufrag": session_ufrag,
            })
        elif sections:
            cur = sections[-1]
            if line.startswith("a=mid:"):
                cur["mid"] = line[6:]
            elif line.startswith("a=ice-ufrag:"):
                cur["ufrag"] = line[12:]
            elif line == "a=bundle-only":
                cur["bundle_only"] = True
            elif line.startswith("a=ssrc:"):
                cur["ssrcs"].add(int(line[7:].split()[0]))
            elif line[2:] in DIRECTIONS:
                cur["direction"] = line[2:]
            elif line.startswith("a=rtpmap:"):
                m = _RTPMAP.match(line)
                if m:
                    cur["codecs"].setdefault(m.group(2).upper(), int(m.group(1)))
    return sections


def sdp_media_sections(text):
    """(kind, mid) of each m-section of an SDP text, in order (mid None when it has none)."""
    return [(s["kind"], s["mid"]) for s in sdp_sections(text)]


def ufrag_of(text):
    """The first a=ice-ufrag of an SDP text (the session's, else the first m-section's that has
    one), or "" when there is none."""
    return next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("a=ice-ufrag:")), "")
