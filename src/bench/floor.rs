//! Each browser's floor: the same time to first frame inside one page, two RTCPeerConnections
//! exchanging descriptions and candidates directly (no relay, no WebDriver in the path).

use crate::clock::Clock;
use crate::relay::Relay;
use crate::runner::Env;
use crate::scenario::PeerKind;

/// The page (served by the relay at `/floor`); `window.floor(n)` resolves with n times in ms.
pub const FLOOR_PAGE: &str = include_str!("floor.html");

const SCRIPT: &str = "const done = arguments[arguments.length - 1];
window.floor(arguments[0]).then((v) => done({ok: v}), (e) => done({error: String(e)}));";

/// `iterations` floor samples (ms) for `kind`.
pub async fn measure(kind: PeerKind, iterations: usize, env: &Env) -> Result<Vec<f64>, String> {
    let launcher = env.browsers.as_ref().ok_or_else(|| format!("{kind} peers are not enabled in this run"))?;
    launcher.availability(kind)?;
    let relay = Relay::start(Clock::start()).await.map_err(|e| format!("relay: {e}"))?;
    let url = format!("{}/floor", relay.http_base());
    let result = launcher.run_script(kind, &url, SCRIPT, vec![serde_json::json!(iterations)]).await;
    relay.stop().await;
    let value = result?;
    if let Some(e) = value.get("error") {
        return Err(format!("floor page: {e}"));
    }
    value
        .get("ok")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect::<Vec<f64>>())
        .filter(|v| v.len() == iterations)
        .ok_or_else(|| format!("floor page returned {value}"))
}
