//! Steps: what a peer is asked to do ([`Action`]), what a `wait` waits for ([`Condition`]), and a
//! scenario's step list ([`Step`], [`StepKind`]).

use super::flows::Direction;
use super::kinds::MediaKind;
use super::network::Path;
use std::time::Duration;

/// A step a peer is asked to perform (the `do` half of the language; `peer` implements it).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Attach the configured media and data channels.
    Start,
    AddTrack(MediaKind),
    CreateDataChannel {
        label: String,
    },
    /// createOffer, setLocalDescription, send it.
    SendOffer,
    RestartIce,
    SendMessage {
        label: String,
        text: String,
    },
    /// One binary message of `size` bytes, byte i = i % 251.
    SendBinary {
        label: String,
        size: u32,
    },
    Close,
    Rollback,
    SetDirection {
        kind: MediaKind,
        direction: Direction,
    },
    RemoveTrack(MediaKind),
    ReplaceTrack(MediaKind),
    CloseChannel {
        label: String,
    },
    /// The sender's video source shows the same picture for this long (a stalled camera): the
    /// frame marker stops advancing (docs/markers.md), so every receiver sees a freeze.
    StallVideo(Duration),
}

impl Action {
    /// The action as pages and programs take it (`{"type": "add_track", "kind": "audio"}`): the
    /// agent page's `agent.perform` and the command-peer protocol's `perform`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Action::Start => json!({"type": "start"}),
            Action::AddTrack(kind) => json!({"type": "add_track", "kind": kind.as_str()}),
            Action::CreateDataChannel { label } => json!({"type": "create_data_channel", "label": label}),
            Action::SendOffer => json!({"type": "send_offer"}),
            Action::RestartIce => json!({"type": "restart_ice"}),
            Action::SendMessage { label, text } => json!({"type": "send_message", "label": label, "text": text}),
            Action::SendBinary { label, size } => json!({"type": "send_message", "label": label, "size": size}),
            Action::Close => json!({"type": "close"}),
            Action::Rollback => json!({"type": "rollback"}),
            Action::SetDirection { kind, direction } => json!({"type": "set_direction", "kind": kind.as_str(), "direction": direction.as_str()}),
            Action::RemoveTrack(kind) => json!({"type": "remove_track", "kind": kind.as_str()}),
            Action::ReplaceTrack(kind) => json!({"type": "replace_track", "kind": kind.as_str()}),
            Action::CloseChannel { label } => json!({"type": "close_channel", "label": label}),
            Action::StallVideo(length) => json!({"type": "stall_video", "ms": length.as_millis() as u64}),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Action::Start => "start".into(),
            Action::AddTrack(k) => format!("add_track({k})"),
            Action::CreateDataChannel { label } => format!("create_data_channel({label})"),
            Action::SendOffer => "send_offer".into(),
            Action::RestartIce => "restart_ice".into(),
            Action::SendMessage { label, .. } => format!("send_message({label})"),
            Action::SendBinary { label, size } => format!("send_message({label}, {size} bytes)"),
            Action::Close => "close".into(),
            Action::Rollback => "rollback".into(),
            Action::SetDirection { kind, direction } => format!("set_direction({kind}, {direction})"),
            Action::RemoveTrack(k) => format!("remove_track({k})"),
            Action::ReplaceTrack(k) => format!("replace_track({k})"),
            Action::CloseChannel { label } => format!("close_channel({label})"),
            Action::StallVideo(length) => format!("stall_video({}ms)", length.as_millis()),
        }
    }
}

/// A step with the line it was written on (1-based; 0 for the default steps).
#[derive(Clone, Debug)]
pub struct Step {
    pub line: u64,
    pub kind: StepKind,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    Do {
        peer: String,
        action: Action,
    },
    Wait {
        peer: String,
        condition: Condition,
        within: Duration,
    },
    /// A `sleep:` step: scaled by the run's time scale, as every wait is.
    Sleep(Duration),
    /// An exact pause, never scaled: the bench's offer delay (`bench::dither`), which must be the
    /// same as its floor's. No scenario file writes it.
    Pause(Duration),
    /// New conditions on the peer's path from now on.
    Network {
        peer: String,
        path: Path,
    },
    /// Nothing crosses the peer's path for this long (the step returns at once).
    Blackout {
        peer: String,
        length: Duration,
    },
    /// Both peers offer at once; the relay delivers neither offer until both are in.
    Glare,
}

