//! The protocol's side of the program: stdout lines (PROTOCOL.md "Lines and common rules") and
//! the case configuration of `setup` (PROTOCOL.md "The configuration").

use std::collections::HashMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Value};

/// Writes one protocol line to stdout and flushes it. stdout carries the protocol only: every
/// log goes to stderr (tracing's writer is stderr, see main.rs).
pub fn line(v: &Value) {
    let mut out = std::io::stdout().lock();
    let text = v.to_string();
    if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
        log(&format!("stdout: cannot write {text}"));
    }
}

/// Wall-clock epoch milliseconds, the `t` of an event (PROTOCOL.md "event").
pub fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// One `event` line, stamped when it is written: the program runs one thread, so the stamps are
/// in the order of the state changes (PROTOCOL.md "Event order").
pub fn event(ev: Value) {
    line(&json!({"type": "event", "t": now_ms(), "event": ev}));
}

/// The answer to a request; `error` is the stack's own message where it has one.
pub fn done(id: u64, error: Option<String>) {
    match error {
        Some(e) => line(&json!({"type": "done", "id": id, "error": e})),
        None => line(&json!({"type": "done", "id": id})),
    }
}

pub fn log(msg: &str) {
    eprintln!("str0m-peer: {msg}");
}

/// An item of `setup.config.data_channels`, with the W3C RTCDataChannelInit names (webrtc-pc 6.1).
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelSpec {
    pub label: String,
    #[serde(default)]
    pub send: Option<String>,
    #[serde(default)]
    pub ordered: Option<bool>,
    #[serde(default, rename = "maxRetransmits")]
    pub max_retransmits: Option<u16>,
    #[serde(default, rename = "maxPacketLifeTime")]
    pub max_packet_life_time: Option<u16>,
    #[serde(default)]
    pub negotiated: Option<bool>,
    #[serde(default)]
    pub id: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
}

impl ChannelSpec {
    /// A channel of `create_data_channel`: the stack's default options.
    pub fn plain(label: &str) -> Self {
        ChannelSpec { label: label.to_string(), send: None, ordered: None, max_retransmits: None, max_packet_life_time: None, negotiated: None, id: None, protocol: None }
    }

    pub fn is_negotiated(&self) -> bool {
        self.negotiated == Some(true)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaFiles {
    pub video: String,
    pub audio: String,
}

/// `setup.config`; every field is always present (PROTOCOL.md `setup`).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub name: String,
    pub signaling_url: String,
    pub media: Vec<String>,
    pub data_channels: Vec<ChannelSpec>,
    pub trickle: bool,
    pub auto_negotiate: bool,
    pub echo: bool,
    pub ice_servers: Vec<IceServer>,
    pub ice_transport_policy: String,
    pub media_files: MediaFiles,
    pub polite: Option<bool>,
    pub codec_preferences: HashMap<String, Vec<String>>,
}

impl Config {
    /// What this adapter cannot honour is refused at setup (PROTOCOL.md "A case": a program that
    /// cannot honour the configuration MUST answer `fail`); the kind declares each false.
    pub fn refusal(&self) -> Option<String> {
        if self.ice_transport_policy == "relay" || self.ice_servers.iter().any(|s| s.urls.iter().any(|u| u.starts_with("turn:"))) {
            return Some("str0m 0.25.0 has no TURN client (its README: 'Turn: no'), so relay candidates and ice_transport_policy relay cannot be honoured".into());
        }
        if self.polite.is_some() {
            return Some("str0m 0.25.0 has no rollback of a local offer: perfect negotiation (webrtc-pc 10.7) cannot be honoured".into());
        }
        for (kind, names) in &self.codec_preferences {
            if !names.is_empty() {
                return Some(format!("codec_preferences {kind} {names:?}: this str0m adapter sends the VP8 and Opus fixtures only"));
            }
        }
        None
    }
}
