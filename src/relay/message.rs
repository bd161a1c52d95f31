//! The seed's signaling messages as the relay classifies them, and the record of each one.

use serde_json::Value;

/// Frames larger than this get an error frame instead of being forwarded. SDP with every candidate
/// of a non-trickle peer stays well below it.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Frames above this close the socket (WebSocket close code 1009) before they are read whole.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

pub use crate::transcript::relayed::{MessageKind, RelayRecord};

/// Classifies a text frame: `Ok((kind, parsed))`, or `Err((code, message))` for an error frame.
pub fn classify(text: &str) -> Result<(MessageKind, Value), (&'static str, String)> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(("too_large", format!("message of {} bytes exceeds the relay's limit of {MAX_MESSAGE_BYTES} bytes", text.len())));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| ("not_json", format!("message is not JSON: {e}")))?;
    let kind = if let Some(desc) = value.get("desc") {
        let sdp_type = desc.get("type").and_then(Value::as_str);
        let sdp = desc.get("sdp").and_then(Value::as_str);
        match (sdp_type, sdp) {
            (Some(t), Some(_)) if ["offer", "answer", "pranswer"].contains(&t) => MessageKind::Desc { sdp_type: t.to_string() },
            (Some("rollback"), _) => MessageKind::Desc { sdp_type: "rollback".to_string() },
            _ => return Err(("bad_desc", "desc must be {\"type\": \"offer\"|\"answer\"|\"pranswer\"|\"rollback\", \"sdp\": string}".into())),
        }
    } else if let Some(c) = value.get("candidate") {
        match c {
            Value::Null => MessageKind::EndOfCandidates { form: "null".into() },
            Value::Object(o) => match o.get("candidate").and_then(Value::as_str) {
                Some("") => MessageKind::EndOfCandidates { form: "empty-string".into() },
                Some(_) => MessageKind::Candidate,
                None => return Err(("bad_candidate", "candidate.candidate must be a string".into())),
            },
            _ => return Err(("bad_candidate", "candidate must be an object or null".into())),
        }
    } else {
        MessageKind::Unknown
    };
    Ok((kind, value))
}

/// The error frame sent back to a sender: `{"error": {"code": ..., "message": ...}}`.
pub fn error_frame(code: &str, message: &str) -> String {
    serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_seed_messages() {
        let k = |t: &str| classify(t).map(|(k, _)| k);
        assert_eq!(k(r#"{"desc":{"type":"offer","sdp":"v=0"}}"#), Ok(MessageKind::Desc { sdp_type: "offer".into() }));
        assert_eq!(k(r#"{"candidate":null}"#), Ok(MessageKind::EndOfCandidates { form: "null".into() }));
        assert_eq!(k(r#"{"candidate":{"candidate":"","sdpMid":"0"}}"#), Ok(MessageKind::EndOfCandidates { form: "empty-string".into() }));
        assert_eq!(k(r#"{"candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}}"#), Ok(MessageKind::Candidate));
        assert_eq!(k(r#"{"hello":1}"#), Ok(MessageKind::Unknown));
        assert_eq!(k("nope").unwrap_err().0, "not_json");
        assert_eq!(k(r#"{"desc":{"type":"offer"}}"#).unwrap_err().0, "bad_desc");
        assert_eq!(k(&"x".repeat(MAX_MESSAGE_BYTES + 1)).unwrap_err().0, "too_large");
    }
}
