//! The built-in STUN/TURN server (RFC 8489 Binding, RFC 8656 TURN over UDP) on the `turn`
//! crate's server, one per case, with long-term credentials per peer.
//!
//! TURN over TCP and TLS are not offered: the crate's server listens on packet connections only
//! (`ConnConfig` takes a `Conn`), and a framing shim for RFC 8656 section 6.2's TCP transport is
//! more than the harness should carry. A scenario that asks for them gets a load-time error.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use turn::auth::{generate_auth_key, AuthHandler};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::config::{ConnConfig, ServerConfig};
use turn::server::Server;

/// The realm every credential is keyed with (RFC 8489 section 9.2).
pub const REALM: &str = "rtc-harness";

/// Long-term credentials: username -> password.
struct Users(HashMap<String, String>);

impl AuthHandler for Users {
    fn auth_handle(&self, username: &str, realm: &str, _src: SocketAddr) -> Result<Vec<u8>, turn::Error> {
        match self.0.get(username) {
            Some(password) => Ok(generate_auth_key(username, realm, password)),
            None => Err(turn::Error::ErrNoSuchUser),
        }
    }
}

/// A running server; [`TurnServer::stop`] releases its socket and every allocation's.
pub struct TurnServer {
    server: Server,
    addr: SocketAddr,
}

impl TurnServer {
    /// Starts on `ip:port` (`port` 0: any free port); relayed addresses are allocated on `ip`.
    pub async fn start(ip: IpAddr, port: u16, users: HashMap<String, String>) -> Result<TurnServer, String> {
        let socket = tokio::net::UdpSocket::bind((ip, port))
            .await
            .map_err(|e| format!("TURN server: cannot bind UDP {ip}:{port}: {e}"))?;
        let addr = socket.local_addr().map_err(|e| e.to_string())?;
        let config = ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(socket),
                relay_addr_generator: Box::new(RelayAddressGeneratorStatic {
                    relay_address: ip,
                    address: ip.to_string(),
                    net: Arc::new(webrtc_util_turn::vnet::net::Net::new(None)),
                }),
            }],
            realm: REALM.to_string(),
            auth_handler: Arc::new(Users(users)),
            channel_bind_timeout: std::time::Duration::from_secs(0),
            alloc_close_notify: None,
        };
        let server = Server::new(config).await.map_err(|e| format!("TURN server: {e}"))?;
        Ok(TurnServer { server, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stop(self) {
        if let Err(e) = self.server.close().await {
            tracing::debug!("TURN server close: {e}");
        }
    }
}
