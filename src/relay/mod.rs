//! The signaling relay: an axum WebSocket server that forwards the seed's messages within rooms
//! and records every message.
//!
//! A peer joins with `GET /ws/<room>/<peer>` (WebSocket upgrade); each text frame it sends is
//! forwarded to the other members of the room. Frames that are not JSON, that exceed
//! [`MAX_MESSAGE_BYTES`], or that are binary get an error frame back
//! (`{"error": {"code": "not_json" | "too_large" | "binary" | "bad_desc" | "bad_candidate", ...}}`)
//! and a record; the socket stays open. Joins to an unknown room, by an undeclared peer or by a name
//! already present get an error frame (`unknown_room`, `unknown_peer`, `duplicate_peer`) and a close.
//! Whoever starts the relay hands it the pages it serves ([`Pages`]: the browser agent page at
//! `/agent`, the bench's floor page at `/floor`); the relay itself knows nothing of browsers.

pub mod faults;
mod message;
mod room;

pub use message::{classify, error_frame, MessageKind, RelayRecord, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};
pub use room::{JoinError, Rooms};

use crate::clock::Clock;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Static pages served beside the WebSocket endpoint: `(path, body)`, HTML, or JavaScript where
/// the path ends in `.js`.
pub type Pages = Vec<(&'static str, &'static str)>;

/// The router: `/ws/{room}/{peer}`, `/healthz`, and `pages`.
pub fn app(rooms: Arc<Rooms>, pages: &Pages) -> Router {
    let mut router = Router::new().route("/ws/{room}/{peer}", get(upgrade)).route("/healthz", get(|| async { "ok" }));
    for (path, body) in pages {
        let body: &'static str = body;
        router = match path.ends_with(".js") {
            true => router.route(path, get(move || async move { ([(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")], body).into_response() })),
            false => router.route(path, get(move || async move { Html(body) })),
        };
    }
    router.with_state(rooms)
}

/// Serves `app(rooms)` on an already-bound listener until `shutdown` resolves.
pub async fn serve(listener: TcpListener, rooms: Arc<Rooms>, pages: Pages, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Signaling frames are small and latency-bound: send each at once rather than let Nagle's
    // algorithm hold a partial segment until the previous one is acknowledged.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("relay: TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, app(rooms, &pages)).with_graceful_shutdown(shutdown).await
}

async fn upgrade(ws: WebSocketUpgrade, Path((room, peer)): Path<(String, String)>, State(rooms): State<Arc<Rooms>>) -> impl IntoResponse {
    ws.max_message_size(MAX_FRAME_BYTES).max_frame_size(MAX_FRAME_BYTES).on_upgrade(move |socket| session(socket, rooms, room, peer))
}

/// One member's connection: a writer task fed by a channel, and this reader loop.
async fn session(socket: WebSocket, rooms: Arc<Rooms>, room: String, peer: String) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
    if let Err(e) = rooms.join(&room, &peer, tx) {
        let _ = sink.send(Message::Text(error_frame(e.code, &e.message).into())).await;
        let _ = sink.close().await;
        return;
    }
    // Everything already queued goes out in one write: a burst of trickled candidates costs one
    // flush instead of one per message, and a lone message is still flushed at once.
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            let mut ok = sink.feed(msg).await.is_ok();
            while ok {
                let Ok(more) = rx.try_recv() else { break };
                ok = sink.feed(more).await.is_ok();
            }
            if !ok || sink.flush().await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Text(text) => rooms.relay_text(&room, &peer, text),
            Message::Binary(_) => rooms.reject(&room, &peer, "binary", "binary frames are not relayed; send JSON text"),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    rooms.leave(&room, &peer);
    writer.abort();
}

/// A relay running in this process (what the runner and the tests use).
pub struct Relay {
    pub addr: SocketAddr,
    pub rooms: Arc<Rooms>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Relay {
    /// Binds `127.0.0.1:0` and serves harness rooms (declared with [`Rooms::open_room`]).
    pub async fn start(clock: Clock, pages: Pages) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Ok(Relay::on(listener, clock, false, pages))
    }

    /// Serves on `listener`; `open` admits any room and peer name (the standalone relay).
    pub fn on(listener: TcpListener, clock: Clock, open: bool, pages: Pages) -> Relay {
        let addr = listener.local_addr().expect("bound listener has an address");
        let rooms = Arc::new(Rooms::new(clock, open));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, Arc::clone(&rooms), pages, async move {
            let _ = rx.await;
        }));
        Relay { addr, rooms, shutdown: Some(tx), task: Some(task) }
    }

    pub fn ws_url(&self, room: &str, peer: &str) -> String {
        format!("{}/{peer}", self.ws_room(room))
    }

    /// `ws://ADDR/ws/<room>`: a peer joins at this URL plus `/<peer>`.
    pub fn ws_room(&self, room: &str) -> String {
        format!("ws://{}/ws/{room}", self.addr)
    }

    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the server task.
    pub async fn stop(mut self) {
        self.stop_inner().await;
    }

    async fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