/// What a `wait` step waits for, as seen in the peer's own events.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Connected,
    IceConnected,
    Stable,
    GatheringComplete,
    Track(MediaKind),
    FirstFrame,
    FirstPacket,
    /// At least this many distinct video frames.
    Frames(u64),
    ChannelOpen(String),
    /// The channel's `close` event (webrtc-pc section 6.2: the other side closed it, or the
    /// connection went away).
    ChannelClosed(String),
    Message(String),
    /// `connectionState` (W3C webrtc-pc section 4.3.3) reached one of these.
    Disconnected,
    Failed,
    Closed,
    /// `connected` again after a `disconnected` or `failed`.
    Reconnected,
    /// Frames (video) or packets (audio) counted past what had arrived when the last blackout
    /// began, after it ended.
    MediaResumed(MediaKind),
}

impl Condition {
    pub const SYNTAX: &'static str = "connected, ice_connected, stable, gathering_complete, \
        track(audio|video), first_frame, first_packet, frames(N), channel_open(LABEL), channel_closed(LABEL), message(LABEL), \
        disconnected, failed, closed, reconnected, media_resumed(audio|video)";

    pub fn parse(s: &str) -> Option<Condition> {
        let s = s.trim();
        let arg = |prefix: &str| -> Option<String> { s.strip_prefix(prefix)?.strip_prefix('(')?.strip_suffix(')').map(|a| a.trim().to_string()) };
        Some(match s {
            "connected" => Condition::Connected,
            "ice_connected" => Condition::IceConnected,
            "stable" => Condition::Stable,
            "gathering_complete" => Condition::GatheringComplete,
            "first_frame" => Condition::FirstFrame,
            "first_packet" => Condition::FirstPacket,
            "disconnected" => Condition::Disconnected,
            "failed" => Condition::Failed,
            "closed" => Condition::Closed,
            "reconnected" => Condition::Reconnected,
            _ => {
                if let Some(k) = arg("track") {
                    Condition::Track(MediaKind::parse(&k)?)
                } else if let Some(n) = arg("frames") {
                    Condition::Frames(n.parse().ok().filter(|n| *n > 0)?)
                } else if let Some(l) = arg("channel_open") {
                    Condition::ChannelOpen(l)
                } else if let Some(l) = arg("channel_closed") {
                    Condition::ChannelClosed(l)
                } else if let Some(l) = arg("message") {
                    Condition::Message(l)
                } else if let Some(k) = arg("media_resumed") {
                    Condition::MediaResumed(MediaKind::parse(&k)?)
                } else {
                    return None;
                }
            }
        })
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Connected => write!(f, "connected"),
            Condition::IceConnected => write!(f, "ice_connected"),
            Condition::Stable => write!(f, "stable"),
            Condition::GatheringComplete => write!(f, "gathering_complete"),
            Condition::Track(k) => write!(f, "track({k})"),
            Condition::FirstFrame => write!(f, "first_frame"),
            Condition::FirstPacket => write!(f, "first_packet"),
            Condition::Frames(n) => write!(f, "frames({n})"),
            Condition::ChannelOpen(l) => write!(f, "channel_open({l})"),
            Condition::ChannelClosed(l) => write!(f, "channel_closed({l})"),
            Condition::Message(l) => write!(f, "message({l})"),
            Condition::Disconnected => write!(f, "disconnected"),
            Condition::Failed => write!(f, "failed"),
            Condition::Closed => write!(f, "closed"),
            Condition::Reconnected => write!(f, "reconnected"),
            Condition::MediaResumed(k) => write!(f, "media_resumed({k})"),
        }
    }
}
