//! The hard flows as written and validated: data channel options, codec preferences, transceiver
//! directions, and the relay's signaling fault rules (`signaling:`).

use super::model::{MediaKind, PeerRef};
use serde::Deserialize;
use serde_saphyr::Spanned;
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

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionArg {
    pub peer: PeerRef,
    pub kind: MediaKind,
    pub direction: Direction,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionExpectArg {
    pub peer: PeerRef,
    pub kind: MediaKind,
    /// The direction of the peer's last local description's m-line of that kind.
    pub is: Direction,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodecExpectArg {
    /// The receiving peer: its getStats inbound codec is checked, with the answer's m-line.
    pub at: PeerRef,
    pub kind: MediaKind,
    pub is: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedArg {
    pub at: PeerRef,
    pub label: String,
    /// A binary message of exactly this many bytes, intact.
    #[serde(default)]
    pub size: Option<u32>,
    /// A text message with this text.
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxMessageSizeArg {
    /// The sender of the `send_message` step with this label and size.
    pub from: PeerRef,
    pub label: String,
    pub size: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelOptionsArg {
    pub at: PeerRef,
    pub label: String,
    #[serde(default)]
    pub ordered: Option<bool>,
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub id: Option<u16>,
}

/// What a `channel_options` expectation wants the peer's `open` event to report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelOptionsWant {
    pub ordered: Option<bool>,
    pub max_retransmits: Option<u16>,
    pub max_packet_life_time: Option<u16>,
    pub protocol: Option<String>,
    pub id: Option<u16>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsArg {
    pub at: PeerRef,
    /// At least this many distinct channels opened at the peer.
    pub open: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangupArg {
    /// The peer whose `close` step hangs up.
    pub by: PeerRef,
    /// The other peer, which must notice.
    pub noticed_by: PeerRef,
    #[serde(default, deserialize_with = "super::model::opt_duration")]
    pub within: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerOnlyArg {
    pub peer: PeerRef,
}

/// One signaling fault rule as written (`signaling:` at the top level).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleDecl {
    pub from: PeerRef,
    /// offer, answer, candidate, end_of_candidates, description (offer or answer), any.
    pub kind: Spanned<String>,
    #[serde(rename = "do")]
    pub action: Spanned<String>,
    /// `delay`: how long.
    #[serde(default, rename = "for", deserialize_with = "super::model::opt_duration")]
    pub length: Option<Duration>,
    /// `reorder`: the message kind from the same sender after which the held one is released
    /// (default: the next message of any kind).
    #[serde(default)]
    pub after: Option<Spanned<String>>,
    /// `corrupt`: the SDP lines starting with this are removed.
    #[serde(default)]
    pub remove_line: Option<String>,
    /// Only the first N matching messages (default: every one).
    #[serde(default)]
    pub count: Option<u32>,
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
    Reorder { after: MessageMatch },
    /// SDP lines starting with the prefix removed.
    Corrupt { remove_line: String },
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
