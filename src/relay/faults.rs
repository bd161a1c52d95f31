//! The relay as a fault injector: a sans-I/O core that decides, for each message a peer sends,
//! what is delivered, when, and in what shape, from the scenario's `signaling:` rules and the
//! runner's glare gate. The room does the sending; everything here is pure and deterministic.

use crate::scenario::flows::{FaultAction, FaultRule, MessageMatch};
use crate::transcript::relayed::MessageKind;
use std::time::Duration;

/// One message to hand to the other members.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The sender: a delivery reaches every other member.
    pub from: String,
    pub text: String,
    /// Sent after this long (zero: now, in order).
    pub delay: Duration,
}

/// What the injector did with one incoming message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// This message's deliveries, then any held ones it releases, in sending order.
    pub deliveries: Vec<Delivery>,
    /// What was done to this message (for the record), e.g. `rule 2: delayed 3000 ms`.
    pub fault: Option<String>,
    /// Held for later delivery (reorder, glare): the record names its receivers all the same.
    pub held: bool,
}

struct Held {
    from: String,
    text: String,
    /// Released once a message of this kind from `from` has been forwarded; `None`: by the gate.
    after: Option<MessageMatch>,
}

/// Per-room fault state: the rules, how often each fired, what is held.
#[derive(Default)]
pub struct Injector {
    rules: Vec<FaultRule>,
    fired: Vec<u32>,
    held: Vec<Held>,
    /// Glare: messages from these peers are held until each has sent an offer.
    gate: Option<Vec<String>>,
    offered: Vec<String>,
}

pub fn matches(m: MessageMatch, kind: &MessageKind) -> bool {
    match (m, kind) {
        (MessageMatch::Any, MessageKind::Rejected { .. }) => false,
        (MessageMatch::Any, _) => true,
        (MessageMatch::Offer, MessageKind::Desc { sdp_type }) => sdp_type == "offer",
        (MessageMatch::Answer, MessageKind::Desc { sdp_type }) => sdp_type == "answer" || sdp_type == "pranswer",
        (MessageMatch::Description, MessageKind::Desc { .. }) => true,
        (MessageMatch::Candidate, MessageKind::Candidate) => true,
        (MessageMatch::EndOfCandidates, MessageKind::EndOfCandidates { .. }) => true,
        _ => false,
    }
}

impl Injector {
    pub fn new(rules: Vec<FaultRule>) -> Injector {
        let fired = vec![0; rules.len()];
        Injector { rules, fired, ..Injector::default() }
    }

    /// Arms the glare gate: from now, messages from `peers` are held until every one of them has
    /// sent an offer; then all are released, each peer's in the order sent.
    pub fn arm_glare(&mut self, peers: Vec<String>) {
        self.offered.clear();
        self.gate = Some(peers);
    }

    /// Whether the glare gate is still holding (some peer has not offered yet).
    pub fn glare_pending(&self) -> bool {
        self.gate.is_some()
    }

