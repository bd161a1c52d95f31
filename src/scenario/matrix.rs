//! The matrix: each peer's list of kinds, expanded into one [`Case`] per combination.

use super::kinds::PeerKind;
use super::model::{Flake, Scenario, Trickle};
use super::needs::Needs;
use serde::Deserialize;
use std::sync::Arc;

/// One scenario with one kind per peer: `negotiation::basic::chrome-rust` (kinds in peer order).
#[derive(Clone, Debug)]
pub struct Case {
    pub scenario: Arc<Scenario>,
    /// One kind per peer, in declaration order.
    pub kinds: Vec<PeerKind>,
    /// Why the scenario leaves this pair out (`exclude:`); such cases are listed and skipped.
    pub excluded: Option<String>,
    /// The scenario's intermittent findings for this pair (`exclude:` entries with a signature).
    pub flakes: Vec<Flake>,
}

impl Case {
    /// `chrome-rust`.
    pub fn pair(&self) -> String {
        self.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("-")
    }

    /// `negotiation::basic::chrome-rust`.
    pub fn name(&self) -> String {
        format!("{}::{}", self.scenario.id, self.pair())
    }

    /// The kind of the named peer.
    pub fn kind_of(&self, peer: &str) -> Option<PeerKind> {
        let i = self.scenario.peers.iter().position(|p| p.name == peer)?;
        self.kinds.get(i).cloned()
    }

    /// The kinds this case needs (deduplicated).
    pub fn distinct_kinds(&self) -> Vec<PeerKind> {
        let mut b: Vec<PeerKind> = self.kinds.clone();
        b.sort();
        b.dedup();
        b
    }

    /// The case as it runs: each peer whose trickle follows its kind ([`Trickle::AsKind`])
    /// trickles or not as `can_trickle` says of its kind (one flag per peer, in declaration
    /// order). The same case when no peer follows its kind.
    pub fn resolved(&self, can_trickle: &[bool]) -> Case {
        if !self.scenario.peers.iter().any(|p| p.trickle == Trickle::AsKind) {
            return self.clone();
        }
        let mut scenario = (*self.scenario).clone();
        for (p, can) in scenario.peers.iter_mut().zip(can_trickle) {
            if p.trickle == Trickle::AsKind {
                p.trickle = Trickle::as_kind(*can);
            }
        }
        Case { scenario: std::sync::Arc::new(scenario), ..self.clone() }
    }

    /// `(peer, kind, needs)` for each peer, in declaration order.
    pub fn needs(&self) -> Vec<(String, PeerKind, Needs)> {
        self.scenario.peers.iter().zip(&self.kinds).map(|(p, k)| (p.name.clone(), k.clone(), Needs::of(&self.scenario, &p.name))).collect()
    }
}

/// Every case of `scenario`, in a stable order; excluded pairs carry their reason.
pub fn expand(scenario: &Arc<Scenario>) -> Vec<Case> {
    let mut combos: Vec<Vec<PeerKind>> = vec![vec![]];
    for peer in &scenario.peers {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                peer.kinds.iter().map(move |k| {
                    let mut next = prefix.clone();
                    next.push(k.clone());
                    next
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|kinds| {
            let mut case = Case { scenario: Arc::clone(scenario), kinds, excluded: None, flakes: Vec::new() };
            case.excluded = scenario.exclude.iter().find(|(pair, _)| pair_matches(pair, &case.kinds)).map(|(_, why)| why.clone());
            case.flakes = scenario.flaky.iter().filter(|(pair, _)| pair_matches(pair, &case.kinds)).map(|(_, f)| f.clone()).collect();
            case
        })
        .collect()
}

/// `a-b` against the kinds of a two-peer case; `*` matches any kind on its side.
fn pair_matches(pattern: &str, kinds: &[PeerKind]) -> bool {
    let Some((a, b)) = pattern.split_once('-') else { return false };
    let side = |p: &str, k: Option<&PeerKind>| p == "*" || k.is_some_and(|k| k.as_str() == p);
    kinds.len() == 2 && side(a, kinds.first()) && side(b, kinds.get(1))
}

/// A stack's bug that breaks a pair whatever the scenario: declared once, in the kinds file entry of
/// the kind at fault, and applied to every case of the pairs it names, as a scenario's own
/// `exclude:` is to its cases (docs/findings.md says what each one is).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFinding {
    /// Pair patterns as in `exclude:` (`libdatachannel-rust`, `*-gstreamer`).
    pub pairs: Vec<String>,
    /// Only the cases whose scenario uses this; every case when absent.
    #[serde(default)]
    pub when: Option<Uses>,
    pub reason: String,
    /// An intermittent finding: the pair is not left out; a failure containing this text is the
    /// finding (see [`Flake`]).
    #[serde(default)]
    pub signature: Option<String>,
}

/// What a case uses, for a [`KnownFinding`] that only bites there.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uses {
    /// An SCTP association (any data channel).
    DataChannels,
}

impl KnownFinding {
    /// Whether it excludes `case` (a finding with a signature never excludes).
    pub fn applies(&self, case: &Case) -> bool {
        self.signature.is_none() && self.bites(case)
    }

    /// The intermittent finding it is for `case`, if it has a signature and bites there.
    pub fn flake(&self, case: &Case) -> Option<Flake> {
        let signature = self.signature.clone()?;
        self.bites(case).then(|| Flake { signature, reason: self.reason.clone() })
    }

