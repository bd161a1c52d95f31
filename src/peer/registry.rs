//! The open registry of peer kinds: one [`Launcher`] per kind. The runner, the bench, the CLI and
//! the error messages learn which kinds exist from here; adding a kind is registering a launcher.

use super::interface::{Peer, PeerConfig, PeerError};
use crate::clock::Clock;
use crate::scenario::{Capabilities, KnownFinding, PeerKind};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;

/// What `rtc-harness kinds` shows of a kind.
#[derive(Clone, Debug)]
pub struct KindInfo {
    pub kind: PeerKind,
    /// The stack behind it (`webrtc crate 0.21`, `Chromium (WebDriver)`, `aiortc (Python)`).
    pub stack: String,
    pub capabilities: Capabilities,
    /// How to install it (printed when it is missing).
    pub install: String,
    /// Its bugs that break whole pairs: their cases are excluded with the reason.
    pub findings: Vec<KnownFinding>,
}

/// Scarce slots shared by several kinds (the browser pool: two browsers of any kinds at once).
/// A case reserves every slot it needs from a pool at once, before it opens any peer, so that two
/// cases side by side never each hold half of what the other needs.
#[async_trait]
pub trait SlotPool: Send + Sync {
    async fn reserve(&self, count: usize) -> Result<OwnedSemaphorePermit, PeerError>;
}

/// Why a kind's stack cannot be used on this machine: a run leaves its cases out with this as
/// the reason, and `rtc-harness kinds` prints it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum KindError {
    /// Its program, browser or driver is missing; the text says what and how to install it.
    #[error("{0}")]
    NotInstalled(String),
    /// Installed, but its program did not start or said no `hello` (stacks/PROTOCOL.md).
    #[error("{0}")]
    NotStarted(String),
}

/// Starts peers of one kind.
#[async_trait]
pub trait Launcher: Send + Sync {
    fn info(&self) -> &KindInfo;

    /// An error when the kind's stack is not installed (it says how to install it).
    fn availability(&self) -> Result<(), KindError>;

    /// The pool this kind's peers take a slot from, if any (see [`SlotPool`]).
    fn slots(&self) -> Option<Arc<dyn SlotPool>> {
        None
    }

    /// Pages the relay must serve for this kind's peers (`("/agent", html)` for browsers).
    fn pages(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// Opens one peer of a case.
    async fn open(&self, config: PeerConfig, clock: Clock) -> Result<Box<dyn Peer>, PeerError>;

    /// The stack's own name and version, as a running peer reports it (`aiortc 1.16.0`).
    async fn version(&self) -> Result<String, KindError>;

    /// The kind's time-to-first-frame floor: one run per entry of `delays_ms` (the pause between
    /// capture start and `createOffer`, see `bench::dither`) of two peer connections inside one
    /// process of the stack, no relay in the path. `pages_base` serves the bench's pages
    /// (`/floor`). With `signaling` (`ws://.../ws/floor`), the same two connections exchange
    /// their descriptions and candidates through the relay instead, the n-th call in the room
    /// `floor-n` as peers `a` and `b`. `None` when the stack has no such floor.
    async fn floor(&self, _delays_ms: &[f64], _pages_base: &str, _signaling: Option<&str>) -> Option<Result<Vec<FloorRun>, String>> {
        None
    }

    /// Closes and kills everything this kind started. Idempotent.
    async fn shutdown(&self);
}

/// The kinds of a run, in registration order (the order of `kind: all`).
#[derive(Clone, Default)]
pub struct Registry {
    launchers: Vec<Arc<dyn Launcher>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a kind; a kind of the same name is replaced (a project may re-register `rust`).
    pub fn register(&mut self, launcher: Arc<dyn Launcher>) {
        let kind = launcher.info().kind.clone();
        match self.launchers.iter().position(|l| l.info().kind == kind) {
            Some(i) => self.launchers[i] = launcher,
            None => self.launchers.push(launcher),
        }
    }

    pub fn get(&self, kind: &PeerKind) -> Option<&Arc<dyn Launcher>> {
        self.launchers.iter().find(|l| &l.info().kind == kind)
    }

    pub fn kinds(&self) -> Vec<PeerKind> {
        self.launchers.iter().map(|l| l.info().kind.clone()).collect()
    }

    pub fn launchers(&self) -> &[Arc<dyn Launcher>] {
        &self.launchers
    }

    /// `rust, chrome, firefox, aiortc` (for messages).
    pub fn names(&self) -> String {
        self.kinds().iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Every page any kind needs the relay to serve.
    pub fn pages(&self) -> Vec<(&'static str, &'static str)> {
        let mut pages: Vec<(&'static str, &'static str)> = self.launchers.iter().flat_map(|l| l.pages()).collect();
        pages.sort();
        pages.dedup();
        pages
    }

    pub async fn shutdown(&self) {
        for l in &self.launchers {
            l.shutdown().await;
        }
    }
}

/// One floor run, in ms from `createOffer`: the first frame, and the phases where the floor
/// reports them (the browsers' floor page does; a command peer may answer times only).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FloorRun {
    pub first_frame: f64,
    pub answer_applied: Option<f64>,
    pub ice_connected: Option<f64>,
    pub dtls_connected: Option<f64>,
    /// The answer phase's steps (see `bench::Phases`), where the floor stamps them.
    pub offer_set: Option<f64>,
    pub offer_applied: Option<f64>,
    pub answer_set: Option<f64>,
    /// Through the relay: how long each description waited in the page before
    /// `setRemoteDescription`, and how long that call took (durations, as in `bench::Phases`).
    #[serde(default)]
    pub offer_queued: Option<f64>,
    #[serde(default)]
    pub offer_apply: Option<f64>,
    #[serde(default)]
    pub answer_queued: Option<f64>,
    #[serde(default)]
    pub answer_apply: Option<f64>,
    /// The pause between capture start and `createOffer` this run had (ms), where it had one.
    #[serde(default)]
    pub delay: Option<f64>,
}

impl FloorRun {
    /// A run as a page or program reports it: a number (the first frame), or an object with
    /// `first_frame` and the phases.
    pub fn from_json(v: &serde_json::Value) -> Option<FloorRun> {
        if let Some(ms) = v.as_f64() {
            return Some(FloorRun { first_frame: ms, ..FloorRun::default() });
        }
        let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        Some(FloorRun {
            first_frame: f("first_frame")?,
            answer_applied: f("answer_applied"),
            ice_connected: f("ice_connected"),
            dtls_connected: f("dtls_connected"),
            offer_set: f("offer_set"),
            offer_applied: f("offer_applied"),
            answer_set: f("answer_set"),
            offer_queued: f("offer_queued"),
            offer_apply: f("offer_apply"),
            answer_queued: f("answer_queued"),
            answer_apply: f("answer_apply"),
            delay: f("delay"),
        })
    }

    /// Runs from a JSON array of `expected` entries.
    pub fn list(v: Option<&serde_json::Value>, expected: usize) -> Option<Vec<FloorRun>> {
        let runs: Vec<FloorRun> = v?.as_array()?.iter().filter_map(FloorRun::from_json).collect();
        (runs.len() == expected).then_some(runs)
    }
}
