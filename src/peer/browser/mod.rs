//! Browser peers (Chrome, Firefox) driven over WebDriver: the agent page does the WebRTC work,
//! the runner drives it only through script execution (`agent.setup`, `agent.perform`), and the
//! page pushes its events to the runner ([`outlet`]).

mod launcher;
mod outlet;
mod pool;

pub use crate::peer::procs::{kill_all_now, kill_all_on_signal};
pub use launcher::{find, BrowserError, BrowserOptions, Flavor, WarmUp};
pub use pool::BrowserPool;

use super::{Action, Floor, FloorError, FloorRun, KindError, KindInfo, Launcher, Peer, PeerConfig, PeerError, Registry, SlotPool};
use crate::clock::Clock;
use crate::limits;
use crate::scenario::{Capabilities, PeerKind};
use crate::transcript::{Entry, Event};
use async_trait::async_trait;
use launcher::Session;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The agent page, served by the relay at `/agent` for browser peers.
pub const AGENT_PAGE: &str = include_str!("agent.html");

/// The frame marker's kernel as the agent page loads it (`/kernel/marker.js`): the Node adapters'
/// own module (stacks/node/kernel/marker.js), given a `module` to export into and published as
/// `window.frameMarker`, so that the page paints, reads and records markers with the same code.
pub const MARKER_SCRIPT: &str =
    concat!("(() => {\nconst module = { exports: {} };\n", include_str!("../../../stacks/node/kernel/marker.js"), "\nwindow.frameMarker = module.exports;\n})();\n");

/// The audio marker's kernel as the agent page loads it (`/kernel/tone.js`), published as
/// `window.audioTone` the same way.
pub const TONE_SCRIPT: &str =
    concat!("(() => {\nconst module = { exports: {} };\n", include_str!("../../../stacks/node/kernel/tone.js"), "\nwindow.audioTone = module.exports;\n})();\n");

/// Registers `chrome` and `firefox`, sharing one pool of sessions (reused by every case).
pub fn register(registry: &mut Registry, options: BrowserOptions) {
    let pool = BrowserPool::new(options);
    for (flavor, stack) in [(Flavor::Chrome, "Chromium over WebDriver"), (Flavor::Firefox, "Firefox ESR over WebDriver")] {
        let info = KindInfo {
            kind: PeerKind::new(flavor.as_str()).expect("valid kind name"),
            stack: stack.into(),
            capabilities: Capabilities {
                // Headless Firefox ESR 153 on a machine with no sound device (no PulseAudio, no
                // ALSA card: these CI machines) keeps every AudioContext `suspended` and never
                // settles resume(), whatever the autoplay prefs (media.autoplay.default 0,
                // block-webaudio false, blocking_policy 0) or cubeb backend (alsa with a null PCM,
                // force_null_context): the page can neither make its tone nor hear one. Chromium
                // falls back to a fake audio output and does both (docs/markers.md).
                tones: flavor == Flavor::Chrome,
                ..Capabilities::full(&["VP8", "VP9", "H264", "opus"])
            },
            install: "bash scripts/install-browsers.sh".into(),
            findings: Vec::new(),
        };
        registry.register(Arc::new(BrowserKind { info, flavor, pool: Arc::clone(&pool) }));
    }
}

/// The launcher of one browser kind.
pub struct BrowserKind {
    info: KindInfo,
    flavor: Flavor,
    pool: Arc<BrowserPool>,
}

const FLOOR_SCRIPT: &str = "const done = arguments[arguments.length - 1];
window.floor(arguments[0], arguments[1], arguments[2]).then((v) => done({ok: v}), (e) => done({error: String(e)}));";

#[async_trait]
impl Launcher for BrowserKind {
    fn info(&self) -> &KindInfo {
        &self.info
    }

    fn availability(&self) -> Result<(), KindError> {
        if self.pool.options.grid.is_some() {
            return Ok(());
        }
        launcher::find(self.flavor, &self.pool.options).map(|_| ()).map_err(|e| KindError::NotInstalled(e.to_string()))
    }

    fn slots(&self) -> Option<Arc<dyn SlotPool>> {
        Some(Arc::clone(&self.pool) as Arc<dyn SlotPool>)
    }

    fn pages(&self) -> Vec<(&'static str, &'static str)> {
        vec![("/agent", AGENT_PAGE), ("/kernel/marker.js", MARKER_SCRIPT), ("/kernel/tone.js", TONE_SCRIPT)]
    }

    async fn open(&self, config: PeerConfig, clock: Clock) -> Result<Box<dyn Peer>, PeerError> {
        let session = self.pool.acquire(self.flavor).await?;
        match BrowserPeer::load(Arc::clone(&self.pool), session, config, clock).await {
            Ok(peer) => Ok(Box::new(peer)),
            Err((session, e)) => {
                self.pool.release(session, false).await;
                Err(e)
            }
        }
    }

