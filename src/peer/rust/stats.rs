//! The Rust peer's `getStats()` summary: the figures the browsers' agent page reports too (same
//! names, W3C webrtc-stats), so that a transcript sampled once a second stays small and comparable
//! across kinds.

use rtc::statistics::report::RTCStatsReportEntry as E;
use serde_json::{json, Value};
use webrtc::peer_connection::{PeerConnection, RTCStatsReport, StatsSelector};

const INBOUND: &[&str] = &["kind", "packetsReceived", "bytesReceived", "packetsLost", "jitter", "framesDecoded", "frameWidth", "frameHeight", "framesPerSecond"];
const OUTBOUND: &[&str] = &["kind", "packetsSent", "bytesSent"];

pub(super) async fn summary(pc: &dyn PeerConnection) -> Value {
    let report = pc.get_stats(std::time::Instant::now(), StatsSelector::None).await;
    let inbound: Vec<Value> = report.inbound_rtp_streams().filter_map(|s| serde_json::to_value(s).ok()).map(|v| rtp(&report, v, INBOUND)).collect();
    let outbound: Vec<Value> = report.outbound_rtp_streams().filter_map(|s| serde_json::to_value(s).ok()).map(|v| rtp(&report, v, OUTBOUND)).collect();
    json!({ "inbound_rtp": inbound, "outbound_rtp": outbound, "candidate_pair": pair(&report) })
}

/// `keys` of an RTP stream's stats, and `codec`: the mimeType of the codec stats its `codecId`
/// names (webrtc-stats RTCRtpStreamStats.codecId, RTCCodecStats.mimeType), when there is one.
fn rtp(report: &RTCStatsReport, v: Value, keys: &[&str]) -> Value {
    let mut out: serde_json::Map<String, Value> = keys.iter().filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone()))).collect();
    let codec = v.get("codecId").and_then(Value::as_str).and_then(|id| match report.get(id) {
        Some(E::Codec(c)) if !c.mime_type.is_empty() => Some(c.mime_type.clone()),
        _ => None,
    });
    if let Some(mime) = codec {
        out.insert("codec".into(), Value::String(mime));
    }
    out.into()
}

/// The nominated, succeeded pair as the other kinds report it: `relay/udp` and its RTT.
fn pair(report: &RTCStatsReport) -> Option<Value> {
    let selected = report
        .candidate_pairs()
        .filter_map(|s| serde_json::to_value(s).ok())
        .find(|v| v.get("nominated") == Some(&Value::Bool(true)) && v.get("state").and_then(Value::as_str) == Some("succeeded"))?;
    // rtc 0.21 names a candidate's stats `RTCLocalIceCandidate_<id>` (or `RTCRemote...`) while
    // the pair's localCandidateId / remoteCandidateId carry the bare `<id>` (webrtc-stats says
    // they are the candidate stats' ids), so both forms are looked up.
    let candidate = |id: Option<&Value>| -> Option<String> {
        let id = id?.as_str()?;
        let entry = report.get(id).or_else(|| report.get(&format!("RTCLocalIceCandidate_{id}"))).or_else(|| report.get(&format!("RTCRemoteIceCandidate_{id}")))?;
        match entry {
            E::LocalCandidate(c) | E::RemoteCandidate(c) => Some(format!("{}/{}", c.candidate_type, c.protocol.to_lowercase())),
            _ => None,
        }
    };
    Some(json!({
        "local": candidate(selected.get("localCandidateId")),
        "remote": candidate(selected.get("remoteCandidateId")),
        "currentRoundTripTime": selected.get("currentRoundTripTime"),
        "availableOutgoingBitrate": selected.get("availableOutgoingBitrate"),
    }))
}
