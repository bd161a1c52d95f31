//! The matrix: each peer's list of kinds, expanded into one [`Case`] per combination.

use super::{PeerKind, Scenario};
use std::sync::Arc;

/// One scenario with one kind per peer: `negotiation::basic::chrome-rust` (kinds in peer order).
#[derive(Clone, Debug)]
pub struct Case {
    pub scenario: Arc<Scenario>,
    /// One kind per peer, in declaration order.
    pub kinds: Vec<PeerKind>,
    /// Why the scenario leaves this pair out (`exclude:`); such cases are listed and skipped.
    pub excluded: Option<String>,
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

    /// `(peer, kind, needs)` for each peer, in declaration order.
    pub fn needs(&self) -> Vec<(String, PeerKind, super::Needs)> {
        self.scenario.peers.iter().zip(&self.kinds).map(|(p, k)| (p.name.clone(), k.clone(), super::Needs::of(&self.scenario, &p.name))).collect()
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
            let mut case = Case { scenario: Arc::clone(scenario), kinds, excluded: None };
            case.excluded = scenario.exclude.iter().find(|(pair, _)| pair_matches(pair, &case.kinds)).map(|(_, why)| why.clone());
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
    fn kind_names_are_checked() {
        assert!(PeerKind::new("libdatachannel").is_ok());
        assert!(PeerKind::new("my_stack2").is_ok());
        for bad in ["", "Chrome", "lib-datachannel", "all", "a b"] {
            assert!(PeerKind::new(bad).is_err(), "{bad}");
        }
    }
}
