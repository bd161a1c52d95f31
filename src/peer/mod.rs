//! The peer interface the runner drives, whatever stack is behind it, and the open registry of
//! peer kinds: a kind is a [`Launcher`] in a [`Registry`] ([`rust`], [`browser`]'s Chrome and
//! Firefox, and every [`command`] kind declared in `stacks/kinds.yaml`).
//!
//! A peer joins the relay room as `ws://<relay>/ws/<room>/<name>`, follows the seed's flow
//! (`negotiationneeded` -> offer; an offer is answered; candidates are trickled and applied), performs
//! the runner's [`Action`]s, and reports everything it sees as transcript `Event`s, which the
//! runner collects with [`Peer::drain`].

pub mod browser;
pub mod command;
mod floor;
mod interface;
pub mod procs;
mod registry;
pub mod rust;

pub use floor::{Floor, FloorError, FloorRun};
pub use registry::{KindError, KindInfo, Launcher, Registry, SlotPool};

pub use crate::scenario::Action;
pub use interface::{MediaFiles, Peer, PeerConfig, PeerError};
