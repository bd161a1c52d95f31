//! What went wrong in the Rust peer: the `webrtc` call that failed and what it was doing, or what
//! the peer refuses (an action webrtc 0.21 cannot do, a channel or track that is not there).

use crate::scenario::MediaKind;
use std::time::Duration;

/// An error of the Rust peer; its text is what an action's failure or an `error` event says.
#[derive(Debug, thiserror::Error)]
pub enum RustPeerError {
    /// The crate refused a call; `doing` is the W3C call as the transcript names it
    /// (`createOffer`, `setRemoteDescription(offer)`, `addTrack(video)`, `send on 'chat'`).
    #[error("{doing}: {source}")]
    Webrtc { doing: String, source: webrtc::error::Error },
    /// The crate refused to build the connection or its media engine.
    #[error("{0}")]
    Setup(#[source] webrtc::error::Error),
    /// `send()` over the remote's maximum message size: webrtc-pc section 6.2's TypeError.
    #[error("TypeError: {source} ({size} bytes on '{label}')")]
    TooLarge { label: String, size: u32, source: webrtc::error::Error },
    /// `send()` on a channel that is not open: webrtc-pc section 6.2's InvalidStateError.
    #[error("InvalidStateError: {source} ('{label}')")]
    NotOpen { label: String, source: webrtc::error::Error },
    /// `createDataChannel` negotiated without an id: webrtc-pc section 6.1's TypeError.
    #[error("TypeError: negotiated channel '{label}' needs an id")]
    NegotiatedWithoutId { label: String },
    /// What the action needs is not there (a channel, a transceiver, a sent track, a local
    /// description); the text names it.
    #[error("{0}")]
    Missing(String),
    /// An action webrtc 0.21 cannot do (`replaceTrack`, `setCodecPreferences`); the text says why.
    #[error("{0}")]
    Unsupported(String),
    /// `close()` returned and the connection still works.
    #[error("close() returned but the connection is not closed (createOffer gave {read})")]
    NotClosed { read: String },
    /// A non-trickle peer's gathering did not complete in time.
    #[error("ICE gathering did not complete within {limit:?} (non-trickle peer)")]
    GatheringTimeout { limit: Duration },
    /// The connection was dropped while the peer waited for its gathering.
    #[error("{0}")]
    Gathering(#[from] tokio::sync::watch::error::RecvError),
    /// A media fixture cannot be read (the text names the file).
    #[error("{0}")]
    Fixture(String),
    /// A media fixture has nothing to send.
    #[error("{kind} fixture has no samples")]
    EmptyFixture { kind: MediaKind },
    /// A signaling message whose description or candidate does not parse.
    #[error("{0}")]
    Signal(#[from] serde_json::Error),
    /// The relay's WebSocket cannot be joined.
    #[error("{0}")]
    Join(#[source] tokio_tungstenite::tungstenite::Error),
    /// The relay answered with an error frame.
    #[error("relay error frame: {0}")]
    Relay(serde_json::Value),
}

impl RustPeerError {
    /// `doing` failed with `source`: for `map_err(RustPeerError::doing("createOffer"))`.
    pub fn doing(doing: impl Into<String>) -> impl FnOnce(webrtc::error::Error) -> RustPeerError {
        let doing = doing.into();
        move |source| RustPeerError::Webrtc { doing, source }
    }
}
