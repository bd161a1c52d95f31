//! The edge where a page's or a program's events enter the transcript: [`Event::from_peer`]
//! refuses an unknown type, a missing field, or a state outside its W3C enum.

use super::event::Event;

/// The W3C enum values a state event may carry (webrtc-pc sections 4.3.1-4.3.3: RTCSignalingState,
/// RTCIceGatheringState, RTCIceConnectionState, RTCPeerConnectionState).
const SIGNALING: &[&str] = &["stable", "have-local-offer", "have-remote-offer", "have-local-pranswer", "have-remote-pranswer", "closed"];
const GATHERING: &[&str] = &["new", "gathering", "complete"];
const ICE: &[&str] = &["new", "checking", "connected", "completed", "disconnected", "failed", "closed"];
const CONNECTION: &[&str] = &["new", "connecting", "connected", "disconnected", "failed", "closed"];
const MEDIA: &[&str] = &["audio", "video"];
const SDP_TYPES: &[&str] = &["offer", "answer", "pranswer", "rollback"];

/// Why an event a peer reported is refused.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not an event of the vocabulary, or a field missing or of the wrong type.
    #[error("{0}")]
    Malformed(#[from] serde_json::Error),
    /// A state or kind outside its W3C enum.
    #[error("'{value}' is not a {what} (expected one of: {})", allowed.join(", "))]
    NotInEnum { value: String, what: &'static str, allowed: &'static [&'static str] },
    /// An event only the runner records.
    #[error("'step', 'network', 'net_record' and 'send_refused' events are the runner's own")]
    RunnersOwn,
}

impl Event {
    /// An event as a page or a program reports it (`{"type": "signaling_state", "state": ...}`),
    /// checked at the edge: an unknown type, a missing field, or a state outside the W3C enum
    /// (`"Connected"`, `"have_local_offer"`) is an error here, not a wait that never matches.
    pub fn from_peer(raw: serde_json::Value) -> Result<Event, EventError> {
        let event: Event = serde_json::from_value(raw)?;
        let check = |value: &str, allowed: &'static [&'static str], what: &'static str| -> Result<(), EventError> {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(EventError::NotInEnum { value: value.to_string(), what, allowed })
            }
        };
        match &event {
            Event::SignalingState { state } => check(state, SIGNALING, "signaling state")?,
            Event::IceGatheringState { state } => check(state, GATHERING, "ICE gathering state")?,
            Event::IceConnectionState { state } => check(state, ICE, "ICE connection state")?,
            Event::ConnectionState { state } => check(state, CONNECTION, "connection state")?,
            Event::Track { kind }
            | Event::TrackReplaced { kind }
            | Event::FirstFrame { kind, .. }
            | Event::FirstPacket { kind }
            | Event::MediaProgress { kind, .. }
            | Event::FramePainted { kind, .. }
            | Event::FrameShown { kind, .. }
            | Event::MarkersSeen { kind, .. } => check(kind, MEDIA, "media kind")?,
            Event::LocalDescription { sdp_type, .. } | Event::RemoteDescription { sdp_type, .. } => check(sdp_type, SDP_TYPES, "description type")?,
            Event::Step { .. } | Event::Network { .. } | Event::NetRecord { .. } | Event::SendRefused { .. } => return Err(EventError::RunnersOwn),
            _ => {}
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_from_peers_are_checked_at_the_edge() {
        assert!(Event::from_peer(json!({"type": "connection_state", "state": "connected"})).is_ok());
        let bad = Event::from_peer(json!({"type": "connection_state", "state": "Connected"})).unwrap_err();
        assert!(bad.to_string().contains("'Connected' is not a connection state"), "{bad}");
        assert!(Event::from_peer(json!({"type": "signaling_state", "state": "have_local_offer"})).is_err());
        assert!(Event::from_peer(json!({"type": "track", "kind": "data"})).is_err());
        assert!(Event::from_peer(json!({"type": "no_such_event"})).is_err());
        assert!(Event::from_peer(json!({"type": "step", "name": "start"})).is_err(), "steps are the runner's");
    }
}
