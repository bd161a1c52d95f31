//! The relay under bad input: malformed and oversized frames, unknown rooms and peers, and room
//! isolation; every case also checks what the relay recorded.

use super::block_on;
use futures::{SinkExt, StreamExt};
use libtest_mimic::{Failed, Trial};
use rtc_harness::clock::Clock;
use rtc_harness::relay::{MessageKind, Relay, MAX_MESSAGE_BYTES};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Every wait in these tests: generous, as the machines are shared.
const WAIT: Duration = Duration::from_secs(5);

pub fn trials() -> Vec<Trial> {
    fn t<F: Future<Output = Result<(), Failed>> + 'static>(name: &str, f: fn() -> F) -> Trial {
        Trial::test(format!("relay::{name}"), move || block_on(f())).with_kind("relay")
    }
    vec![
        t("forwards_and_records", forwards_and_records),
        t("malformed_messages", malformed_messages),
        t("oversized_messages", oversized_messages),
        t("unknown_room_and_peer", unknown_room_and_peer),
        t("room_isolation", room_isolation),
    ]
}

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(Failed::from(what.into()))
    }
}

async fn start(rooms: &[(&str, &[&str])]) -> Relay {
    let relay = Relay::start(Clock::start(), Vec::new()).await.expect("relay binds 127.0.0.1:0");
    for (room, peers) in rooms {
        let peers: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
        relay.rooms.open_room(room, &peers);
    }
    relay
}

/// Joins and waits until the relay has registered the member: a message sent to a room before
/// its other member is registered is (by design) delivered to nobody.
async fn join(relay: &Relay, room: &str, peer: &str) -> Ws {
    let ws = connect(relay, room, peer).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !relay.rooms.is_member(room, peer) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ws
}

async fn connect(relay: &Relay, room: &str, peer: &str) -> Ws {
    tokio_tungstenite::connect_async(relay.ws_url(room, peer)).await.expect("websocket connects").0
}

/// The next text frame as JSON, or a description of what came instead.
async fn next_json(ws: &mut Ws) -> Result<Value, Failed> {
    match tokio::time::timeout(WAIT, ws.next()).await {
        Err(_) => Err(Failed::from(format!("no frame within {WAIT:?}"))),
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(t.as_str()).map_err(|e| Failed::from(e.to_string())),
        Ok(other) => Err(Failed::from(format!("expected a text frame, got {other:?}"))),
    }
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.to_string().into())).await.expect("send");
}

fn error_code(v: &Value) -> Option<&str> {
    v.get("error")?.get("code")?.as_str()
}

/// The join is refused: an error frame with `code`, then the socket closes.
async fn refused(relay: &Relay, room: &str, peer: &str, code: &str) -> Result<(), Failed> {
    let mut ws = connect(relay, room, peer).await;
    let frame = next_json(&mut ws).await?;
    ensure(error_code(&frame) == Some(code), format!("join {room}/{peer}: expected error {code}, got {frame}"))?;
    match tokio::time::timeout(WAIT, ws.next()).await {
        Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => Ok(()),
        other => Err(Failed::from(format!("join {room}/{peer}: socket not closed after refusal: {other:?}"))),
    }
}

