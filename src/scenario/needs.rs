//! What a scenario asks of each of its peers ([`Needs`]) and what a peer kind can do
//! ([`Capabilities`], declared by its launcher): a case whose kind lacks something it needs is
//! ignored with the reason, never run into a failure and never passed.

use super::expectation::ExpectKind;
use super::kinds::{MediaKind, Negotiation};
use super::model::{IceServer, Scenario};
use super::step::{Action, StepKind};
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
    /// Perfect negotiation (webrtc-pc section 10.7): the `polite` setting, `offer_ignored` and
    /// `rollback` events.
    #[serde(default)]
    pub perfect_negotiation: bool,
    /// `setLocalDescription({type: 'rollback'})` as a step (RFC 8829 section 4.1.10.2).
    #[serde(default)]
    pub rollback: bool,
    /// Transceiver direction changes, removeTrack and replaceTrack (webrtc-pc section 5).
    #[serde(default)]
    pub transceivers: bool,
    /// `setCodecPreferences` (webrtc-pc section 5.4).
    #[serde(default)]
    pub codec_preferences: bool,
    /// RTCDataChannelInit options, reported back on `open` (webrtc-pc section 6.1).
    #[serde(default)]
    pub data_channel_options: bool,
    /// Binary messages of a given size, echoed and checked intact.
    #[serde(default)]
    pub binary_messages: bool,
    /// `RTCDataChannel.close()` as a step.
    #[serde(default)]
    pub close_channel: bool,
    /// Paints the frame marker (docs/markers.md) on the video it sends and reads it from the
    /// video it renders: `frame_painted`, `frame_shown` and `markers_seen` events.
    #[serde(default)]
    pub markers: bool,
    /// Sends its sender's tone as its audio and classifies the audio it plays (docs/markers.md,
    /// "Audio"): `tones_heard` events.
    #[serde(default)]
    pub tones: bool,
    /// Fires `negotiationneeded` (W3C webrtc-pc section 4.7.3) and reports it as
    /// `negotiation_needed` events; a stack without the event offers on its own instead.
    #[serde(default)]
    pub negotiation_needed: bool,
    /// Codec names it negotiates: a scenario that prefers a codec needs it on both sides.
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
            perfect_negotiation: true,
            rollback: true,
            transceivers: true,
            codec_preferences: true,
            data_channel_options: true,
            binary_messages: true,
            close_channel: true,
            markers: true,
            tones: true,
            negotiation_needed: true,
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
            (needs.perfect_negotiation && !self.perfect_negotiation, "perfect negotiation"),
            (needs.rollback && !self.rollback, "rollback"),
            (needs.transceivers && !self.transceivers, "transceiver changes"),
            (needs.codec_preferences && !self.codec_preferences, "setCodecPreferences"),
            (needs.data_channel_options && !self.data_channel_options, "data channel options"),
            (needs.binary_messages && !self.binary_messages, "binary messages"),
            (needs.close_channel && !self.close_channel, "closing a data channel"),
            (needs.markers && !self.markers, "frame markers"),
            (needs.tones && !self.tones, "audio tones"),
            (needs.negotiation_needed && !self.negotiation_needed, "negotiationneeded events"),
        ];
        out.extend(flags.iter().filter(|(missing, _)| *missing).map(|(_, what)| what.to_string()));
        for c in &needs.codecs {
            if !self.codecs.iter().any(|have| have.eq_ignore_ascii_case(c)) {
                out.push(format!("the {c} codec"));
            }
        }
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
    pub perfect_negotiation: bool,
    pub rollback: bool,
    pub transceivers: bool,
    pub codec_preferences: bool,
    pub data_channel_options: bool,
    pub binary_messages: bool,
    pub close_channel: bool,
    /// A `markers` expectation: every peer paints the marker, and reads it where it receives.
    pub markers: bool,
    /// An `audio` or `silence` expectation: every peer sends its tone, and classifies what it
    /// hears where it receives.
    pub tones: bool,
    /// A `negotiation_needed` expectation names the peer.
    pub negotiation_needed: bool,
    /// The codecs a peer of the scenario prefers first: both sides must have them.
    pub codecs: Vec<String>,
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
            trickle: spec.is_some_and(|p| p.trickles()),
            // Only the peer that restarts calls restartIce(); the other side of an ICE restart
            // (RFC 8445 section 9) answers a re-offer with new credentials, which is what
            // `renegotiation` already asks of it (a capability gates only the cases that
            // exercise it).
            restart_ice: actions(scenario).any(|(who, a)| who == name && *a == Action::RestartIce),
            // Both sides of a second offer/answer take part in it.
            renegotiation: offers(scenario) > 1,
            turn: spec.is_some_and(|p| p.ice_servers.iter().any(|s| matches!(s, IceServer::Turn { .. }))),
            candidate_error: scenario.expect.iter().any(|e| matches!(&e.kind, ExpectKind::CandidateError { peer, .. } if peer == name)),
            perfect_negotiation: spec.is_some_and(|p| p.polite.is_some()),
            rollback: actions(scenario).any(|(who, a)| who == name && *a == Action::Rollback),
            transceivers: actions(scenario).any(|(who, a)| who == name && matches!(a, Action::SetDirection { .. } | Action::RemoveTrack(_) | Action::ReplaceTrack(_))),
            codec_preferences: spec.is_some_and(|p| !p.codecs.is_empty()),
            // The options are reported by both sides, and a negotiated channel is created on both.
            data_channel_options: scenario
                .peers
                .iter()
                .flat_map(|p| &p.data_channels)
                .any(|c| c.ordered.is_some() || c.max_retransmits.is_some() || c.max_packet_life_time.is_some() || c.negotiated || c.id.is_some() || c.protocol.is_some()),
            // Both sides: one sends, the other receives (and echoes) binary.
            binary_messages: actions(scenario).any(|(_, a)| matches!(a, Action::SendBinary { .. })),
            close_channel: actions(scenario).any(|(who, a)| who == name && matches!(a, Action::CloseChannel { .. })),
            negotiation_needed: scenario.expect.iter().any(|e| matches!(&e.kind, ExpectKind::NegotiationNeeded { peer, .. } if peer == name)),
            markers: scenario.uses_markers(),
            tones: scenario.uses_tones(),
            codecs: scenario.peers.iter().flat_map(|p| p.codecs.values().filter_map(|v| v.first().cloned())).collect(),
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
        let auto = scenario.peer(who).is_some_and(|p| p.negotiation == Negotiation::Auto);
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
        let kinds = [crate::scenario::PeerKind::new("rust").unwrap()];
        crate::scenario::load_str(text, "t.yaml", "t", "t.yaml".into(), &kinds).expect("valid")
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
        assert!(!alice.trickle && !bob.trickle, "unwritten trickle follows the kind: not a need");
        assert!(alice.restart_ice && !bob.restart_ice, "only the restarting side calls restartIce()");
        assert!(alice.renegotiation && bob.renegotiation);
        assert!(!alice.data_channels);
        let about_trickle = load(
            "peers:\n  - {name: a, kind: all}\n  - {name: b, kind: all}\nsignaling:\n  - {from: b, kind: end_of_candidates, do: drop}\n\
             expect:\n  - trickle: {peer: a}\n",
        );
        assert!(["a", "b"].iter().all(|p| Needs::of(&about_trickle, p).trickle), "an expectation or a fault on candidates: needed");
        let written = load("peers:\n  - {name: a, kind: all, trickle: true}\n  - {name: b, kind: all}\n");
        assert!(Needs::of(&written, "a").trickle && !Needs::of(&written, "b").trickle);
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
