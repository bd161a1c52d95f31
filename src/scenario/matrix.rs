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
        self.kinds.get(i).copied()
    }

    /// The browsers this case needs (deduplicated).
    pub fn browsers(&self) -> Vec<PeerKind> {
        let mut b: Vec<PeerKind> = self.kinds.iter().copied().filter(|k| k.is_browser()).collect();
        b.sort();
        b.dedup();
        b
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
                    next.push(*k);
                    next
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|kinds| {
            let mut case = Case { scenario: Arc::clone(scenario), kinds, excluded: None };
            case.excluded = scenario.exclude.iter().find(|(pair, _)| *pair == case.pair()).map(|(_, why)| why.clone());
            case
        })
        .collect()
}

/// Every case of every scenario.
pub fn expand_all(scenarios: &[Arc<Scenario>]) -> Vec<Case> {
    scenarios.iter().flat_map(expand).collect()
}
