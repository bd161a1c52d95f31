//! rtc-harness: a WebRTC interop and conformance test harness.
//!
//! A *scenario* (YAML in `scenarios/`) names two peers, the media and data channels they carry, the
//! steps they take and what must hold. The *runner* starts a signaling *relay*, starts one *peer* per
//! side through the launcher its kind has in the registry (the Rust peer on the `webrtc` crate, a
//! browser driven over WebDriver, or any program speaking the command-peer protocol), performs the steps,
//! and records everything both peers and the relay saw into one *transcript* on one clock. The
//! *verdict* checks that transcript: built-in invariants (JSEP signaling state machine, offer/answer
//! pairing, candidate ufrags) and the scenario's expectations. A normalized form of the transcript is
//! what snapshot tests pin.
//!
//! # Layout
//!
//! - [`scenario`]: the scenario vocabulary the rest of the code imports (the validated
//!   [`scenario::Scenario`], its peers, steps, actions, expectations, network paths and fault
//!   rules; the matrix of [`scenario::Case`]s; what a case needs of a kind and what a kind can
//!   do), and its private YAML front end (`scenario/yaml/`: the file as written, strict loading and
//!   validation with file:line:column errors), which nothing outside the folder sees.
//! - [`relay`]: the axum WebSocket signaling relay (rooms, forwarding, the message record, the
//!   pages its starter hands it), and its fault injector (`relay::faults`: delay, drop,
//!   duplicate, reorder, corrupt, and the glare gate; a pure decision per message).
//! - [`peer`]: the [`peer::Peer`] interface, the open [`peer::Registry`] of kinds (one
//!   [`peer::Launcher`] each), and the kinds: [`peer::rust`], [`peer::browser`] (Chrome, Firefox)
//!   and [`peer::command`] (any program; `stacks/kinds.yaml`); [`peer::procs`] kills and reaps
//!   every process they start.
//! - [`net`]: a case's network: the built-in STUN/TURN server (the `turn` crate), a UDP path per
//!   peer in front of it that records what crossed it, and the impairment engine (latency, jitter,
//!   loss, bandwidth, blackouts) those paths apply, a pure function of packets on a clock.
//! - [`runner`]: the run's [`runner::Env`] (registry and options read at the edge) and one case:
//!   admission (installed, capable, not excluded), slots, a job (or an idle job while the CPU
//!   is idle: `runner/load.rs`), relay, peers, steps, waits (with
//!   `getStats()` sampled once a second), a failed attempt's artifacts, teardown.
//! - [`transcript`]: the timestamped record of a case and its normalized, snapshot-stable form.
//! - [`verdict`]: invariants and expectations, reported as EXPECTED / ACTUAL.
//! - [`report`]: a case's [`report::Outcome`], decided once from its attempts (`--repeat`,
//!   `--retries`; flaky), and every rendering of it, each a [`report::Reporter`] fed the run's
//!   events: terminal lines and failure details, the matrix table, JSON results
//!   (`docs/results.md`), JUnit XML, the self-contained HTML report.
//! - [`marker`]: the frame marker (docs/markers.md): a sender's identity and frame number painted
//!   as luma cells, and read back from a decoded frame of any size.
//! - [`tone`]: the audio marker: a tone per sender, and what a window of decoded audio holds (a
//!   sender's tone, silence, or other sound).
//! - [`limits`]: every named wait's default, and `Limits`: the run's waits, scaled once at the edge.
//! - [`stats`]: medians and percentiles, for the bench, the reports and the verdict.
//! - [`clock`]: the shared clock that Rust and browser events are stamped on.
//! - [`bench`]: time-to-first-frame measurement, its phases, and the bench table.
//! - [`adapter_check`]: the adapter author's kit: a fixed battery of the catalog's cases for one
//!   command-peer kind, each failure told as the `stacks/PROTOCOL.md` rule it breaks.

pub mod adapter_check;
pub mod bench;
pub mod clock;
pub mod limits;
pub mod marker;
pub mod net;
pub mod peer;
pub mod relay;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod stats;
pub mod tone;
pub mod transcript;
pub mod verdict;
