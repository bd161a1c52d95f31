//! The peer interface: what a peer is asked to be ([`PeerConfig`], [`MediaFiles`]), what the
//! runner asks of it ([`Peer`]) and how it fails ([`PeerError`]).

use crate::scenario::{Action, DataChannelSpec, MediaKind, PeerKind};
use crate::transcript::Entry;
use async_trait::async_trait;
use std::time::Duration;

/// What a peer is asked to be, resolved from the scenario for one case.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    pub name: String,
    pub kind: PeerKind,
    /// Tracks attached by [`Action::Start`] (the offerer), or when the first offer arrives (the
    /// answerer, as the seed does).
    pub media: Vec<MediaKind>,
    pub data_channels: Vec<DataChannelSpec>,
    /// Trickle ICE (RFC 8838); without it the description is sent once gathering is complete.
    pub trickle: bool,
    /// Offer on `negotiationneeded` (the seed's flow). When false the peer only offers on
    /// [`Action::SendOffer`].
    pub auto_negotiate: bool,
    /// Echo every data channel message back on the channel it came on.
    pub echo: bool,
    /// `ws://127.0.0.1:<port>/ws/<room>/<name>`.
    pub signaling_url: String,
    /// The relay's HTTP base (`http://127.0.0.1:<port>`), where the agent page is served.
    pub relay_base: String,
    pub room: String,
    /// The media a peer that sends pre-encoded frames sends (VP8 IVF, Ogg Opus).
    pub media_files: MediaFiles,
    /// ICE servers (`RTCIceServer` as JSON: `urls`, `username`, `credential`); empty: host
    /// candidates only.
    pub ice_servers: Vec<serde_json::Value>,
    /// `all` or `relay` (W3C webrtc-pc section 4.2.1): with `relay`, only TURN candidates.
    pub ice_transport_policy: crate::scenario::IcePolicy,
    /// Perfect negotiation's role (W3C webrtc-pc section 10.7); `None`: the seed's flow.
    pub polite: Option<bool>,
    /// `setCodecPreferences` per kind, in order (`{"video": ["VP9"]}`).
    pub codec_preferences: crate::scenario::flows::CodecPreferences,
    /// Paint the frame marker with this sender number on the video it sends, and read markers from
    /// the video it renders (docs/markers.md); `None`: its usual source, nothing read.
    pub marker: Option<u8>,
    /// Send this sender's tone as its audio, and classify the audio it plays (docs/markers.md,
    /// "Audio"); `None`: its usual audio, nothing classified.
    pub tone: Option<u8>,
    /// The run's time limits: the peer's own waits (start-up, actions, gathering, teardown) are
    /// multiplied by it.
    pub limits: crate::limits::Limits,
}

impl PeerConfig {
    /// The configuration as pages and programs take it: the agent page's `agent.setup` and the
    /// command-peer protocol's `setup` (stacks/PROTOCOL.md).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        json!({
            "name": self.name,
            "room": self.room,
            "signaling_url": self.signaling_url,
            "media": self.media.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "data_channels": self.data_channels.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
            "trickle": self.trickle,
            "auto_negotiate": self.auto_negotiate,
            "echo": self.echo,
            "ice_servers": self.ice_servers,
            "ice_transport_policy": self.ice_transport_policy.as_str(),
            "media_files": self.media_files.to_json(),
            "polite": self.polite,
            "codec_preferences": self.codec_preferences,
            "marker": self.marker.map(|sender| json!({ "sender": sender })),
            "tone": self.tone.map(|sender| json!({ "sender": sender })),
        })
    }
}

/// The media fixtures (`fixtures/media`, or `RTC_HARNESS_MEDIA_DIR` read into the run's options).
#[derive(Clone, Debug, PartialEq)]
pub struct MediaFiles {
    pub video: std::path::PathBuf,
    pub audio: std::path::PathBuf,
}

impl MediaFiles {
    pub fn in_dir(dir: &std::path::Path) -> MediaFiles {
        MediaFiles { video: dir.join("video.ivf"), audio: dir.join("audio.ogg") }
    }

    /// `{"video": path, "audio": path}`, as `setup` and `floor` carry it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"video": self.video, "audio": self.audio})
    }
}

/// Why a peer could not be set up or could not perform an action.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("{peer}: {what} did not finish within {limit:?}")]
    Timeout { peer: String, what: String, limit: Duration },
    #[error("{peer}: {what}: {message}")]
    Failed { peer: String, what: String, message: String },
    /// The peer's stack is not installed (the case is skipped, or fails when required).
    #[error("{0}")]
    Unavailable(String),
    /// The peer is gone (its process exited, its browser session died): the case fails at once.
    #[error("{peer}: {message}")]
    Gone { peer: String, message: String },
}

impl PeerError {
    pub fn failed(peer: &str, what: &str, message: impl std::fmt::Display) -> Self {
        PeerError::Failed { peer: peer.into(), what: what.into(), message: message.to_string() }
    }
}

/// One side of a case.
#[async_trait]
pub trait Peer: Send + Sync {
    fn name(&self) -> &str;

    /// Performs `action`; resolves when the peer has done it (not when its effects are seen).
    async fn perform(&self, action: &Action) -> Result<(), PeerError>;

    /// Events seen since the last drain, stamped on the case clock.
    async fn drain(&self) -> Result<Vec<Entry>, PeerError>;

    /// True when events arrive by push (no need to poll fast); browsers are polled.
    fn pushes_events(&self) -> bool;

    /// Waits until there may be new events (Rust peers), or for the poll interval (browsers).
    async fn changed(&self);

    /// Ends the case before its verdict: closes the peer connection and confirms it. An error
    /// when the peer does not confirm within [`crate::limits::TEARDOWN`]: a peer that stopped
    /// answering fails its case, whatever its events said before. The default has nothing to
    /// confirm (the peer closes in `shutdown`).
    async fn finish(&self) -> Result<(), PeerError> {
        Ok(())
    }

    /// What the peer's own program wrote to its log during this case (a command peer's stderr
    /// since its setup), for failure messages.
    async fn case_log(&self) -> Vec<String> {
        Vec::new()
    }

    /// Takes the end-of-case `getStats()` summary into the event queue.
    async fn collect_stats(&self) -> Result<(), PeerError>;

    /// `Some(reason)` once the peer is gone (its process exited, its browser session died): the
    /// runner then fails the case at once instead of waiting out a step's limit.
    fn gone(&self) -> Option<String> {
        None
    }

    /// Writes what this peer can tell about a failed case into `dir` (a browser's console log and
    /// screenshot, a program's stderr) and returns the files written. Called before `shutdown`;
    /// best effort: a peer that is gone writes what it still can.
    async fn save_artifacts(&self, _dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// Closes the peer connection and releases everything the peer holds. Never fails: errors are
    /// logged. Idempotent.
    async fn shutdown(&self);
}