    async fn version(&self) -> Result<String, KindError> {
        let bins = launcher::find(self.flavor, &self.pool.options).map_err(|e| KindError::NotInstalled(e.to_string()))?;
        let out = tokio::process::Command::new(&bins.browser).arg("--version").output().await.map_err(|e| KindError::NotStarted(format!("{}: {e}", bins.browser.display())))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn floor(&self) -> Option<&dyn Floor> {
        Some(self)
    }

    async fn shutdown(&self) {
        self.pool.close_all().await;
    }
}

/// The browsers' floor: the bench's floor page, two peer connections in one page.
#[async_trait]
impl Floor for BrowserKind {
    async fn run(&self, delays_ms: &[f64], pages_base: &str, signaling: Option<&str>) -> Option<Result<Vec<FloorRun>, FloorError>> {
        let url = format!("{pages_base}/floor");
        let iterations = delays_ms.len();
        // With the whole-call warm-up, the floor page makes the same throwaway call first, as
        // each agent page does before a measured case.
        let warm = self.pool.options.warm_up == WarmUp::Call;
        let value = match self.pool.run_script(self.flavor, &url, FLOOR_SCRIPT, vec![json!(delays_ms), json!(warm), json!(signaling)]).await {
            Ok(v) => v,
            Err(e) => return Some(Err(FloorError(e.to_string()))),
        };
        if let Some(e) = value.get("error") {
            return Some(Err(FloorError(format!("floor page: {e}"))));
        }
        Some(FloorRun::list(value.get("ok"), iterations).ok_or_else(|| FloorError(format!("floor page returned {value}"))))
    }
}

/// Calls `window.agent.<call>` with execute-async and resolves with its result, or the error text.
/// Every answer carries `sent`: how many events the page had pushed to its event socket when it
/// answered (see [`outlet`]), after sending what it still held.
const CALL: &str = "const [name, arg, done] = arguments;
const sent = () => (window.agent && window.agent.flush ? window.agent.flush() : null);
Promise.resolve().then(() => window.agent[name](arg)).then(
  (v) => done({ok: v === undefined ? null : v, sent: sent()}),
  (e) => done({error: String((e && (e.message || e.name)) || e), sent: sent()}));";

pub struct BrowserPeer {
    name: String,
    clock: Clock,
    pool: Arc<BrowserPool>,
    session: Mutex<Option<Session>>,
    failed: AtomicBool,
    /// Set when WebDriver itself fails (the browser or its driver died): see [`Peer::gone`].
    gone: std::sync::Mutex<Option<String>>,
    /// The browser's name and version from the session's capabilities, drained first.
    hello: std::sync::Mutex<Option<Entry>>,
    /// Where the page pushes its events.
    outlet: outlet::Outlet,
    /// Set by `shutdown`: the event socket may close from then on.
    closing: AtomicBool,
}

impl BrowserPeer {
    /// Loads the agent page in `session` and sets the peer up; on failure the session is handed
    /// back for disposal.
    pub(crate) async fn load(pool: Arc<BrowserPool>, session: Session, config: PeerConfig, clock: Clock) -> Result<BrowserPeer, (Session, PeerError)> {
        let caps = session.client.capabilities();
        let cap = |key: &str| caps.and_then(|c| c.get(key)).and_then(Value::as_str).unwrap_or("unknown").to_string();
        let hello = Entry { at: clock.now(), peer: config.name.clone(), event: Event::Hello { stack: cap("browserName"), version: cap("browserVersion") } };
        let outlet = match outlet::Outlet::open(clock, &config.name, pool.options.limits.peer_start).await {
            Ok(o) => o,
            Err(e) => return Err((session, PeerError::failed(&config.name, "opening the page's event socket", e))),
        };
        let peer = BrowserPeer {
            name: config.name.clone(),
            clock,
            pool,
            session: Mutex::new(Some(session)),
            failed: AtomicBool::new(false),
            gone: std::sync::Mutex::new(None),
            hello: std::sync::Mutex::new(Some(hello)),
            outlet,
            closing: AtomicBool::new(false),
        };
        let url = format!("{}/agent", config.relay_base);
        let mut setup = config.to_json();
        setup["events_url"] = json!(peer.outlet.url);
        setup["warm_up"] = json!(peer.pool.options.warm_up.as_str());
        let loaded = async {
            let guard = peer.session.lock().await;
            let client = &guard.as_ref().expect("session present").client;
            tokio::time::timeout(peer.pool.options.limits.peer_start, client.goto(&url))
                .await
                .map_err(|_| PeerError::Timeout { peer: peer.name.clone(), what: format!("loading {url}"), limit: peer.pool.options.limits.peer_start })?
                .map_err(|e| PeerError::failed(&peer.name, "loading the agent page", e))?;
            drop(guard);
            peer.call("setup", setup, peer.pool.options.limits.peer_start).await
        }
        .await;
        match loaded {
            Ok(_) => Ok(peer),
            Err(e) => {
                let session = peer.session.lock().await.take().expect("session present");
                Err((session, e))
            }
        }
    }

