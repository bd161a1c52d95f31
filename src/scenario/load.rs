//! Strict loading: YAML -> [`ScenarioDoc`] -> validated [`Scenario`], every error with file:line:column.
//!
//! Syntax and shape errors come from serde-saphyr (which reports positions); reference errors
//! (unknown peers, conditions, order phrases) and impossible flows come from [`Validator`], which
//! points at the offending node through its [`Spanned`] position.

use super::model::{KindSpec, ScenarioDoc, StepDecl};
use super::{Action, Condition, IcePolicy, IceServer, PeerKind, PeerSpec, Scenario, Step, StepKind};
use crate::limits;
use serde_saphyr::{Location, Spanned};
use std::fmt;
use std::path::{Path, PathBuf};

/// A scenario that could not be loaded: `scenarios/a/b.yaml:12:5: unknown step ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads one file. `root` is the scenarios directory the id is derived from.
/// `kinds` are the peer kinds of the run's registry (what `kind:` may name; `all` is all of them).
pub fn load_file(path: &Path, root: Option<&Path>, kinds: &[PeerKind]) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    let id = scenario_id(path, root);
    load_str(&text, &file, &id, path.to_path_buf(), kinds)
}

/// Loads scenario text (`file` is only used in messages).
pub fn load_str(text: &str, file: &str, id: &str, path: PathBuf, kinds: &[PeerKind]) -> Result<Scenario, LoadError> {
    let options = serde_saphyr::options! { with_snippet: false };
    let doc: ScenarioDoc = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        LoadError { file: file.to_string(), line, column, message: clean_message(&e.to_string()) }
    })?;
    Validator { file, kinds }.scenario(doc, id, path)
}

/// Every `*.yaml` below `dir`, sorted, each loaded; the first error per file is returned in place.
pub fn load_dir(dir: &Path, kinds: &[PeerKind]) -> Vec<Result<Scenario, LoadError>> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files);
    files.sort();
    files.iter().map(|f| load_file(f, Some(dir), kinds)).collect()
}

/// Files and directories as given on a command line.
pub fn load_paths(paths: &[PathBuf], kinds: &[PeerKind]) -> Vec<Result<Scenario, LoadError>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(load_dir(p, kinds));
        } else {
            let root = p.ancestors().find(|a| a.file_name().is_some_and(|n| n == "scenarios"));
            out.push(load_file(p, root, kinds));
        }
    }
    out
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

/// `negotiation::basic` for `<root>/negotiation/basic.yaml`.
fn scenario_id(path: &Path, root: Option<&Path>) -> String {
    let rel = root.and_then(|r| path.strip_prefix(r).ok()).unwrap_or(path);
    let rel = rel.with_extension("");
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let parts = if root.is_none() && parts.len() > 2 { parts[parts.len() - 2..].to_vec() } else { parts };
    parts.join("::")
}

/// serde-saphyr appends its own position; ours is already in front.
/// Serde says "variant" for steps and expectations; say which.
fn clean_message(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let msg = msg.trim().trim_end_matches('.').replace('`', "'");
    let Some(rest) = msg.strip_prefix("unknown variant ") else { return msg };
    let what = if rest.contains("add_track") {
        "step"
    } else if rest.contains("non_trickle") {
        "expectation"
    } else {
        "value"
    };
    match rest.split_once(", expected one of ") {
        Some((name, list)) => format!("unknown {what} {name} (expected one of: {list})"),
        None => format!("unknown {what} {rest}"),
    }
}

pub(super) struct Validator<'a> {
    pub(super) file: &'a str,
    /// The registry's kinds.
    pub(super) kinds: &'a [PeerKind],
}

