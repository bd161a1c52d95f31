//! What the relay recorded of each message: part of the transcript, so the record type lives here
//! (the relay fills it, the verdict and the snapshot read it).

use crate::clock::Millis;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// What a relayed message is.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageKind {
    /// `{"desc": {"type": ..., "sdp": ...}}`
    Desc { sdp_type: String },
    /// `{"candidate": {"candidate": "candidate:...", ...}}`
    Candidate,
    /// `{"candidate": null}` (form `null`) or a candidate with an empty string (form `empty-string`).
    EndOfCandidates { form: String },
    /// Valid JSON of another shape: forwarded and recorded as unknown.
    Unknown,
    /// Refused: not forwarded; the sender got an error frame.
    Rejected { code: String },
}

/// One message the relay saw, with who sent it and who it reached.
#[derive(Clone, Debug, Serialize)]
pub struct RelayRecord {
    pub at: Millis,
    pub room: String,
    pub from: String,
    pub to: Vec<String>,
    #[serde(flatten)]
    pub kind: MessageKind,
    /// The message as parsed (Null for rejected ones).
    #[serde(skip)]
    pub body: Arc<Value>,
    /// What a signaling fault rule (or the glare gate) did to it: `rule 2: delayed 3000 ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl RelayRecord {
    /// The SDP of a `desc` message.
    pub fn sdp(&self) -> Option<&str> {
        self.body.get("desc")?.get("sdp")?.as_str()
    }
    /// The candidate object of a `candidate` message.
    pub fn candidate(&self) -> Option<&Value> {
        self.body.get("candidate").filter(|c| !c.is_null())
    }
}
