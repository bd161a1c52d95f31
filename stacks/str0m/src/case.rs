//! One case: the `Rtc`, the sockets and relay it is driven with, and the run loop str0m asks for
//! (one mutation, then `poll_output` drained to `Output::Timeout`: the crate docs' "single-mutation
//! invariant"). The state events str0m has no RTCPeerConnection for are derived here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::sleep_until;

use crate::channels::Channels;
use crate::media::MediaState;
use crate::negotiation::Signaling;
use crate::net::{self, Datagram, Relay, RelayIn};
use crate::proto::{self, log, Config};
use crate::stats::StatsState;
use crate::stun;

/// What woke the loop up.
pub enum Wake {
    Udp(Datagram),
    Relay(RelayIn),
    Timeout,
    Media,
}

/// The W3C state machines this adapter reports, each only on a change (PROTOCOL.md "Event order":
/// never a repeat, never an invented intermediate state).
#[derive(Default)]
struct States {
    signaling: String,
    ice: String,
    connection: String,
    gathering: String,
}

pub struct Case {
    pub cfg: Config,
    pub rtc: Rtc,
    sockets: Vec<Arc<UdpSocket>>,
    socket_tasks: Vec<JoinHandle<()>>,
    udp_rx: mpsc::UnboundedReceiver<Datagram>,
    pub relay: Relay,
    next_timeout: Instant,
    pub sig: Signaling,
    pub media: MediaState,
    pub chans: Channels,
    pub stats: StatsState,
    states: States,
    /// After the `close` action only the closing states are written (PROTOCOL.md "After the
    /// close action").
    pub quiet: bool,
    /// ICE and DTLS are up (str0m's `Event::Connected`).
    pub connected: bool,
    /// Where the events go: the protocol's lines (`None`), or the floor's channel (floor.rs).
    pub events: Option<mpsc::UnboundedSender<serde_json::Value>>,
}

impl Case {
    /// Builds the `Rtc`, binds the host sockets and joins the relay (PROTOCOL.md "A case").
    pub async fn new(cfg: Config) -> Result<Case, String> {
        let relay = Relay::connect(&cfg.signaling_url).await?;
        Case::with_relay(cfg, relay).await
    }

    /// The same with the signaling carried by `relay` (the relay's socket, or the floor's pair).
    pub async fn with_relay(cfg: Config, relay: Relay) -> Result<Case, String> {
        let rtc = Rtc::builder()
            .clear_codecs()
            .enable_vp8(true)
            .enable_opus(true, false)
            // MediaIngressStats / MediaEgressStats / PeerStats events feed collect_stats.
            .set_stats_interval(Some(Duration::from_millis(500)))
            // str0m's default send buffer (DEFAULT_MAX_BUFFERED_AMOUNT, 128 KiB) is smaller than
            // the a=max-message-size it advertises (256 KiB): Channel::write would refuse a
            // message the peer accepts (RFC 8841 section 6). 16 MiB is Chrome's queue limit.
            .set_sctp_max_buffered_amount(16 * 1024 * 1024)
            .build(Instant::now());
        let (udp_tx, udp_rx) = mpsc::unbounded_channel();
        let (sockets, socket_tasks) = net::bind_sockets(&net::host_addresses()?, udp_tx).await.map_err(|e| format!("cannot bind a UDP socket: {e}"))?;
        let urls: Vec<String> = cfg.ice_servers.iter().flat_map(|s| s.urls.clone()).collect();
        let sig = Signaling::new(sockets.iter().filter_map(|s| s.local_addr().ok()).collect(), stun::servers(&urls));
        Ok(Case {
            cfg,
            rtc,
            sockets,
            socket_tasks,
            udp_rx,
            relay,
            next_timeout: Instant::now(),
            sig,
            media: MediaState::default(),
            chans: Channels::default(),
            stats: StatsState::default(),
            states: States { signaling: "stable".into(), ice: "new".into(), connection: "new".into(), gathering: "new".into() },
            quiet: false,
            connected: false,
            events: None,
        })
    }