async fn forwards_and_records() -> Result<(), Failed> {
    let relay = start(&[("r", &["alice", "bob"])]).await;
    let mut alice = join(&relay, "r", "alice").await;
    let mut bob = join(&relay, "r", "bob").await;
    let offer = r#"{"desc":{"type":"offer","sdp":"v=0\r\n"}}"#;
    let cand = r#"{"candidate":{"candidate":"candidate:1 1 udp 1 192.0.2.1 9 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"u"}}"#;
    send(&mut alice, offer).await;
    send(&mut alice, cand).await;
    send(&mut alice, r#"{"candidate":null}"#).await;
    ensure(next_json(&mut bob).await?["desc"]["type"] == "offer", "bob gets the offer first")?;
    ensure(next_json(&mut bob).await?["candidate"]["sdpMid"] == "0", "then the candidate")?;
    ensure(next_json(&mut bob).await?["candidate"].is_null(), "then end-of-candidates")?;
    send(&mut bob, r#"{"hello":"world"}"#).await;
    ensure(next_json(&mut alice).await?["hello"] == "world", "unknown JSON is forwarded")?;
    let records = relay.rooms.records("r");
    let kinds: Vec<&MessageKind> = records.iter().map(|r| &r.kind).collect();
    ensure(
        kinds == [&MessageKind::Desc { sdp_type: "offer".into() }, &MessageKind::Candidate, &MessageKind::EndOfCandidates { form: "null".into() }, &MessageKind::Unknown],
        format!("recorded kinds: {kinds:?}"),
    )?;
    ensure(records[..3].iter().all(|r| r.from == "alice" && r.to == ["bob"]), "sender and receivers recorded")?;
    ensure(records.windows(2).all(|w| w[0].at <= w[1].at), "timestamps are monotonic")?;
    Ok(())
}

async fn malformed_messages() -> Result<(), Failed> {
    let relay = start(&[("r", &["alice", "bob"])]).await;
    let mut alice = join(&relay, "r", "alice").await;
    let mut bob = join(&relay, "r", "bob").await;
    for (frame, code) in [
        ("not json at all", "not_json"),
        (r#"{"desc":{"type":"offer"}}"#, "bad_desc"),
        (r#"{"desc":{"type":"bogus","sdp":"v=0"}}"#, "bad_desc"),
        (r#"{"candidate":42}"#, "bad_candidate"),
    ] {
        send(&mut alice, frame).await;
        let reply = next_json(&mut alice).await?;
        ensure(error_code(&reply) == Some(code), format!("{frame:?}: expected {code}, got {reply}"))?;
    }
    alice.send(Message::Binary(vec![1u8, 2, 3].into())).await.expect("send binary");
    ensure(error_code(&next_json(&mut alice).await?) == Some("binary"), "binary frames are refused")?;
    // The relay keeps serving: a valid message still reaches bob, and it is the first he sees.
    send(&mut alice, r#"{"candidate":null}"#).await;
    ensure(next_json(&mut bob).await?["candidate"].is_null(), "bob only sees the valid message")?;
    let rejected = relay.rooms.records("r").iter().filter(|r| matches!(r.kind, MessageKind::Rejected { .. })).count();
    ensure(rejected == 5, format!("5 rejections recorded, found {rejected}"))
}

async fn oversized_messages() -> Result<(), Failed> {
    let relay = start(&[("r", &["alice", "bob"])]).await;
    let mut alice = join(&relay, "r", "alice").await;
    let mut bob = join(&relay, "r", "bob").await;
    let big = format!(r#"{{"desc":{{"type":"offer","sdp":"{}"}}}}"#, "a".repeat(MAX_MESSAGE_BYTES));
    send(&mut alice, &big).await;
    let reply = next_json(&mut alice).await?;
    ensure(error_code(&reply) == Some("too_large"), format!("expected too_large, got {reply}"))?;
    send(&mut alice, r#"{"candidate":null}"#).await;
    ensure(next_json(&mut bob).await?["candidate"].is_null(), "the oversized frame was not forwarded")?;
    // Past the frame limit the socket is closed (1009); the rest of the room keeps working.
    let huge = "x".repeat(2 * 1024 * 1024);
    let _ = alice.send(Message::Text(huge.into())).await;
    let closed = matches!(tokio::time::timeout(WAIT, alice.next()).await, Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))));
    ensure(closed, "a frame over the frame limit closes the socket")?;
    let mut alice2 = join(&relay, "r", "alice").await;
    send(&mut alice2, r#"{"candidate":null}"#).await;
    ensure(next_json(&mut bob).await?["candidate"].is_null(), "the room still relays after the close")
}

async fn unknown_room_and_peer() -> Result<(), Failed> {
    let relay = start(&[("r", &["alice", "bob"])]).await;
    refused(&relay, "nope", "alice", "unknown_room").await?;
    refused(&relay, "r", "mallory", "unknown_peer").await?;
    let _alice = join(&relay, "r", "alice").await;
    refused(&relay, "r", "alice", "duplicate_peer").await
}

async fn room_isolation() -> Result<(), Failed> {
    let relay = start(&[("one", &["alice", "bob"]), ("two", &["alice", "bob"])]).await;
    let mut a1 = join(&relay, "one", "alice").await;
    let mut b1 = join(&relay, "one", "bob").await;
    let mut a2 = join(&relay, "two", "alice").await;
    let mut b2 = join(&relay, "two", "bob").await;
    send(&mut a1, r#"{"room":"one"}"#).await;
    ensure(next_json(&mut b1).await?["room"] == "one", "room one delivers")?;
    send(&mut a2, r#"{"room":"two"}"#).await;
    // Had room one leaked, b2 would see its message before this one.
    ensure(next_json(&mut b2).await?["room"] == "two", "room two sees only its own message")?;
    let one = relay.rooms.records("one");
    let two = relay.rooms.records("two");
    ensure(one.len() == 1 && two.len() == 1, format!("records: one={} two={}", one.len(), two.len()))
}
