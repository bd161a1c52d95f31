//! Data channels (RFC 8831 over str0m's SCTP, DCEP RFC 8832 opens them): opening, greeting on
//! open, echoing the other side's channels, closing (PROTOCOL.md "Data channels").

use std::collections::HashMap;

use serde_json::json;
use str0m::channel::{ChannelData, ChannelId, Reliability};

use crate::case::Case;
use crate::negotiation::Change;
use crate::proto::{log, ChannelSpec};

struct Open {
    label: String,
    own: bool,
}

#[derive(Default)]
pub struct Channels {
    /// This peer's own channels (it greets on them and does not echo them), by str0m's id.
    own: HashMap<ChannelId, ChannelSpec>,
    open: HashMap<ChannelId, Open>,
    /// A description in force has the m=application section: more channels need no offer.
    pub app_negotiated: bool,
}

impl Channels {
    pub fn own(&mut self, id: ChannelId, spec: ChannelSpec) {
        self.own.insert(id, spec);
    }

    fn by_label(&self, label: &str) -> Option<ChannelId> {
        // The peer's own channel first, as the other adapters look a label up.
        let mut found: Vec<(&ChannelId, &Open)> = self.open.iter().filter(|(_, o)| o.label == label).collect();
        found.sort_by_key(|(_, o)| !o.own);
        found.first().map(|(id, _)| **id)
    }
}

/// A binary message of `size` bytes, byte i = i % 251 (PROTOCOL.md `send_message`).
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

impl Case {
    /// `start` and `create_data_channel`: a channel of this peer, created with the next offer (or
    /// at once on a negotiated association).
    pub fn create_channel(&mut self, spec: ChannelSpec) {
        self.sig.wanted.push(Change::Channel(spec));
    }

    /// `Event::ChannelOpen`, with the options str0m has for it on this side (webrtc-pc 6.2).
    pub fn on_channel_open(&mut self, id: ChannelId, label: String) {
        let own = self.chans.own.contains_key(&id);
        let stream = self.rtc.direct_api().sctp_stream_id_by_channel_id(id);
        let config = self.rtc.channel(id).and_then(|c| c.config().cloned());
        let mut ev = json!({"type": "data_channel_open", "label": label, "id": stream});
        if let Some(c) = &config {
            let (retransmits, lifetime) = match c.reliability {
                Reliability::Reliable => (None, None),
                Reliability::MaxRetransmits { retransmits } => (Some(retransmits), None),
                Reliability::MaxPacketLifetime { lifetime } => (None, Some(lifetime)),
            };
            ev["protocol"] = json!(c.protocol);
            ev["ordered"] = json!(c.ordered);
            ev["maxRetransmits"] = json!(retransmits);
            ev["maxPacketLifeTime"] = json!(lifetime);
            ev["negotiated"] = json!(c.negotiated.is_some());
        }
        self.emit(ev);
        self.chans.open.insert(id, Open { label: label.clone(), own });
        let greeting = self.chans.own.get(&id).and_then(|s| s.send.clone());
        if let Some(text) = greeting {
            if let Err(e) = self.write_channel(id, false, text.as_bytes()) {
                self.emit(json!({"type": "error", "context": "send", "message": e}));
            }
        }
    }

    /// `Event::ChannelData`: reported, and echoed on the other side's channels with `echo`.
    pub fn on_channel_data(&mut self, d: ChannelData) {
        let Some(open) = self.chans.open.get(&d.id) else {
            log("data on a channel str0m has not announced open");
            return;
        };
        let (label, own) = (open.label.clone(), open.own);
        if d.binary {
            let intact = d.data.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8);
            self.emit(json!({"type": "data_channel_message", "label": label, "size": d.data.len(), "intact": intact, "binary": true}));
        } else {
            self.emit(json!({"type": "data_channel_message", "label": label, "data": String::from_utf8_lossy(&d.data)}));
        }
        if self.cfg.echo && !own && !self.quiet {
            if let Err(e) = self.write_channel(d.id, d.binary, &d.data) {
                self.emit(json!({"type": "error", "context": "echo", "message": e}));
            }
        }
    }

    pub fn on_channel_close(&mut self, id: ChannelId) {
        if let Some(open) = self.chans.open.remove(&id) {
            self.emit(json!({"type": "data_channel_close", "label": open.label}));
        }
    }

    /// Every channel still open closes with the connection (once per channel).
    pub fn close_all_channels(&mut self) {
        let mut labels: Vec<String> = self.chans.open.drain().map(|(_, o)| o.label).collect();
        labels.sort();
        for label in labels {
            self.emit(json!({"type": "data_channel_close", "label": label}));
        }
    }

    /// Channel::write: an error is str0m's refusal of the message itself (over the remote's
    /// a=max-message-size: webrtc-pc 6.2 send() throws TypeError), `false` a full send buffer
    /// (webrtc-pc: OperationError).
    fn write_channel(&mut self, id: ChannelId, binary: bool, data: &[u8]) -> Result<(), String> {
        let mut ch = self.rtc.channel(id).ok_or("InvalidStateError: str0m has no such channel (closed)")?;
        let accepted = ch.write(binary, data).map_err(|e| format!("TypeError: str0m: {e}"));
        self.drive();
        match accepted? {
            true => Ok(()),
            false => Err(format!("OperationError: str0m refused a {}-byte message: its SCTP send buffer is full", data.len())),
        }
    }

    /// `send_message`: text, or `size` bytes of binary.
    pub fn send_message(&mut self, label: &str, text: Option<&str>, size: Option<usize>) -> Result<(), String> {
        let id = self.chans.by_label(label).ok_or_else(|| format!("no open channel '{label}'"))?;
        match (text, size) {
            (Some(t), _) => self.write_channel(id, false, t.as_bytes()),
            (None, Some(n)) => self.write_channel(id, true, &pattern(n)),
            _ => Err("send_message without text or size".into()),
        }
    }

    /// `close_channel`: str0m's `DirectApi::close_data_channel` (an SCTP stream reset, RFC 8831
    /// section 6.7); the close event comes from str0m's `ChannelClose`.
    pub fn close_channel(&mut self, label: &str) -> Result<(), String> {
        let id = self.chans.by_label(label).ok_or_else(|| format!("no open channel '{label}'"))?;
        self.rtc.direct_api().close_data_channel(id);
        self.drive();
        Ok(())
    }
}
