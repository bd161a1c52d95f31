//! The battery: one scenario per duty of a program, in the order an adapter's author meets them.
//! The scenarios are the catalog's own (embedded, so the kit runs from any directory): a kind
//! passes the kit when it passes these cases of the matrix.

/// One duty of a program and the scenario that proves it.
#[derive(Debug)]
pub struct Item {
    /// A short name (`call`, `restart_ice`).
    pub name: &'static str,
    /// What passing it shows, in the specification's terms.
    pub proves: &'static str,
    /// The `stacks/PROTOCOL.md` section that states the duty.
    pub section: &'static str,
    /// The capability flag it holds the kind to, if it is not every program's duty.
    pub claim: Option<&'static str>,
    /// The scenario, relative to `scenarios/`.
    pub file: &'static str,
    pub text: &'static str,
}

macro_rules! item {
    ($name:literal, $claim:expr, $file:literal, $section:literal, $proves:literal) => {
        Item { name: $name, proves: $proves, section: $section, claim: $claim, file: $file, text: include_str!(concat!("../../scenarios/", $file)) }
    };
}

/// The battery, in order.
pub static BATTERY: &[Item] = &[
    item!(
        "call",
        Some("trickle"),
        "negotiation/basic.yaml",
        "A case: `setup` ... `close`",
        "setup/ready, an offer and an answer, candidates trickled with end-of-candidates, audio and video both ways, collect_stats and close answered"
    ),
    item!(
        "call_without_trickle",
        None,
        "negotiation/non_trickle.yaml",
        "Candidates, with and without trickle",
        "descriptions sent once gathering is complete, carrying every candidate, and no candidate message"
    ),
    item!(
        "answerer_offers",
        None,
        "negotiation/answerer_initiates.yaml",
        "Offers and answers",
        "the second peer's negotiationneeded makes the offer, and the first one answers with its media"
    ),
    item!(
        "hangup",
        None,
        "negotiation/hangup.yaml",
        "After the `close` action",
        "the close action reports the states read after close(), the other side notices, and no error follows"
    ),
    item!("data_channel", Some("data_channels"), "datachannel/echo.yaml", "Events", "a channel opens on both sides and messages cross it both ways"),
    item!(
        "answerer_channel",
        Some("data_channels"),
        "datachannel/negotiated.yaml",
        "When an answerer creates its data channels",
        "a negotiated channel (id 5) that the answerer creates when the first offer arrives"
    ),
    item!("binary_messages", Some("binary_messages"), "datachannel/binary.yaml", "Events", "binary messages echoed intact"),
    item!("close_channel", Some("close_channel"), "datachannel/close_channel.yaml", "Events", "a channel closed by one side is seen closed by the other"),
    item!("data_channel_options", Some("data_channel_options"), "datachannel/unreliable.yaml", "Events", "the channel's options reported on open"),
    item!(
        "renegotiation",
        Some("renegotiation"),
        "negotiation/renegotiate_add_track.yaml",
        "Offers and answers",
        "a second offer on the same transport for a track added mid-call"
    ),
    item!(
        "negotiation_needed",
        Some("negotiation_needed"),
        "negotiation/add_track_negotiationneeded.yaml",
        "Offers and answers",
        "addTrack fires negotiationneeded, and the renegotiation's offer comes from it"
    ),
    item!(
        "restart_ice",
        Some("restart_ice"),
        "ice/restart_negotiationneeded.yaml",
        "What `restart_ice` means",
        "restart_ice fires negotiationneeded, whose offer carries new ICE credentials"
    ),
    item!("rollback", Some("rollback"), "negotiation/rollback.yaml", "Perfect negotiation, rollback, transceivers, codecs", "an explicit rollback of an offer, then a new offer"),
    item!(
        "perfect_negotiation",
        Some("perfect_negotiation"),
        "negotiation/glare_polite_alice.yaml",
        "Perfect negotiation, rollback, transceivers, codecs",
        "a polite peer rolls its offer back in glare and answers; the impolite one ignores the other's offer"
    ),
    item!(
        "transceivers",
        Some("transceivers"),
        "media/direction_cycle.yaml",
        "Perfect negotiation, rollback, transceivers, codecs",
        "a direction cycle sendrecv, sendonly, inactive, sendrecv, each renegotiated"
    ),
    item!(
        "codec_preferences",
        Some("codec_preferences"),
        "media/codec_vp9.yaml",
        "Perfect negotiation, rollback, transceivers, codecs",
        "setCodecPreferences puts VP9 first and VP9 arrives"
    ),
    item!(
        "markers",
        Some("markers"),
        "media/markers_freeze.yaml",
        "The configuration",
        "the frame marker painted with the configured sender number and read from every rendered frame (markers_seen with its changes), and stall_video holding the picture for 2 s"
    ),
    item!("turn", Some("turn"), "network/turn_relay.yaml", "The configuration", "relay-only ICE through the harness's TURN server, with its credentials"),
    item!("candidate_error", Some("candidate_error"), "network/turn_candidate_error.yaml", "Events", "icecandidateerror with 401 for a TURN server given wrong credentials"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_is_a_capability_flag() {
        let all = serde_json::to_value(crate::scenario::Capabilities::full(&[])).expect("serializes");
        let flags: Vec<&String> = all.as_object().expect("an object").iter().filter(|(_, v)| v.is_boolean()).map(|(k, _)| k).collect();
        for item in BATTERY {
            if let Some(claim) = item.claim {
                assert!(flags.iter().any(|f| f.as_str() == claim), "{}: '{claim}' is not a capability flag ({flags:?})", item.name);
            }
        }
    }

    #[test]
    fn every_section_is_in_the_specification() {
        let spec = include_str!("../../stacks/PROTOCOL.md");
        for item in BATTERY {
            assert!(spec.lines().any(|l| l.starts_with('#') && l.trim_start_matches('#').trim() == item.section), "{}: no section '{}'", item.name, item.section);
        }
    }
}
