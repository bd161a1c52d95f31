//! The Rust peer: the `webrtc` crate (0.21) following the seed's flow over the relay.
//!
//! One actor task owns the flow and applies signaling messages, callbacks and the runner's actions
//! strictly in order, as the seed's promise chain does in a page. Callbacks only record events and
//! queue commands (see [`handler`]). Its UDP sockets ([`socket`]) work around two receive-order
//! races of the crate at connection set-up.

mod actor;
mod channels;
mod error;
mod handler;
mod keyframe;
mod live;
mod markers;
pub mod media;
mod negotiation;
mod signaling;
pub mod socket;
mod stats;
mod transceivers;
pub mod vp8;
mod vpx;

use super::{Action, Peer, PeerConfig, PeerError};
use crate::clock::Clock;
use crate::limits;
use crate::transcript::{Entry, Event};
use async_trait::async_trait;
pub use error::RustPeerError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex, Notify};
use tokio::task::JoinHandle;
use webrtc::data_channel::DataChannel;
use webrtc::peer_connection::RTCIceCandidateInit;

/// Where the peer's events go: stamped on the case clock, and a wake-up for the runner.
#[derive(Clone)]
pub(crate) struct Sink {
    peer: String,
    clock: Clock,
    tx: mpsc::UnboundedSender<Entry>,
    notify: Arc<Notify>,
}

/// The `webrtc` crate's version this peer is built on (Cargo.toml pins `0.21`).
const WEBRTC_VERSION: &str = "0.21";

impl Sink {
    pub(crate) fn emit(&self, event: Event) {
        let _ = self.tx.send(Entry { at: self.clock.now(), peer: self.peer.clone(), event });
        self.notify.notify_one();
    }
}

/// What the actor works through, one at a time.
pub(crate) enum Command {
    /// A message from the relay.
    Signal(serde_json::Value),
    NegotiationNeeded,
    LocalCandidate(RTCIceCandidateInit),
    GatheringComplete,
    RemoteChannel(Arc<dyn DataChannel>),
    Perform(Action, oneshot::Sender<Result<(), RustPeerError>>),
    /// Take a `getStats()` summary into the transcript.
    CollectStats(oneshot::Sender<()>),
    /// The signaling socket closed.
    SignalingClosed(String),
}

pub struct RustPeer {
    name: String,
    commands: mpsc::UnboundedSender<Command>,
    events: Mutex<mpsc::UnboundedReceiver<Entry>>,
    notify: Arc<Notify>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    shut: AtomicBool,
    /// The run's time limits, for the waits on the actor's answers.
    limits: crate::limits::Limits,
}

impl RustPeer {
    /// Builds the peer connection, joins the relay room and starts the actor.
    /// `crate_sockets`: use the crate's own UDP sockets instead of [`socket`]'s (for comparison).
    pub async fn start(config: PeerConfig, clock: Clock, crate_sockets: bool) -> Result<RustPeer, PeerError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let notify = Arc::new(Notify::new());
        let sink = Sink { peer: config.name.clone(), clock, tx, notify: Arc::clone(&notify) };
        sink.emit(Event::Hello { stack: "webrtc-rs".into(), version: WEBRTC_VERSION.into() });
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ws_out, reader) = tokio::time::timeout(config.limits.peer_start, signaling::connect(&config.signaling_url, cmd_tx.clone()))
            .await
            .map_err(|_| PeerError::Timeout { peer: config.name.clone(), what: format!("joining the relay at {}", config.signaling_url), limit: config.limits.peer_start })?
            .map_err(|e| PeerError::failed(&config.name, "joining the relay", e))?;
        let limits = config.limits;
        let actor = actor::Actor::build(config.clone(), sink.clone(), cmd_tx.clone(), ws_out, crate_sockets)
            .await
            .map_err(|e| PeerError::failed(&config.name, "building the peer connection", e))?;
        let actor_task = tokio::spawn(actor.run(cmd_rx));
        Ok(RustPeer {
            name: config.name,
            commands: cmd_tx,
            events: Mutex::new(rx),
            notify,
            tasks: std::sync::Mutex::new(vec![reader, actor_task]),
            shut: AtomicBool::new(false),
            limits,
        })
    }
}

