//! Scenarios: the vocabulary the rest of the harness speaks (a validated [`Scenario`] with its
//! peers, steps, expectations, network paths and fault rules; the matrix of [`Case`]s; what a case
//! [`Needs`] of a kind and what a kind's [`Capabilities`] are), and the front end that loads YAML
//! into it ([`load_file`] and friends, strict, with file:line:column errors).
//!
//! The vocabulary lives in the public modules below and is re-exported here; the YAML as written
//! (`yaml`) is private: no code outside this folder sees a field as written.

pub mod expectation;
pub mod flows;
pub mod kinds;
pub mod matrix;
pub mod model;
mod needs;
pub mod network;
pub mod step;
mod yaml;

pub use expectation::{ExpectKind, Expectation, Metric, OrderPoint, OrderWhat};
pub use kinds::{DataChannelSpec, MediaKind, Negotiation, PeerKind, PeerKindError, ALL_KINDS};
pub use matrix::{expand, expand_all, Case, FindingError, KnownFinding};
pub use model::{Flake, IcePolicy, IceServer, PeerSpec, Scenario, Trickle};
pub use needs::{Capabilities, Needs};
pub use step::{Action, Condition, Step, StepKind};
pub use yaml::{load_dir, load_file, load_paths, load_str, LoadError};
