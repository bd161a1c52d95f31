//! Steps as written into [`Step`]s: peer references, channel labels that some peer creates, and
//! the conditions in force at each `network` step.

use super::doc::{SendMessageArg, StepDecl};
use super::net::{NetworkDecl, NetworkStepArg};
use super::validator::{LoadError, Validator};
use crate::limits;
use crate::scenario::model::{IcePolicy, PeerSpec};
use crate::scenario::network::Path;
use crate::scenario::step::{Action, Condition, Step, StepKind};
use serde_saphyr::Spanned;
use std::collections::HashMap;

impl Validator<'_> {
    pub(super) fn step(&self, s: &Spanned<StepDecl>, names: &[String], peers: &[PeerSpec], paths: &mut HashMap<String, Path>) -> Result<Step, LoadError> {
        let line = s.referenced.line();
        let act = |r: &Spanned<String>, action: Action| -> Result<StepKind, LoadError> { Ok(StepKind::Do { peer: self.peer_ref(r, names)?, action }) };
        let kind = match &s.value {
            StepDecl::Start(p) => act(p, Action::Start)?,
            StepDecl::AddTrack(a) => act(&a.peer, Action::AddTrack(a.kind))?,
            StepDecl::CreateDataChannel(a) => act(&a.peer, Action::CreateDataChannel { label: a.label.clone() })?,
            StepDecl::SendOffer(p) => act(p, Action::SendOffer)?,
            StepDecl::RestartIce(p) => act(p, Action::RestartIce)?,
            StepDecl::SendMessage(a) => act(&a.peer, self.send_message(s, a)?)?,
            StepDecl::Close(p) => act(p, Action::Close)?,
            StepDecl::Glare => StepKind::Glare,
            StepDecl::Rollback(p) => act(p, Action::Rollback)?,
            StepDecl::SetDirection(a) => act(&a.peer, Action::SetDirection { kind: a.kind, direction: a.direction })?,
            StepDecl::RemoveTrack(a) => act(&a.peer, Action::RemoveTrack(a.kind))?,
            StepDecl::ReplaceTrack(a) => act(&a.peer, Action::ReplaceTrack(a.kind))?,
            StepDecl::CloseChannel(a) => act(&a.peer, Action::CloseChannel { label: a.label.clone() })?,
            StepDecl::StallVideo(a) => act(&a.peer, Action::StallVideo(a.length))?,
            StepDecl::Sleep(d) => StepKind::Sleep(*d),
            StepDecl::Network(n) => {
                let peer = self.routed_peer(&n.peer, names, peers, "network")?;
                let path = self.network_step(n, &paths[&peer]).map_err(|m| self.err(&s.referenced, m))?;
                paths.insert(peer.clone(), path.clone());
                StepKind::Network { peer, path }
            }
            StepDecl::Blackout(b) => {
                let peer = self.routed_peer(&b.peer, names, peers, "blackout")?;
                StepKind::Blackout { peer, length: b.length }
            }
            StepDecl::Wait(w) => {
                let peer = self.peer_ref(&w.peer, names)?;
                let condition = Condition::parse(&w.condition.value)
                    .ok_or_else(|| self.err(&w.condition.referenced, format!("unknown condition '{}' (expected one of: {})", w.condition.value, Condition::SYNTAX)))?;
                StepKind::Wait { peer, condition, within: w.within.unwrap_or(limits::STEP_WAIT) }
            }
        };
        Ok(Step { line, kind })
    }

    /// A peer named by a `network` or `blackout` step, which must have a path to act on.
    fn routed_peer(&self, r: &Spanned<String>, names: &[String], peers: &[PeerSpec], step: &str) -> Result<String, LoadError> {
        let peer = self.peer_ref(r, names)?;
        let relayed = peers.iter().any(|p| p.name == peer && p.ice_transport_policy == IcePolicy::Relay);
        if !relayed {
            return Err(
                self.err(&r.referenced, format!("{step}: {peer}'s traffic does not all cross its network path; give {peer} ice_servers: [turn] and ice_transport_policy: relay"))
            );
        }
        Ok(peer)
    }

    fn network_step(&self, n: &NetworkStepArg, base: &Path) -> Result<Path, String> {
        if n.clear {
            return Ok(Path::default());
        }
        NetworkDecl::Custom(Box::new(n.as_network())).resolve(base).map_err(String::from)
    }

    /// A step that names a channel needs a channel of that label that some peer creates (in its
    /// `data_channels` or by an earlier `create_data_channel` step): otherwise it can never work.
    pub(super) fn check_channel_steps(&self, steps: &[Spanned<StepDecl>], peers: &[PeerSpec]) -> Result<(), LoadError> {
        let mut created: Vec<String> = peers.iter().flat_map(|p| p.data_channels.iter().map(|c| c.label.clone())).collect();
        for s in steps {
            let label = match &s.value {
                StepDecl::CreateDataChannel(a) => {
                    created.push(a.label.clone());
                    continue;
                }
                StepDecl::SendMessage(a) => &a.label,
                StepDecl::CloseChannel(a) => &a.label,
                _ => continue,
            };
            if !created.contains(label) {
                let known = if created.is_empty() { "none".to_string() } else { created.join(", ") };
                return Err(self.err(&s.referenced, format!("no peer creates a data channel '{label}' before this step (channels: {known}), so it can never work")));
            }
        }
        Ok(())
    }

    /// The `send_message` step: a text or a size, not both.
    fn send_message(&self, s: &Spanned<StepDecl>, a: &SendMessageArg) -> Result<Action, LoadError> {
        match (&a.text, a.size) {
            (Some(text), None) => Ok(Action::SendMessage { label: a.label.clone(), text: text.clone() }),
            (None, Some(size)) if size > 0 => Ok(Action::SendBinary { label: a.label.clone(), size }),
            _ => Err(self.err(&s.referenced, "send_message takes either text (a text message) or size (one binary message of that many bytes, 1 or more)")),
        }
    }
}
