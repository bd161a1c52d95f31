//! Browser peers (Chrome, Firefox) driven over WebDriver: the agent page does the WebRTC work,
//! the runner reaches it only through script execution (`agent.perform`, `agent.drain`).

mod launcher;
mod pool;

pub use launcher::{find, kill_all_now, kill_all_on_signal, set_fake_camera_fps};
pub use pool::BrowserPool;

use super::{Action, Peer, PeerConfig, PeerError};
use crate::clock::Clock;
use crate::limits;
use crate::transcript::{Entry, Event};
use async_trait::async_trait;
use launcher::Session;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Mutex;

/// The agent page the relay serves at `/agent`.
pub const AGENT_PAGE: &str = include_str!("agent.html");

/// The launcher of this process (one pool, so sessions are shared by every case).
pub fn launcher() -> Option<Arc<dyn super::BrowserLauncher>> {
    static POOL: OnceLock<Arc<BrowserPool>> = OnceLock::new();
    Some(Arc::new(Arc::clone(POOL.get_or_init(BrowserPool::from_env))))
}

/// An action as the page's `agent.perform` takes it.
fn action_json(action: &Action) -> Value {
    match action {
        Action::Start => json!({"type": "start"}),
        Action::AddTrack(kind) => json!({"type": "add_track", "kind": kind.as_str()}),
        Action::CreateDataChannel { label } => json!({"type": "create_data_channel", "label": label}),
        Action::SendOffer => json!({"type": "send_offer"}),
        Action::RestartIce => json!({"type": "restart_ice"}),
        Action::SendMessage { label, text } => json!({"type": "send_message", "label": label, "text": text}),
        Action::Close => json!({"type": "close"}),
    }
}

/// Calls `window.agent.<call>` with execute-async and resolves with its result, or the error text.
const CALL: &str = "const [name, arg, done] = arguments;
Promise.resolve().then(() => window.agent[name](arg)).then(
  (v) => done({ok: v === undefined ? null : v}),
  (e) => done({error: String((e && (e.message || e.name)) || e)}));";

pub struct BrowserPeer {
    name: String,
    clock: Clock,
    pool: Arc<BrowserPool>,
    session: Mutex<Option<Session>>,
    failed: AtomicBool,
}

impl BrowserPeer {
    /// Loads the agent page in `session` and sets the peer up; on failure the session is handed
    /// back for disposal.
    pub(crate) async fn load(pool: Arc<BrowserPool>, session: Session, config: PeerConfig, clock: Clock) -> Result<BrowserPeer, (Session, PeerError)> {
        let peer = BrowserPeer { name: config.name.clone(), clock, pool, session: Mutex::new(Some(session)), failed: AtomicBool::new(false) };
        let url = format!("{}/agent", config.relay_base);
        let setup = json!({
            "signaling_url": config.signaling_url,
            "media": config.media.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "data_channels": config.data_channels.iter().map(|c| json!({"label": c.label, "send": c.send})).collect::<Vec<_>>(),
            "trickle": config.trickle,
            "auto_negotiate": config.auto_negotiate,
            "echo": config.echo,
        });
        let loaded = async {
            let guard = peer.session.lock().await;
            let client = &guard.as_ref().expect("session present").client;
            tokio::time::timeout(limits::scaled(limits::PEER_START), client.goto(&url))
                .await
                .map_err(|_| PeerError::Timeout { peer: peer.name.clone(), what: format!("loading {url}"), limit: limits::scaled(limits::PEER_START) })?
                .map_err(|e| PeerError::failed(&peer.name, "loading the agent page", e))?;
            drop(guard);
            peer.call("setup", setup, limits::PEER_START).await
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

    /// `window.agent.<name>(arg)`, bounded by `limit` (scaled).
    async fn call(&self, name: &str, arg: Value, limit: std::time::Duration) -> Result<Value, PeerError> {
        let limit = limits::scaled(limit);
        let guard = self.session.lock().await;
        let session = guard.as_ref().ok_or_else(|| PeerError::failed(&self.name, name, "the browser was released"))?;
        let result = tokio::time::timeout(limit, session.client.execute_async(CALL, vec![json!(name), arg])).await;
        let value = match result {
            Err(_) => {
                self.failed.store(true, Ordering::SeqCst);
                return Err(PeerError::Timeout { peer: self.name.clone(), what: format!("agent.{name}()"), limit });
            }
            Ok(Err(e)) => {
                self.failed.store(true, Ordering::SeqCst);
                return Err(PeerError::failed(&self.name, &format!("agent.{name}()"), e));
            }
            Ok(Ok(v)) => v,
        };
        match value.get("error") {
            Some(e) => Err(PeerError::failed(&self.name, &format!("agent.{name}()"), e.as_str().unwrap_or_default())),
            None => Ok(value.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }

    fn entry(&self, mut raw: Value) -> Entry {
        let t = raw.get("t").and_then(Value::as_f64);
        if let Some(o) = raw.as_object_mut() {
            o.remove("t");
        }
        let at = t.map(|t| self.clock.from_epoch_ms(t)).unwrap_or_else(|| self.clock.now());
        let event = serde_json::from_value::<Event>(raw.clone())
            .unwrap_or_else(|e| Event::Error { context: "agent event".into(), message: format!("{e}: {raw}") });
        Entry { at, peer: self.name.clone(), event }
    }
}

#[async_trait]
impl Peer for BrowserPeer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn perform(&self, action: &Action) -> Result<(), PeerError> {
        self.call("perform", action_json(action), limits::ACTION).await.map(|_| ())
    }

    async fn drain(&self) -> Result<Vec<Entry>, PeerError> {
        let events = self.call("drain", Value::Null, limits::ACTION).await?;
        Ok(events.as_array().cloned().unwrap_or_default().into_iter().map(|e| self.entry(e)).collect())
    }

    fn pushes_events(&self) -> bool {
        false
    }

    async fn changed(&self) {
        tokio::time::sleep(limits::BROWSER_POLL).await;
    }

    async fn collect_stats(&self) -> Result<(), PeerError> {
        self.call("collectStats", Value::Null, limits::ACTION).await.map(|_| ())
    }

    async fn shutdown(&self) {
        let _ = self.call("close", Value::Null, limits::TEARDOWN).await;
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
