//! Each browser's floor: the same time to first frame inside one page, two RTCPeerConnections
//! exchanging descriptions and candidates directly (no relay, no WebDriver in the path).

use crate::scenario::PeerKind;
use crate::runner::Env;

/// `iterations` floor samples (ms) for `kind`.
pub async fn measure(kind: PeerKind, iterations: usize, env: &Env) -> Result<Vec<f64>, String> {
    let launcher = env.browsers.as_ref().ok_or_else(|| format!("{kind} peers are not enabled in this run"))?;
    launcher.availability(kind)?;
    launcher.floor(kind, iterations).await
}
