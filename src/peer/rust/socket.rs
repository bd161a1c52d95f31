//! The Rust peer's UDP sockets: plain tokio sockets that put received datagrams in the order the
//! `webrtc` crate can use.
//!
//! webrtc 0.21 loses packets in two races, both at connection set-up, and each loss costs a
//! retransmission timer:
//!
//! - **Data before ICE selection.** Until its ICE agent has selected a pair, the crate drops every
//!   non-STUN datagram, though RFC 8445 section 12.2 says an agent "MUST be prepared to receive
//!   data on any candidate pair". A controlled peer (a browser answering a Rust offer) starts DTLS
//!   as soon as its own check succeeds, before the Rust side's nomination completes, so its
//!   ClientHello is dropped and the handshake waits for its 1 s retransmission. Here such
//!   datagrams are held until the socket has passed on the STUN message that selects a pair (the
//!   success response to our USE-CANDIDATE request, or the peer's USE-CANDIDATE request), or for
//!   [`EARLY_DATA_HOLD`] at most, then delivered in order.
//! - **SRTP keys installed one read burst late.** The crate reads a burst of datagrams before it
//!   processes the events they raise, and the SRTP keys travel as such an event. A DTLS client
//!   that receives the server's last flight and the server's first media packets in one burst
//!   drops those packets: the first keyframe. Here a DTLS handshake record ends the burst (the
//!   next poll yields once), so the crate installs the keys before it reads the media.
//!
//! `RTC_HARNESS_RUST_SOCKETS=crate` uses the crate's own sockets instead, to measure it as it is.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use webrtc::runtime::{AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle};
use webrtc::runtime::{RecvMeta, Runtime, TokioRuntime, Transmit};

/// Longest time a datagram that arrived before ICE selection is held back.
pub const EARLY_DATA_HOLD: Duration = Duration::from_millis(100);
/// Most datagrams held back at once; beyond, they are delivered (and dropped by the crate).
const EARLY_DATA_MAX: usize = 64;

/// The runtime the Rust peer's connections use, or `None` for the crate's own sockets
/// (`RTC_HARNESS_RUST_SOCKETS=crate`, read into the run's options: what the bench compares).
pub fn runtime(crate_sockets: bool) -> Option<Arc<dyn Runtime>> {
    if crate_sockets {
        None
    } else {
        Some(Arc::new(HarnessRuntime))
    }
}

/// Tokio, with [`OrderedSocket`]s for UDP.
#[derive(Debug)]
struct HarnessRuntime;

impl Runtime for HarnessRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn(future)
    }
    fn spawn_reactor(&self, size: usize, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn_reactor(size, future)
    }
    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        socket.set_nonblocking(true)?;
        let io = tokio::net::UdpSocket::from_std(socket)?;
        Ok(Arc::new(OrderedSocket { io, state: Mutex::new(Order::default()) }))
    }
    fn wrap_tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        TokioRuntime.wrap_tcp_listener(listener)
    }
    fn connect_tcp<'a>(&'a self, remote: SocketAddr) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        TokioRuntime.connect_tcp(remote)
    }
    fn resolve_host<'a>(&'a self, host: &'a str) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        TokioRuntime.resolve_host(host)
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.sleep(duration)
    }
    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        TokioRuntime.interval(period)
    }
    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        TokioRuntime.block_on(future)
    }
    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.yield_now()
    }
    fn name(&self) -> &'static str {
        "tokio (rtc-harness sockets)"
    }
}

/// What a socket knows of the connection from the STUN traffic it carried.
#[derive(Default)]
struct Order {
    /// A pair has been selected: nothing is held any more.
    selected: bool,
    /// Transaction ids of our nominating binding requests (USE-CANDIDATE, RFC 8445 section 7.2.2).
    nominations: HashSet<[u8; 12]>,
    held: VecDeque<(Vec<u8>, SocketAddr, Instant)>,
    /// A wake-up is due when the oldest held datagram's hold ends.
    timer_armed: bool,
    /// The last datagram passed on was a DTLS handshake record: end the crate's read burst.
    yield_next: bool,
}

