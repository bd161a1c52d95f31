//! Each kind's floor: the same time to first frame inside one process of the stack, two peer
//! connections exchanging descriptions and candidates directly (no relay, no WebDriver in the
//! path). Browsers run the floor page; other kinds say whether they have a floor.

use crate::clock::Clock;
use crate::relay::Relay;
use crate::runner::Env;
use crate::scenario::PeerKind;

/// The browsers' floor page (served at `/floor`); `window.floor(delays)` resolves with one run per
/// delay (ms between capture start and `createOffer`).
pub const FLOOR_PAGE: &str = include_str!("floor.html");

/// One floor run for `kind` per entry of `delays_ms`; `None` when the kind has no floor.
pub async fn measure(kind: &PeerKind, delays_ms: &[f64], env: &Env) -> Option<Result<Vec<crate::peer::FloorRun>, String>> {
    let launcher = env.registry.get(kind)?;
    if let Err(why) = launcher.availability() {
        return Some(Err(why));
    }
    let mut pages = env.registry.pages();
    pages.push(("/floor", FLOOR_PAGE));
    let relay = match Relay::start(Clock::start(), pages).await {
        Ok(r) => r,
        Err(e) => return Some(Err(format!("relay: {e}"))),
    };
    let result = launcher.floor(delays_ms, &relay.http_base()).await;
    relay.stop().await;
    result
}
