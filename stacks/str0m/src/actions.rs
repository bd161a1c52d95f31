//! The actions of `perform` (PROTOCOL.md "Actions"). What str0m cannot do is answered with a
//! `done` error saying why; its capability is declared false in kinds.yaml.

use serde_json::Value;

use crate::case::Case;
use crate::negotiation::{kind_of, Change};
use crate::proto::ChannelSpec;

impl Case {
    pub fn perform(&mut self, a: &Value) -> Result<(), String> {
        let typ = a.get("type").and_then(Value::as_str).unwrap_or("");
        let label = a.get("label").and_then(Value::as_str).unwrap_or("");
        let kind = a.get("kind").and_then(Value::as_str).unwrap_or("");
        match typ {
            "start" => {
                self.start();
                Ok(())
            }
            "add_track" => {
                let k = kind_of(kind).ok_or_else(|| format!("unknown kind {kind}"))?;
                self.sig.wanted.push(Change::Media(k));
                self.negotiate("negotiationneeded offer", false);
                Ok(())
            }
            "create_data_channel" => {
                self.create_channel(ChannelSpec::plain(label));
                self.negotiate("negotiationneeded offer", false);
                Ok(())
            }
            "send_offer" => {
                // Its failure is an event of context send_offer, the done a success (PROTOCOL.md
                // "Which error events to report").
                self.negotiate("send_offer", true);
                Ok(())
            }
            "send_message" => {
                let text = a.get("text").and_then(Value::as_str);
                let size = a.get("size").and_then(Value::as_u64).map(|n| n as usize);
                self.send_message(label, text, size)
            }
            "close_channel" => self.close_channel(label),
            "close" => {
                self.close_peer();
                Ok(())
            }
            // str0m has SdpApi::ice_restart, but no negotiationneeded to offer it from (PROTOCOL.md
            // "What restart_ice means": with auto_negotiate the restart offer must come from it).
            "restart_ice" => {
                Err("str0m 0.25.0 has no restartIce() with negotiationneeded: an ICE restart is only a change of SdpApi (ice_restart), offered by the application".into())
            }
            "rollback" => {
                Err("str0m 0.25.0 has no rollback: a pending SdpApi offer is only dropped (SdpPendingOffer), the signaling state has no have-local-offer to leave".into())
            }
            "set_direction" | "remove_track" | "replace_track" => Err(format!("{typ}: this str0m adapter does not map transceiver changes (the kind declares transceivers false)")),
            other => Err(format!("unknown action {other}")),
        }
    }

    /// `start`: one track per configured kind and every configured channel (PROTOCOL.md "When an
    /// answerer creates its data channels", rule 1), offered together.
    fn start(&mut self) {
        self.sig.started = true;
        let kinds: Vec<Change> = self.cfg.media.iter().filter_map(|m| kind_of(m)).map(Change::Media).collect();
        self.sig.wanted.extend(kinds);
        for spec in self.cfg.data_channels.clone() {
            self.create_channel(spec);
        }
        self.negotiate("negotiationneeded offer", false);
    }
}