#[derive(Debug)]
struct OrderedSocket {
    io: tokio::net::UdpSocket,
    state: Mutex<Order>,
}

impl std::fmt::Debug for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Order").field("selected", &self.selected).field("held", &self.held.len()).finish()
    }
}

/// STUN (RFC 8489 section 5): message type, transaction id and whether USE-CANDIDATE is present.
fn stun(datagram: &[u8]) -> Option<(u16, [u8; 12], bool)> {
    if datagram.len() < 20 || datagram[0] > 1 || datagram[4..8] != [0x21, 0x12, 0xA4, 0x42] {
        return None;
    }
    let kind = u16::from_be_bytes([datagram[0], datagram[1]]);
    let tid: [u8; 12] = datagram[8..20].try_into().ok()?;
    let mut at = 20;
    let mut use_candidate = false;
    while at + 4 <= datagram.len() {
        let attr = u16::from_be_bytes([datagram[at], datagram[at + 1]]);
        let len = u16::from_be_bytes([datagram[at + 2], datagram[at + 3]]) as usize;
        use_candidate |= attr == 0x0025;
        at += 4 + len.div_ceil(4) * 4;
    }
    Some((kind, tid, use_candidate))
}

const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;

/// A DTLS handshake or ChangeCipherSpec record (RFC 6347 section 4.1; demultiplexed by the first
/// byte as RFC 7983 section 7 does).
fn is_dtls_handshake(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(20 | 22))
}

/// The payload of a TURN ChannelData message (RFC 8656 section 12; first byte 64-79 in RFC 7983's
/// demultiplexing): the other agent's traffic relayed by a TURN server.
fn channel_data(datagram: &[u8]) -> Option<&[u8]> {
    (datagram.len() >= 4 && (0x40..=0x4F).contains(&datagram[0])).then(|| &datagram[4..])
}

/// What the ICE agent sees of a datagram: a ChannelData message's payload, else the datagram.
/// The two races above happen the same way on a relayed pair, one layer in: a relayed
/// connectivity check, its response and an early DTLS ClientHello all arrive as ChannelData, so
/// selection is read and data is held there too (not looking inside held every relayed packet
/// for [`EARLY_DATA_HOLD`]; not holding lost the first ClientHello to a 1 s retransmission).
fn inner(datagram: &[u8]) -> &[u8] {
    channel_data(datagram).unwrap_or(datagram)
}

impl Order {
    /// Notes what a received STUN message says about selection.
    fn saw_stun(&mut self, kind: u16, tid: &[u8; 12], use_candidate: bool) {
        let selects = (kind == BINDING_SUCCESS && self.nominations.contains(tid)) || (kind == BINDING_REQUEST && use_candidate);
        if selects {
            self.selected = true;
            self.nominations.clear();
        }
    }

    /// The held datagram due now, if any.
    fn release(&mut self, now: Instant) -> Option<(Vec<u8>, SocketAddr)> {
        let due = self.selected || self.held.front().is_some_and(|(_, _, at)| now.duration_since(*at) >= EARLY_DATA_HOLD);
        if due {
            self.held.pop_front().map(|(d, a, _)| (d, a))
        } else {
            None
        }
    }
}

fn recv_meta(from: SocketAddr, len: usize) -> RecvMeta {
    let mut m = RecvMeta::default();
    m.addr = from;
    m.len = len;
    m.stride = len.max(1);
    m
}

