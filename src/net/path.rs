//! One peer's path to the ICE servers: a UDP proxy that the peer's `stun:`/`turn:` URLs point at.
//! It forwards to the TURN server through the impairment engine ([`super::impair`]), one
//! [`Link`] per direction, and keeps the record of what crossed it (STUN Binding and Allocate
//! requests, TURN error codes, packet counts), which is how STUN stays observable on a host
//! where a stack drops a server-reflexive candidate equal to its host candidate.
//!
//! With `ice_transport_policy: relay` every packet the peer exchanges crosses this path, so the
//! conditions apply to all of its media (docs/networks.md: an impairing relay in front of
//! TURN works with both browsers; rewriting candidates to point at a proxy would not).
//!
//! Why no NAT: a proxy the peer addresses as its server cannot tell where the peer meant a packet
//! to go, so it cannot map server-reflexive traffic to other destinations the way a NAT does;
//! that needs the packets' real destinations (a TUN device or a kernel NAT, root-only here).

use super::impair::{Counters, Fate, Link};
use super::stun::{stun_attribute, transaction, USERNAME};
pub use super::stun::{stun_error_code, stun_type};
use crate::clock::Clock;
use crate::scenario::network::Path;
use crate::transcript::{Entry, Event};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What crossed a path, for the case's record and the `stun` / `turn` expectations.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct PathRecord {
    /// STUN Binding requests the peer sent (RFC 8489).
    pub binding_requests: u64,
    /// TURN Allocate requests the peer sent, and the server's answers (RFC 8656 section 7).
    pub allocate_requests: u64,
    pub allocate_success: u64,
    /// 401 answers to Allocate requests without credentials: the long-term credential
    /// mechanism's challenge (RFC 8489 section 9.2.4), part of every successful allocation.
    pub challenges: u64,
    /// Error codes of Allocate error responses to requests that carried credentials (401
    /// Unauthorized here is a refused credential; 438 Stale Nonce, ...).
    pub allocate_errors: BTreeMap<u16, u64>,
    pub uplink: Counters,
    pub downlink: Counters,
}

struct State {
    /// Transaction ids of Allocate requests that carried a USERNAME.
    authenticated: std::collections::HashSet<[u8; 12]>,
    up: Link,
    down: Link,
    record: PathRecord,
    mappings: HashMap<SocketAddr, Arc<UdpSocket>>,
    events: Vec<Entry>,
}

struct Inner {
    peer: String,
    ip: IpAddr,
    target: SocketAddr,
    epoch: Instant,
    clock: Clock,
    listener: Arc<UdpSocket>,
    state: Mutex<State>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The task that notes the end of the current blackout.
    blackout_end: Mutex<Option<JoinHandle<()>>>,
    up_tx: mpsc::UnboundedSender<(Instant, Vec<u8>, Arc<UdpSocket>)>,
    down_tx: mpsc::UnboundedSender<(Instant, Vec<u8>, SocketAddr)>,
}

/// A running path. [`PeerPath::stop`] ends every task and closes every socket it opened.
pub struct PeerPath {
    inner: Arc<Inner>,
}