    /// Releases everything the gate holds (the runner gives up waiting for an offer).
    pub fn open_gate(&mut self) -> Vec<Delivery> {
        self.gate = None;
        let (gated, kept): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held).into_iter().partition(|h| h.after.is_none());
        self.held = kept;
        gated.into_iter().map(|h| Delivery { from: h.from, text: h.text, delay: Duration::ZERO }).collect()
    }

    /// Decides what happens to `text` (classified as `kind`) from `from`.
    pub fn on_message(&mut self, from: &str, kind: &MessageKind, text: &str) -> Decision {
        if let Some(gate) = &self.gate {
            if gate.iter().any(|p| p == from) {
                if matches(MessageMatch::Offer, kind) && !self.offered.iter().any(|p| p == from) {
                    self.offered.push(from.to_string());
                }
                self.held.push(Held { from: from.to_string(), text: text.to_string(), after: None });
                if gate.iter().all(|p| self.offered.contains(p)) {
                    return Decision { deliveries: self.open_gate(), fault: Some("glare: held until both offered, then delivered".into()), held: false };
                }
                return Decision { deliveries: vec![], fault: Some("glare: held until both peers have offered".into()), held: true };
            }
        }
        // The first rule that matches and has not used up its count (rules in file order).
        let rule = (0..self.rules.len()).find(|&i| {
            let r = &self.rules[i];
            r.from == from && matches(r.kind, kind) && r.count.is_none_or(|n| self.fired[i] < n)
        });
        let mut decision = match rule {
            None => Decision { deliveries: vec![Delivery { from: from.to_string(), text: text.to_string(), delay: Duration::ZERO }], ..Decision::default() },
            Some(i) => {
                self.fired[i] += 1;
                let r = &self.rules[i];
                let now = |t: String| Delivery { from: from.to_string(), text: t, delay: Duration::ZERO };
                match &r.action {
                    FaultAction::Delay(d) => Decision {
                        deliveries: vec![Delivery { from: from.to_string(), text: text.to_string(), delay: *d }],
                        fault: Some(format!("rule {}: delayed {} ms", r.index, d.as_millis())),
                        held: false,
                    },
                    FaultAction::Drop => Decision { deliveries: vec![], fault: Some(format!("rule {}: dropped", r.index)), held: false },
                    FaultAction::Duplicate => {
                        Decision { deliveries: vec![now(text.to_string()), now(text.to_string())], fault: Some(format!("rule {}: delivered twice", r.index)), held: false }
                    }
                    FaultAction::Reorder { after } => {
                        self.held.push(Held { from: from.to_string(), text: text.to_string(), after: Some(*after) });
                        return Decision { deliveries: vec![], fault: Some(format!("rule {}: held until the next {} from {from}", r.index, after.as_str())), held: true };
                    }
                    FaultAction::Corrupt { remove_line } => {
                        let (out, removed) = remove_sdp_lines(text, remove_line);
                        Decision { deliveries: vec![now(out)], fault: Some(format!("rule {}: {removed} SDP line(s) starting {remove_line:?} removed", r.index)), held: false }
                    }
                }
            }
        };
        // This message went out: release what waited for it (RFC-free: the harness's reorder).
        if !decision.deliveries.is_empty() {
            let (release, keep): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held).into_iter().partition(|h| h.from == from && h.after.is_some_and(|a| matches(a, kind)));
            self.held = keep;
            decision.deliveries.extend(release.into_iter().map(|h| Delivery { from: h.from, text: h.text, delay: Duration::ZERO }));
        }
        decision
    }

    /// Messages still held when the case ends (a reorder whose release never came).
    pub fn still_held(&self) -> usize {
        self.held.len()
    }
}

