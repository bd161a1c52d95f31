//! Validation of the hard flows: fault rules, data channel declarations, the steps that name a
//! channel, and the flow expectations. Every error points at what was written.

use super::doc::FaultRuleDecl;
use super::doc_expect::ExpectDecl;
use super::validator::{LoadError, Validator};
use crate::limits;
use crate::scenario::expectation::ExpectKind;
use crate::scenario::flows::{ChannelOptionsWant, FaultAction, FaultRule, MessageMatch};
use crate::scenario::model::PeerSpec;
use crate::scenario::step::{Action, Step, StepKind};
use serde_saphyr::Spanned;

impl Validator<'_> {
    /// `signaling:` rules: a peer of the scenario, a message kind the relay classifies, an action
    /// it knows, and the argument that action needs.
    pub(super) fn fault_rules(&self, rules: &[Spanned<FaultRuleDecl>], names: &[String]) -> Result<Vec<FaultRule>, LoadError> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let d = &r.value;
            let from = self.peer_ref(&d.from, names)?;
            let kind = MessageMatch::parse(&d.kind.value)
                .ok_or_else(|| self.err(&d.kind.referenced, format!("unknown message kind '{}' (expected one of: {})", d.kind.value, MessageMatch::NAMES)))?;
            let needs = |what: &str| self.err(&d.action.referenced, format!("'{}' needs {what}", d.action.value));
            let stray = |what: &str| {
                self.err(
                    &d.action.referenced,
                    format!(
                        "'{what}' only goes with do: {}",
                        match what {
                            "for" => "delay",
                            "after" => "reorder",
                            _ => "corrupt",
                        }
                    ),
                )
            };
            let action = match d.action.value.as_str() {
                "delay" => FaultAction::Delay(d.length.ok_or_else(|| needs("'for' (e.g. for: 3s)"))?),
                "drop" => FaultAction::Drop,
                "duplicate" => FaultAction::Duplicate,
                "reorder" => {
                    let after = match &d.after {
                        None => MessageMatch::Any,
                        Some(a) => MessageMatch::parse(&a.value)
                            .ok_or_else(|| self.err(&a.referenced, format!("unknown message kind '{}' (expected one of: {})", a.value, MessageMatch::NAMES)))?,
                    };
                    FaultAction::Reorder { after }
                }
                "corrupt" => {
                    if !kind.is_description() {
                        return Err(self.err(&d.kind.referenced, format!("corrupt removes SDP lines, so it applies to offer, answer or description (not {})", kind.as_str())));
                    }
                    let line = d.remove_line.clone().filter(|l| !l.trim().is_empty()).ok_or_else(|| needs("'remove_line' (e.g. remove_line: \"a=ice-ufrag\")"))?;
                    FaultAction::Corrupt { remove_line: line }
                }
                other => return Err(self.err(&d.action.referenced, format!("unknown fault '{other}' (expected one of: {})", FaultAction::NAMES))),
            };
            if d.length.is_some() && !matches!(action, FaultAction::Delay(_)) {
                return Err(stray("for"));
            }
            if d.after.is_some() && !matches!(action, FaultAction::Reorder { .. }) {
                return Err(stray("after"));
            }
            if d.remove_line.is_some() && !matches!(action, FaultAction::Corrupt { .. }) {
                return Err(stray("remove_line"));
            }
            if d.count == Some(0) {
                return Err(self.err(&r.referenced, "count: 0 matches nothing (leave count out for every message)"));
            }
            out.push(FaultRule { index: i + 1, line: r.referenced.line(), from, kind, action, count: d.count });
        }
        Ok(out)
    }

    /// The expectations of the hard flows; `None` for the others.
    pub(super) fn flow_expectation(&self, e: &Spanned<ExpectDecl>, names: &[String], peers: &[PeerSpec], steps: &[Step]) -> Result<Option<ExpectKind>, LoadError> {
        let other = |p: &str| names.iter().find(|n| *n != p).cloned().unwrap_or_default();
        let label_known = |label: &str| {
            peers.iter().any(|p| p.data_channels.iter().any(|c| c.label == label))
                || steps.iter().any(|s| matches!(&s.kind, StepKind::Do { action: Action::CreateDataChannel { label: l }, .. } if l == label))
        };
        let no_channel = |label: &str| self.err(&e.referenced, format!("no peer creates data channel '{label}'"));
        Ok(Some(match &e.value {
            ExpectDecl::RolledBack(p) => ExpectKind::RolledBack { peer: self.peer_ref(&p.peer, names)? },
            ExpectDecl::PeerError(p) => ExpectKind::PeerError { peer: self.peer_ref(&p.peer, names)? },
            ExpectDecl::NegotiationNeeded(n) => {
                let peer = self.peer_ref(&n.peer, names)?;
                let after = n.after.value.clone();
                let has_step = steps.iter().any(|s| matches!(&s.kind, StepKind::Do { peer: p, action } if *p == peer && action.name().split('(').next() == Some(after.as_str())));
                if !has_step {
                    return Err(self.err(&n.after.referenced, format!("no step of {peer} performs '{after}' (the action whose negotiationneeded is expected)")));
                }
                ExpectKind::NegotiationNeeded { peer, after }
            }
            ExpectDecl::IgnoredOffer(p) => ExpectKind::IgnoredOffer { peer: self.peer_ref(&p.peer, names)? },
            ExpectDecl::Direction(d) => ExpectKind::Direction { peer: self.peer_ref(&d.peer, names)?, kind: d.kind, is: d.is },
            ExpectDecl::Codec(c) => ExpectKind::Codec { at: self.peer_ref(&c.at, names)?, kind: c.kind, is: c.is.clone() },
            ExpectDecl::Received(r) => {
                let at = self.peer_ref(&r.at, names)?;
                if !label_known(&r.label) {
                    return Err(no_channel(&r.label));
                }
                if r.size.is_some() == r.text.is_some() {
                    return Err(self.err(&e.referenced, "received takes either size (a binary message) or text"));
                }
                ExpectKind::Received { at, label: r.label.clone(), size: r.size, text: r.text.clone() }
            }
            ExpectDecl::MaxMessageSize(m) => {
                let from = self.peer_ref(&m.from, names)?;
                let sent = steps
                    .iter()
                    .any(|s| matches!(&s.kind, StepKind::Do { peer, action: Action::SendBinary { label, size } } if *peer == from && *label == m.label && *size == m.size));
                if !sent {
                    return Err(self.err(
                        &e.referenced,
                        format!("no step has {from} send a {} byte message on '{}' (add send_message: {{peer: {from}, label: {}, size: {}}})", m.size, m.label, m.label, m.size),
                    ));
                }
                ExpectKind::MaxMessageSize { to: other(&from), from, label: m.label.clone(), size: m.size }
            }
            ExpectDecl::ChannelOptions(c) => {
                let at = self.peer_ref(&c.at, names)?;
                if !label_known(&c.label) {
                    return Err(no_channel(&c.label));
                }
                let want = ChannelOptionsWant {
                    ordered: c.ordered,
                    max_retransmits: c.max_retransmits,
                    max_packet_life_time: c.max_packet_life_time,
                    protocol: c.protocol.clone(),
                    id: c.id,
                };
                ExpectKind::ChannelOptions { at, label: c.label.clone(), want }
            }
            ExpectDecl::Channels(c) => ExpectKind::Channels { at: self.peer_ref(&c.at, names)?, open: c.open },
            ExpectDecl::Hangup(h) => {
                let by = self.peer_ref(&h.by, names)?;
                let noticed_by = self.peer_ref(&h.noticed_by, names)?;
                if by == noticed_by {
                    return Err(self.err(&e.referenced, "hangup: noticed_by is the other peer"));
                }
                if !steps.iter().any(|s| matches!(&s.kind, StepKind::Do { peer, action: Action::Close } if *peer == by)) {
                    return Err(self.err(&e.referenced, format!("no step closes {by} (add close: {by})")));
                }
                ExpectKind::Hangup { by, noticed_by, within: h.within.unwrap_or(limits::EXPECTATION_WAIT) }
            }
            _ => return Ok(None),
        }))
    }
}
