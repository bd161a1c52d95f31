//! What a scenario asks of each of its peers ([`Needs`]) and what a peer kind can do
//! ([`Capabilities`], declared by its launcher): a case whose kind lacks something it needs is
//! ignored with the reason, never run into a failure and never passed.

use super::{Action, MediaKind, Scenario, StepKind};
use serde::{Deserialize, Serialize};

/// What a peer kind can do, as its launcher (or `stacks/kinds.yaml`) declares it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Media it can send.
    #[serde(default)]
    pub send: Vec<MediaKind>,
    /// Media it can receive and report (`first_frame` / `first_packet`, `media_progress`).
    #[serde(default)]
    pub receive: Vec<MediaKind>,
    #[serde(default)]
    pub data_channels: bool,
    /// Sends its candidates by trickle ICE (RFC 8838); without it, only `trickle: false` peers.
    #[serde(default)]
    pub trickle: bool,
    /// `restartIce()` (RFC 8445 section 9, W3C webrtc-pc section 4.4.1.6).
    #[serde(default)]
    pub restart_ice: bool,
    /// A second offer/answer on a connection (RFC 8829 section 5.2.2 / 5.3.2).
    #[serde(default)]
    pub renegotiation: bool,
    /// TURN over UDP with credentials and `iceTransportPolicy: relay` (RFC 8656; webrtc-pc 4.2.1).
    #[serde(default)]
    pub turn: bool,
    /// Reports `icecandidateerror` (webrtc-pc section 4.8.3) when a STUN or TURN server fails.
    #[serde(default)]
    pub candidate_error: bool,
    /// Codec names it negotiates (informational: shown in `rtc-harness kinds`).
    #[serde(default)]
    pub codecs: Vec<String>,
}

