//! A command peer in a case: `setup` with the case's configuration, actions as `perform`, events
//! drained from the program's queue onto the case clock, `close` and back to the idle programs.

use super::idle::Idle;
use super::process::{Control, Hello, Process, ProcessError};
use crate::clock::Clock;
use crate::limits;
use crate::peer::{Action, Peer, PeerConfig, PeerError};
use crate::transcript::{Entry, Event};
use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Mutex;

pub struct CommandPeer {
    name: String,
    clock: Clock,
    idle: Arc<Idle>,
    process: Mutex<Option<Process>>,
    /// Entries taken before the first drain (the `hello`).
    early: std::sync::Mutex<Vec<Entry>>,
    /// Kept for [`Peer::gone`] and failure reports after the process is released.
    program: String,
    /// The run's time limits, for the program's answers.
    limits: limits::Limits,
    /// The program's stderr mark at setup: this case's lines come after it.
    stderr_mark: u64,
    /// `close` was answered with `closed` (`finish`): the program goes back to the idle ones as is.
    closed: std::sync::atomic::AtomicBool,
}

impl CommandPeer {
    pub(crate) async fn setup(idle: Arc<Idle>, process: Process, config: PeerConfig, clock: Clock, hello: Option<Hello>) -> Result<CommandPeer, PeerError> {
        let name = config.name.clone();
        // Events a previous case left behind are not this case's.
        while process.events.lock().await.try_recv().is_ok() {}
        let program = process.program.clone();
        let stderr_mark = process.begin_case();
        let ready = async {
            process.send(&json!({"type": "setup", "case": config.room, "config": config.to_json()})).await.map_err(|e| e.to_string())?;
            match process.expect_control(config.limits.peer_start, "ready").await.map_err(|e| e.to_string())? {
                Control::Ready => Ok(()),
                Control::Fail(m) => Err(format!("setup failed: {m}")),
                other => Err(format!("expected ready, got {other:?}")),
            }
        };
        if let Err(e) = ready.await {
            process.settle().await;
            let message = process.report(&e);
            process.kill();
            return Err(PeerError::failed(&name, "setup", message));
        }
        let early = hello.map(|h| vec![Entry { at: clock.now(), peer: name.clone(), event: Event::Hello { stack: h.stack, version: h.version } }]).unwrap_or_default();
        Ok(CommandPeer {
            name,
            clock,
            idle,
            process: Mutex::new(Some(process)),
            early: std::sync::Mutex::new(early),
            program,
            limits: config.limits,
            stderr_mark,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    async fn fail(&self, what: &str, message: String, process: &Process) -> PeerError {
        if process.gone().is_some() {
            process.settle().await;
            if let Some(report) = self.gone_report(process) {
                return PeerError::Gone { peer: self.name.clone(), message: report };
            }
        }
        // The stack's own message (a `send_refused` records exactly that); the case's stderr joins
        // the failure message once, from the runner.
        PeerError::failed(&self.name, what, message)
    }

    /// `<program> is gone: <why>` with its exit status and stderr, once the program is gone.
    fn gone_report(&self, process: &Process) -> Option<String> {
        process.gone().map(|why| process.report(&format!("{} is gone: {why}", self.program)))
    }
}

#[async_trait]
impl Peer for CommandPeer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn perform(&self, action: &Action) -> Result<(), PeerError> {
        let guard = self.process.lock().await;
        let process = guard.as_ref().ok_or_else(|| PeerError::failed(&self.name, &action.name(), "the peer was shut down"))?;
        let limit = self.limits.action;
        let r = process.request("perform", json!({"action": action.to_json()}), limit).await;
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(&action.name(), e.to_string(), process).await),
        }
    }

    async fn drain(&self) -> Result<Vec<Entry>, PeerError> {
        let mut out: Vec<Entry> = std::mem::take(&mut *self.early.lock().unwrap());
        let guard = self.process.lock().await;
        let Some(process) = guard.as_ref() else { return Ok(out) };
        let mut events = process.events.lock().await;
        while let Ok((t, raw)) = events.try_recv() {
            let event = Event::from_peer(raw.clone()).unwrap_or_else(|e| Event::Error { context: "protocol".into(), message: format!("{e}: {raw}") });
            out.push(Entry { at: self.clock.from_epoch_ms(t), peer: self.name.clone(), event });
        }
        Ok(out)
    }

    fn pushes_events(&self) -> bool {
        true
    }

    async fn changed(&self) {
        let guard = self.process.lock().await;
        match guard.as_ref() {
            Some(p) => {
                let _ = tokio::time::timeout(limits::RUST_POLL, p.changed()).await;
            }
            None => tokio::time::sleep(limits::RUST_POLL).await,
        }
    }

    async fn collect_stats(&self) -> Result<(), PeerError> {
        let guard = self.process.lock().await;
        let Some(process) = guard.as_ref() else { return Ok(()) };
        let limit = self.limits.action;
        match process.request("collect_stats", json!({}), limit).await {
            Ok(()) => Ok(()),
            Err(ProcessError::Silent { .. }) => Err(PeerError::Timeout { peer: self.name.clone(), what: "collect_stats".into(), limit }),
            Err(e) => Err(self.fail("collect_stats", e.to_string(), process).await),
        }
    }

    async fn finish(&self) -> Result<(), PeerError> {
        let guard = self.process.lock().await;
        let Some(process) = guard.as_ref() else { return Ok(()) };
        let limit = self.limits.teardown;
        match process.close_case(limit).await {
            Ok(()) => {
                self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
            Err(ProcessError::Silent { .. }) => Err(PeerError::Timeout { peer: self.name.clone(), what: "close".into(), limit }),
            Err(e) => Err(self.fail("close", e.to_string(), process).await),
        }
    }

    async fn case_log(&self) -> Vec<String> {
        let guard = self.process.lock().await;
        guard.as_ref().map(|p| p.stderr_since(self.stderr_mark)).unwrap_or_default()
    }

    fn gone(&self) -> Option<String> {
        let guard = self.process.try_lock().ok()?;
        let process = guard.as_ref()?;
        self.gone_report(process)
    }

    /// The program's stderr lines of this case only (it may have served earlier cases).
    async fn save_artifacts(&self, dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let guard = self.process.lock().await;
        let Some(process) = guard.as_ref() else { return Vec::new() };
        let path = dir.join(format!("{}-stderr.log", self.name));
        let mut text = process.stderr_since(self.stderr_mark).join("\n");
        text.push('\n');
        match std::fs::write(&path, text) {
            Ok(()) => vec![path],
            Err(_) => Vec::new(),
        }
    }

    async fn shutdown(&self) {
        if let Some(process) = self.process.lock().await.take() {
            if self.closed.load(std::sync::atomic::Ordering::SeqCst) && process.gone().is_none() {
                self.idle.keep(process);
            } else {
                self.idle.release(process, self.limits).await;
            }
        }
    }
}
