//! The agent page's event socket: the page pushes its events to the harness as they happen, over a
//! WebSocket to a listener of its own peer, instead of being polled through WebDriver.
//!
//! Why: a drain is a WebDriver script on the page's main thread, and at the 20 ms that waits need
//! every browser page cost a driver round trip 50 times a second for the whole case, blackouts
//! and sleeps included (the bench had measured that share of the two cores on its own figures).
//! Pushed, a page costs one message per burst of events, and a wait wakes when the event comes.
//!
//! Nothing is lost and nothing is read early: every call's answer carries how many events the page
//! had sent when it answered ([`Inbox::wait_for`]), so an action's events are in the inbox before
//! the runner drains after it, whichever of the two connections delivered first.

use crate::clock::Clock;
use crate::transcript::{Entry, Event};
use futures::StreamExt;
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

/// What the page pushed and the runner has not drained yet.
pub struct Inbox {
    entries: Mutex<Vec<Entry>>,
    /// Events received so far (the page's `sent` counts the same).
    received: watch::Sender<u64>,
    /// Woken for each message (a stored permit when nobody waits, so no message is missed).
    news: Notify,
    /// Why the socket ended before the case did (the page or the browser went away).
    ended: Mutex<Option<String>>,
}

impl Inbox {
    fn new() -> Inbox {
        Inbox { entries: Mutex::new(Vec::new()), received: watch::channel(0).0, news: Notify::new(), ended: Mutex::new(None) }
    }

    /// Everything received since the last take.
    pub fn take(&self) -> Vec<Entry> {
        std::mem::take(&mut *self.entries.lock().unwrap())
    }

    /// Until a message arrives (at once when one came since the last wake).
    pub async fn news(&self) {
        self.news.notified().await
    }

    /// Why the socket closed, if it did.
    pub fn ended(&self) -> Option<String> {
        self.ended.lock().unwrap().clone()
    }

    /// Until `sent` events have been received, at most `limit`; false when they have not.
    pub async fn wait_for(&self, sent: u64, limit: Duration) -> bool {
        let mut rx = self.received.subscribe();
        let arrived = matches!(tokio::time::timeout(limit, rx.wait_for(|n| *n >= sent)).await, Ok(Ok(_)));
        arrived
    }

    fn push(&self, raw: Vec<Value>, clock: &Clock, peer: &str) {
        let n = raw.len() as u64;
        self.entries.lock().unwrap().extend(raw.into_iter().map(|e| entry(clock, peer, e)));
        self.received.send_modify(|r| *r += n);
        self.news.notify_one();
    }
}

/// One event as the page stamped it (epoch milliseconds in `t`), on the case clock.
fn entry(clock: &Clock, peer: &str, mut raw: Value) -> Entry {
    let t = raw.get("t").and_then(Value::as_f64);
    if let Some(o) = raw.as_object_mut() {
        o.remove("t");
    }
    let at = t.map(|t| clock.from_epoch_ms(t)).unwrap_or_else(|| clock.now());
    let event = Event::from_peer(raw.clone()).unwrap_or_else(|e| Event::Error { context: "agent event".into(), message: format!("{e}: {raw}") });
    Entry { at, peer: peer.to_string(), event }
}

/// A listener for one page's event socket, and the task that reads it into the inbox.
pub struct Outlet {
    pub url: String,
    pub inbox: std::sync::Arc<Inbox>,
    task: tokio::task::JoinHandle<()>,
}

impl Outlet {
    /// Listens on a loopback port for the page named `peer`; the page connects within `limit`.
    pub async fn open(clock: Clock, peer: &str, limit: Duration) -> std::io::Result<Outlet> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("ws://{}", listener.local_addr()?);
        let inbox = std::sync::Arc::new(Inbox::new());
        let (into, peer) = (std::sync::Arc::clone(&inbox), peer.to_string());
        let task = tokio::spawn(async move {
            let why = match tokio::time::timeout(limit, listener.accept()).await {
                Ok(Ok((stream, _))) => read(stream, &into, &clock, &peer).await,
                Ok(Err(e)) => format!("its event socket was never opened: {e}"),
                Err(_) => format!("its page did not open its event socket within {limit:?}"),
            };
            *into.ended.lock().unwrap() = Some(why);
            into.news.notify_one();
        });
        Ok(Outlet { url, inbox, task })
    }
}

impl Drop for Outlet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads messages (each a JSON array of events) until the socket ends; why it ended.
async fn read(stream: tokio::net::TcpStream, inbox: &Inbox, clock: &Clock, peer: &str) -> String {
    let mut ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => return format!("its event socket failed to open: {e}"),
    };
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Text(text)) => match serde_json::from_str::<Vec<Value>>(&text) {
                Ok(events) => inbox.push(events, clock, peer),
                Err(e) => inbox.push(vec![serde_json::json!({"type": "error", "context": "agent event socket", "message": format!("{e}: {text}")})], clock, peer),
            },
            Ok(Message::Close(_)) => return "its page closed its event socket".into(),
            Ok(_) => {}
            Err(e) => return format!("its event socket failed: {e}"),
        }
    }
    "its event socket ended".into()
}
