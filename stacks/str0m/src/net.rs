//! The I/O str0m leaves to its user (it is sans-I/O): the UDP sockets of the host candidates and
//! the relay WebSocket. Each socket and the WebSocket are read by a task of their own that
//! forwards what arrives to the case's one loop, so the `Rtc` is only ever touched there.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use futures::{SinkExt, StreamExt};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::proto::log;

/// A datagram read from one of our sockets, with the local address it arrived on: str0m needs
/// the destination to match it with a local candidate (`net::Receive::destination`).
pub struct Datagram {
    pub at: Instant,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub data: Vec<u8>,
}

/// What the relay socket delivers: a text frame, or its end.
pub enum RelayIn {
    Text(String),
    Gone(String),
}

/// The addresses to gather host candidates on. str0m gathers nothing itself (its README: "Network
/// interface enum: no"), so the adapter is the gatherer: this host's IPv4 interface addresses,
/// without loopback, which a browser on this machine does not pair with (the Rust peer skips it
/// too); loopback only when there is nothing else. `RTC_HARNESS_ICE_IP` picks one address, as it
/// does for the harness (docs/networks.md; blank is unset, as there): a value that is not an IP
/// address is an error naming the variable, not a silent fall back to the interfaces. Traffic
/// stays on this machine either way.
pub fn host_addresses() -> Result<Vec<IpAddr>, String> {
    if let Some(v) = std::env::var_os("RTC_HARNESS_ICE_IP") {
        let text = v.to_string_lossy();
        if !text.trim().is_empty() {
            let ip = text.trim().parse().map_err(|_| format!("RTC_HARNESS_ICE_IP={text:?}: expected an IP address"))?;
            return Ok(vec![ip]);
        }
    }
    let mut out = Vec::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let Some(ip) = a.address.as_ref().and_then(|s| s.as_sockaddr_in()).map(|s| IpAddr::V4(s.ip())) else { continue };
            if !ip.is_loopback() && !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    if out.is_empty() {
        out.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    Ok(out)
}

/// Binds one UDP socket per address, each read by its own task into `tx`.
pub async fn bind_sockets(ips: &[IpAddr], tx: mpsc::UnboundedSender<Datagram>) -> std::io::Result<(Vec<Arc<UdpSocket>>, Vec<JoinHandle<()>>)> {
    let mut sockets = Vec::new();
    let mut tasks = Vec::new();
    for ip in ips {
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(*ip, 0)).await?);
        let destination = socket.local_addr()?;
        let reader = socket.clone();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                match reader.recv_from(&mut buf).await {
                    Ok((n, source)) => {
                        let d = Datagram { at: Instant::now(), source, destination, data: buf[..n].to_vec() };
                        if tx.send(d).is_err() {
                            return;
                        }
                    }
                    // ICMP port unreachable of an earlier send surfaces here on Linux: not fatal.
                    Err(e) => log(&format!("udp {destination}: {e}")),
                }
            }
        }));
        sockets.push(socket);
    }
    Ok((sockets, tasks))
}

/// The case's relay WebSocket: frames to send go through `out`, frames read arrive on `rx`.
pub struct Relay {
    pub out: Option<mpsc::UnboundedSender<String>>,
    pub rx: mpsc::UnboundedReceiver<RelayIn>,
    tasks: Vec<JoinHandle<()>>,
}

impl Relay {
    pub async fn connect(url: &str) -> Result<Relay, String> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| format!("cannot reach the relay at {url}: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        let (in_tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if let Err(e) = sink.send(Message::text(text)).await {
                    log(&format!("relay send: {e}"));
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let reader = tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(Message::Text(t)) => {
                        let _ = in_tx.send(RelayIn::Text(t.to_string()));
                    }
                    Ok(Message::Close(_)) => break,
                    Ok(_) => {}
                    Err(e) => {
                        let _ = in_tx.send(RelayIn::Gone(e.to_string()));
                        return;
                    }
                }
            }
            let _ = in_tx.send(RelayIn::Gone("closed".into()));
        });
        Ok(Relay { out: Some(out), rx, tasks: vec![writer, reader] })
    }

    /// Two relays joined in memory, for the floor: what one sends, the other receives, in order.
    pub fn pair() -> (Relay, Relay) {
        let half = |to: mpsc::UnboundedSender<RelayIn>| {
            let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
            let task = tokio::spawn(async move {
                while let Some(text) = out_rx.recv().await {
                    let _ = to.send(RelayIn::Text(text));
                }
            });
            (out, task)
        };
        let (a_tx, a_rx) = mpsc::unbounded_channel();
        let (b_tx, b_rx) = mpsc::unbounded_channel();
        let (a_out, a_task) = half(b_tx);
        let (b_out, b_task) = half(a_tx);
        (Relay { out: Some(a_out), rx: a_rx, tasks: vec![a_task] }, Relay { out: Some(b_out), rx: b_rx, tasks: vec![b_task] })
    }

    pub fn send(&self, v: &serde_json::Value) {
        match &self.out {
            Some(out) => {
                let _ = out.send(v.to_string());
            }
            None => log(&format!("relay closed: not sent {v}")),
        }
    }

    /// Closes the socket (the `close` action closes it, as the agent page does): the writer
    /// sends its close frame once the queue is empty.
    pub fn close(&mut self) {
        self.out = None;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
