//! Bench results as data: a pair's figures ([`PairResult`]) and a run's ([`BenchReport`]), what
//! `--json` writes and `--baseline` reads; `table` renders them.

use super::Phases;
use crate::stats::{median, percentile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PairResult {
    pub pair: String,
    /// TTFF of each iteration (ms).
    pub ttff: Vec<f64>,
    /// Each iteration's pause between capture start and `createOffer` (ms; `bench::dither`).
    #[serde(default)]
    pub delays: Vec<f64>,
    /// Each iteration's phases, in the order measured.
    #[serde(default)]
    pub samples: Vec<Phases>,
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
    /// Median of each phase (ms from createOffer).
    pub phases: Phases,
    /// The receiving browser's floor, measured in the same run.
    pub floor: Option<f64>,
    pub ratio: Option<f64>,
    /// The pair's median time to DTLS connected minus its receiver's floor's: what the harness
    /// (relay, signaling, a second process or browser) costs before media, free of the camera
    /// tick that makes first-frame ratios jump by a whole frame interval.
    #[serde(default)]
    pub dtls_overhead: Option<f64>,
    #[serde(default)]
    pub dtls_ratio: Option<f64>,
    /// Why the pair was not measured.
    pub skipped: Option<String>,
    /// The same call with frame markers, measured beside it in the same run.
    #[serde(default)]
    pub marked: Option<Marked>,
}

/// A pair's marked calls (docs/markers.md): their time to first frame against the plain calls'
/// (what painting and reading markers cost) and their glass-to-glass latency.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Marked {
    /// TTFF of each marked call (ms).
    pub ttff: Vec<f64>,
    pub median: f64,
    /// Marked median over plain median, minus one (0.03: 3% slower).
    pub cost: f64,
    /// Medians over the calls of each call's glass-to-glass p50 and p95 (ms).
    pub glass_p50: Option<f64>,
    pub glass_p95: Option<f64>,
    /// Why no marked call ran (a kind without the `markers` capability).
    pub skipped: Option<String>,
}

impl Marked {
    /// None when no marked call ran and none was refused (every one failed).
    pub fn of(samples: &[Phases], plain_median: f64, skipped: Option<String>) -> Option<Marked> {
        if let Some(why) = skipped {
            return Some(Marked { skipped: Some(why), ..Marked::default() });
        }
        if samples.is_empty() {
            return None;
        }
        let ttff: Vec<f64> = samples.iter().map(|p| p.first_frame).collect();
        let med = median(&ttff).unwrap_or(f64::NAN);
        let glass = |f: fn(&Phases) -> Option<f64>| median(&samples.iter().filter_map(f).collect::<Vec<_>>());
        Some(Marked { median: med, cost: med / plain_median - 1.0, glass_p50: glass(|p| p.glass_p50), glass_p95: glass(|p| p.glass_p95), ttff, skipped: None })
    }
}

impl PairResult {
    pub fn from_samples(pair: &str, samples: &[Phases], floor: Option<f64>, floor_phases: Option<&Phases>) -> PairResult {
        let ttff: Vec<f64> = samples.iter().map(|p| p.first_frame).collect();
        let m = |f: fn(&Phases) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN);
        let med = median(&ttff).unwrap_or(f64::NAN);
        let opt = |f: fn(&Phases) -> Option<f64>| median(&samples.iter().filter_map(f).collect::<Vec<_>>());
        PairResult {
            pair: pair.to_string(),
            median: med,
            p90: percentile(&ttff, 90.0).unwrap_or(f64::NAN),
            min: ttff.iter().copied().fold(f64::INFINITY, f64::min),
            max: ttff.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            phases: Phases {
                answer_applied: m(|p| p.answer_applied),
                ice_connected: m(|p| p.ice_connected),
                dtls_connected: m(|p| p.dtls_connected),
                first_frame: med,
                offer_set: opt(|p| p.offer_set),
                offer_applied: opt(|p| p.offer_applied),
                answer_set: opt(|p| p.answer_set),
                offer_queued: opt(|p| p.offer_queued),
                offer_apply: opt(|p| p.offer_apply),
                answer_queued: opt(|p| p.answer_queued),
                answer_apply: opt(|p| p.answer_apply),
                glass_p50: opt(|p| p.glass_p50),
                glass_p95: opt(|p| p.glass_p95),
            },
            floor,
            ratio: floor.map(|f| med / f),
            dtls_overhead: floor_phases.map(|f| m(|p| p.dtls_connected) - f.dtls_connected).filter(|v| v.is_finite()),
            dtls_ratio: floor_phases.map(|f| m(|p| p.dtls_connected) / f.dtls_connected).filter(|v| v.is_finite()),
            ttff,
            delays: Vec::new(),
            samples: samples.to_vec(),
            skipped: None,
            marked: None,
        }
    }

    pub fn skipped(pair: &str, why: &str) -> PairResult {
        PairResult { pair: pair.to_string(), skipped: Some(why.to_string()), ..PairResult::default() }
    }
}

/// What `--json` writes and `--baseline` reads.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BenchReport {
    pub iterations: usize,
    pub pairs: Vec<PairResult>,
    /// Each kind's floor (two peer connections in one page or process), median ms.
    pub floors: BTreeMap<String, f64>,
    /// Each floor's phase medians, where the floor reports them (the browsers' floor page).
    #[serde(default)]
    pub floor_phases: BTreeMap<String, Phases>,
    /// The network profile both peers' paths had (`bench --profile`), if any.
    #[serde(default)]
    pub profile: Option<String>,
    /// The span the offers' start was spread over after capture start (`bench --dither`).
    #[serde(default)]
    pub dither_ms: f64,
    /// Each floor's runs, with the delay each had.
    #[serde(default)]
    pub floor_runs: BTreeMap<String, Vec<crate::peer::FloorRun>>,
}
