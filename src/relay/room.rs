//! Rooms: who is in each, forwarding to the other members, and the per-room message record.

use super::faults::Injector;
use super::message::{classify, error_frame, MessageKind, RelayRecord};
use crate::clock::Clock;
use crate::scenario::flows::FaultRule;
use axum::extract::ws::{Message, Utf8Bytes};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc::UnboundedSender;

/// A standalone relay keeps at most this many records per room (oldest dropped first).
pub const MAX_RECORDS_PER_ROOM: usize = 10_000;

#[derive(Default)]
struct Room {
    /// Declared members (harness rooms); `None` admits any name (open rooms).
    expected: Option<Vec<String>>,
    members: HashMap<String, UnboundedSender<Message>>,
    records: VecDeque<RelayRecord>,
    /// Created by a join in open mode: removed when its last member leaves.
    ephemeral: bool,
    /// The scenario's signaling faults and the glare gate.
    faults: Injector,
}

/// Every room of a relay.
pub struct Rooms {
    clock: Clock,
    /// Open mode (standalone relay): unknown rooms are created on join.
    open: bool,
    rooms: RwLock<HashMap<String, Arc<Mutex<Room>>>>,
}

/// Why a join was refused (sent as an error frame before the socket closes).
#[derive(Debug, PartialEq)]
pub struct JoinError {
    pub code: &'static str,
    pub message: String,
}

impl Rooms {
    pub fn new(clock: Clock, open: bool) -> Self {
        Rooms { clock, open, rooms: RwLock::new(HashMap::new()) }
    }

    /// Declares a room and the peer names it admits.
    pub fn open_room(&self, room: &str, peers: &[String]) {
        let r = Room { expected: Some(peers.to_vec()), ..Room::default() };
        self.rooms.write().unwrap().insert(room.to_string(), Arc::new(Mutex::new(r)));
    }

    /// The fault rules the room applies to what its members send (see [`super::faults`]).
    pub fn set_faults(&self, room: &str, rules: Vec<FaultRule>) {
        if let Some(r) = self.room(room) {
            r.lock().unwrap().faults = Injector::new(rules);
        }
    }

    /// Glare: from now, hold what `peers` send until each has sent an offer.
    pub fn arm_glare(&self, room: &str, peers: Vec<String>) {
        if let Some(r) = self.room(room) {
            r.lock().unwrap().faults.arm_glare(peers);
        }
    }

    /// Whether the glare gate still waits for an offer.
    pub fn glare_pending(&self, room: &str) -> bool {
        self.room(room).is_some_and(|r| r.lock().unwrap().faults.glare_pending())
    }

    /// Gives up on glare: delivers what the gate held.
    pub fn open_gate(&self, room: &str) {
        let Some(r) = self.room(room) else { return };
        let mut r = r.lock().unwrap();
        let out = r.faults.open_gate();
        Self::deliver(&r, "", out);
    }