    /// Waits for the next thing to do: a datagram, a relay frame, str0m's timeout or a media tick.
    pub async fn wake(&mut self) -> Wake {
        let next = self.sig.stun.deadline.map_or(self.next_timeout, |d| d.min(self.next_timeout));
        let timeout = tokio::time::Instant::from_std(next);
        let media = self.media.next_due().map(tokio::time::Instant::from_std);
        tokio::select! {
            Some(d) = self.udp_rx.recv() => Wake::Udp(d),
            Some(m) = self.relay.rx.recv() => Wake::Relay(m),
            _ = sleep_until(timeout) => Wake::Timeout,
            _ = sleep_until(media.unwrap_or(timeout)), if media.is_some() => Wake::Media,
        }
    }

    pub fn handle(&mut self, wake: Wake) {
        match wake {
            Wake::Udp(d) => self.receive(d),
            Wake::Relay(RelayIn::Text(text)) => self.on_relay(&text),
            Wake::Relay(RelayIn::Gone(why)) => log(&format!("relay socket: {why}")),
            Wake::Timeout => {
                self.stun_deadline();
                if self.rtc.is_alive() {
                    if let Err(e) = self.rtc.handle_input(Input::Timeout(Instant::now())) {
                        log(&format!("handle_input(timeout): {e}"));
                    }
                    self.drive();
                    self.request_keyframes();
                }
            }
            Wake::Media => self.send_due_media(),
        }
    }

    fn receive(&mut self, d: Datagram) {
        if !self.rtc.is_alive() || self.stun_response(&d) {
            return;
        }
        let Ok(contents) = d.data.as_slice().try_into() else {
            log(&format!("datagram from {} str0m cannot classify ({} bytes)", d.source, d.data.len()));
            return;
        };
        let input = Input::Receive(d.at, Receive { proto: Protocol::Udp, source: d.source, destination: d.destination, contents });
        if let Err(e) = self.rtc.handle_input(input) {
            log(&format!("handle_input: {e}"));
        }
        self.drive();
    }

    /// Drains `poll_output` to its `Timeout`: after every mutation of the `Rtc` (str0m's run loop).
    pub fn drive(&mut self) {
        loop {
            if !self.rtc.is_alive() {
                self.next_timeout = Instant::now() + Duration::from_secs(3600);
                return;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => self.transmit(t),
                Ok(Output::Event(e)) => self.on_event(e),
                Err(e) => {
                    log(&format!("poll_output: {e}"));
                    self.next_timeout = Instant::now() + Duration::from_millis(50);
                    return;
                }
            }
        }
    }

    fn transmit(&self, t: Transmit) {
        self.send_raw(t.source, t.destination, &t.contents);
    }

