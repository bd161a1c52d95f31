//! The Rust peer's data channels: RTCDataChannelInit from the scenario (webrtc-pc section 6.1),
//! the open event with the options the channel reports, text and binary messages, echo and close.

use super::error::RustPeerError;
use super::Sink;
use crate::scenario::DataChannelSpec;
use crate::transcript::{ChannelOptions, Event};
use bytes::BytesMut;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit, RTCDataChannelMessage};
use webrtc::error::Error;
use webrtc::peer_connection::{PeerConnection, StatsSelector};

/// The options of `spec` as `createDataChannel` takes them; `None` when the scenario gives none
/// (the stack's defaults: ordered, reliable, webrtc-pc section 6.1 step 7-12).
pub(super) fn init(spec: &DataChannelSpec) -> Result<Option<RTCDataChannelInit>, RustPeerError> {
    let any = spec.ordered.is_some() || spec.max_retransmits.is_some() || spec.max_packet_life_time.is_some() || spec.protocol.is_some() || spec.negotiated;
    if !any {
        return Ok(None);
    }
    // webrtc-pc 6.1 createDataChannel step 19: negotiated without an id is a TypeError. The
    // crate's `negotiated` is the out-of-band stream id itself (rtc data_channel/init.rs).
    let negotiated = match (spec.negotiated, spec.id) {
        (true, Some(id)) => Some(id),
        (true, None) => return Err(RustPeerError::NegotiatedWithoutId { label: spec.label.clone() }),
        (false, _) => None,
    };
    Ok(Some(RTCDataChannelInit {
        ordered: spec.ordered.unwrap_or(true),
        max_packet_life_time: spec.max_packet_life_time,
        max_retransmits: spec.max_retransmits,
        protocol: spec.protocol.clone().unwrap_or_default(),
        negotiated,
    }))
}

/// A channel with no options and no greeting.
pub(super) fn plain(label: &str) -> DataChannelSpec {
    DataChannelSpec { label: label.to_string(), send: None, ordered: None, max_retransmits: None, max_packet_life_time: None, negotiated: false, id: None, protocol: None }
}

