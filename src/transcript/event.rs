//! What a peer sees or does, as the transcript records it: one [`Event`] per line of a page's or a
//! program's report (the vocabulary of stacks/PROTOCOL.md), and the data channel options one
//! carries.

use serde::{Deserialize, Serialize};

/// One thing a peer saw or did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The runner asked the peer to perform a step.
    Step {
        name: String,
    },
    /// The peer's stack and its version (a command peer's `hello`; the browser's version).
    Hello {
        stack: String,
        version: String,
    },
    NegotiationNeeded,
    /// `createOffer()` was called (the start of time-to-first-frame).
    CreateOffer,
    SignalingState {
        state: String,
    },
    IceGatheringState {
        state: String,
    },
    IceConnectionState {
        state: String,
    },
    ConnectionState {
        state: String,
    },
    /// `setLocalDescription` resolved; `sdp` is the description in force.
    LocalDescription {
        sdp_type: String,
        sdp: String,
    },
    /// `setRemoteDescription` resolved.
    RemoteDescription {
        sdp_type: String,
        sdp: String,
        /// From the message's arrival in the peer to the `setRemoteDescription` call (the agent
        /// page: from the MessageEvent's timeStamp), where the peer says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queued_ms: Option<f64>,
        /// How long `setRemoteDescription` took, where the peer says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        apply_ms: Option<f64>,
    },
    /// An `icecandidate` event with a candidate.
    LocalCandidate {
        candidate: String,
    },
    /// An `icecandidate` event that ends a generation: `null` or Firefox's empty-string form
    /// (RFC 8838 section 4.4, W3C webrtc-pc section 4.8.2).
    EndOfCandidates {
        form: String,
    },
    /// `addIceCandidate` resolved (or, for an end-of-candidates, was signalled).
    RemoteCandidate {
        candidate: String,
    },
    /// A `track` event.
    Track {
        kind: String,
    },
    /// The first rendered (browser) or first complete keyframe (Rust) video frame.
    FirstFrame {
        kind: String,
        width: u32,
        height: u32,
    },
    /// The first RTP packet of an audio track.
    FirstPacket {
        kind: String,
    },
    /// Media kept flowing: `count` distinct frames (video) or packets (audio) so far.
    MediaProgress {
        kind: String,
        count: u64,
    },
    /// A channel opened; the options as the stack reports them on this side (W3C webrtc-pc
    /// section 6.2 attributes), when it reports them.
    DataChannelOpen {
        label: String,
        #[serde(default, flatten)]
        options: ChannelOptions,
    },
    /// A text message (`data`), or a binary one (`size` bytes, `intact` when every byte i was
    /// i % 251 as the harness's senders write them).
    DataChannelMessage {
        label: String,
        #[serde(default)]
        data: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intact: Option<bool>,
    },
    DataChannelClose {
        label: String,
    },
    /// Perfect negotiation's impolite side dropped a colliding offer (webrtc-pc section 10.7).
    OfferIgnored,
    /// A local offer was rolled back: by `setRemoteDescription(offer)` itself (`implicit`), or by
    /// `setLocalDescription({type: 'rollback'})` (RFC 8829 section 4.1.10.2).
    Rollback {
        implicit: bool,
    },
    /// `replaceTrack` resolved with a new source (webrtc-pc section 5.2).
    TrackReplaced {
        kind: String,
    },
    /// The runner's record that a binary `send_message` was refused by the sender's stack
    /// (webrtc-pc section 6.2: TypeError over the remote's maximum message size).
    SendRefused {
        label: String,
        size: u32,
        error: String,
    },
    /// A sender painted the frame marker (docs/markers.md) on frame `index` of its source
    /// `source`: a sample (its first frame and every 10th), on the case clock.
    FramePainted {
        kind: String,
        source: u8,
        index: u32,
    },
    /// A receiver showed a marked frame: a sample (each source's first read and every index
    /// that is a multiple of 10), so that shown minus painted is glass-to-glass latency.
    FrameShown {
        kind: String,
        sender: u8,
        source: u8,
        index: u32,
    },
    /// What a receiver read from the markers of the frames it rendered so far (cumulative, written
    /// every 30 rendered frames and when stats are collected).
    MarkersSeen {
        kind: String,
        /// Frames rendered since the first one.
        frames: u64,
        /// Rendered frames with no marker that reads (no contrast, or check bits that fail).
        unreadable: u64,
        senders: Vec<SenderReads>,
        /// When each frame rendered since the previous `markers_seen` showed a new picture (a
        /// marker that reads and differs from the last one read), in ms relative to this event
        /// (0 or less): the timeline freezes are found on (`verdict::freezes`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<f64>,
    },
    /// What a receiver heard in the audio it played (docs/markers.md, "Audio: a tone per
    /// sender"): the runs of 40 ms windows classified alike since its previous `tones_heard`,
    /// written every 25 windows and when stats are collected.
    TonesHeard {
        /// Windows classified since the first one (cumulative).
        windows: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        runs: Vec<ToneRun>,
    },
    /// A `getStats()` summary taken at the end of the case.
    Stats {
        summary: serde_json::Value,
    },
    /// Something failed inside the peer (a rejected promise, a failed API call).
    Error {
        context: String,
        message: String,
    },
    /// An `icecandidateerror` (W3C webrtc-pc section 4.8.3: RTCPeerConnectionIceErrorEvent).
    CandidateError {
        url: String,
        error_code: u16,
        error_text: String,
    },
    /// The runner changed the peer's network path (conditions, a blackout's start and end).
    Network {
        change: String,
    },
    /// What crossed the peer's network path (the runner's record: STUN/TURN requests, counts).
    NetRecord {
        record: serde_json::Value,
    },
}

/// The frames a receiver read with one sender's and source's marker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderReads {
    pub sender: u8,
    pub source: u8,
    /// Rendered frames that read with this marker.
    pub count: u64,
    pub first: u32,
    pub last: u32,
    /// Frames rendered again with the index of the frame before (the picture froze).
    pub repeats: u64,
    /// Indices skipped between two reads in order (frames never shown).
    pub skipped: u64,
}

/// Consecutive windows of a receiver's audio classified alike (`crate::tone::classify`), in ms
/// relative to the `tones_heard` event that carries them (0 or less).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToneRun {
    pub from: f64,
    pub to: f64,
    /// Windows in the run (each [`crate::tone::WINDOW_MS`] of audio).
    pub windows: u32,
    /// The sender whose tone the windows hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<u8>,
    /// The windows are silence. Neither this nor `sender`: sound that is no sender's tone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silence: bool,
}

/// RTCDataChannel's options as a stack reports them (`null` or absent when it does not).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    #[serde(default, rename = "maxRetransmits", skip_serializing_if = "Option::is_none")]
    pub max_retransmits: Option<u16>,
    #[serde(default, rename = "maxPacketLifeTime", skip_serializing_if = "Option::is_none")]
    pub max_packet_life_time: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<bool>,
}