    /// Sends each delivery to every member but its sender (delayed ones from a task of their
    /// own); returns who `from`'s own message reached.
    fn deliver(r: &Room, from: &str, deliveries: Vec<super::faults::Delivery>) -> Vec<String> {
        let mut to: Vec<String> = Vec::new();
        for d in deliveries {
            for (name, tx) in r.members.iter().filter(|(n, _)| **n != d.from) {
                let msg = Message::Text(d.text.clone().into());
                let sent = if d.delay.is_zero() {
                    tx.send(msg).is_ok()
                } else {
                    let (tx, delay) = (tx.clone(), d.delay);
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = tx.send(msg);
                    });
                    true
                };
                if sent && d.from == from && !to.contains(name) {
                    to.push(name.clone());
                }
            }
        }
        to.sort();
        to
    }

    /// Forgets a room and its record.
    pub fn close_room(&self, room: &str) {
        self.rooms.write().unwrap().remove(room);
    }

    /// The record of a room so far.
    pub fn records(&self, room: &str) -> Vec<RelayRecord> {
        self.room(room).map(|r| r.lock().unwrap().records.iter().cloned().collect()).unwrap_or_default()
    }

    /// Whether `peer` is in `room` now. A WebSocket client's handshake completes before the
    /// relay's upgrade task registers it, so a sender that must not race a join asks this.
    pub fn is_member(&self, room: &str, peer: &str) -> bool {
        self.room(room).is_some_and(|r| r.lock().unwrap().members.contains_key(peer))
    }

    fn room(&self, room: &str) -> Option<Arc<Mutex<Room>>> {
        self.rooms.read().unwrap().get(room).cloned()
    }

    pub fn join(&self, room: &str, peer: &str, tx: UnboundedSender<Message>) -> Result<(), JoinError> {
        let r = match self.room(room) {
            Some(r) => r,
            None if self.open => {
                let mut rooms = self.rooms.write().unwrap();
                let r = rooms.entry(room.to_string()).or_insert_with(|| Arc::new(Mutex::new(Room { ephemeral: true, ..Room::default() })));
                Arc::clone(r)
            }
            None => return Err(JoinError { code: "unknown_room", message: format!("no room '{room}' on this relay") }),
        };
        let mut r = r.lock().unwrap();
        if let Some(expected) = &r.expected {
            if !expected.iter().any(|p| p == peer) {
                return Err(JoinError { code: "unknown_peer", message: format!("room '{room}' admits {} (not '{peer}')", expected.join(", ")) });
            }
        }
        if r.members.contains_key(peer) {
            return Err(JoinError { code: "duplicate_peer", message: format!("'{peer}' is already in room '{room}'") });
        }
        r.members.insert(peer.to_string(), tx);
        Ok(())
    }

    pub fn leave(&self, room: &str, peer: &str) {
        let Some(r) = self.room(room) else { return };
        let empty_ephemeral = {
            let mut r = r.lock().unwrap();
            r.members.remove(peer);
            r.ephemeral && r.members.is_empty()
        };
        if empty_ephemeral {
            self.rooms.write().unwrap().remove(room);
        }
    }

    /// Handles one text frame from `from`: forwards it to the other members, or answers the sender
    /// with an error frame; records it either way.
    pub fn relay_text(&self, room: &str, from: &str, text: Utf8Bytes) {
        let Some(r) = self.room(room) else { return };
        let at = self.clock.now();
        let mut r = r.lock().unwrap();
        let (kind, body, to, fault) = match classify(text.as_str()) {
            Ok((kind, body)) => {
                let decision = r.faults.on_message(from, &kind, text.as_str());
                let mut to = Self::deliver(&r, from, decision.deliveries);
                if decision.held {
                    // Delivered later, by the release: the record (what the invariants read, in
                    // the order sent) names who it is for.
                    to = r.members.keys().filter(|n| n.as_str() != from).cloned().collect();
                    to.sort();
                }
                (kind, body, to, decision.fault)
            }
            Err((code, message)) => {
                if let Some(tx) = r.members.get(from) {
                    let _ = tx.send(Message::Text(error_frame(code, &message).into()));
                }
                (MessageKind::Rejected { code: code.to_string() }, Value::Null, vec![], None)
            }
        };
        if r.records.len() >= MAX_RECORDS_PER_ROOM {
            r.records.pop_front();
        }
        r.records.push_back(RelayRecord { at, room: room.to_string(), from: from.to_string(), to, kind, body: Arc::new(body), fault });
    }

    /// Records a frame that is refused without being read as text (binary frames).
    pub fn reject(&self, room: &str, from: &str, code: &str, message: &str) {
        let Some(r) = self.room(room) else { return };
        let at = self.clock.now();
        let mut r = r.lock().unwrap();
        if let Some(tx) = r.members.get(from) {
            let _ = tx.send(Message::Text(error_frame(code, message).into()));
        }
        r.records.push_back(RelayRecord {
            at,
            room: room.to_string(),
            from: from.to_string(),
            to: vec![],
            kind: MessageKind::Rejected { code: code.to_string() },
            body: Arc::new(Value::Null),
            fault: None,
        });
    }
}
