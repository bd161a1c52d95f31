//! The hard flows' vocabulary: transceiver directions, codec preferences, the channel options an
//! expectation wants, and the relay's signaling fault rules (`signaling:`).

use super::kinds::MediaKind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `RTCRtpTransceiverDirection` (W3C webrtc-pc section 5.4; RFC 8829 section 5.2.1 maps it to
/// the m-line's direction attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Sendrecv,
    Sendonly,
    Recvonly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sendrecv => "sendrecv",
            Direction::Sendonly => "sendonly",
            Direction::Recvonly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// What the other side's m-line answers to this one (RFC 8829 section 5.3.1; RFC 3264 6.1).
    pub fn answered_by(self) -> Direction {
        match self {
            Direction::Sendonly => Direction::Recvonly,
            Direction::Recvonly => Direction::Sendonly,
            d => d,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `codecs: {video: [VP9, VP8]}`: `setCodecPreferences` (webrtc-pc section 5.4) in this order.
pub type CodecPreferences = BTreeMap<MediaKind, Vec<String>>;

/// What a `channel_options` expectation wants the peer's `open` event to report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelOptionsWant {
    pub ordered: Option<bool>,
    pub max_retransmits: Option<u16>,
    pub max_packet_life_time: Option<u16>,
    pub protocol: Option<String>,
    pub id: Option<u16>,
}

/// Which messages a rule matches, by the relay's classification of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageMatch {
    Offer,
    Answer,
    Description,
    Candidate,
    EndOfCandidates,
    Any,
}

impl MessageMatch {
    pub const NAMES: &'static str = "offer, answer, description, candidate, end_of_candidates, any";
    pub fn parse(s: &str) -> Option<MessageMatch> {
        Some(match s {
            "offer" => MessageMatch::Offer,
            "answer" => MessageMatch::Answer,
            "description" => MessageMatch::Description,
            "candidate" => MessageMatch::Candidate,
            "end_of_candidates" => MessageMatch::EndOfCandidates,
            "any" => MessageMatch::Any,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MessageMatch::Offer => "offer",
            MessageMatch::Answer => "answer",
            MessageMatch::Description => "description",
            MessageMatch::Candidate => "candidate",
            MessageMatch::EndOfCandidates => "end_of_candidates",
            MessageMatch::Any => "any",
        }
    }
    /// Whether a description can match (only those carry SDP to corrupt).
    pub fn is_description(self) -> bool {
        matches!(self, MessageMatch::Offer | MessageMatch::Answer | MessageMatch::Description)
    }
}

/// What a rule does to a matching message. Every one is deterministic: no randomness, and
/// delays run on the case clock.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    Delay(Duration),
    Drop,
    Duplicate,
    /// Held until the next message of `after` from the same sender has been forwarded.
    Reorder {
        after: MessageMatch,
    },
    /// SDP lines starting with the prefix removed.
    Corrupt {
        remove_line: String,
    },
}

impl FaultAction {
    pub const NAMES: &'static str = "delay, drop, duplicate, reorder, corrupt";
}

/// A validated fault rule.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// 1-based, in file order: how the transcript and the verdict name it.
    pub index: usize,
    pub line: u64,
    pub from: String,
    pub kind: MessageMatch,
    pub action: FaultAction,
    pub count: Option<u32>,
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.action {
            FaultAction::Delay(d) => format!("delay {}ms", d.as_millis()),
            FaultAction::Drop => "drop".into(),
            FaultAction::Duplicate => "duplicate".into(),
            FaultAction::Reorder { after } => format!("reorder after {}", after.as_str()),
            FaultAction::Corrupt { remove_line } => format!("corrupt (remove {remove_line:?})"),
        };
        write!(f, "rule {} (line {}): {what} {} from {}", self.index, self.line, self.kind.as_str(), self.from)?;
        if let Some(n) = self.count {
            write!(f, ", first {n}")?;
        }
        Ok(())
    }
}
