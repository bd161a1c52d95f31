//! The Rust peer's flow: the seed's offer/answer and trickle ICE, and the runner's actions.

use super::{channels::Channels, error::RustPeerError, handler::Handler, media, Command, Sink};
use crate::peer::{Action, PeerConfig};
use crate::scenario::{DataChannelSpec, MediaKind};
use crate::transcript::Event;
use rtc::interceptor::{NackGeneratorBuilder, NackResponderBuilder, Registry, Slot};
use rtc::peer_connection::configuration::interceptor_registry::{configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only};
use rtc::rtp_transceiver::rtp_sender::TYPE_RTCP_FB_NACK;
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RtpCodecKind};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCIceCandidateInit, RTCSessionDescription, RTCSignalingState, SettingEngine, SettingEngineBuilder,
};

/// Connectivity-check pacing (Ta, RFC 8445 section 14.2, which makes it configurable). The crate's
/// 200 ms delays nomination, and so DTLS, by up to two ticks after the first successful check; the
/// harness only ever reaches this host's own addresses, so 5 ms cannot congest anything. 280
/// attempts keep the crate's 1.4 s budget per candidate pair.
pub const ICE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// How long a pair with a peer-reflexive remote candidate must wait before the controlling Rust
/// peer nominates it. The crate waits 1 s, in case a better candidate turns up; a browser's checks
/// routinely beat its trickled candidates through the relay, so its host address is first learnt
/// as peer-reflexive (RFC 8445 section 7.3.1.3), and that wait became the whole time to connect.
/// Browsers nominate such pairs at once.
pub const PRFLX_NOMINATION_WAIT: std::time::Duration = std::time::Duration::ZERO;

/// How long the controlling agent waits before it nominates a pair whose local candidate is a
/// relay one. The crate waits 2 s (pion's `relayAcceptanceMinWait`) in case a direct pair
/// succeeds; on a relay-only connection (iceTransportPolicy relay) no other pair can come, and the
/// wait was the whole 2 s between the first successful check and ICE connected, where browsers
/// nominate at once.
pub const RELAY_NOMINATION_WAIT: std::time::Duration = std::time::Duration::ZERO;

fn setting_engine() -> SettingEngine {
    SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(280))
        .with_prflx_acceptance_min_wait(Some(PRFLX_NOMINATION_WAIT))
        .with_relay_acceptance_min_wait(Some(RELAY_NOMINATION_WAIT))
        .build()
}

/// ICE servers and policy as the runner gave them (RTCIceServer JSON, webrtc-pc section 4.2.2).
fn configuration(config: &PeerConfig) -> webrtc::peer_connection::RTCConfiguration {
    use webrtc::peer_connection::{RTCIceServer, RTCIceTransportPolicy};
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let servers = config
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.get("urls").and_then(Value::as_array).map(|u| u.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default(),
            username: text(s, "username"),
            credential: text(s, "credential"),
        })
        .collect();
    let policy = match config.ice_transport_policy {
        crate::scenario::IcePolicy::Relay => RTCIceTransportPolicy::Relay,
        crate::scenario::IcePolicy::All => RTCIceTransportPolicy::All,
    };
    RTCConfigurationBuilder::new().with_ice_servers(servers).with_ice_transport_policy(policy).build()
}

/// NACKs per missing packet at most: one every 100 ms (the generator's interval) for as long as
/// the receiver's reorder buffer waits for it (`vp8::MAX_GAP_WAIT`, 300 ms). The crate's default is
/// no limit: after a blackout it kept NACKing the ~240 packets lost in it ten times a second until
/// they left its 512-packet log, Firefox retransmitted 6,420 packets of 7,238 sent, and the
/// picture froze again and again long after the path came back (`network/blackout_freeze`).
/// libwebrtc's receiver also gives up on a packet (10 tries, or once a later keyframe arrived).
pub const MAX_NACKS_PER_PACKET: u16 = 3;

/// The crate's default interceptors (`register_default_interceptors`: NACK generator and
/// responder with the `nack` / `nack pli` feedback, TWCC receive reports, RTCP reports, the
/// simulcast header extensions), with a bounded NACK generator.
fn interceptors(engine: &mut MediaEngine) -> Result<Registry, webrtc::error::Error> {
    for parameter in ["", "pli"] {
        engine.register_feedback(RTCPFeedback { typ: TYPE_RTCP_FB_NACK.to_owned(), parameter: parameter.to_owned() }, RtpCodecKind::Video);
    }
    let registry = Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().with_max_nacks_per_packet(MAX_NACKS_PER_PACKET).build());
    configure_simulcast_extension_headers(engine)?;
    let registry = configure_twcc_receiver_only(registry, engine)?;
    Ok(configure_rtcp_reports(registry))
}