/// The message with every SDP line starting with `prefix` removed from its `desc.sdp`, and how
/// many were removed. A message that is not a description with SDP comes back as it was.
pub fn remove_sdp_lines(text: &str, prefix: &str) -> (String, usize) {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else { return (text.to_string(), 0) };
    let Some(sdp) = v.get("desc").and_then(|d| d.get("sdp")).and_then(|s| s.as_str()) else { return (text.to_string(), 0) };
    let mut removed = 0;
    let kept: Vec<&str> = sdp
        .split("\r\n")
        .filter(|l| {
            let drop = l.starts_with(prefix);
            removed += drop as usize;
            !drop
        })
        .collect();
    let sdp = kept.join("\r\n");
    v["desc"]["sdp"] = serde_json::Value::String(sdp);
    (v.to_string(), removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(index: usize, from: &str, kind: MessageMatch, action: FaultAction, count: Option<u32>) -> FaultRule {
        FaultRule { index, line: index as u64, from: from.into(), kind, action, count }
    }
    fn offer() -> MessageKind {
        MessageKind::Desc { sdp_type: "offer".into() }
    }
    fn texts(d: &Decision) -> Vec<&str> {
        d.deliveries.iter().map(|d| d.text.as_str()).collect()
    }

    #[test]
    fn no_rule_forwards_as_is() {
        let mut inj = Injector::new(vec![]);
        let d = inj.on_message("alice", &MessageKind::Candidate, "c1");
        assert_eq!(texts(&d), ["c1"]);
        assert_eq!(d.fault, None);
    }

    #[test]
    fn duplicate_count_limits_and_other_senders() {
        let mut inj = Injector::new(vec![rule(1, "alice", MessageMatch::Candidate, FaultAction::Duplicate, Some(2))]);
        assert_eq!(texts(&inj.on_message("alice", &MessageKind::Candidate, "c1")), ["c1", "c1"]);
        assert_eq!(texts(&inj.on_message("bob", &MessageKind::Candidate, "b1")), ["b1"]);
        assert_eq!(texts(&inj.on_message("alice", &MessageKind::Candidate, "c2")), ["c2", "c2"]);
        assert_eq!(texts(&inj.on_message("alice", &MessageKind::Candidate, "c3")), ["c3"], "count 2 is spent");
    }

    #[test]
    fn drop_and_delay() {
        let mut inj = Injector::new(vec![
            rule(1, "alice", MessageMatch::EndOfCandidates, FaultAction::Drop, None),
            rule(2, "bob", MessageMatch::Answer, FaultAction::Delay(Duration::from_secs(3)), None),
        ]);
        let d = inj.on_message("alice", &MessageKind::EndOfCandidates { form: "null".into() }, "eoc");
        assert!(d.deliveries.is_empty());
        assert_eq!(d.fault.as_deref(), Some("rule 1: dropped"));
        let d = inj.on_message("bob", &MessageKind::Desc { sdp_type: "answer".into() }, "ans");
        assert_eq!(d.deliveries, vec![Delivery { from: "bob".into(), text: "ans".into(), delay: Duration::from_secs(3) }]);
    }

    #[test]
    fn reorder_releases_after_the_named_kind() {
        let mut inj = Injector::new(vec![rule(1, "alice", MessageMatch::Offer, FaultAction::Reorder { after: MessageMatch::EndOfCandidates }, None)]);
        assert!(inj.on_message("alice", &offer(), "offer").deliveries.is_empty());
        assert_eq!(texts(&inj.on_message("alice", &MessageKind::Candidate, "c1")), ["c1"]);
        assert_eq!(texts(&inj.on_message("bob", &MessageKind::EndOfCandidates { form: "null".into() }, "b-eoc")), ["b-eoc"], "another sender's does not release");
        assert_eq!(texts(&inj.on_message("alice", &MessageKind::EndOfCandidates { form: "null".into() }, "eoc")), ["eoc", "offer"]);
        assert_eq!(inj.still_held(), 0);
    }

    #[test]
    fn glare_gate_holds_until_both_offered() {
        let mut inj = Injector::new(vec![]);
        inj.arm_glare(vec!["alice".into(), "bob".into()]);
        assert!(inj.on_message("alice", &offer(), "a-offer").deliveries.is_empty());
        assert!(inj.on_message("alice", &MessageKind::Candidate, "a-c1").deliveries.is_empty());
        assert!(inj.glare_pending());
        let d = inj.on_message("bob", &offer(), "b-offer");
        assert_eq!(texts(&d), ["a-offer", "a-c1", "b-offer"]);
        assert_eq!(d.deliveries[0].from, "alice", "each held message goes out as its sender's");
        assert!(!inj.glare_pending());
        assert_eq!(texts(&inj.on_message("bob", &MessageKind::Candidate, "b-c1")), ["b-c1"]);
    }

    #[test]
    fn corrupt_removes_lines() {
        let text = serde_json::json!({"desc": {"type": "offer", "sdp": "v=0\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\n"}}).to_string();
        let (out, n) = remove_sdp_lines(&text, "a=ice-ufrag");
        assert_eq!(n, 1);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["desc"]["sdp"], "v=0\r\na=ice-pwd:y\r\n");
        assert_eq!(remove_sdp_lines("{\"candidate\":null}", "a=").1, 0);
    }
}
