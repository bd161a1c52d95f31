//! The Rust peer's flow: the seed's offer/answer and trickle ICE, and the runner's actions.

use super::{handler::Handler, media, Command, Sink};
use crate::peer::{Action, PeerConfig};
use crate::scenario::MediaKind;
use crate::transcript::Event;
use crate::limits;
use rtc::interceptor::Registry;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCSdpType, RTCSessionDescription, RTCSignalingState, SettingEngine, SettingEngineBuilder,
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

pub(super) struct Actor {
    config: PeerConfig,
    sink: Sink,
    pc: Arc<dyn PeerConnection>,
    commands: mpsc::UnboundedSender<Command>,
    ws_out: mpsc::UnboundedSender<String>,
    connected: watch::Receiver<bool>,
    gathering_complete: watch::Receiver<bool>,
    /// Whether this peer's media is attached (by `start`, or on the first offer as the answerer).
    started: bool,
    tracks_added: usize,
    channels: HashMap<String, Arc<dyn DataChannel>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Actor {
    pub(super) async fn build(
        config: PeerConfig,
        sink: Sink,
        commands: mpsc::UnboundedSender<Command>,
        ws_out: mpsc::UnboundedSender<String>,
        crate_sockets: bool,
    ) -> Result<Actor, String> {
        let mut engine = MediaEngine::default();
        engine.register_default_codecs().map_err(|e| e.to_string())?;
        let registry = register_default_interceptors(Registry::new(), &mut engine)
            .map_err(|e| e.to_string())?
            .with(rtc::interceptor::Slot::from(super::keyframe::SLOT), super::keyframe::KeyframeRequests::default());
        let (connected_tx, connected) = watch::channel(false);
        let (gathering_tx, gathering_complete) = watch::channel(false);
        let handler = Arc::new(Handler {
            sink: sink.clone(),
            commands: commands.clone(),
            connected: connected_tx,
            gathering_complete: gathering_tx,
        });
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
            .map_err(|e| e.to_string())?;
        Ok(Actor {
            config,
            sink,
            pc: Arc::new(pc),
            commands,
            ws_out,
            connected,
            gathering_complete,
            started: false,
            tracks_added: 0,
            channels: HashMap::new(),
            tasks: Vec::new(),
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
            Command::RemoteChannel(dc) => self.watch_channel(dc, false).await,
            Command::Perform(action, reply) => {
                let r = self.perform(&action).await;
                let _ = reply.send(r);
            }
            Command::CollectStats(reply) => {
                self.sink.emit(Event::Stats { summary: self.stats_summary().await });
                let _ = reply.send(());
            }
            Command::SignalingClosed(why) => self.error("signaling", why),
        }
    }

    fn error(&self, context: &str, message: impl ToString) {
        self.sink.emit(Event::Error { context: context.to_string(), message: message.to_string() });
    }

    fn send(&self, v: Value) {
        let _ = self.ws_out.send(v.to_string());
    }

    async fn signaling_state(&self) -> RTCSignalingState {
        match (self.pc.pending_local_description().await, self.pc.pending_remote_description().await) {
            (Some(_), _) => RTCSignalingState::HaveLocalOffer,
            (_, Some(_)) => RTCSignalingState::HaveRemoteOffer,
            _ => RTCSignalingState::Stable,
        }
    }

    async fn on_signal(&mut self, msg: Value) -> Result<(), String> {
        if let Some(desc) = msg.get("desc") {
            let desc: RTCSessionDescription = serde_json::from_value(desc.clone()).map_err(|e| e.to_string())?;
            return self.on_description(desc).await;
        }
        if let Some(c) = msg.get("candidate") {
            let init: Option<RTCIceCandidateInit> = if c.is_null() {
                None
            } else {
                Some(serde_json::from_value(c.clone()).map_err(|e| e.to_string())?)
            };
            return match init.filter(|i| !i.candidate.is_empty()) {
                Some(init) => {
                    let candidate = init.candidate.clone();
                    self.pc.add_ice_candidate(init).await.map_err(|e| format!("addIceCandidate: {e}"))?;
                    self.sink.emit(Event::RemoteCandidate { candidate });
                    Ok(())
                }
                // End-of-candidates (RFC 8838 section 4.4): the crate has nothing to apply.
                None => {
                    self.sink.emit(Event::RemoteCandidate { candidate: String::new() });
                    Ok(())
                }
            };
        }
        if let Some(err) = msg.get("error") {
            return Err(format!("relay error frame: {err}"));
        }
        Ok(())
    }

    async fn on_description(&mut self, desc: RTCSessionDescription) -> Result<(), String> {
        let sdp_type = desc.sdp_type;
        let sdp = desc.sdp.clone();
        self.pc.set_remote_description(desc).await.map_err(|e| format!("setRemoteDescription({sdp_type}): {e}"))?;
        self.sink.emit(Event::RemoteDescription { sdp_type: sdp_type.to_string(), sdp });
        if sdp_type != RTCSdpType::Offer {
            return Ok(());
        }
        if !self.started {
            // The seed's answerer attaches its media when the offer arrives.
            self.started = true;
            for kind in self.config.media.clone() {
                self.add_track(kind).await?;
            }
        }
        let answer = self.pc.create_answer(None).await.map_err(|e| format!("createAnswer: {e}"))?;
        self.pc.set_local_description(answer).await.map_err(|e| format!("setLocalDescription(answer): {e}"))?;
        self.after_local_description().await
    }

    /// The seed's `onnegotiationneeded`: createOffer, setLocalDescription, send.
    async fn offer(&mut self) -> Result<(), String> {
        self.sink.emit(Event::CreateOffer);
        let offer = self.pc.create_offer(None).await.map_err(|e| format!("createOffer: {e}"))?;
        self.pc.set_local_description(offer).await.map_err(|e| format!("setLocalDescription(offer): {e}"))?;
        self.after_local_description().await
    }

    /// Records the description in force and sends it: now (trickle), or once gathering is complete
    /// so that it carries every candidate (non-trickle).
    async fn after_local_description(&mut self) -> Result<(), String> {
        let local = self.pc.local_description().await.ok_or("no local description after setLocalDescription")?;
        self.sink.emit(Event::LocalDescription { sdp_type: local.sdp_type.to_string(), sdp: local.sdp.clone() });
        if self.config.trickle {
            self.send(json!({ "desc": local }));
            return Ok(());
        }
        let limit = limits::scaled(limits::GATHERING);
        let mut done = self.gathering_complete.clone();
        tokio::time::timeout(limit, done.wait_for(|c| *c))
            .await
            .map_err(|_| format!("ICE gathering did not complete within {limit:?} (non-trickle peer)"))?
            .map_err(|e| e.to_string())?;
        let local = self.pc.local_description().await.ok_or("no local description")?;
        self.send(json!({ "desc": local }));
        Ok(())
    }

    /// The crate leaves sdpMid empty and the ufrag out; a browser needs the mid of an m-section
    /// and the ufrag ties the candidate to its ICE generation (W3C webrtc-pc 4.8.1.1).
    async fn complete_candidate(&self, mut init: RTCIceCandidateInit) -> RTCIceCandidateInit {
        if let Some(local) = self.pc.local_description().await {
            let attr = |name: &str| {
                local.sdp.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            init.sdp_mid = attr("a=mid:").or(init.sdp_mid);
            init.sdp_mline_index = Some(0);
            init.username_fragment = attr("a=ice-ufrag:");
        }
        init
    }

    async fn add_track(&mut self, kind: MediaKind) -> Result<(), String> {
        let clip = media::clip(kind, &self.config.media_files)?;
        self.tracks_added += 1;
        let track = media::local_track(kind, &format!("{}-stream", self.config.name), self.tracks_added)?;
        let sender = self
            .pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(|e| format!("addTrack({kind}): {e}"))?;
        self.wake_driver().await;
        self.tasks.push(tokio::spawn(media::pump(track, sender, kind, clip, self.connected.clone())));
        Ok(())
    }

    /// webrtc 0.21's `add_track` queues `negotiationneeded` in the core without waking the
    /// connection's driver, so the event would wait for the next unrelated wake-up (seconds, or
    /// never on an idle connection). Re-applying the configuration is a no-op that wakes it.
    async fn wake_driver(&self) {
        let config = self.pc.get_configuration().await;
        if let Err(e) = self.pc.set_configuration(config).await {
            self.error("wake driver", e);
        }
    }

    async fn perform(&mut self, action: &Action) -> Result<(), String> {
        match action {
            Action::Start => {
                self.started = true;
                for kind in self.config.media.clone() {
                    self.add_track(kind).await?;
                }
                for spec in self.config.data_channels.clone() {
                    self.create_channel(&spec.label).await?;
                }
                Ok(())
            }
            Action::AddTrack(kind) => self.add_track(*kind).await,
            Action::CreateDataChannel { label } => self.create_channel(label).await,
            Action::SendOffer => self.offer().await,
            Action::RestartIce => self.pc.restart_ice().await.map_err(|e| format!("restartIce: {e}")),
            Action::SendMessage { label, text } => {
                let dc = self.channels.get(label).ok_or_else(|| format!("no data channel '{label}'"))?;
                dc.send_text(text).await.map_err(|e| format!("send on '{label}': {e}"))
            }
            other @ (Action::SendBinary { .. } | Action::Rollback | Action::SetDirection { .. } | Action::RemoveTrack(_) | Action::ReplaceTrack(_) | Action::CloseChannel { .. }) => {
                Err(format!("{} is not implemented in the Rust peer", other.name()))
            }
            Action::Close => {
                for t in self.tasks.drain(..) {
                    t.abort();
                }
                self.pc.close().await.map_err(|e| format!("close: {e}"))
            }
        }
    }

    async fn create_channel(&mut self, label: &str) -> Result<(), String> {
        let dc = self.pc.create_data_channel(label, None).await.map_err(|e| format!("createDataChannel: {e}"))?;
        self.watch_channel(dc, true).await;
        Ok(())
    }

    /// Reports a channel's events; sends its configured greeting on open (own channels) or echoes
    /// what arrives (channels the other peer created).
    async fn watch_channel(&mut self, dc: Arc<dyn DataChannel>, own: bool) {
        let label = dc.label().await.unwrap_or_default();
        self.channels.insert(label.clone(), Arc::clone(&dc));
        let greeting = if own {
            self.config.data_channels.iter().find(|c| c.label == label).and_then(|c| c.send.clone())
        } else {
            None
        };
        let echo = self.config.echo && !own;
        let sink = self.sink.clone();
        self.tasks.push(tokio::spawn(async move {
            while let Some(ev) = dc.poll().await {
                match ev {
                    DataChannelEvent::OnOpen => {
                        sink.emit(Event::DataChannelOpen { label: label.clone(), options: Default::default() });
                        if let Some(text) = &greeting {
                            if let Err(e) = dc.send_text(text).await {
                                sink.emit(Event::Error { context: format!("send on '{label}'"), message: e.to_string() });
                            }
                        }
                    }
                    DataChannelEvent::OnMessage(msg) => {
                        let data = String::from_utf8_lossy(&msg.data).into_owned();
                        sink.emit(Event::DataChannelMessage { label: label.clone(), data: data.clone(), size: None, intact: None });
                        if echo {
                            let _ = dc.send_text(&data).await;
                        }
                    }
                    DataChannelEvent::OnClose => {
                        sink.emit(Event::DataChannelClose { label: label.clone() });
                        break;
                    }
                    _ => {}
                }
            }
        }));
        let _ = &self.commands;
    }

    async fn stats_summary(&self) -> Value {
        let report = self.pc.get_stats(std::time::Instant::now(), webrtc::peer_connection::StatsSelector::None).await;
        // The figures the browsers' agent page reports too (same names, W3C webrtc-stats), so that
        // a transcript sampled once a second stays small and comparable across kinds.
        let pick = |v: Value, keys: &[&str]| -> Value { keys.iter().filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone()))).collect::<serde_json::Map<_, _>>().into() };
        const INBOUND: &[&str] = &["kind", "packetsReceived", "bytesReceived", "packetsLost", "jitter", "framesDecoded", "frameWidth", "frameHeight", "framesPerSecond"];
        const OUTBOUND: &[&str] = &["kind", "packetsSent", "bytesSent"];
        let inbound: Vec<Value> = report.inbound_rtp_streams().filter_map(|s| serde_json::to_value(s).ok()).map(|v| pick(v, INBOUND)).collect();
        let outbound: Vec<Value> = report.outbound_rtp_streams().filter_map(|s| serde_json::to_value(s).ok()).map(|v| pick(v, OUTBOUND)).collect();
        // The nominated, succeeded pair as the other kinds report it: `relay/udp` and its RTT.
        let selected = report
            .candidate_pairs()
            .filter_map(|s| serde_json::to_value(s).ok())
            .find(|v| v.get("nominated") == Some(&Value::Bool(true)) && v.get("state").and_then(Value::as_str) == Some("succeeded"));
        // rtc 0.21 names a candidate's stats `RTCLocalIceCandidate_<id>` (or `RTCRemote...`) while
        // the pair's localCandidateId / remoteCandidateId carry the bare `<id>` (webrtc-stats
        // says they are the candidate stats' ids), so both forms are looked up.
        let candidate = |id: Option<&Value>| -> Option<String> {
            use rtc::statistics::report::RTCStatsReportEntry as E;
            let id = id?.as_str()?;
            let entry = report
                .get(id)
                .or_else(|| report.get(&format!("RTCLocalIceCandidate_{id}")))
                .or_else(|| report.get(&format!("RTCRemoteIceCandidate_{id}")))?;
            match entry {
                E::LocalCandidate(c) | E::RemoteCandidate(c) => Some(format!("{}/{}", c.candidate_type, c.protocol.to_lowercase())),
                _ => None,
            }
        };
        let pair = selected.map(|p| json!({
            "local": candidate(p.get("localCandidateId")),
            "remote": candidate(p.get("remoteCandidateId")),
            "currentRoundTripTime": p.get("currentRoundTripTime"),
            "availableOutgoingBitrate": p.get("availableOutgoingBitrate"),
        }));
        json!({ "inbound_rtp": inbound, "outbound_rtp": outbound, "candidate_pair": pair })
    }
}