    /// Sends a datagram from the host socket bound to `from`.
    pub fn send_raw(&self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let Some(socket) = self.sockets.iter().find(|s| s.local_addr().ok() == Some(from)) else {
            log(&format!("no socket for {from}"));
            return;
        };
        if let Err(e) = socket.try_send_to(data, to) {
            log(&format!("send to {to}: {e}"));
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.connected = true;
                self.set_connection("connected");
                self.media.on_connected();
            }
            Event::IceConnectionStateChange(s) => self.on_ice_state(s),
            Event::MediaAdded(m) => self.on_media_added(m.mid, m.kind, m.direction),
            Event::MediaData(d) => self.on_media_data(d),
            Event::KeyframeRequest(r) => self.media.keyframe_requested(r.mid),
            Event::ChannelOpen(id, label) => self.on_channel_open(id, label),
            Event::ChannelData(d) => self.on_channel_data(d),
            Event::ChannelClose(id) => self.on_channel_close(id),
            Event::MediaIngressStats(s) => self.stats.ingress(s),
            Event::MediaEgressStats(s) => self.stats.egress(s),
            Event::PeerStats(s) => self.stats.peer(s),
            Event::Closed => {
                // The remote's DTLS close_notify or SCTP shutdown: str0m shuts down. Its channels
                // close (RFC 8831 section 6.7); what the remote's hang-up shows is that.
                log("str0m: the remote closed the DTLS connection or the SCTP association");
                self.close_all_channels();
            }
            other => tracing::debug!("str0m event {other:?}"),
        }
    }

    /// str0m's ICE states are RTCIceConnectionState's but `failed` and `closed` (is: "The failed
    /// and closed state doesn't really have a mapping in this implementation"). The connection
    /// state (webrtc-pc 4.3.3) is derived from them and from `Event::Connected` (ICE and DTLS up).
    fn on_ice_state(&mut self, s: IceConnectionState) {
        let name = match s {
            IceConnectionState::New => "new",
            IceConnectionState::Checking => "checking",
            IceConnectionState::Connected => "connected",
            IceConnectionState::Completed => "completed",
            IceConnectionState::Disconnected => "disconnected",
        };
        self.set_ice(name);
        match s {
            IceConnectionState::Checking if !self.connected => self.set_connection("connecting"),
            IceConnectionState::Disconnected => self.set_connection("disconnected"),
            IceConnectionState::Connected | IceConnectionState::Completed if self.connected => self.set_connection("connected"),
            _ => {}
        }
    }

    /// An event of the case, unless the `close` action made it quiet.
    pub fn emit(&self, ev: serde_json::Value) {
        if !self.quiet {
            send_event(&self.events, ev);
        }
    }

    /// An event even after the `close` action (a stats answer).
    pub fn emit_always(&self, ev: serde_json::Value) {
        send_event(&self.events, ev);
    }

    fn set_state(&mut self, slot: fn(&mut States) -> &mut String, value: &str, kind: &str) {
        let slot = slot(&mut self.states);
        if slot != value {
            *slot = value.to_string();
            self.emit(json!({"type": kind, "state": value}));
        }
    }

    pub fn set_signaling(&mut self, s: &str) {
        self.set_state(|st| &mut st.signaling, s, "signaling_state");
    }

    pub fn signaling(&self) -> &str {
        &self.states.signaling
    }

    fn set_ice(&mut self, s: &str) {
        self.set_state(|st| &mut st.ice, s, "ice_connection_state");
    }

    fn set_connection(&mut self, s: &str) {
        self.set_state(|st| &mut st.connection, s, "connection_state");
    }

    pub fn set_gathering(&mut self, s: &str) {
        self.set_state(|st| &mut st.gathering, s, "ice_gathering_state");
    }

    /// The `close` action: str0m's `Rtc::close` (RTCP BYE, SCTP shutdown, DTLS close_notify),
    /// drained, then the states read right after it, the channels that were open and the relay
    /// socket (webrtc-pc 4.4.1.7 fires no event; PROTOCOL.md "After the close action").
    pub fn close_peer(&mut self) {
        self.media.stop();
        if let Err(e) = self.rtc.close() {
            log(&format!("close: {e}"));
        }
        self.drive();
        self.set_signaling("closed");
        self.set_connection("closed");
        self.close_all_channels();
        self.quiet = true;
        self.relay.close();
    }
}

/// Writes an event to where the case's events go (`Case::events`).
pub fn send_event(to: &Option<mpsc::UnboundedSender<serde_json::Value>>, ev: serde_json::Value) {
    match to {
        Some(tx) => {
            let _ = tx.send(ev);
        }
        None => proto::event(ev),
    }
}

impl Drop for Case {
    /// The harness's `close`: everything of the case goes (PROTOCOL.md "A case", step 3).
    fn drop(&mut self) {
        for t in &self.socket_tasks {
            t.abort();
        }
    }
}
