//! The Rust peer's offer/answer: remote descriptions with W3C webrtc-pc section 10.7 perfect
//! negotiation when the peer has a role, explicit rollback (RFC 8829 section 4.1.10.2), and the
//! states recorded after `close()`.

use super::actor::Actor;
use super::error::RustPeerError;
use crate::transcript::Event;
use webrtc::error::Error;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSdpType, RTCSessionDescription, RTCSignalingState};

impl Actor {
    /// A description from the other peer. With a perfect-negotiation role (webrtc-pc 10.7):
    /// `offerCollision = offer && (makingOffer || signalingState != stable)`; the impolite peer
    /// ignores a colliding offer, the polite one rolls its own back and answers. `makingOffer` is
    /// never true here: the actor runs `offer()` to its end (sent) before it takes the next
    /// message, so the signaling state carries the whole test.
    pub(super) async fn on_description(&mut self, desc: RTCSessionDescription) -> Result<(), RustPeerError> {
        let sdp_type = desc.sdp_type;
        if let Some(polite) = self.config.polite {
            let collision = sdp_type == RTCSdpType::Offer && self.signaling_state().await != RTCSignalingState::Stable;
            self.ignore_offer = !polite && collision;
            if self.ignore_offer {
                self.sink.emit(Event::OfferIgnored);
                return Ok(());
            }
            if collision {
                // webrtc 0.21 does no implicit rollback: setRemoteDescription(offer) in
                // have-local-offer is refused as an invalid transition (rtc-0.21.1
                // src/peer_connection/state/signaling_state.rs:337-361 accepts only answer and
                // pranswer there), so the polite peer rolls back first, as webrtc-pc 10.7's
                // example did before implicit rollback (section 4.4.1.5).
                self.rollback().await?;
                self.sink.emit(Event::Rollback { implicit: false });
            }
        }
        let sdp = desc.sdp.clone();
        if let Err(e) = self.pc.set_remote_description(desc).await {
            // webrtc 0.21 has changed its signaling state by the time it refuses the
            // description (webrtc-pc 4.4.1.5 leaves it unchanged on failure), and returns before
            // waking its driver, so the state event waited for the next unrelated wake-up (an
            // incoming candidate, or nothing): snapshots showed it in some runs only. Waking the
            // driver now records what the crate did, every time.
            self.wake_driver().await;
            return Err(RustPeerError::Webrtc { doing: format!("setRemoteDescription({sdp_type})"), source: e });
        }
        self.sink.emit(Event::RemoteDescription { sdp_type: sdp_type.to_string(), sdp, queued_ms: None, apply_ms: None });
        for init in std::mem::take(&mut self.early_candidates) {
            self.add_candidate(init).await?;
        }
        if sdp_type != RTCSdpType::Offer {
            return Ok(());
        }
        if !self.started {
            // The seed's answerer attaches its media when the offer arrives, and creates its
            // negotiated channels then (the other side's are not announced in-band, RFC 8832).
            self.started = true;
            for kind in self.config.media.clone() {
                self.add_track(kind).await?;
            }
            for spec in self.config.data_channels.clone().into_iter().filter(|c| c.negotiated) {
                self.create_channel(&spec).await?;
            }
        }
        self.prefer_codecs().await?;
        let answer = self.pc.create_answer(None).await.map_err(RustPeerError::doing("createAnswer"))?;
        self.pc.set_local_description(answer).await.map_err(RustPeerError::doing("setLocalDescription(answer)"))?;
        self.after_local_description().await
    }

    /// `setLocalDescription({type: 'rollback'})` (RFC 8829 section 4.1.10.2): back to `stable`,
    /// the pending local offer discarded. webrtc 0.21 supports it for a local offer
    /// (rtc-0.21.1 src/peer_connection/internal.rs:510-524) and refuses it in `stable`.
    pub(super) async fn rollback(&mut self) -> Result<(), RustPeerError> {
        let desc = RTCSessionDescription::rollback(None).map_err(RustPeerError::doing("rollback description"))?;
        self.pc.set_local_description(desc).await.map_err(RustPeerError::doing("setLocalDescription(rollback)"))
    }

    /// A remote candidate. Those of an ignored offer have nowhere to go: their errors are dropped
    /// while `ignoreOffer` holds (webrtc-pc 10.7).
    pub(super) async fn add_candidate(&mut self, init: RTCIceCandidateInit) -> Result<(), RustPeerError> {
        if self.pc.remote_description().await.is_none() && !self.ignore_offer {
            self.early_candidates.push(init);
            return Ok(());
        }
        let candidate = init.candidate.clone();
        match self.pc.add_ice_candidate(init).await {
            Ok(()) => {
                self.sink.emit(Event::RemoteCandidate { candidate });
                Ok(())
            }
            Err(_) if self.config.polite.is_some() && self.ignore_offer => Ok(()),
            Err(e) => Err(RustPeerError::doing("addIceCandidate")(e)),
        }
    }

    /// Closes the connection and records its states as read right after: close() fires no event
    /// (webrtc-pc section 4.4.1.7), and the crate's driver, stopped by close(), delivers none.
    /// webrtc 0.21 has no connectionState / signalingState getter (the `PeerConnection` trait,
    /// webrtc-0.21.1 src/peer_connection/mod.rs:444-721); its core's close() sets both to
    /// `closed` together (rtc-0.21.1 src/peer_connection/handler/mod.rs:509-515, 587), after which
    /// createOffer fails with ErrConnectionClosed (rtc src/peer_connection/mod.rs:789-791). That
    /// answer is the read.
    pub(super) async fn close(&mut self) -> Result<(), RustPeerError> {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.pc.close().await.map_err(RustPeerError::doing("close"))?;
        match self.pc.create_offer(None).await {
            Err(Error::ErrConnectionClosed) => {
                self.sink.emit(Event::ConnectionState { state: "closed".into() });
                self.sink.emit(Event::SignalingState { state: "closed".into() });
            }
            other => {
                let read = other.map(|_| "an offer".to_string()).unwrap_or_else(|e| e.to_string());
                return Err(RustPeerError::NotClosed { read });
            }
        }
        self.channels.closed_with_connection(&self.sink);
        Ok(())
    }
}