impl Validator<'_> {
    pub(super) fn err(&self, at: &Location, message: impl Into<String>) -> LoadError {
        LoadError { file: self.file.to_string(), line: at.line(), column: at.column(), message: message.into() }
    }

    fn scenario(&self, doc: ScenarioDoc, id: &str, path: PathBuf) -> Result<Scenario, LoadError> {
        let peers = self.peers(&doc)?;
        let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let offerer = match &doc.offerer {
            Some(r) => self.peer_ref(r, &names)?,
            None => names[0].clone(),
        };
        let steps = match &doc.steps {
            Some(steps) => {
                self.check_channel_steps(steps, &peers)?;
                // Conditions a `network` step changes are those in force at that point.
                let mut paths: std::collections::HashMap<String, super::network::Path> =
                    peers.iter().map(|p| (p.name.clone(), p.network.clone())).collect();
                steps.iter().map(|s| self.step(s, &names, &peers, &mut paths)).collect::<Result<Vec<_>, _>>()?
            }
            None => vec![Step { line: 0, kind: StepKind::Do { peer: offerer.clone(), action: Action::Start } }],
        };
        let mut expect = Vec::new();
        for e in &doc.expect {
            expect.push(self.expectation(e, &names, &peers, &offerer, &steps)?);
        }
        let mut exclude = Vec::new();
        for x in &doc.exclude {
            // `*` stands for any kind on its side: `aiortc-*` is every pair aiortc offers in.
            let known = |k: &str| k == "*" || self.kinds.iter().any(|p| p.as_str() == k);
            if !x.pair.value.split_once('-').is_some_and(|(a, b)| known(a) && known(b)) {
                return Err(self.err(&x.pair.referenced, format!(
                    "'{}' is not a pair of peer kinds (expected e.g. 'firefox-rust' or 'aiortc-*'; kinds: {})",
                    x.pair.value,
                    self.kind_list()
                )));
            }
            exclude.push((x.pair.value.clone(), x.reason.clone()));
        }
        Ok(Scenario {
            id: id.to_string(),
            path,
            description: doc.description.clone().unwrap_or_default(),
            peers,
            offerer,
            steps,
            expect,
            exclude,
            turn_port: self.turn_port(&doc)?,
            extended: match &doc.suite {
                None => false,
                Some(s) if s.value == "default" => false,
                Some(s) if s.value == "extended" => true,
                Some(s) => return Err(self.err(&s.referenced, format!("unknown suite '{}' (expected default or extended)", s.value))),
            },
            seed: doc.seed.unwrap_or(1),
            faults: self.fault_rules(&doc.signaling, &names)?,
        })
    }

    /// A fixed TURN port must be free now: a port in use is reported here, at its line, rather
    /// than as a setup failure of every case.
    fn turn_port(&self, doc: &ScenarioDoc) -> Result<Option<u16>, LoadError> {
        let Some(port) = &doc.turn_port else { return Ok(None) };
        if port.value == 0 {
            return Err(self.err(&port.referenced, "turn_port 0 is not a port (leave turn_port out for any free port)"));
        }
        if let Err(e) = std::net::UdpSocket::bind(("0.0.0.0", port.value)) {
            return Err(self.err(&port.referenced, format!("turn_port {}: the port is in use ({e})", port.value)));
        }
        Ok(Some(port.value))
    }

    fn peers(&self, doc: &ScenarioDoc) -> Result<Vec<PeerSpec>, LoadError> {
        if doc.peers.len() != 2 {
            let at = doc.peers.first().map(|p| p.name.referenced).unwrap_or(Location::UNKNOWN);
            return Err(self.err(&at, format!(
                "a scenario has exactly two peers (found {}); the matrix pairs their kinds",
                doc.peers.len()
            )));
        }
        let mut out: Vec<PeerSpec> = Vec::new();
        for p in &doc.peers {
            let name = &p.name.value;
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(self.err(&p.name.referenced, format!(
                    "peer name '{name}' must be non-empty ASCII letters, digits, '_' or '-' (it is part of the relay URL)"
                )));
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
                trickle: p.trickle,
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
                self.kinds.iter().find(|k| k.as_str() == n).cloned().ok_or_else(|| {
                    self.err(&spec.referenced, format!("unknown peer kind '{n}' (expected one of: {})", self.kind_list()))
                })
            })
            .collect()
    }

    fn kind_list(&self) -> String {
        let mut names: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
        names.push(super::ALL_KINDS);
        names.join(", ")
    }

    pub(super) fn peer_ref(&self, r: &Spanned<String>, names: &[String]) -> Result<String, LoadError> {
        if names.contains(&r.value) {
            Ok(r.value.clone())
        } else {
            Err(self.err(&r.referenced, format!(
                "unknown peer '{}' (expected one of: {})",
                r.value,
                names.join(", ")
            )))
        }
    }

    fn step(
        &self,
        s: &Spanned<StepDecl>,
        names: &[String],
        peers: &[PeerSpec],
        paths: &mut std::collections::HashMap<String, super::network::Path>,
    ) -> Result<Step, LoadError> {
        let line = s.referenced.line();
        let act = |r: &Spanned<String>, action: Action| -> Result<StepKind, LoadError> {
            Ok(StepKind::Do { peer: self.peer_ref(r, names)?, action })
        };
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
                let condition = Condition::parse(&w.condition.value).ok_or_else(|| {
                    self.err(&w.condition.referenced, format!(
                        "unknown condition '{}' (expected one of: {})",
                        w.condition.value,
                        Condition::SYNTAX
                    ))
                })?;
                StepKind::Wait { peer, condition, within: w.within.unwrap_or(limits::STEP_WAIT) }
            }
        };
        Ok(Step { line, kind })
    }
}