/// The flow's state; the other modules of the peer ([`super::negotiation`], ...) add to its methods.
pub(super) struct Actor {
    pub(super) config: PeerConfig,
    pub(super) sink: Sink,
    pub(super) pc: Arc<dyn PeerConnection>,
    pub(super) ws_out: mpsc::UnboundedSender<String>,
    pub(super) connected: watch::Receiver<bool>,
    pub(super) gathering_complete: watch::Receiver<bool>,
    /// Whether this peer's media is attached (by `start`, or on the first offer as the answerer).
    pub(super) started: bool,
    pub(super) tracks_added: usize,
    pub(super) channels: Channels,
    /// Each track this peer sends, with its sample pump.
    pub(super) sending: Vec<Sending>,
    /// Perfect negotiation's `ignoreOffer` (webrtc-pc section 10.7).
    pub(super) ignore_offer: bool,
    /// Remote candidates that arrived before any remote description: kept, then applied once one
    /// is set (the protocol's rule; webrtc-pc 4.4.1.6 rejects them with InvalidStateError).
    pub(super) early_candidates: Vec<RTCIceCandidateInit>,
    pub(super) tasks: Vec<JoinHandle<()>>,
    /// What this peer read from the frame markers of the video it decodes, when the case reads
    /// them (`config.marker`); flushed as `markers_seen` when stats are collected.
    pub(super) record: Option<Arc<std::sync::Mutex<super::markers::Record>>>,
}

impl Actor {
    pub(super) async fn build(
        config: PeerConfig,
        sink: Sink,
        commands: mpsc::UnboundedSender<Command>,
        ws_out: mpsc::UnboundedSender<String>,
        crate_sockets: bool,
    ) -> Result<Actor, RustPeerError> {
        let mut engine = MediaEngine::default();
        engine.register_default_codecs().map_err(RustPeerError::Setup)?;
        let registry =
            interceptors(&mut engine).map_err(RustPeerError::Setup)?.with(rtc::interceptor::Slot::from(super::keyframe::SLOT), super::keyframe::KeyframeRequests::default());
        let (connected_tx, connected) = watch::channel(false);
        let (gathering_tx, gathering_complete) = watch::channel(false);
        let record = config.marker.map(|_| Arc::new(std::sync::Mutex::new(super::markers::Record::default())));
        let handler = Arc::new(Handler { sink: sink.clone(), commands: commands.clone(), connected: connected_tx, gathering_complete: gathering_tx, record: record.clone() });
        // A wildcard address binds one socket per interface: host candidates a browser on this
        // machine can reach (the crate skips loopback there).
        let mut builder = PeerConnectionBuilder::new();
        if let Some(runtime) = super::socket::runtime(crate_sockets) {
            builder = builder.with_runtime(runtime);
        }
        let pc = builder
            .with_configuration(configuration(&config))
            .with_setting_engine(setting_engine())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_udp_addrs(vec!["0.0.0.0:0".to_string()])
            .build()
            .await
            .map_err(RustPeerError::Setup)?;
        Ok(Actor {
            config,
            sink,
            pc: Arc::new(pc),
            ws_out,
            connected,
            gathering_complete,
            started: false,
            tracks_added: 0,
            channels: Channels::default(),
            sending: Vec::new(),
            ignore_offer: false,
            early_candidates: Vec::new(),
            tasks: Vec::new(),
            record,
        })
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        while let Some(cmd) = commands.recv().await {
            let closing = matches!(&cmd, Command::Perform(Action::Close, _));
            self.handle(cmd).await;
            if closing {
                break;
            }
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        let _ = self.pc.close().await;
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Signal(msg) => {
                if let Err(e) = self.on_signal(msg).await {
                    self.error("signaling", e);
                }
            }
            Command::NegotiationNeeded => {
                // W3C webrtc-pc 4.7.3: negotiation is only needed (and only started) from `stable`;
                // the seed offers from onnegotiationneeded.
                if self.config.auto_negotiate && self.signaling_state().await == RTCSignalingState::Stable {
                    if let Err(e) = self.offer().await {
                        self.error("negotiationneeded offer", e);
                    }
                }
            }
            Command::LocalCandidate(init) => {
                if self.config.trickle {
                    let init = self.complete_candidate(init).await;
                    self.send(json!({ "candidate": init }));
                }
            }
            Command::GatheringComplete => {
                self.sink.emit(Event::EndOfCandidates { form: "null".into() });
                if self.config.trickle {
                    self.send(json!({ "candidate": null }));
                }
            }
            Command::RemoteChannel(dc) => self.watch_channel(dc, None, self.config.echo).await,
            Command::Perform(action, reply) => {
                let r = self.perform(&action).await;
                let _ = reply.send(r);
            }
            Command::CollectStats(reply) => {
                if let Some(seen) = self.record.as_ref().and_then(|r| r.lock().expect("record").flush(std::time::Instant::now())) {
                    self.sink.emit(seen);
                }
                self.sink.emit(Event::Stats { summary: super::stats::summary(&*self.pc).await });
                let _ = reply.send(());
            }
            Command::SignalingClosed(why) => self.error("signaling", why),
        }
    }