    /// `window.agent.<name>(arg)`, bounded by `limit` (one of the run's [`limits::Limits`]).
    async fn call(&self, name: &str, arg: Value, limit: std::time::Duration) -> Result<Value, PeerError> {
        let guard = self.session.lock().await;
        let session = guard.as_ref().ok_or_else(|| PeerError::failed(&self.name, name, "the browser was released"))?;
        let result = tokio::time::timeout(limit, session.client.execute_async(CALL, vec![json!(name), arg])).await;
        let value = match result {
            Err(_) => {
                self.failed.store(true, Ordering::SeqCst);
                return Err(PeerError::Timeout { peer: self.name.clone(), what: format!("agent.{name}()"), limit });
            }
            // Script errors come back as `{error}` values (see CALL); a WebDriver error means
            // the session, the browser or the driver is gone.
            Ok(Err(e)) => {
                self.failed.store(true, Ordering::SeqCst);
                let message = format!("the browser is gone: agent.{name}(): {e}");
                *self.gone.lock().unwrap() = Some(message.clone());
                return Err(PeerError::Gone { peer: self.name.clone(), message });
            }
            Ok(Ok(v)) => v,
        };
        // The events the page sent before it answered are in the inbox before the answer is
        // used: the runner drains after an action and must see what the action caused.
        if let Some(sent) = value.get("sent").and_then(Value::as_u64) {
            if !self.outlet.inbox.wait_for(sent, limit).await {
                self.failed.store(true, Ordering::SeqCst);
                let why = self.outlet.inbox.ended().unwrap_or_else(|| "they did not arrive".into());
                return Err(PeerError::failed(&self.name, &format!("agent.{name}()"), format!("the page sent {sent} events, not all received within {limit:?}: {why}")));
            }
        }
        match value.get("error") {
            Some(e) => Err(PeerError::failed(&self.name, &format!("agent.{name}()"), e.as_str().unwrap_or_default())),
            None => Ok(value.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }
}

#[async_trait]
impl Peer for BrowserPeer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn perform(&self, action: &Action) -> Result<(), PeerError> {
        self.call("perform", action.to_json(), self.pool.options.limits.action).await.map(|_| ())
    }

    /// What the page pushed (see [`outlet`]): no WebDriver call.
    async fn drain(&self) -> Result<Vec<Entry>, PeerError> {
        let hello = self.hello.lock().unwrap().take();
        Ok(hello.into_iter().chain(self.outlet.inbox.take()).collect())
    }

    fn pushes_events(&self) -> bool {
        true
    }

    /// A pushed event, or the heartbeat (`limits::BROWSER_POLL`): a `flush` call through WebDriver
    /// that finds a browser or driver gone (the call fails) while the page pushes nothing.
    /// Cancelling it loses nothing: the call carries no events.
    async fn changed(&self) {
        tokio::select! {
            _ = self.outlet.inbox.news() => {}
            _ = tokio::time::sleep(self.pool.options.poll.unwrap_or(limits::BROWSER_POLL)) => {
                let _ = self.call("flush", Value::Null, self.pool.options.limits.action).await;
            }
        }
    }

    async fn collect_stats(&self) -> Result<(), PeerError> {
        self.call("collectStats", Value::Null, self.pool.options.limits.action).await.map(|_| ())
    }

    fn gone(&self) -> Option<String> {
        let ended = || self.outlet.inbox.ended().filter(|_| !self.closing.load(Ordering::SeqCst)).map(|why| format!("the browser page is gone: {why}"));
        self.gone.lock().unwrap().clone().or_else(ended)
    }

    /// The page's console (on the case clock) and a screenshot of the page as it was at the end.
    async fn save_artifacts(&self, dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut written = Vec::new();
        if let Ok(lines) = self.call("consoleLog", Value::Null, self.pool.options.limits.action).await {
            let text: String = lines
                .as_array()
                .map(|v| v.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|l| {
                    let at = l["t"].as_f64().map(|t| self.clock.from_epoch_ms(t)).unwrap_or(f64::NAN);
                    format!("{at:>9.1} ms  {:<8} {}\n", l["level"].as_str().unwrap_or(""), l["text"].as_str().unwrap_or(""))
                })
                .collect();
            let path = dir.join(format!("{}-console.log", self.name));
            if std::fs::write(&path, text).is_ok() {
                written.push(path);
            }
        }
        let guard = self.session.lock().await;
        if let Some(session) = guard.as_ref() {
            if let Ok(Ok(png)) = tokio::time::timeout(self.pool.options.limits.action, session.client.screenshot()).await {
                let path = dir.join(format!("{}-screenshot.png", self.name));
                if std::fs::write(&path, png).is_ok() {
                    written.push(path);
                }
            }
        }
        written
    }

    async fn shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let _ = self.call("close", Value::Null, self.pool.options.limits.teardown).await;
        if let Some(session) = self.session.lock().await.take() {
            self.pool.release(session, !self.failed.load(Ordering::SeqCst)).await;
        }
    }
}

impl Drop for BrowserPeer {
    /// A peer dropped without `shutdown` (a panic): its browser cannot be trusted; kill it now.
    fn drop(&mut self) {
        if let Some(session) = self.session.get_mut().take() {
            let kind = session.kind;
            drop(session);
            self.pool.forget(kind);
        }
    }
}