    fn bites(&self, case: &Case) -> bool {
        let scoped = match self.when {
            None => true,
            Some(Uses::DataChannels) => case.needs().iter().any(|(_, _, n)| n.data_channels),
        };
        scoped && self.pairs.iter().any(|p| pair_matches(p, &case.kinds))
    }

    /// Every pattern is two sides, each `*` or a kind name, one of them `own`: a finding belongs
    /// to the kind that declares it.
    pub fn check(&self, own: &PeerKind) -> Result<(), FindingError> {
        if self.pairs.is_empty() {
            return Err(FindingError::NoPairs);
        }
        for p in &self.pairs {
            let Some((a, b)) = p.split_once('-') else { return Err(FindingError::NotAPair { pair: p.clone() }) };
            for side in [a, b].into_iter().filter(|s| *s != "*") {
                PeerKind::new(side).map_err(|source| FindingError::BadKind { pair: p.clone(), source })?;
            }
            if a != own.as_str() && b != own.as_str() {
                return Err(FindingError::NotOwn { pair: p.clone(), own: own.clone() });
            }
        }
        Ok(())
    }
}

/// Why a kind's known finding is refused ([`KnownFinding::check`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FindingError {
    #[error("a finding names at least one pair")]
    NoPairs,
    #[error("pair '{pair}' is not KIND-KIND")]
    NotAPair { pair: String },
    #[error("pair '{pair}': {source}")]
    BadKind { pair: String, source: super::kinds::PeerKindError },
    #[error("pair '{pair}' does not name {own}, the kind declaring it")]
    NotOwn { pair: String, own: PeerKind },
}

/// Every case of every scenario.
pub fn expand_all(scenarios: &[Arc<Scenario>]) -> Vec<Case> {
    scenarios.iter().flat_map(expand).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_patterns_match_one_side_or_both() {
        let k = |a: &str, b: &str| vec![PeerKind::new(a).unwrap(), PeerKind::new(b).unwrap()];
        assert!(pair_matches("chrome-rust", &k("chrome", "rust")));
        assert!(!pair_matches("chrome-rust", &k("rust", "chrome")));
        assert!(pair_matches("*-rust", &k("werift", "rust")));
        assert!(pair_matches("rust-*", &k("rust", "aiortc")));
        assert!(!pair_matches("rust-*", &k("aiortc", "rust")));
        assert!(pair_matches("*-*", &k("a", "b")));
        assert!(!pair_matches("rust", &k("rust", "rust")));
    }

    #[test]
    fn known_findings_apply_to_their_pairs_and_scope() {
        let yaml = "description: x\npeers:\n  - {name: alice, kind: [rust, werift]}\n  - {name: bob, kind: [rust, werift]}\n";
        let kinds = [PeerKind::new("rust").unwrap(), PeerKind::new("werift").unwrap()];
        let plain = Arc::new(crate::scenario::load_str(yaml, "x.yaml", "x", "x.yaml".into(), &kinds).unwrap());
        let dc = yaml.replace("kind: [rust, werift]}\n  -", "kind: [rust, werift], data_channels: [{label: a}]}\n  -");
        let dc = Arc::new(crate::scenario::load_str(&dc, "x.yaml", "x", "x.yaml".into(), &kinds).unwrap());
        let finding = KnownFinding { pairs: vec!["werift-rust".into()], when: Some(Uses::DataChannels), reason: "r".into(), signature: None };
        let hit = |s: &Arc<Scenario>| expand(s).iter().filter(|c| finding.applies(c)).map(Case::pair).collect::<Vec<_>>();
        assert_eq!(hit(&dc), vec!["werift-rust"]);
        assert!(hit(&plain).is_empty(), "scoped to data channels");
        let always = KnownFinding { when: None, ..finding.clone() };
        assert_eq!(expand(&plain).iter().filter(|c| always.applies(c)).count(), 1);
        let flaky = KnownFinding { signature: Some("boom".into()), ..always.clone() };
        assert_eq!(expand(&plain).iter().filter(|c| flaky.applies(c)).count(), 0, "a signature never excludes");
        let flakes: Vec<Flake> = expand(&plain).iter().filter_map(|c| flaky.flake(c)).collect();
        assert_eq!(flakes.len(), 1);
        assert!(flakes[0].matches("setup: boom, again") && !flakes[0].matches("Boom"));
        let werift = &kinds[1];
        assert!(finding.check(werift).is_ok());
        assert!(finding.check(&kinds[0]).is_ok());
        let bad = |p: &str| KnownFinding { pairs: vec![p.into()], ..finding.clone() }.check(werift).unwrap_err().to_string();
        assert!(bad("rust-rust").contains("does not name werift"), "{}", bad("rust-rust"));
        assert!(bad("werift").contains("not KIND-KIND"));
        assert!(bad("werift-Rust").contains("pair 'werift-Rust'"));
    }

    #[test]
    fn kind_names_are_checked() {
        assert!(PeerKind::new("libdatachannel").is_ok());
        assert!(PeerKind::new("my_stack2").is_ok());
        for bad in ["", "Chrome", "lib-datachannel", "all", "a b"] {
            assert!(PeerKind::new(bad).is_err(), "{bad}");
        }
    }
}
