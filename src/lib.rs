//! rtc-harness: a WebRTC interop and conformance test harness.
//!
//! A *scenario* (YAML in `scenarios/`) names two peers, the media and data channels they carry, the
//! steps they take and what must hold. The *runner* starts a signaling *relay*, starts one *peer* per
//! side (the Rust peer on the `webrtc` crate, or a browser driven over WebDriver), performs the steps,
//! and records everything both peers and the relay saw into one *transcript* on one clock. The
//! *verdict* checks that transcript: built-in invariants (JSEP signaling state machine, offer/answer
//! pairing, candidate ufrags) and the scenario's expectations. A normalized form of the transcript is
//! what snapshot tests pin.
//!
//! # Layout
//!
//! - [`scenario`]: the scenario language: model, strict loading with file:line:column errors, and
//!   the expansion of peer-kind lists into a matrix of cases.
//! - [`relay`]: the axum WebSocket signaling relay (rooms, forwarding, the message record).
//! - [`peer`]: the [`peer::Peer`] interface and its implementations: [`peer::rust`] and
//!   [`peer::browser`].
//! - [`runner`]: runs one case: relay, peers, steps, waits, teardown.
//! - [`transcript`]: the timestamped record of a case and its normalized, snapshot-stable form.
//! - [`verdict`]: invariants and expectations, reported as EXPECTED / ACTUAL.
//! - [`report`]: what the CLI prints per case.
//! - [`limits`]: every named wait's default limit and the one variable that scales them all.
//! - [`clock`]: the shared clock that Rust and browser events are stamped on.
//! - [`bench`]: time-to-first-frame measurement, its phases, and the bench table.

pub mod bench;
pub mod clock;
pub mod limits;
pub mod peer;
pub mod relay;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod transcript;
pub mod verdict;
