//! Load on the relay: N rooms of two connected members each, for forwarding latency and
//! throughput (`benches/relay.rs`). Traffic goes to 127.0.0.1 only.

use crate::clock::Clock;
use crate::relay::Relay;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long one message may take before the load run gives up.
pub const MESSAGE_WAIT: Duration = Duration::from_secs(10);

/// Why the load run could not start or a message did not come through.
#[derive(Debug, thiserror::Error)]
pub enum RelayLoadError {
    /// The relay did not start.
    #[error("{0}")]
    Relay(#[source] std::io::Error),
    /// A member's WebSocket failed (connect, send or flush).
    #[error("{0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// Something other than the message arrived, or nothing within [`MESSAGE_WAIT`]; the text
    /// says which room or message and what came.
    #[error("{0}")]
    Unexpected(String),
}

pub struct RelayLoad {
    relay: Relay,
    senders: Vec<SplitSink<Ws, Message>>,
    receivers: Vec<SplitStream<Ws>>,
    next: usize,
}

/// Raises the open-file limit to its hard maximum: 1,000 rooms are 4,000 sockets in one process.
fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain getrlimit/setrlimit on a stack value.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

impl RelayLoad {
    /// Starts a relay with `rooms` rooms and joins both members of each.
    pub async fn start(rooms: usize) -> Result<RelayLoad, RelayLoadError> {
        raise_fd_limit();
        let relay = Relay::start(Clock::start(), Vec::new()).await.map_err(RelayLoadError::Relay)?;
        let (mut senders, mut receivers) = (Vec::with_capacity(rooms), Vec::with_capacity(rooms));
        for i in 0..rooms {
            let room = format!("r{i}");
            relay.rooms.open_room(&room, &["a".to_string(), "b".to_string()]);
            let (a, _) = tokio_tungstenite::connect_async(relay.ws_url(&room, "a")).await?;
            let (b, _) = tokio_tungstenite::connect_async(relay.ws_url(&room, "b")).await?;
            senders.push(a.split().0);
            receivers.push(b.split().1);
        }
        Ok(RelayLoad { relay, senders, receivers, next: 0 })
    }

    pub fn rooms(&self) -> usize {
        self.senders.len()
    }

    /// One message, in the next room in turn: from `a`'s send to `b`'s receipt.
    pub async fn one_latency(&mut self) -> Result<Duration, RelayLoadError> {
        let i = self.next;
        self.next = (self.next + 1) % self.senders.len();
        let msg = r#"{"candidate":{"candidate":"candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}}"#;
        let start = Instant::now();
        self.senders[i].send(Message::Text(msg.into())).await?;
        match tokio::time::timeout(MESSAGE_WAIT, self.receivers[i].next()).await {
            Ok(Some(Ok(Message::Text(_)))) => Ok(start.elapsed()),
            other => Err(RelayLoadError::Unexpected(format!("room r{i}: expected the message, got {other:?}"))),
        }
    }

    /// Every room sends `per_room` messages at once; returns (messages, time until the last
    /// arrived).
    pub async fn burst(&mut self, per_room: usize) -> Result<(usize, Duration), RelayLoadError> {
        let start = Instant::now();
        let sends = self.senders.iter_mut().map(|s| async move {
            for _ in 0..per_room {
                s.feed(Message::Text(r#"{"candidate":null}"#.into())).await?;
            }
            s.flush().await.map_err(RelayLoadError::from)
        });
        let receives = self.receivers.iter_mut().map(|r| async move {
            for n in 0..per_room {
                match tokio::time::timeout(MESSAGE_WAIT, r.next()).await {
                    Ok(Some(Ok(Message::Text(_)))) => {}
                    other => return Err(RelayLoadError::Unexpected(format!("message {n}: {other:?}"))),
                }
            }
            Ok::<(), RelayLoadError>(())
        });
        let (s, r) = futures::join!(futures::future::join_all(sends), futures::future::join_all(receives));
        s.into_iter().chain(r).collect::<Result<Vec<()>, RelayLoadError>>()?;
        Ok((per_room * self.senders.len(), start.elapsed()))
    }

    pub async fn stop(self) {
        drop(self.senders);
        drop(self.receivers);
        self.relay.stop().await;
    }
}
