//! Command peers: any program that speaks the command-peer protocol (`stacks/PROTOCOL.md`, JSON
//! lines over stdio) is a peer kind. Kinds are declared in a kinds file (`stacks/kinds.yaml`, plus
//! any given with `--kinds-file` / `RTC_HARNESS_KINDS`); each becomes a [`CommandKind`] launcher
//! in the registry. Programs are reused across cases (setup ... close, setup ... close), so a
//! suite does not pay an interpreter start per case.

mod idle;
mod kinds;
mod peer;
mod process;
pub mod schema;

pub use kinds::{load_kinds, KindDecl, KindsError, NotInstalled};
pub use peer::CommandPeer;
pub use process::{Hello, PROTOCOL};

use super::{Floor, FloorError, FloorRun, KindError, KindInfo, Launcher, MediaFiles, Peer, PeerConfig, PeerError, Registry};
use crate::clock::Clock;
use crate::limits;
use async_trait::async_trait;
use idle::Idle;
use process::{Process, ProcessError};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Registers every kind of the kinds file at `path`.
/// `media` is what the floor sends (the cases' media comes with each case's configuration).
pub fn register_file(registry: &mut Registry, path: &std::path::Path, media: &MediaFiles, limits: limits::Limits) -> Result<(), KindsError> {
    for decl in load_kinds(path)? {
        registry.register(Arc::new(CommandKind::new(decl, media.clone(), limits)));
    }
    Ok(())
}

/// The launcher of one declared kind: a pool of idle programs.
pub struct CommandKind {
    info: KindInfo,
    decl: KindDecl,
    idle: Arc<Idle>,
    installed: OnceLock<Result<(), NotInstalled>>,
    hello: OnceLock<Hello>,
    media: MediaFiles,
    /// The run's time limits, for a program's start-up and its floor.
    limits: limits::Limits,
}

impl CommandKind {
    pub fn new(decl: KindDecl, media: MediaFiles, limits: limits::Limits) -> CommandKind {
        let info = KindInfo {
            kind: decl.kind.clone(),
            stack: decl.stack.clone(),
            capabilities: decl.capabilities.clone(),
            install: decl.install.clone(),
            findings: decl.findings.clone(),
        };
        CommandKind { info, decl, idle: Arc::new(Idle::default()), installed: OnceLock::new(), hello: OnceLock::new(), media, limits }
    }

    /// An idle program, or a new one.
    async fn process(&self) -> Result<Process, String> {
        loop {
            let Some(p) = self.idle.take() else { break };
            if p.gone().is_none() {
                return Ok(p);
            }
        }
        let (p, hello) = Process::spawn(&self.decl.command, &self.decl.dir, self.limits).await.map_err(|e| e.to_string())?;
        let _ = self.hello.set(hello);
        Ok(p)
    }
}

#[async_trait]
impl Launcher for CommandKind {
    fn info(&self) -> &KindInfo {
        &self.info
    }

    fn availability(&self) -> Result<(), KindError> {
        self.installed.get_or_init(|| kinds::check_installed(&self.decl)).clone().map_err(|e| KindError::NotInstalled(e.to_string()))
    }

    async fn open(&self, config: PeerConfig, clock: Clock) -> Result<Box<dyn Peer>, PeerError> {
        let name = config.name.clone();
        let process = self.process().await.map_err(|e| PeerError::failed(&name, &format!("starting {}", self.info.kind), e))?;
        let hello = self.hello.get().cloned();
        CommandPeer::setup(Arc::clone(&self.idle), process, config, clock, hello).await.map(|p| Box::new(p) as Box<dyn Peer>)
    }

    async fn version(&self) -> Result<String, KindError> {
        self.availability()?;
        if self.hello.get().is_none() {
            let p = self.process().await.map_err(KindError::NotStarted)?;
            self.idle.keep(p);
        }
        let h = self.hello.get().ok_or_else(|| KindError::NotStarted("no hello".into()))?;
        Ok(format!("{} {}", h.stack, h.version))
    }

    fn floor(&self) -> Option<&dyn Floor> {
        Some(self)
    }

    async fn shutdown(&self) {
        let idle: Vec<Process> = self.idle.take_all();
        for p in idle {
            p.kill();
        }
    }
}

/// A program's floor: the protocol's `floor` request (PROTOCOL.md), in-process only.
#[async_trait]
impl Floor for CommandKind {
    async fn run(&self, delays_ms: &[f64], _pages_base: &str, signaling: Option<&str>) -> Option<Result<Vec<FloorRun>, FloorError>> {
        // The command protocol's floor is in-process only; a stack's own signaling client would
        // be needed for one through the relay.
        if signaling.is_some() {
            return None;
        }
        let iterations = delays_ms.len();
        let process = match self.process().await {
            Ok(p) => p,
            Err(e) => return Some(Err(FloorError(e))),
        };
        // Each iteration is a whole call set-up; allow a start-up's worth per iteration.
        let limit = self.limits.peer_start * (iterations.max(1) as u32);
        let result = process.request_result("floor", serde_json::json!({"iterations": iterations, "delays_ms": delays_ms, "media_files": self.media.to_json()}), limit).await;
        let floor = match result {
            // PROTOCOL.md "floor": a program without one refuses with an error containing `no floor`.
            Err(ProcessError::Refused(why)) if why.contains("no floor") => None,
            Err(e) => Some(Err(FloorError(process.report(&format!("floor: {e}"))))),
            Ok(v) => Some(FloorRun::list(v.get("floor"), iterations).ok_or_else(|| FloorError(format!("floor: expected {iterations} times, got {v}")))),
        };
        if process.gone().is_none() {
            self.idle.keep(process);
        }
        floor
    }
}

/// Where the default kinds file is: `stacks/kinds.yaml` of this crate.
pub fn default_kinds_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stacks/kinds.yaml")
}
