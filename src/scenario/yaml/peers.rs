//! A peer as written into a [`PeerSpec`]: its kinds against the registry, data channels, codec
//! preferences, ICE servers, transport policy and network path.

use super::doc::{DataChannelDecl, KindSpec, PeerDecl, ScenarioDoc};
use super::net::IceServerDecl;
use super::validator::{LoadError, Validator};
use crate::scenario::kinds::{DataChannelSpec, PeerKind};
use crate::scenario::model::{IcePolicy, IceServer, PeerSpec, Trickle};
use crate::scenario::network::Path;
use serde_saphyr::{Location, Spanned};

impl Validator<'_> {
    pub(super) fn peers(&self, doc: &ScenarioDoc) -> Result<Vec<PeerSpec>, LoadError> {
        if doc.peers.len() != 2 {
            let at = doc.peers.first().map(|p| p.name.referenced).unwrap_or(Location::UNKNOWN);
            return Err(self.err(&at, format!("a scenario has exactly two peers (found {}); the matrix pairs their kinds", doc.peers.len())));
        }
        let mut out: Vec<PeerSpec> = Vec::new();
        for p in &doc.peers {
            let name = &p.name.value;
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(self.err(&p.name.referenced, format!("peer name '{name}' must be non-empty ASCII letters, digits, '_' or '-' (it is part of the relay URL)")));
            }
            if out.iter().any(|o| &o.name == name) {
                return Err(self.err(&p.name.referenced, format!("peer '{name}' is declared twice")));
            }
            let kinds = self.kinds_of(&p.kind)?;
            let (ice_servers, ice_transport_policy, network) = self.ice(p)?;
            let codecs = match &p.codecs {
                Some(c) if c.value.values().any(|v| v.is_empty() || v.iter().any(|n| n.trim().is_empty())) => {
                    return Err(self.err(&c.referenced, "codecs: each kind lists one or more codec names (e.g. video: [VP9, VP8])"))
                }
                Some(c) => c.value.clone(),
                None => Default::default(),
            };
            out.push(PeerSpec {
                polite: p.polite,
                codecs,
                ice_servers,
                ice_transport_policy,
                network,
                name: name.clone(),
                kinds,
                media: p.media.clone(),
                data_channels: self.data_channels(p)?,
                trickle: match p.trickle {
                    Some(true) => Trickle::On,
                    Some(false) => Trickle::Off,
                    None => Trickle::AsKind,
                },
                negotiation: p.negotiation,
                echo: p.echo,
            });
        }
        Ok(out)
    }

    /// `kind:` resolved against the registry's kinds.
    fn kinds_of(&self, spec: &Spanned<KindSpec>) -> Result<Vec<PeerKind>, LoadError> {
        let names = match &spec.value {
            KindSpec::All => return Ok(self.kinds.to_vec()),
            KindSpec::Names(names) => names,
        };
        if names.is_empty() {
            return Err(self.err(&spec.referenced, format!("kind list is empty (expected one or more of: {})", self.kind_list())));
        }
        names
            .iter()
            .map(|n| {
                self.kinds
                    .iter()
                    .find(|k| k.as_str() == n)
                    .cloned()
                    .ok_or_else(|| self.err(&spec.referenced, format!("unknown peer kind '{n}' (expected one of: {})", self.kind_list())))
            })
            .collect()
    }

    fn ice(&self, p: &PeerDecl) -> Result<(Vec<IceServer>, IcePolicy, Path), LoadError> {
        let mut servers = Vec::new();
        for s in &p.ice_servers {
            let (name, username, credential) = match &s.value {
                IceServerDecl::Name(n) => (n.as_str(), None, None),
                IceServerDecl::Full(f) => (f.server.as_str(), f.username.clone(), f.credential.clone()),
            };
            servers.push(match name {
                "stun" if username.is_none() && credential.is_none() => IceServer::Stun,
                "stun" => return Err(self.err(&s.referenced, "a STUN server takes no username or credential")),
                "turn" => IceServer::Turn { username, credential },
                "turn_tcp" | "turns" | "turn_tls" => {
                    return Err(self.err(&s.referenced, format!("'{name}': the built-in server (turn crate 0.17) serves TURN over UDP only; use 'turn'")))
                }
                other => return Err(self.err(&s.referenced, format!("unknown ICE server '{other}' (expected stun or turn)"))),
            });
        }
        let has_turn = servers.iter().any(|s| matches!(s, IceServer::Turn { .. }));
        let policy = match &p.ice_transport_policy {
            None => IcePolicy::All,
            Some(v) => match v.value.as_str() {
                "all" => IcePolicy::All,
                "relay" if has_turn => IcePolicy::Relay,
                "relay" => {
                    return Err(
                        self.err(&v.referenced, format!("ice_transport_policy: relay leaves {} no candidate without a TURN server (add 'turn' to its ice_servers)", p.name.value))
                    )
                }
                other => return Err(self.err(&v.referenced, format!("unknown ice_transport_policy '{other}' (expected all or relay)"))),
            },
        };
        let network = match &p.network {
            None => Path::default(),
            Some(n) => {
                let path = n.value.resolve(&Default::default()).map_err(|m| self.err(&n.referenced, m))?;
                if policy != IcePolicy::Relay {
                    return Err(self.err(
                        &n.referenced,
                        format!(
                            "network conditions act on the path between {0} and the TURN server, which only carries all of {0}'s traffic \
                         with ice_servers: [turn] and ice_transport_policy: relay",
                            p.name.value
                        ),
                    ));
                }
                path
            }
        };
        Ok((servers, policy, network))
    }

    /// Expands `count` and checks labels are unique per peer and negotiated channels have an id.
    fn data_channels(&self, p: &PeerDecl) -> Result<Vec<DataChannelSpec>, LoadError> {
        let mut out: Vec<DataChannelSpec> = Vec::new();
        for c in &p.data_channels {
            if c.negotiated && c.id.is_none() {
                return Err(self.err(&p.name.referenced, format!("data channel '{}' is negotiated: true, so it needs an id (both peers use it)", c.label)));
            }
            if c.max_retransmits.is_some() && c.max_packet_life_time.is_some() {
                // W3C webrtc-pc section 6.1 createDataChannel step: both set is a TypeError.
                return Err(self.err(&p.name.referenced, format!("data channel '{}' sets both max_retransmits and max_packet_life_time (webrtc-pc 6.1 allows one)", c.label)));
            }
            let n = c.count.unwrap_or(1);
            if n == 0 || (n > 1 && (c.negotiated || c.id.is_some())) {
                return Err(self.err(&p.name.referenced, format!("data channel '{}': count is 1 or more, and not with an id", c.label)));
            }
            for i in 1..=n {
                let label = if c.count.is_some() { format!("{}-{i}", c.label) } else { c.label.clone() };
                if out.iter().any(|o| o.label == label) {
                    return Err(self.err(&p.name.referenced, format!("data channel '{label}' is declared twice on '{}'", p.name.value)));
                }
                out.push(channel(c, label));
            }
        }
        Ok(out)
    }
}

/// One channel of a declaration, with its (expanded) label.
fn channel(c: &DataChannelDecl, label: String) -> DataChannelSpec {
    DataChannelSpec {
        label,
        send: c.send.clone(),
        ordered: c.ordered,
        max_retransmits: c.max_retransmits,
        max_packet_life_time: c.max_packet_life_time,
        negotiated: c.negotiated,
        id: c.id,
        protocol: c.protocol.clone(),
    }
}
