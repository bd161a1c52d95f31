//! The Rust peer's WebSocket connection to the relay.

use super::Command;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Connects; returns a sender of outgoing text frames and the reader task, which turns every
/// incoming frame into a [`Command::Signal`].
pub(super) async fn connect(url: &str, commands: mpsc::UnboundedSender<Command>) -> Result<(mpsc::UnboundedSender<String>, JoinHandle<()>), super::RustPeerError> {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(super::RustPeerError::Join)?;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                out = out_rx.recv() => match out {
                    Some(text) => {
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            let _ = commands.send(Command::SignalingClosed("send failed".into()));
                            break;
                        }
                    }
                    None => {
                        let _ = sink.close().await;
                        break;
                    }
                },
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                        Ok(v) => {
                            let _ = commands.send(Command::Signal(v));
                        }
                        Err(e) => {
                            let _ = commands.send(Command::SignalingClosed(format!("relay sent non-JSON: {e}")));
                        }
                    },
                    Some(Ok(Message::Close(_))) | None => {
                        let _ = commands.send(Command::SignalingClosed("relay closed the socket".into()));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        let _ = commands.send(Command::SignalingClosed(e.to_string()));
                        break;
                    }
                },
            }
        }
    });
    Ok((out_tx, task))
}