impl PeerPath {
    /// A path for `peer` on `ip` (any free port) to the server at `target`, with `path`'s
    /// conditions; `seed` fixes the losses and jitter.
    pub async fn start(peer: &str, ip: IpAddr, target: SocketAddr, path: &Path, seed: u64, clock: Clock) -> Result<PeerPath, super::error::NetError> {
        let listener = UdpSocket::bind((ip, 0)).await.map_err(|source| super::error::NetError::PathBind { peer: peer.to_string(), ip, source })?;
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        let (down_tx, down_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            peer: peer.to_string(),
            ip,
            target,
            epoch: Instant::now(),
            clock,
            listener: Arc::new(listener),
            state: Mutex::new(State {
                authenticated: Default::default(),
                up: Link::new(path.uplink.clone(), seed),
                down: Link::new(path.downlink.clone(), seed ^ 0x5DEE_CE66_D1CE_5EED),
                record: PathRecord::default(),
                mappings: HashMap::new(),
                events: Vec::new(),
            }),
            tasks: Mutex::new(Vec::new()),
            blackout_end: Mutex::new(None),
            up_tx,
            down_tx,
        });
        if !path.uplink.is_perfect() || !path.downlink.is_perfect() {
            inner.note(format!("network: {}", path.describe()));
        }
        let tasks = vec![tokio::spawn(listen(Arc::clone(&inner))), tokio::spawn(deliver_up(up_rx, target)), tokio::spawn(deliver_down(down_rx, Arc::clone(&inner.listener)))];
        inner.tasks.lock().unwrap().extend(tasks);
        Ok(PeerPath { inner })
    }

    /// Where the peer's ICE server URLs point.
    pub fn addr(&self) -> SocketAddr {
        self.inner.listener.local_addr().expect("bound socket")
    }

    pub fn peer(&self) -> &str {
        &self.inner.peer
    }

    /// New conditions from now on (a `network` step); a blackout in progress ends here.
    pub fn set(&self, path: &Path) {
        let now = self.inner.epoch.elapsed();
        let cut = {
            let mut s = self.inner.state.lock().unwrap();
            s.up.set(path.uplink.clone());
            s.down.set(path.downlink.clone());
            s.up.end_blackouts(now) | s.down.end_blackouts(now)
        };
        if cut {
            if let Some(t) = self.inner.blackout_end.lock().unwrap().take() {
                t.abort();
            }
            self.inner.note("blackout ends (new conditions)".into());
        }
        self.inner.note(format!("network: {}", path.describe()));
    }

    /// Drops everything in both directions for `length` from now (a `blackout` step); the end is
    /// recorded when it comes.
    pub fn blackout(&self, length: Duration) {
        let now = self.inner.epoch.elapsed();
        {
            let mut s = self.inner.state.lock().unwrap();
            s.up.blackout(now, now + length);
            s.down.blackout(now, now + length);
        }
        self.inner.note(format!("blackout begins ({}ms)", length.as_millis()));
        let inner = Arc::clone(&self.inner);
        let end = tokio::spawn(async move {
            tokio::time::sleep(length).await;
            inner.note("blackout ends".into());
        });
        if let Some(previous) = self.inner.blackout_end.lock().unwrap().replace(end) {
            previous.abort();
        }
    }

    /// Changes and notes since the last drain.
    pub fn drain(&self) -> Vec<Entry> {
        std::mem::take(&mut self.inner.state.lock().unwrap().events)
    }

    pub fn record(&self) -> PathRecord {
        let s = self.inner.state.lock().unwrap();
        PathRecord { uplink: s.up.counters, downlink: s.down.counters, ..s.record.clone() }
    }

    /// Ends every task (listener, deliveries, upstream readers, a pending blackout end) and waits
    /// for them, so that every socket is closed when this returns.
    pub async fn stop(self) {
        let mut tasks = std::mem::take(&mut *self.inner.tasks.lock().unwrap());
        tasks.extend(self.inner.blackout_end.lock().unwrap().take());
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        self.inner.state.lock().unwrap().mappings.clear();
    }
}

impl Inner {
    fn note(&self, change: String) {
        let entry = Entry { at: self.clock.now(), peer: self.peer.clone(), event: Event::Network { change } };
        self.state.lock().unwrap().events.push(entry);
    }
}

/// Peer -> server: each source address of the peer gets its own upstream socket (TURN tells
/// allocations apart by 5-tuple, RFC 8656 section 2.2), and a reader for the server's answers.
async fn listen(inner: Arc<Inner>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, from)) = inner.listener.recv_from(&mut buf).await else { return };
        let packet = buf[..n].to_vec();
        let now = inner.epoch.elapsed();
        let (fate, upstream) = {
            let mut s = inner.state.lock().unwrap();
            observe_up(&mut s, &packet);
            let fate = s.up.send(now, n);
            (fate, s.mappings.get(&from).cloned())
        };
        let upstream = match upstream {
            Some(u) => u,
            None => match UdpSocket::bind((inner.ip, 0)).await {
                Ok(sock) => {
                    let sock = Arc::new(sock);
                    inner.state.lock().unwrap().mappings.insert(from, Arc::clone(&sock));
                    let reader = tokio::spawn(read_upstream(Arc::clone(&inner), Arc::clone(&sock), from));
                    inner.tasks.lock().unwrap().push(reader);
                    sock
                }
                Err(e) => {
                    tracing::warn!("{}'s path: upstream socket: {e}", inner.peer);
                    continue;
                }
            },
        };
        if let Fate::Deliver(at) = fate {
            let _ = inner.up_tx.send((inner.epoch + at, packet, upstream));
        }
    }
}