/// `ice_servers`, `ice_transport_policy` and `network` of a peer.
impl Validator<'_> {
    fn ice(&self, p: &super::model::PeerDecl) -> Result<(Vec<IceServer>, IcePolicy, super::network::Path), LoadError> {
        use super::model::IceServerDecl;
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
                    return Err(self.err(&s.referenced, format!(
                        "'{name}': the built-in server (turn crate 0.17) serves TURN over UDP only; use 'turn'"
                    )))
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
                    return Err(self.err(&v.referenced, format!(
                        "ice_transport_policy: relay leaves {} no candidate without a TURN server (add 'turn' to its ice_servers)",
                        p.name.value
                    )))
                }
                other => return Err(self.err(&v.referenced, format!("unknown ice_transport_policy '{other}' (expected all or relay)"))),
            },
        };
        let network = match &p.network {
            None => super::network::Path::default(),
            Some(n) => {
                let path = n.value.resolve(&Default::default()).map_err(|m| self.err(&n.referenced, m))?;
                if policy != IcePolicy::Relay {
                    return Err(self.err(&n.referenced, format!(
                        "network conditions act on the path between {0} and the TURN server, which only carries all of {0}'s traffic \
                         with ice_servers: [turn] and ice_transport_policy: relay",
                        p.name.value
                    )));
                }
                path
            }
        };
        Ok((servers, policy, network))
    }

    /// A peer named by a `network` or `blackout` step, which must have a path to act on.
    fn routed_peer(&self, r: &Spanned<String>, names: &[String], peers: &[PeerSpec], step: &str) -> Result<String, LoadError> {
        let peer = self.peer_ref(r, names)?;
        let relayed = peers.iter().any(|p| p.name == peer && p.ice_transport_policy == IcePolicy::Relay);
        if !relayed {
            return Err(self.err(&r.referenced, format!(
                "{step}: {peer}'s traffic does not all cross its network path; give {peer} ice_servers: [turn] and ice_transport_policy: relay"
            )));
        }
        Ok(peer)
    }

    fn network_step(&self, n: &super::model::NetworkStepArg, base: &super::network::Path) -> Result<super::network::Path, String> {
        if n.clear {
            return Ok(super::network::Path::default());
        }
        let decl = super::network::NetworkDecl::Custom(Box::new(super::network::CustomNetworkDecl {
            profile: n.profile.clone(),
            latency: n.latency.clone(),
            jitter: n.jitter.clone(),
            loss: n.loss.clone(),
            burst: n.burst,
            bandwidth: n.bandwidth.clone(),
            queue: n.queue.clone(),
            uplink: n.uplink.clone(),
            downlink: n.downlink.clone(),
        }));
        decl.resolve(base)
    }
}