impl Capabilities {
    /// Everything (the Rust peer and the browsers).
    pub fn full(codecs: &[&str]) -> Capabilities {
        Capabilities {
            send: vec![MediaKind::Audio, MediaKind::Video],
            receive: vec![MediaKind::Audio, MediaKind::Video],
            data_channels: true,
            trickle: true,
            restart_ice: true,
            renegotiation: true,
            turn: true,
            candidate_error: true,
            codecs: codecs.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// What of `needs` is missing, as short phrases (`sends video`, `restartIce`); empty when none.
    pub fn lacks(&self, needs: &Needs) -> Vec<String> {
        let mut out = Vec::new();
        for k in &needs.send {
            if !self.send.contains(k) {
                out.push(format!("sending {k}"));
            }
        }
        for k in &needs.receive {
            if !self.receive.contains(k) {
                out.push(format!("receiving {k}"));
            }
        }
        let flags = [
            (needs.data_channels && !self.data_channels, "data channels"),
            (needs.trickle && !self.trickle, "trickle ICE"),
            (needs.restart_ice && !self.restart_ice, "restartIce"),
            (needs.renegotiation && !self.renegotiation, "renegotiation"),
            (needs.turn && !self.turn, "TURN with relay-only ICE"),
            (needs.candidate_error && !self.candidate_error, "icecandidateerror"),
        ];
        out.extend(flags.iter().filter(|(missing, _)| *missing).map(|(_, what)| what.to_string()));
        out
    }
}

/// What one peer of a scenario must be able to do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    pub send: Vec<MediaKind>,
    pub receive: Vec<MediaKind>,
    pub data_channels: bool,
    pub trickle: bool,
    pub restart_ice: bool,
    pub renegotiation: bool,
    pub turn: bool,
    pub candidate_error: bool,
}

impl Needs {
    /// The needs of peer `name` in `scenario`.
    pub fn of(scenario: &Scenario, name: &str) -> Needs {
        let sends = |peer: &str| -> Vec<MediaKind> {
            let mut kinds = scenario.peer(peer).map(|p| p.media.clone()).unwrap_or_default();
            for (who, action) in actions(scenario) {
                if let (true, Action::AddTrack(k)) = (who == peer, action) {
                    kinds.push(*k);
                }
            }
            kinds.sort();
            kinds.dedup();
            kinds
        };
        let other = scenario.peers.iter().map(|p| p.name.as_str()).find(|n| *n != name).unwrap_or("");
        let spec = scenario.peer(name);
        let any_channel = scenario.peers.iter().any(|p| !p.data_channels.is_empty())
            || actions(scenario).any(|(_, a)| matches!(a, Action::CreateDataChannel { .. } | Action::SendMessage { .. }));
        Needs {
            send: sends(name),
            receive: sends(other),
            data_channels: any_channel,
            trickle: spec.is_some_and(|p| p.trickle),
            // Both agents take part in an ICE restart (RFC 8445 section 9): the answering side
            // must accept new credentials too.
            restart_ice: actions(scenario).any(|(_, a)| *a == Action::RestartIce),
            // Both sides of a second offer/answer take part in it.
            renegotiation: offers(scenario) > 1,
            turn: spec.is_some_and(|p| p.ice_servers.iter().any(|s| matches!(s, super::IceServer::Turn { .. }))),
            candidate_error: scenario.expect.iter().any(|e| matches!(&e.kind, super::ExpectKind::CandidateError { peer, .. } if peer == name)),
        }
    }
}

fn actions(scenario: &Scenario) -> impl Iterator<Item = (&str, &Action)> {
    scenario.steps.iter().filter_map(|s| match &s.kind {
        StepKind::Do { peer, action } => Some((peer.as_str(), action)),
        _ => None,
    })
}

/// How many offers the steps cause: an explicit `send_offer`, and for a peer that negotiates on
/// `negotiationneeded`, its start and every later change that needs negotiation (a track, the
/// first data channel, an ICE restart: W3C webrtc-pc section 4.7.3).
fn offers(scenario: &Scenario) -> usize {
    let mut n = 0;
    let mut started: Vec<&str> = Vec::new();
    for (who, action) in actions(scenario) {
        let auto = scenario.peer(who).is_some_and(|p| p.negotiation == super::Negotiation::Auto);
        n += match action {
            Action::SendOffer => 1,
            Action::Start if auto => {
                started.push(who);
                1
            }
            Action::AddTrack(_) | Action::RestartIce | Action::CreateDataChannel { .. } if auto && started.contains(&who) => 1,
            _ => 0,
        };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Scenario {
        let kinds = [super::super::PeerKind::new("rust").unwrap()];
        super::super::load::load_str(text, "t.yaml", "t", "t.yaml".into(), &kinds).expect("valid")
    }

    #[test]
    fn needs_follow_the_steps() {
        let s = load(
            "peers:\n  - {name: alice, kind: all, media: [video], negotiation: manual}\n  - {name: bob, kind: all, trickle: false}\n\
             steps:\n  - start: alice\n  - send_offer: alice\n  - restart_ice: alice\n  - send_offer: alice\n  - add_track: {peer: bob, kind: audio}\n",
        );
        let alice = Needs::of(&s, "alice");
        let bob = Needs::of(&s, "bob");
        assert_eq!(alice.send, vec![MediaKind::Video]);
        assert_eq!(alice.receive, vec![MediaKind::Audio]);
        assert_eq!(bob.send, vec![MediaKind::Audio]);
        assert!(alice.trickle && !bob.trickle);
        assert!(alice.restart_ice && bob.restart_ice, "both agents take part in a restart");
        assert!(alice.renegotiation && bob.renegotiation);
        assert!(!alice.data_channels);
        let one_offer = load("peers:\n  - {name: a, kind: all, media: [audio]}\n  - {name: b, kind: all}\n");
        assert!(!Needs::of(&one_offer, "a").renegotiation);
    }

    #[test]
    fn lacks_lists_every_missing_capability() {
        let caps = Capabilities { send: vec![MediaKind::Audio], receive: vec![MediaKind::Audio, MediaKind::Video], data_channels: true, ..Default::default() };
        let needs = Needs { send: vec![MediaKind::Video], receive: vec![MediaKind::Video], trickle: true, restart_ice: true, ..Default::default() };
        assert_eq!(caps.lacks(&needs), vec!["sending video", "trickle ICE", "restartIce"]);
        assert!(Capabilities::full(&[]).lacks(&needs).is_empty());
    }
}
