//! The specification's rules that a failure's text points at: each rule names its
//! `stacks/PROTOCOL.md` section and says what a program must do, and is recognised by the words
//! the harness uses when that rule is broken. A pure table, tested against those words.

/// A rule of the command-peer protocol.
#[derive(Debug, PartialEq)]
pub struct Rule {
    /// The `stacks/PROTOCOL.md` section.
    pub section: &'static str,
    /// The rule, as the specification states it.
    pub says: &'static str,
    /// Text in a failure that shows the rule broken (any of them).
    needles: &'static [&'static str],
}

static RULES: &[Rule] = &[
    Rule {
        section: "Start and `hello`",
        says: "a program writes `hello` (with `protocol: 1`) as its first line, within the start limit, before it reads anything",
        needles: &["no hello", "expected hello first", "speaks protocol"],
    },
    Rule {
        section: "Lines and common rules",
        says: "every line on stdout is one JSON object of the protocol; logs and a stack's own output go to stderr",
        needles: &["not the protocol"],
    },
    Rule {
        section: "`setup` (harness to program)",
        says: "a program answers `setup` with `ready` once its peer connection exists and it is in the room, or with `fail` and a message",
        needles: &["expected ready", "setup failed", "setup did not finish"],
    },
    Rule {
        section: "`perform` (harness to program)",
        says: "every `perform` gets exactly one `done` with its `id` (with `error` when the action failed), within the action limit",
        needles: &["no answer to perform"],
    },
    Rule {
        section: "`collect_stats` (harness to program)",
        says: "a program answers `collect_stats` with a `stats` event and then `done`, every time, until the harness's `close`",
        needles: &["collect_stats did not finish", "stats did not finish"],
    },
    Rule {
        section: "`close` (harness to program)",
        says: "a program answers `close` with `closed` once the case's peer connection is released, and is then ready for the next `setup`",
        needles: &["close did not finish", "no closed", "expected closed"],
    },
    Rule {
        section: "Reuse, failures and exit",
        says: "a program stays up between cases and exits only when its stdin closes; a crash fails the case it is in",
        needles: &["is gone", "it exited"],
    },
    Rule {
        section: "`event` (program to harness)",
        says: "each event is one of the listed types with its fields spelled as the schema says",
        needles: &["\"context\":\"protocol\""],
    },
    Rule {
        section: "`stats.summary`",
        says: "a `stats` summary has `inbound_rtp`, `outbound_rtp` and `candidate_pair` as the schema shapes them: candidate types as `host/udp`, counts as integers, times in seconds",
        needles: &["a `stats` event breaks its schema"],
    },
    Rule {
        section: "Event order",
        says: "events are written in the order the stack's state changed (callbacks on other threads or goroutines are serialized first)",
        needles: &["a JSEP transition from", "signaling state machine"],
    },
    Rule {
        section: "Which `error` events to report",
        says: "an `error` event is a failure of the stack's own operation that the case caused; a stack's reaction to the remote's close is not one",
        needles: &["no errors from peers or the relay"],
    },
    Rule {
        section: "After the `close` action",
        says: "after its `close` action a program reports only the states it reads, `closed` ICE states and a `data_channel_close` per open channel: no error, no `disconnected` or `failed`, nothing from queued callbacks",
        needles: &["only closing events after close"],
    },
    Rule {
        section: "What `restart_ice` means",
        says: "`restart_ice` marks the connection for an ICE restart (restartIce()), which fires negotiationneeded; the offer comes from that handler, with new credentials",
        needles: &["negotiation_needed(", "no negotiationneeded"],
    },
    Rule {
        section: "`sdpMid` and `usernameFragment` in a signaled candidate",
        says: "a signaled candidate carries the `sdpMid` of its m-section and the ufrag of the description in force",
        needles: &["carries the ufrag of its description"],
    },
    Rule {
        section: "`end_of_candidates.form`",
        says: "once gathering completes, a trickling program signals end-of-candidates and reports its form",
        needles: &["end-of-candidates indication"],
    },
    Rule {
        section: "Events",
        says: "a program reports what its stack fires, on both sides of a channel: `data_channel_open` when a channel opens (an answerer's own channels are created when the first offer arrives)",
        needles: &["channel_open("],
    },
    Rule {
        section: "The configuration",
        says: "the video a program sends carries the frame marker with the configuration's `marker.sender` (docs/markers.md), so each receiver can tell whose frames it shows",
        needles: &["of another sender: sender"],
    },
];

/// The rules a failure's text shows broken, in the specification's order (none when the text
/// names none: the failure is then about the stack's behaviour, not the protocol).
pub fn explain(failure: &str) -> Vec<&'static Rule> {
    RULES.iter().filter(|r| r.needles.iter().any(|n| failure.contains(n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> Vec<&'static str> {
        explain(text).iter().map(|r| r.section).collect()
    }

    #[test]
    fn the_harness_messages_point_at_their_rules() {
        assert_eq!(sections("alice: python3 broken.py: no hello: timed out"), ["Start and `hello`"]);
        assert_eq!(sections("it printed a line that is not the protocol (expected value): hi"), ["Lines and common rules"]);
        assert_eq!(sections("alice: collect_stats did not finish within 10s: the peer stopped answering"), ["`collect_stats` (harness to program)"]);
        assert_eq!(sections("alice: offer: no answer to perform within 10s"), ["`perform` (harness to program)"]);
        assert_eq!(sections("alice is gone: it exited (exit status: 7)"), ["Reuse, failures and exit"]);
        assert_eq!(sections("EXPECTED negotiation_needed(alice after restart_ice)"), ["What `restart_ice` means"]);
        assert_eq!(sections("error (protocol): a `stats` event breaks its schema (PROTOCOL.md, event): at /summary"), ["`stats.summary`"]);
        assert_eq!(sections("check failed: only closing events after close (alice) (invariant)"), ["After the `close` action"]);
        assert_eq!(sections("bob: 'stable' -> 'have-remote-pranswer': a JSEP transition from 'stable'"), ["Event order"]);
        assert_eq!(sections("ACTUAL: 0 of 511 rendered frame(s) marked by alice; 511 frame(s) of another sender: sender 9 (no peer of this case)"), ["The configuration"]);
    }

    #[test]
    fn a_stack_failure_names_no_rule() {
        assert!(explain("waited 10s for bob: frames(30); saw instead: stats ...").is_empty());
    }

    #[test]
    fn every_section_is_in_the_specification() {
        let spec = include_str!("../../stacks/PROTOCOL.md");
        for r in RULES {
            assert!(spec.lines().any(|l| l.starts_with('#') && l.trim_start_matches('#').trim() == r.section), "no section '{}'", r.section);
        }
    }
}