    pub(super) fn error(&self, context: &str, message: impl ToString) {
        self.sink.emit(Event::Error { context: context.to_string(), message: message.to_string() });
    }

    fn send(&self, v: Value) {
        let _ = self.ws_out.send(v.to_string());
    }

    pub(super) async fn signaling_state(&self) -> RTCSignalingState {
        match (self.pc.pending_local_description().await, self.pc.pending_remote_description().await) {
            (Some(_), _) => RTCSignalingState::HaveLocalOffer,
            (_, Some(_)) => RTCSignalingState::HaveRemoteOffer,
            _ => RTCSignalingState::Stable,
        }
    }

    async fn on_signal(&mut self, msg: Value) -> Result<(), RustPeerError> {
        if let Some(desc) = msg.get("desc") {
            let desc: RTCSessionDescription = serde_json::from_value(desc.clone())?;
            return self.on_description(desc).await;
        }
        if let Some(c) = msg.get("candidate") {
            let init: Option<RTCIceCandidateInit> = if c.is_null() { None } else { Some(serde_json::from_value(c.clone())?) };
            return match init.filter(|i| !i.candidate.is_empty()) {
                Some(init) => self.add_candidate(init).await,
                // End-of-candidates (RFC 8838 section 4.4): the crate has nothing to apply.
                None => {
                    self.sink.emit(Event::RemoteCandidate { candidate: String::new() });
                    Ok(())
                }
            };
        }
        if let Some(err) = msg.get("error") {
            return Err(RustPeerError::Relay(err.clone()));
        }
        Ok(())
    }

    /// The seed's `onnegotiationneeded`: createOffer, setLocalDescription, send.
    async fn offer(&mut self) -> Result<(), RustPeerError> {
        self.sink.emit(Event::CreateOffer);
        self.prefer_codecs().await?;
        let offer = self.pc.create_offer(None).await.map_err(RustPeerError::doing("createOffer"))?;
        self.pc.set_local_description(offer).await.map_err(RustPeerError::doing("setLocalDescription(offer)"))?;
        self.after_local_description().await
    }

    /// Records the description in force and sends it: now (trickle), or once gathering is complete
    /// so that it carries every candidate (non-trickle).
    pub(super) async fn after_local_description(&mut self) -> Result<(), RustPeerError> {
        let local = self.pc.local_description().await.ok_or_else(|| RustPeerError::Missing("no local description after setLocalDescription".into()))?;
        self.sink.emit(Event::LocalDescription { sdp_type: local.sdp_type.to_string(), sdp: local.sdp.clone() });
        if self.config.trickle {
            self.send(json!({ "desc": local }));
            return Ok(());
        }
        let limit = self.config.limits.gathering;
        let mut done = self.gathering_complete.clone();
        tokio::time::timeout(limit, done.wait_for(|c| *c)).await.map_err(|_| RustPeerError::GatheringTimeout { limit })??;
        let local = self.pc.local_description().await.ok_or_else(|| RustPeerError::Missing("no local description".into()))?;
        self.send(json!({ "desc": local }));
        Ok(())
    }

