//! The floor (PROTOCOL.md "Optional: the floor"): str0m's own time to first frame, str0m against
//! str0m in this process with nothing of the harness in the path. Each iteration is a fresh pair
//! of the `Case` a harness case uses (its sockets, its sending of the video fixture from the first
//! keyframe once connected, its `first_frame` on the first complete keyframe), driven by one loop
//! here instead of main's; their signaling goes through a `Relay::pair` in memory, trickle on,
//! and their events come back on channels instead of lines. Timed from the offerer's
//! `create_offer` (just before `SdpApi::apply`'s offer is made) to the answerer's `first_frame`;
//! both cases are dropped (sockets closed) after each iteration.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::case::Case;
use crate::net::Relay;
use crate::proto::Config;

/// One iteration's bound (the harness's own limit is 20 s per iteration, scaled).
const FLOOR_LIMIT: Duration = Duration::from_secs(20);

/// Answers a `floor` request: `iterations` calls, one after the other (ms each).
pub async fn floor(cmd: &Value) -> Result<Vec<f64>, String> {
    let files = cmd.get("media_files").cloned().ok_or("floor: no media_files")?;
    let iterations = cmd.get("iterations").and_then(Value::as_u64).filter(|n| *n > 0).unwrap_or(10);
    let mut times = Vec::new();
    for i in 0..iterations {
        times.push(once(&files).await.map_err(|e| format!("floor iteration {}: {e}", i + 1))?);
    }
    Ok(times)
}

fn config(name: &str, media: &[&str], files: &Value) -> Result<Config, String> {
    let cfg = json!({
        "name": name, "signaling_url": "", "media": media, "data_channels": [], "trickle": true,
        "auto_negotiate": false, "echo": false, "ice_servers": [], "ice_transport_policy": "all",
        "media_files": files, "polite": null, "codec_preferences": {},
    });
    serde_json::from_value(cfg).map_err(|e| format!("floor config: {e}"))
}

/// What a drained event means for the measurement.
enum Seen {
    Nothing,
    Offer,
    FirstFrame(Instant),
}

fn read(who: &str, rx: &mut mpsc::UnboundedReceiver<Value>) -> Result<Seen, String> {
    let mut seen = Seen::Nothing;
    while let Ok(ev) = rx.try_recv() {
        match ev.get("type").and_then(Value::as_str) {
            Some("create_offer") => seen = Seen::Offer,
            Some("first_frame") => return Ok(Seen::FirstFrame(Instant::now())),
            Some("error") => return Err(format!("{who}: {}: {}", ev["context"], ev["message"])),
            _ => {}
        }
    }
    Ok(seen)
}

async fn once(files: &Value) -> Result<f64, String> {
    let (to_answerer, to_offerer) = Relay::pair();
    let mut offerer = Case::with_relay(config("floor-offerer", &["video"], files)?, to_answerer).await?;
    let mut answerer = Case::with_relay(config("floor-answerer", &[], files)?, to_offerer).await?;
    let (offerer_tx, mut offerer_rx) = mpsc::unbounded_channel();
    let (answerer_tx, mut answerer_rx) = mpsc::unbounded_channel();
    offerer.events = Some(offerer_tx);
    answerer.events = Some(answerer_tx);
    offerer.perform(&json!({"type": "start"}))?;
    // send_offer makes the offer at once (negotiation.rs, create_offer first): the clock starts
    // just before it, once its create_offer is seen.
    let offered = Instant::now();
    offerer.perform(&json!({"type": "send_offer"}))?;
    let mut start = None;
    let deadline = tokio::time::Instant::now() + FLOOR_LIMIT;
    loop {
        if let Seen::Offer = read("offerer", &mut offerer_rx)? {
            start.get_or_insert(offered);
        }
        if let Seen::FirstFrame(at) = read("answerer", &mut answerer_rx)? {
            let start = start.ok_or("a first frame before the offer")?;
            return Ok((at - start).as_secs_f64() * 1000.0);
        }
        tokio::select! {
            w = offerer.wake() => offerer.handle(w),
            w = answerer.wake() => answerer.handle(w),
            _ = tokio::time::sleep_until(deadline) => return Err(format!("no first frame within {FLOOR_LIMIT:?}")),
        }
    }
}
