//! The peer interface the runner drives, whatever stack is behind it: [`rust`] or [`browser`].
//!
//! A peer joins the relay room as `ws://<relay>/ws/<room>/<name>`, follows the seed's flow
//! (`negotiationneeded` -> offer; an offer is answered; candidates are trickled and applied), performs
//! the runner's [`Action`]s, and reports everything it sees as transcript [`Event`]s, which the
//! runner collects with [`Peer::drain`].

pub mod browser;
pub mod rust;

use crate::scenario::{DataChannelSpec, MediaKind, PeerKind};
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
}

/// A step the runner asks a peer to perform.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Attach the configured media and data channels.
    Start,
    AddTrack(MediaKind),
    CreateDataChannel { label: String },
    /// createOffer, setLocalDescription, send it.
    SendOffer,
    RestartIce,
    SendMessage { label: String, text: String },
    Close,
}

impl Action {
    pub fn name(&self) -> String {
        match self {
            Action::Start => "start".into(),
            Action::AddTrack(k) => format!("add_track({k})"),
            Action::CreateDataChannel { label } => format!("create_data_channel({label})"),
            Action::SendOffer => "send_offer".into(),
            Action::RestartIce => "restart_ice".into(),
            Action::SendMessage { label, .. } => format!("send_message({label})"),
            Action::Close => "close".into(),
        }
    }
}

/// Why a peer could not be set up or could not perform an action.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("{peer}: {what} did not finish within {limit:?}")]
    Timeout { peer: String, what: String, limit: Duration },
    #[error("{peer}: {what}: {message}")]
    Failed { peer: String, what: String, message: String },
    /// The peer's browser or driver is not installed (the case is skipped, or fails when required).
    #[error("{0}")]
    Unavailable(String),
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

    /// Takes the end-of-case `getStats()` summary into the event queue.
    async fn collect_stats(&self) -> Result<(), PeerError>;

    /// Closes the peer connection and releases everything the peer holds. Never fails: errors are
    /// logged. Idempotent.
    async fn shutdown(&self);
}

/// Starts browser peers (implemented by [`browser::BrowserPool`]); the runner only sees this.
#[async_trait]
pub trait BrowserLauncher: Send + Sync {
    /// `Err(reason)` when the kind's browser or driver is not installed (says how to install it).
    fn availability(&self, kind: PeerKind) -> Result<(), String>;
    /// Reserves `browsers` sessions for one case before it opens any (held until the permit drops),
    /// so that cases running side by side never wait on each other's half-opened pairs.
    async fn reserve(&self, browsers: usize) -> Result<tokio::sync::OwnedSemaphorePermit, PeerError>;
    /// Opens a page for one peer of a case.
    async fn open_peer(&self, config: PeerConfig, clock: crate::clock::Clock) -> Result<Box<dyn Peer>, PeerError>;
    /// Loads `url` in a browser of `kind` and runs `script` there with WebDriver's execute-async
    /// (`arguments[arguments.length - 1]` is the callback), returning what it passes back. Used
    /// for the bench's floor page.
    async fn run_script(&self, kind: PeerKind, url: &str, script: &str, args: Vec<serde_json::Value>) -> Result<serde_json::Value, String>;
    /// Closes every browser session and kills every driver and browser process.
    async fn shutdown(&self);
}
