//! The bench's optional interface to a kind (docs/benchmarks.md): its time-to-first-frame floor,
//! two peer connections inside one process of the stack, and the runs it reports. Apart from
//! [`Launcher`](super::Launcher), which the runner needs for every case.

use async_trait::async_trait;

/// Why a floor measurement failed (the page's or program's error, or its answer's shape).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FloorError(pub String);

/// A kind whose stack has a floor.
#[async_trait]
pub trait Floor: Send + Sync {
    /// One run per entry of `delays_ms` (the pause between capture start and `createOffer`, see
    /// `bench::dither`) of two peer connections inside one process of the stack, no relay in the
    /// path. `pages_base` serves the bench's pages (`/floor`). With `signaling`
    /// (`ws://.../ws/floor`), the same two connections exchange their descriptions and candidates
    /// through the relay instead, the n-th call in the room `floor-n` as peers `a` and `b`.
    /// `None` when the stack has no such floor (through the relay, say).
    async fn run(&self, delays_ms: &[f64], pages_base: &str, signaling: Option<&str>) -> Option<Result<Vec<FloorRun>, FloorError>>;
}

/// One floor run, in ms from `createOffer`: the first frame, and the phases where the floor
/// reports them (the browsers' floor page does; a command peer may answer times only).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FloorRun {
    pub first_frame: f64,
    pub answer_applied: Option<f64>,
    pub ice_connected: Option<f64>,
    pub dtls_connected: Option<f64>,
    /// The answer phase's steps (see `bench::Phases`), where the floor stamps them.
    pub offer_set: Option<f64>,
    pub offer_applied: Option<f64>,
    pub answer_set: Option<f64>,
    /// Through the relay: how long each description waited in the page before
    /// `setRemoteDescription`, and how long that call took (durations, as in `bench::Phases`).
    #[serde(default)]
    pub offer_queued: Option<f64>,
    #[serde(default)]
    pub offer_apply: Option<f64>,
    #[serde(default)]
    pub answer_queued: Option<f64>,
    #[serde(default)]
    pub answer_apply: Option<f64>,
    /// The pause between capture start and `createOffer` this run had (ms), where it had one.
    #[serde(default)]
    pub delay: Option<f64>,
}

impl FloorRun {
    /// A run as a page or program reports it: a number (the first frame), or an object with
    /// `first_frame` and the phases.
    pub fn from_json(v: &serde_json::Value) -> Option<FloorRun> {
        if let Some(ms) = v.as_f64() {
            return Some(FloorRun { first_frame: ms, ..FloorRun::default() });
        }
        let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        Some(FloorRun {
            first_frame: f("first_frame")?,
            answer_applied: f("answer_applied"),
            ice_connected: f("ice_connected"),
            dtls_connected: f("dtls_connected"),
            offer_set: f("offer_set"),
            offer_applied: f("offer_applied"),
            answer_set: f("answer_set"),
            offer_queued: f("offer_queued"),
            offer_apply: f("offer_apply"),
            answer_queued: f("answer_queued"),
            answer_apply: f("answer_apply"),
            delay: f("delay"),
        })
    }

    /// Runs from a JSON array of `expected` entries.
    pub fn list(v: Option<&serde_json::Value>, expected: usize) -> Option<Vec<FloorRun>> {
        let runs: Vec<FloorRun> = v?.as_array()?.iter().filter_map(FloorRun::from_json).collect();
        (runs.len() == expected).then_some(runs)
    }
}
