//! The open registry of peer kinds: one [`Launcher`] per kind. The runner, the bench, the CLI and
//! the error messages learn which kinds exist from here; adding a kind is registering a launcher.

use super::floor::Floor;
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

    /// The bench's view of the kind, where its stack has a time-to-first-frame floor.
    fn floor(&self) -> Option<&dyn Floor> {
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
