//! The Rust peer's transceivers (webrtc-pc section 5): direction, removeTrack, replaceTrack and
//! codec preferences.

use super::actor::Actor;
use super::error::RustPeerError;
use crate::scenario::flows::Direction;
use crate::scenario::MediaKind;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::Arc;
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RtpTransceiver};

fn media_kind(kind: RtpCodecKind) -> Option<MediaKind> {
    match kind {
        RtpCodecKind::Video => Some(MediaKind::Video),
        RtpCodecKind::Audio => Some(MediaKind::Audio),
        _ => None,
    }
}

/// A transceiver's kind: its receiver track's, or its sender track's (webrtc-pc section 5.4).
async fn kind_of(t: &Arc<dyn RtpTransceiver>) -> Option<MediaKind> {
    if let Ok(Some(r)) = t.receiver().await {
        if let Some(k) = media_kind(r.track().kind().await) {
            return Some(k);
        }
    }
    match t.sender().await {
        Ok(Some(s)) => media_kind(s.track().kind().await),
        _ => None,
    }
}

impl Actor {
    /// `setCodecPreferences` before an offer or answer (webrtc-pc section 5.4.1).
    pub(super) async fn prefer_codecs(&mut self) -> Result<(), RustPeerError> {
        if self.config.codec_preferences.is_empty() {
            return Ok(());
        }
        Err(RustPeerError::Unsupported("setCodecPreferences is not implemented in the Rust peer".into()))
    }

    /// `transceiver.direction = direction` on the first transceiver of `kind` (webrtc-pc 5.4);
    /// the crate updates the negotiation-needed flag (rtc-0.21.1 src/rtp_transceiver/mod.rs:291-310).
    pub(super) async fn set_direction(&mut self, kind: MediaKind, direction: Direction) -> Result<(), RustPeerError> {
        let mut found = None;
        for t in self.pc.get_transceivers().await {
            if kind_of(&t).await == Some(kind) {
                found = Some(t);
                break;
            }
        }
        let t = found.ok_or_else(|| RustPeerError::Missing(format!("no {kind} transceiver")))?;
        t.set_direction(RTCRtpTransceiverDirection::from(direction.as_str())).await.map_err(RustPeerError::doing(format!("set direction {direction}")))?;
        self.wake_driver().await;
        Ok(())
    }

    /// `pc.removeTrack(sender)` for the first sender of `kind` that has a track (webrtc-pc 5.1).
    pub(super) async fn remove_track(&mut self, kind: MediaKind) -> Result<(), RustPeerError> {
        let i = self.sending.iter().position(|s| s.kind == kind).ok_or_else(|| RustPeerError::Missing(format!("no {kind} track is sent")))?;
        let s = self.sending.remove(i);
        s.pump.abort();
        self.pc.remove_track(&s.sender).await.map_err(RustPeerError::doing(format!("removeTrack({kind})")))?;
        self.wake_driver().await;
        Ok(())
    }

    /// `sender.replaceTrack(newTrack)` (webrtc-pc 5.2) cannot be done with webrtc 0.21, so the
    /// action answers with an error rather than pretend. The crate's `RtpSender::replace_track`
    /// only swaps the core's MediaStreamTrack (webrtc-0.21.1 src/rtp_transceiver/rtp_sender.rs:98-106);
    /// a local track is bound to its sender only by `set_sender`, from addTrack
    /// (src/rtp_transceiver/mod.rs:246-290), so the new track stays unbound and every write to it
    /// fails with ErrBindFailed (src/media_stream/track_local/static_rtp.rs:122, reached from static_sample.rs:172-174). Tried: the
    /// receiver's frames stopped at the swap (replace_track.yaml, rust-rust and rust-chrome).
    pub(super) async fn replace_track(&mut self, kind: MediaKind) -> Result<(), RustPeerError> {
        Err(RustPeerError::Unsupported(format!(
            "replaceTrack({kind}) is not supported by webrtc 0.21: RtpSender::replace_track does not bind the new track, so nothing written to it is sent"
        )))
    }
}