/// Copies a held datagram into the driver's buffer.
fn deliver(datagram: &[u8], from: SocketAddr, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> usize {
    let n = datagram.len().min(bufs[0].len());
    bufs[0][..n].copy_from_slice(&datagram[..n]);
    meta[0] = recv_meta(from, n);
    1
}

impl AsyncUdpSocket for OrderedSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        if let Some((BINDING_REQUEST, tid, true)) = stun(inner(transmit.contents)) {
            self.state.lock().unwrap().nominations.insert(tid);
        }
        self.io.poll_send_to(cx, transmit.contents, transmit.destination)
    }

    fn poll_recv(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> Poll<io::Result<usize>> {
        let mut st = self.state.lock().unwrap();
        if std::mem::take(&mut st.yield_next) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some((datagram, from)) = st.release(Instant::now()) {
            st.timer_armed = false;
            st.yield_next = is_dtls_handshake(inner(&datagram));
            return Poll::Ready(Ok(deliver(&datagram, from, bufs, meta)));
        }
        // Received straight into the driver's buffer; only a datagram held back is copied.
        loop {
            let mut buf = tokio::io::ReadBuf::new(&mut bufs[0]);
            let from = match self.io.poll_recv_from(cx, &mut buf) {
                Poll::Ready(Ok(from)) => from,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if !st.held.is_empty() && !st.timer_armed {
                        st.timer_armed = true;
                        let waker = cx.waker().clone();
                        let due = st.held.front().map(|(_, _, at)| *at + EARLY_DATA_HOLD).unwrap_or_else(Instant::now);
                        tokio::spawn(async move {
                            tokio::time::sleep_until(due.into()).await;
                            waker.wake();
                        });
                    }
                    return Poll::Pending;
                }
            };
            let datagram = buf.filled();
            let len = datagram.len();
            match stun(inner(datagram)) {
                Some((kind, tid, use_candidate)) => st.saw_stun(kind, &tid, use_candidate),
                None if !st.selected && st.held.len() < EARLY_DATA_MAX => {
                    st.held.push_back((datagram.to_vec(), from, Instant::now()));
                    continue;
                }
                None => st.yield_next = is_dtls_handshake(inner(datagram)),
            }
            meta[0] = recv_meta(from, len);
            return Poll::Ready(Ok(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(kind: u16, tid: u8, use_candidate: bool) -> Vec<u8> {
        let mut m = vec![(kind >> 8) as u8, kind as u8, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        m.extend([tid; 12]);
        m.extend([0x00, 0x24, 0, 4, 1, 2, 3, 4]); // PRIORITY
        if use_candidate {
            m.extend([0x00, 0x25, 0, 0]);
        }
        m
    }

    #[test]
    fn stun_parsing_finds_use_candidate() {
        assert_eq!(stun(&binding(BINDING_REQUEST, 7, true)), Some((BINDING_REQUEST, [7; 12], true)));
        assert_eq!(stun(&binding(BINDING_REQUEST, 7, false)), Some((BINDING_REQUEST, [7; 12], false)));
        assert_eq!(stun(&[22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn early_data_waits_for_the_selecting_response() {
        let mut o = Order::default();
        let now = Instant::now();
        o.nominations.insert([9; 12]);
        o.held.push_back((vec![22], "127.0.0.1:9".parse().unwrap(), now));
        assert!(o.release(now).is_none(), "held before selection");
        o.saw_stun(BINDING_SUCCESS, &[8; 12], false);
        assert!(o.release(now).is_none(), "a response to a non-nominating check selects nothing");
        o.saw_stun(BINDING_SUCCESS, &[9; 12], false);
        assert!(o.release(now).is_some(), "released once our nomination succeeded");
    }

    #[test]
    fn turn_channel_data_is_recognized_with_its_payload() {
        assert_eq!(channel_data(&[0x40, 0x00, 0x00, 0x02, 22, 254]), Some(&[22u8, 254][..]));
        assert_eq!(channel_data(&[22, 254, 253, 0]), None, "DTLS is not ChannelData");
        assert_eq!(channel_data(&[0x80, 0x60, 0, 0]), None, "RTP is not ChannelData");
        let mut relayed = vec![0x40, 0x00, 0x00, 0x1c];
        relayed.extend(binding(BINDING_REQUEST, 3, true));
        assert_eq!(stun(inner(&relayed)), Some((BINDING_REQUEST, [3; 12], true)), "a relayed nomination is seen");
    }

    #[test]
    fn early_data_is_released_after_the_hold() {
        let mut o = Order::default();
        let then = Instant::now();
        o.held.push_back((vec![22], "127.0.0.1:9".parse().unwrap(), then));
        assert!(o.release(then + EARLY_DATA_HOLD).is_some());
    }
}