    /// The crate leaves sdpMid empty and the ufrag out; a browser needs the mid of an m-section
    /// and the ufrag ties the candidate to its ICE generation (W3C webrtc-pc 4.8.1.1).
    async fn complete_candidate(&self, mut init: RTCIceCandidateInit) -> RTCIceCandidateInit {
        if let Some(local) = self.pc.local_description().await {
            let attr = |name: &str| local.sdp.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()));
            init.sdp_mid = attr("a=mid:").or(init.sdp_mid);
            init.sdp_mline_index = Some(0);
            init.username_fragment = attr("a=ice-ufrag:");
        }
        init
    }

    /// `addTrack` with a track fed by a sample pump: the pre-encoded file, or live painted video
    /// when the case reads frame markers (a VP8 encoder that marks each frame, [`super::live`]).
    pub(super) async fn add_track(&mut self, kind: MediaKind) -> Result<(), RustPeerError> {
        let feed = match (kind, self.config.marker) {
            // Source 0: webrtc 0.21 cannot replace a track (`transceivers::replace_track`).
            (MediaKind::Video, Some(n)) => Feed::Live(Arc::new(std::sync::Mutex::new(
                super::markers::Painter::new(n, 0).ok_or_else(|| RustPeerError::Unsupported(format!("frame marker sender {n}: at most 31")))?,
            ))),
            _ => Feed::File(media::clip(kind, &self.config.media_files)?),
        };
        self.tracks_added += 1;
        let track = media::local_track(kind, &format!("{}-stream", self.config.name), self.tracks_added)?;
        let sender = self.pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>).await.map_err(RustPeerError::doing(format!("addTrack({kind})")))?;
        self.wake_driver().await;
        let (pump, painter) = match feed {
            Feed::Live(p) => (tokio::spawn(media::live_pump(track, Arc::clone(&sender), Arc::clone(&p), self.sink.clone(), self.connected.clone())), Some(p)),
            Feed::File(clip) => (tokio::spawn(media::pump(track, Arc::clone(&sender), kind, clip, self.connected.clone())), None),
        };
        self.sending.push(Sending { kind, sender, pump: pump.abort_handle(), painter });
        self.tasks.push(pump);
        Ok(())
    }

    /// `stall_video` (PROTOCOL.md): every painted video source holds its picture for `length`.
    fn stall_video(&self, length: std::time::Duration) -> Result<(), RustPeerError> {
        let painters: Vec<_> = self.sending.iter().filter_map(|s| s.painter.as_ref()).collect();
        if painters.is_empty() {
            return Err(RustPeerError::Unsupported("stall_video: this peer paints no frame marker (no video sent, or the case reads no markers)".into()));
        }
        let now = std::time::Instant::now();
        for p in painters {
            p.lock().expect("painter").stall(now, length);
        }
        Ok(())
    }

    /// webrtc 0.21's `add_track` queues `negotiationneeded` in the core without waking the
    /// connection's driver, so the event would wait for the next unrelated wake-up (seconds, or
    /// never on an idle connection). Re-applying the configuration is a no-op that wakes it.
    pub(super) async fn wake_driver(&self) {
        let config = self.pc.get_configuration().await;
        if let Err(e) = self.pc.set_configuration(config).await {
            self.error("wake driver", e);
        }
    }

    async fn perform(&mut self, action: &Action) -> Result<(), RustPeerError> {
        match action {
            Action::Start => {
                self.started = true;
                for kind in self.config.media.clone() {
                    self.add_track(kind).await?;
                }
                for spec in self.config.data_channels.clone() {
                    self.create_channel(&spec).await?;
                }
                Ok(())
            }
            Action::AddTrack(kind) => self.add_track(*kind).await,
            Action::CreateDataChannel { label } => {
                let spec = self.config.data_channels.iter().find(|c| c.label == *label).cloned();
                self.create_channel(&spec.unwrap_or_else(|| super::channels::plain(label))).await
            }
            Action::SendOffer => self.offer().await,
            Action::RestartIce => self.pc.restart_ice().await.map_err(RustPeerError::doing("restartIce")),
            Action::SendMessage { label, text } => self.channels.get(label)?.send_text(text).await.map_err(RustPeerError::doing(format!("send on '{label}'"))),
            Action::SendBinary { label, size } => super::channels::send_binary(self.channels.get(label)?, label, *size).await,
            Action::CloseChannel { label } => self.channels.get(label)?.close().await.map_err(RustPeerError::doing(format!("close '{label}'"))),
            Action::Rollback => {
                self.rollback().await?;
                self.sink.emit(Event::Rollback { implicit: false });
                Ok(())
            }
            Action::SetDirection { kind, direction } => self.set_direction(*kind, *direction).await,
            Action::RemoveTrack(kind) => self.remove_track(*kind).await,
            Action::ReplaceTrack(kind) => self.replace_track(*kind).await,
            Action::StallVideo(length) => self.stall_video(*length),
            Action::Close => self.close().await,
        }
    }

    /// `createDataChannel(label, init)` with the scenario's RTCDataChannelInit (webrtc-pc 6.1).
    pub(super) async fn create_channel(&mut self, spec: &DataChannelSpec) -> Result<(), RustPeerError> {
        let init = super::channels::init(spec)?;
        let dc = self.pc.create_data_channel(&spec.label, init).await.map_err(RustPeerError::doing(format!("createDataChannel({})", spec.label)))?;
        self.watch_channel(dc, spec.send.clone(), false).await;
        Ok(())
    }

    async fn watch_channel(&mut self, dc: Arc<dyn DataChannel>, greeting: Option<String>, echo: bool) {
        let task = self.channels.watch(dc, Arc::clone(&self.pc), self.sink.clone(), greeting, echo).await;
        self.tasks.push(task);
    }
}

/// What feeds a sent track.
enum Feed {
    File(&'static media::Clip),
    Live(Arc<std::sync::Mutex<super::markers::Painter>>),
}

/// A track this peer sends: its sender and the task that feeds it samples.
pub(super) struct Sending {
    pub kind: MediaKind,
    pub sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    pub pump: tokio::task::AbortHandle,
    /// The marker painter of live video ([`super::live`]); `None` for a pre-encoded file.
    pub painter: Option<Arc<std::sync::Mutex<super::markers::Painter>>>,
}
