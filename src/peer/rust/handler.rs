//! The `webrtc` crate's event callbacks, turned into transcript events and commands for the actor.

use super::{Command, Sink};
use crate::transcript::Event;
use std::sync::Arc;
use tokio::sync::{mpsc::UnboundedSender, watch};
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnectionEventHandler, RTCIceConnectionState, RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSignalingState};

/// Callbacks run on the connection's driver: they only record and forward, never await the
/// connection itself (that would stall the driver).
pub(super) struct Handler {
    pub sink: Sink,
    pub commands: UnboundedSender<Command>,
    pub connected: watch::Sender<bool>,
    pub gathering_complete: watch::Sender<bool>,
    /// The peer's record of the frame markers it reads, when the case reads them.
    pub record: Option<Arc<std::sync::Mutex<super::markers::Record>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_negotiation_needed(&self) {
        self.sink.emit(Event::NegotiationNeeded);
        let _ = self.commands.send(Command::NegotiationNeeded);
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                self.sink.emit(Event::LocalCandidate { candidate: init.candidate.clone() });
                let _ = self.commands.send(Command::LocalCandidate(init));
            }
            Err(e) => self.sink.emit(Event::Error { context: "icecandidate".into(), message: e.to_string() }),
        }
    }

    async fn on_ice_candidate_error(&self, event: webrtc::peer_connection::RTCPeerConnectionIceErrorEvent) {
        self.sink.emit(Event::CandidateError { url: event.url, error_code: event.error_code, error_text: event.error_text });
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        self.sink.emit(Event::SignalingState { state: state.to_string() });
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.sink.emit(Event::IceConnectionState { state: state.to_string() });
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.sink.emit(Event::IceGatheringState { state: state.to_string() });
        let complete = state == RTCIceGatheringState::Complete;
        self.gathering_complete.send_replace(complete);
        if complete {
            // The crate has no null-candidate callback: gathering `complete` is where a browser fires
            // its final null `icecandidate` (W3C webrtc-pc section 4.8.1, RFC 8838 section 4.4).
            let _ = self.commands.send(Command::GatheringComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.sink.emit(Event::ConnectionState { state: state.to_string() });
        self.connected.send_replace(state == RTCPeerConnectionState::Connected);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.commands.send(Command::RemoteChannel(channel));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let sink = self.sink.clone();
        tokio::spawn(super::media::receive(track, sink, self.record.clone()));
    }
}
