//! Each kind's floor: the same time to first frame inside one process of the stack, two peer
//! connections exchanging descriptions and candidates directly (no relay, no WebDriver in the
//! path), and, where the kind can, the same two connections signaling through the relay. Browsers
//! run the floor page; other kinds say whether they have a floor.

use super::Phases;
use crate::clock::Clock;
use crate::peer::{FloorError, FloorRun};
use crate::relay::Relay;
use crate::runner::Env;
use crate::scenario::PeerKind;

/// The browsers' floor page (served at `/floor`); `window.floor(delays, warmUp, signaling)`
/// resolves with one run per delay (ms between capture start and `createOffer`).
pub const FLOOR_PAGE: &str = include_str!("floor.html");

/// How a floor's two connections reach each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signaling {
    /// In the page or process, by direct calls.
    Direct,
    /// Through the harness's relay, each connection on its own WebSocket as a pair's pages are.
    Relay,
}

impl Signaling {
    /// The floor's name in the report: `chrome`, or `chrome+relay`.
    pub fn key(self, kind: &PeerKind) -> String {
        match self {
            Signaling::Direct => kind.to_string(),
            Signaling::Relay => format!("{kind}{RELAY_SUFFIX}"),
        }
    }
}

/// What a relay floor's name ends with in the report.
pub const RELAY_SUFFIX: &str = "+relay";

/// One floor run for `kind` per entry of `delays_ms`; `None` when the kind has no such floor.
pub async fn measure(kind: &PeerKind, delays_ms: &[f64], signaling: Signaling, env: &Env) -> Option<Result<Vec<FloorRun>, FloorError>> {
    let launcher = env.registry.get(kind)?;
    let floor = launcher.floor()?;
    if let Err(why) = launcher.availability() {
        return Some(Err(FloorError(why.to_string())));
    }
    let mut pages = env.registry.pages();
    pages.push(("/floor", FLOOR_PAGE));
    let relay = match Relay::start(Clock::start(), pages).await {
        Ok(r) => r,
        Err(e) => return Some(Err(FloorError(format!("relay: {e}")))),
    };
    let url = match signaling {
        Signaling::Direct => None,
        Signaling::Relay => {
            // One room per call, the warm-up call's included: a room's peer names are free again
            // only once the relay has seen the last call's sockets close.
            for n in 0..=delays_ms.len() {
                relay.rooms.open_room(&format!("floor-{n}"), &["a".to_string(), "b".to_string()]);
            }
            Some(relay.ws_room("floor"))
        }
    };
    let result = floor.run(delays_ms, &relay.http_base(), url.as_deref()).await;
    relay.stop().await;
    result
}

/// A floor run as the pairs' phases, when it has the three the tables need (answer applied, ICE
/// and DTLS connected); the steps it stamped come along.
pub fn phases(r: &FloorRun) -> Option<Phases> {
    Some(Phases {
        answer_applied: r.answer_applied?,
        ice_connected: r.ice_connected?,
        dtls_connected: r.dtls_connected?,
        first_frame: r.first_frame,
        offer_set: r.offer_set,
        offer_applied: r.offer_applied,
        answer_set: r.answer_set,
        offer_queued: r.offer_queued,
        offer_apply: r.offer_apply,
        answer_queued: r.answer_queued,
        answer_apply: r.answer_apply,
        glass_p50: None,
        glass_p95: None,
    })
}