#[async_trait]
impl Peer for RustPeer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn perform(&self, action: &Action) -> Result<(), PeerError> {
        let (tx, rx) = oneshot::channel();
        let what = action.name();
        self.commands.send(Command::Perform(action.clone(), tx)).map_err(|_| PeerError::failed(&self.name, &what, "the peer has stopped"))?;
        let limit = self.limits.action;
        match tokio::time::timeout(limit, rx).await {
            Err(_) => Err(PeerError::Timeout { peer: self.name.clone(), what, limit }),
            Ok(Err(_)) => Err(PeerError::failed(&self.name, &what, "the peer stopped before answering")),
            Ok(Ok(r)) => r.map_err(|m| PeerError::failed(&self.name, &what, m)),
        }
    }

    async fn drain(&self) -> Result<Vec<Entry>, PeerError> {
        let mut rx = self.events.lock().await;
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push(e);
        }
        Ok(out)
    }

    fn pushes_events(&self) -> bool {
        true
    }

    async fn changed(&self) {
        let _ = tokio::time::timeout(limits::RUST_POLL, self.notify.notified()).await;
    }

    async fn collect_stats(&self) -> Result<(), PeerError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::CollectStats(tx)).map_err(|_| PeerError::failed(&self.name, "getStats", "the peer has stopped"))?;
        let limit = self.limits.action;
        tokio::time::timeout(limit, rx)
            .await
            .map_err(|_| PeerError::Timeout { peer: self.name.clone(), what: "getStats".into(), limit })?
            .map_err(|_| PeerError::failed(&self.name, "getStats", "the peer stopped before answering"))
    }

    async fn shutdown(&self) {
        if self.shut.swap(true, Ordering::SeqCst) {
            return;
        }
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Perform(Action::Close, tx)).is_ok() {
            let _ = tokio::time::timeout(self.limits.teardown, rx).await;
        }
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

impl Drop for RustPeer {
    fn drop(&mut self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// The `rust` kind: [`RustPeer`]s in this process.
pub struct RustKind {
    info: super::KindInfo,
    crate_sockets: bool,
}

impl RustKind {
    /// `name` is `rust` for the built-in kind; a project may register the same peer under another
    /// name (see `examples/own_kind.rs`).
    pub fn new(name: &str, crate_sockets: bool) -> RustKind {
        let info = super::KindInfo {
            kind: crate::scenario::PeerKind::new(name).expect("valid kind name"),
            stack: "webrtc crate 0.21 (Rust, in process)".into(),
            // webrtc 0.21 declares `on_ice_candidate_error` and its event type, but nothing in
            // the crate (rtc or webrtc) ever constructs `OnIceCandidateErrorEvent`: a refused TURN
            // credential leaves no trace but the missing relay candidate.
            // transceivers: set_direction and remove_track work, but webrtc 0.21 cannot
            // replaceTrack (see `transceivers::replace_track`). codec_preferences: not done; the
            // crate's setCodecPreferences takes payload-typed RTCRtpCodecParameters, not
            // getCapabilities() entries, and this peer only sends VP8 and Opus fixtures anyway.
            capabilities: crate::scenario::Capabilities {
                candidate_error: false,
                perfect_negotiation: true,
                rollback: true,
                transceivers: false,
                codec_preferences: false,
                data_channel_options: true,
                binary_messages: true,
                close_channel: true,
                // With a `marker` in its configuration it paints its video and encodes it with
                // libvpx (`live`), and decodes what it receives to read markers.
                markers: true,
                // It sends a pre-encoded Ogg Opus file and has no Opus decoder for what it hears.
                tones: false,
                ..crate::scenario::Capabilities::full(&["VP8", "opus"])
            },
            install: "nothing to install".into(),
            findings: Vec::new(),
        };
        RustKind { info, crate_sockets }
    }
}

#[async_trait]
impl super::Launcher for RustKind {
    fn info(&self) -> &super::KindInfo {
        &self.info
    }
    fn availability(&self) -> Result<(), super::KindError> {
        Ok(())
    }
    async fn open(&self, config: PeerConfig, clock: Clock) -> Result<Box<dyn Peer>, PeerError> {
        Ok(Box::new(RustPeer::start(config, clock, self.crate_sockets).await?))
    }
    async fn version(&self) -> Result<String, super::KindError> {
        Ok(format!("webrtc {WEBRTC_VERSION}"))
    }
    async fn shutdown(&self) {}
}