/// Server -> peer, for the peer address `client`. Only the server's packets are taken.
async fn read_upstream(inner: Arc<Inner>, sock: Arc<UdpSocket>, client: SocketAddr) {
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf).await else { return };
        if from != inner.target {
            continue;
        }
        let packet = buf[..n].to_vec();
        let now = inner.epoch.elapsed();
        let fate = {
            let mut s = inner.state.lock().unwrap();
            observe_down(&mut s, &packet);
            s.down.send(now, n)
        };
        if let Fate::Deliver(at) = fate {
            let _ = inner.down_tx.send((inner.epoch + at, packet, client));
        }
    }
}

/// Deliveries leave in order: the engine never schedules a packet before the one ahead of it.
async fn deliver_up(mut rx: mpsc::UnboundedReceiver<(Instant, Vec<u8>, Arc<UdpSocket>)>, target: SocketAddr) {
    while let Some((at, packet, sock)) = rx.recv().await {
        tokio::time::sleep_until(at).await;
        let _ = sock.send_to(&packet, target).await;
    }
}

async fn deliver_down(mut rx: mpsc::UnboundedReceiver<(Instant, Vec<u8>, SocketAddr)>, listener: Arc<UdpSocket>) {
    while let Some((at, packet, client)) = rx.recv().await {
        tokio::time::sleep_until(at).await;
        let _ = listener.send_to(&packet, client).await;
    }
}

const BINDING_REQUEST: u16 = 0x0001;
const ALLOCATE_REQUEST: u16 = 0x0003;
const ALLOCATE_SUCCESS: u16 = 0x0103;
const ALLOCATE_ERROR: u16 = 0x0113;

fn observe_up(s: &mut State, packet: &[u8]) {
    match stun_type(packet) {
        Some(BINDING_REQUEST) => s.record.binding_requests += 1,
        Some(ALLOCATE_REQUEST) => {
            s.record.allocate_requests += 1;
            if stun_attribute(packet, USERNAME).is_some() {
                s.authenticated.insert(transaction(packet));
            }
        }
        _ => {}
    }
}

fn observe_down(s: &mut State, packet: &[u8]) {
    match stun_type(packet) {
        Some(ALLOCATE_SUCCESS) => s.record.allocate_success += 1,
        Some(ALLOCATE_ERROR) => match stun_error_code(packet) {
            Some(code) if s.authenticated.contains(&transaction(packet)) => *s.record.allocate_errors.entry(code).or_default() += 1,
            Some(401) => s.record.challenges += 1,
            Some(code) => *s.record.allocate_errors.entry(code).or_default() += 1,
            None => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::stun::MAGIC_COOKIE;

    #[test]
    fn stun_messages_and_error_codes_are_read_from_the_wire_format() {
        // An Allocate error response, 401 (class 4, number 1), with one ERROR-CODE attribute.
        let mut m = vec![0x01, 0x13, 0x00, 0x08];
        m.extend(MAGIC_COOKIE);
        m.extend([0u8; 12]);
        m.extend([0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 0x01]);
        assert_eq!(stun_type(&m), Some(ALLOCATE_ERROR));
        assert_eq!(stun_error_code(&m), Some(401));
        let mut s = State {
            authenticated: Default::default(),
            up: Link::new(Default::default(), 1),
            down: Link::new(Default::default(), 1),
            record: PathRecord::default(),
            mappings: HashMap::new(),
            events: Vec::new(),
        };
        observe_down(&mut s, &m);
        assert_eq!((s.record.challenges, s.record.allocate_errors.get(&401)), (1, None), "a 401 to a request without credentials is the challenge");
        s.authenticated.insert([0u8; 12]);
        observe_down(&mut s, &m);
        assert_eq!(s.record.allocate_errors.get(&401), Some(&1), "a 401 to a request with a USERNAME is a refusal");
        // RTP (version 2: first bits 10) is not STUN.
        assert_eq!(stun_type(&[0x80; 40]), None);
    }
}
