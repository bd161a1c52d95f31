//! The scenario front end: YAML -> the as-written [`doc`] types -> a validated [`Scenario`], every
//! error with file:line:column. Nothing outside `scenario` sees this module's types; the rest of
//! the code imports the vocabulary (`scenario::{Scenario, Step, ...}`).
//!
//! Syntax and shape errors come from serde-saphyr (which reports positions); reference errors
//! (unknown peers, conditions, order phrases) and impossible flows come from the [`Validator`],
//! which points at the offending node through its `Spanned` position. The validator is one type
//! extended per part of the file: `peers`, `steps`, `expect`, `flows` (fault rules and the hard
//! flows' expectations); this file puts a scenario together from them.

mod doc;
mod doc_expect;
mod expect;
mod flows;
mod net;
mod peers;
mod steps;
mod validator;
mod values;

pub use validator::LoadError;

use crate::scenario::expectation::{ExpectKind, Expectation};
use crate::scenario::flows::{FaultAction, FaultRule, MessageMatch};
use crate::scenario::kinds::PeerKind;
use crate::scenario::model::{Flake, PeerSpec, Scenario, Trickle};
use crate::scenario::network::Path as NetPath;
use crate::scenario::step::{Action, Step, StepKind};
use doc::ScenarioDoc;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use validator::Validator;

/// Loads one file. `root` is the scenarios directory the id is derived from.
/// `kinds` are the peer kinds of the run's registry (what `kind:` may name; `all` is all of them).
pub fn load_file(path: &Path, root: Option<&Path>, kinds: &[PeerKind]) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError { file: file.clone(), line: 0, column: 0, message: format!("cannot read: {e}") })?;
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
    load_dir_under(dir, dir, kinds)
}

/// [`load_dir`], naming each scenario from `root` (an ancestor of `dir`).
fn load_dir_under(dir: &Path, root: &Path, kinds: &[PeerKind]) -> Vec<Result<Scenario, LoadError>> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files);
    files.sort();
    files.iter().map(|f| load_file(f, Some(root), kinds)).collect()
}

/// Files and directories as given on a command line. A scenario is named from the `scenarios`
/// directory it lies under, whichever path reached it: `scenarios/datachannel` and `scenarios`
/// both name `datachannel::binary`.
pub fn load_paths(paths: &[PathBuf], kinds: &[PeerKind]) -> Vec<Result<Scenario, LoadError>> {
    let mut out = Vec::new();
    for p in paths {
        let root = p.ancestors().find(|a| a.file_name().is_some_and(|n| n == "scenarios"));
        if p.is_dir() {
            out.extend(load_dir_under(p, root.unwrap_or(p), kinds));
        } else {
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

impl Validator<'_> {
    fn scenario(&self, doc: ScenarioDoc, id: &str, path: PathBuf) -> Result<Scenario, LoadError> {
        let mut peers = self.peers(&doc)?;
        let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let offerer = match &doc.offerer {
            Some(r) => self.peer_ref(r, &names)?,
            None => names[0].clone(),
        };
        let steps = match &doc.steps {
            Some(steps) => {
                self.check_channel_steps(steps, &peers)?;
                // Conditions a `network` step changes are those in force at that point.
                let mut paths: HashMap<String, NetPath> = peers.iter().map(|p| (p.name.clone(), p.network.clone())).collect();
                steps.iter().map(|s| self.step(s, &names, &peers, &mut paths)).collect::<Result<Vec<_>, _>>()?
            }
            None => vec![Step { line: 0, kind: StepKind::Do { peer: offerer.clone(), action: Action::Start } }],
        };
        let mut expect = Vec::new();
        for e in &doc.expect {
            expect.push(self.expectation(e, &names, &peers, &offerer, &steps)?);
        }
        let mut exclude = Vec::new();
        let mut flaky = Vec::new();
        for x in &doc.exclude {
            // `*` stands for any kind on its side: `aiortc-*` is every pair aiortc offers in.
            let known = |k: &str| k == "*" || self.kinds.iter().any(|p| p.as_str() == k);
            if !x.pair.value.split_once('-').is_some_and(|(a, b)| known(a) && known(b)) {
                return Err(self
                    .err(&x.pair.referenced, format!("'{}' is not a pair of peer kinds (expected e.g. 'firefox-rust' or 'aiortc-*'; kinds: {})", x.pair.value, self.kind_list())));
            }
            match &x.signature {
                Some(sig) if sig.trim().is_empty() => return Err(self.err(&x.pair.referenced, "an empty signature would match every failure".to_string())),
                Some(sig) => flaky.push((x.pair.value.clone(), Flake { signature: sig.clone(), reason: x.reason.clone() })),
                None => exclude.push((x.pair.value.clone(), x.reason.clone())),
            }
        }
        let faults = self.fault_rules(&doc.signaling, &names)?;
        settle_trickle(&mut peers, &expect, &faults);
        Ok(Scenario {
            id: id.to_string(),
            path,
            description: doc.description.clone().unwrap_or_default(),
            peers,
            offerer,
            steps,
            expect,
            exclude,
            flaky,
            turn_port: self.turn_port(&doc)?,
            extended: match &doc.suite {
                None => false,
                Some(s) if s.value == "default" => false,
                Some(s) if s.value == "extended" => true,
                Some(s) => return Err(self.err(&s.referenced, format!("unknown suite '{}' (expected default or extended)", s.value))),
            },
            seed: doc.seed.unwrap_or(1),
            faults,
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
}

/// Decides the trickle of each peer that did not write it: `On` where the scenario's point is
/// its trickled candidates (a `trickle` expectation naming it or every peer; a signaling fault
/// on its candidates or end-of-candidates, or one that waits for them), `Off` where a
/// `non_trickle` expectation names it; otherwise it stays `AsKind` (as its kind can).
fn settle_trickle(peers: &mut [PeerSpec], expect: &[Expectation], faults: &[FaultRule]) {
    let candidates = |m: MessageMatch| matches!(m, MessageMatch::Candidate | MessageMatch::EndOfCandidates);
    for p in peers.iter_mut().filter(|p| p.trickle == Trickle::AsKind) {
        let checked = expect.iter().any(|e| matches!(&e.kind, ExpectKind::Trickle { peer, .. } if peer == "*" || *peer == p.name));
        let faulted = faults.iter().any(|f| (f.from == p.name || f.from == "*") && (candidates(f.kind) || matches!(f.action, FaultAction::Reorder { after } if candidates(after))));
        let refused = expect.iter().any(|e| matches!(&e.kind, ExpectKind::NonTrickle { peer } if *peer == p.name));
        if checked || faulted {
            p.trickle = Trickle::On;
        } else if refused {
            p.trickle = Trickle::Off;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_is_named_from_its_scenarios_directory_whatever_path_reached_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let kinds = [PeerKind::new("rust").unwrap()];
        let ids = |paths: &[PathBuf]| -> Vec<String> { load_paths(paths, &kinds).into_iter().filter_map(Result::ok).map(|s| s.id).filter(|id| id.ends_with("echo")).collect() };
        let want = vec!["datachannel::echo".to_string()];
        assert_eq!(ids(std::slice::from_ref(&root)), want);
        assert_eq!(ids(&[root.join("datachannel")]), want, "a subdirectory keeps the area");
        assert_eq!(ids(&[root.join("datachannel/echo.yaml")]), want, "so does a file");
    }
}
