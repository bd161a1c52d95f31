//! Why a case's network did not start: the TURN server's socket or configuration, or a peer's
//! path.

use std::net::IpAddr;

/// Why a case's network did not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The TURN server's socket: `ip:port` is taken or not local.
    #[error("TURN server: cannot bind UDP {ip}:{port}: {source}")]
    TurnBind { ip: IpAddr, port: u16, source: std::io::Error },
    /// The bound socket has no local address.
    #[error("{0}")]
    LocalAddr(#[source] std::io::Error),
    /// The `turn` crate refused the server's configuration.
    #[error("TURN server: {0}")]
    Turn(#[from] ::turn::Error),
    /// A peer's path could not bind on `ip`.
    #[error("{peer}'s network path: cannot bind UDP on {ip}: {source}")]
    PathBind { peer: String, ip: IpAddr, source: std::io::Error },
}