/// A binary message of `size` bytes as the harness writes them: byte i is i % 251 (a prime, so a
/// shifted or truncated message does not match).
pub(super) fn pattern(size: u32) -> BytesMut {
    (0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>().as_slice().into()
}

/// Whether every byte i of `data` is i % 251.
pub(super) fn intact(data: &[u8]) -> bool {
    data.iter().enumerate().all(|(i, b)| usize::from(*b) == i % 251)
}

/// Sends one binary message; a refusal reads as the exception webrtc-pc section 6.2 `send()`
/// throws: TypeError over the remote's maximum message size (RFC 8841 section 6), else
/// InvalidStateError when the channel is not open.
pub(super) async fn send_binary(dc: &Arc<dyn DataChannel>, label: &str, size: u32) -> Result<(), RustPeerError> {
    dc.send(pattern(size)).await.map_err(|e| match e {
        Error::ErrOutboundPacketTooLarge => RustPeerError::TooLarge { label: label.to_string(), size, source: e },
        Error::ErrDataChannelNotOpen | Error::ErrDataChannelClosed => RustPeerError::NotOpen { label: label.to_string(), source: e },
        e => RustPeerError::doing(format!("send on '{label}'"))(e),
    })
}

const CONNECTING: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;

/// One channel and whether its open and close were recorded: a close is recorded once, from the
/// channel's own event or, when the peer connection is closed here, for every channel that
/// opened (webrtc-pc section 4.4.1.7: close() fires no event; the crate just ends the streams).
pub(super) struct Channel {
    pub dc: Arc<dyn DataChannel>,
    label: String,
    state: AtomicU8,
}

impl Channel {
    /// Moves to closed; true if this call did it and `only_open` allows (the close to record).
    fn close(&self, only_open: bool) -> bool {
        let prev = self.state.swap(CLOSED, Ordering::SeqCst);
        prev == OPEN || (!only_open && prev == CONNECTING)
    }
}

/// The channels of one peer by label.
#[derive(Default)]
pub(super) struct Channels {
    map: HashMap<String, Arc<Channel>>,
}

impl Channels {
    pub(super) fn get(&self, label: &str) -> Result<&Arc<dyn DataChannel>, RustPeerError> {
        self.map.get(label).map(|c| &c.dc).ok_or_else(|| RustPeerError::Missing(format!("no data channel '{label}'")))
    }

    /// Records `data_channel_close` for every channel that opened and has not closed: the peer
    /// connection was closed here.
    pub(super) fn closed_with_connection(&self, sink: &Sink) {
        for c in self.map.values() {
            if c.close(true) {
                sink.emit(Event::DataChannelClose { label: c.label.clone() });
            }
        }
    }

    /// Starts reporting `dc`'s events. Own channels send their greeting on open; channels the
    /// other side created are echoed when `echo` is on, text as text and binary as binary.
    pub(super) async fn watch(&mut self, dc: Arc<dyn DataChannel>, pc: Arc<dyn PeerConnection>, sink: Sink, greeting: Option<String>, echo: bool) -> tokio::task::JoinHandle<()> {
        let label = dc.label().await.unwrap_or_default();
        let channel = Arc::new(Channel { dc, label: label.clone(), state: AtomicU8::new(CONNECTING) });
        self.map.insert(label, Arc::clone(&channel));
        tokio::spawn(run(channel, pc, sink, greeting, echo))
    }
}

async fn run(c: Arc<Channel>, pc: Arc<dyn PeerConnection>, sink: Sink, greeting: Option<String>, echo: bool) {
    let label = c.label.clone();
    while let Some(ev) = c.dc.poll().await {
        match ev {
            DataChannelEvent::OnOpen => {
                if c.state.compare_exchange(CONNECTING, OPEN, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                    continue;
                }
                sink.emit(Event::DataChannelOpen { label: label.clone(), options: options(&c.dc, &*pc, &label).await });
                if let Some(text) = &greeting {
                    if let Err(e) = c.dc.send_text(text).await {
                        sink.emit(Event::Error { context: format!("send on '{label}'"), message: e.to_string() });
                    }
                }
            }
            DataChannelEvent::OnMessage(msg) => on_message(&c.dc, &label, msg, &sink, echo).await,
            DataChannelEvent::OnClose => {
                if c.close(false) {
                    sink.emit(Event::DataChannelClose { label: label.clone() });
                }
                return;
            }
            _ => {}
        }
    }
    // The stream ended without a close event: the peer connection is gone.
    if c.close(true) {
        sink.emit(Event::DataChannelClose { label });
    }
}

async fn on_message(dc: &Arc<dyn DataChannel>, label: &str, msg: RTCDataChannelMessage, sink: &Sink, echo: bool) {
    let sent = if msg.is_string {
        let data = String::from_utf8_lossy(&msg.data).into_owned();
        sink.emit(Event::DataChannelMessage { label: label.to_string(), data: data.clone(), size: None, intact: None });
        if !echo {
            return;
        }
        dc.send_text(&data).await
    } else {
        let size = u32::try_from(msg.data.len()).unwrap_or(u32::MAX);
        sink.emit(Event::DataChannelMessage { label: label.to_string(), data: String::new(), size: Some(size), intact: Some(intact(&msg.data)) });
        if !echo {
            return;
        }
        dc.send(msg.data).await
    };
    if let Err(e) = sent {
        sink.emit(Event::Error { context: format!("echo on '{label}'"), message: e.to_string() });
    }
}

/// The channel's options as it reports them (RTCDataChannel attributes, webrtc-pc section 6.2).
/// webrtc 0.21's `DataChannel::id()` is the crate's handle, not the SCTP stream id (rtc-0.21.1
/// src/data_channel/mod.rs:180-194, and the trait has no `stream_id`): the id is read from the
/// channel's getStats entry, `dataChannelIdentifier` (webrtc-stats RTCDataChannelStats).
async fn options(dc: &Arc<dyn DataChannel>, pc: &dyn PeerConnection, label: &str) -> ChannelOptions {
    let report = pc.get_stats(std::time::Instant::now(), StatsSelector::None).await;
    let id = report.data_channels().find(|s| s.label == label).map(|s| s.data_channel_identifier);
    ChannelOptions {
        id,
        protocol: dc.protocol().await.ok(),
        ordered: dc.ordered().await.ok(),
        max_retransmits: dc.max_retransmits().await.ok().flatten(),
        max_packet_life_time: dc.max_packet_life_time().await.ok().flatten(),
        negotiated: dc.negotiated().await.ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_intact_and_a_cut_is_not() {
        let p = pattern(1000);
        assert_eq!(p.len(), 1000);
        assert_eq!(p[251], 0);
        assert!(intact(&p));
        assert!(!intact(&p[1..]));
    }
}
