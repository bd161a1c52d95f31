//! The built-in STUN/TURN server (RFC 8489 Binding, RFC 8656 TURN over UDP) on the `turn`
//! crate's server, one per case, with long-term credentials per peer.
//!
//! TURN over TCP and TLS are not offered: the crate's server listens on packet connections only
//! (`ConnConfig` takes a `Conn`), and a framing shim for RFC 8656 section 6.2's TCP transport is
//! more than the harness should carry. A scenario that asks for them gets a load-time error.

use super::stun::{attribute, is_error, is_request, stun_attribute, stun_error_code, stun_type, transaction, NONCE, REALM_ATTR, USERNAME};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use turn::auth::{generate_auth_key, AuthHandler};
use turn::relay::relay_static::RelayAddressGeneratorStatic;
use turn::server::config::{ConnConfig, ServerConfig};
use turn::server::Server;
use webrtc_util_turn::Conn;

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
    pub async fn start(ip: IpAddr, port: u16, users: HashMap<String, String>) -> Result<TurnServer, super::error::NetError> {
        let socket = tokio::net::UdpSocket::bind((ip, port)).await.map_err(|source| super::error::NetError::TurnBind { ip, port, source })?;
        let addr = socket.local_addr().map_err(super::error::NetError::LocalAddr)?;
        let socket = ServerSocket { io: socket, state: Mutex::new(AuthState::default()) };
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
        let server = Server::new(config).await?;
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

/// The server's socket. It corrects one reply of the crate's server on its way out: a request
/// whose credentials are wrong (MESSAGE-INTEGRITY does not match, or an unknown USERNAME) gets
/// 400 Bad Request from turn 0.17, where RFC 8489 section 9.2.4 requires 401 Unauthorized with
/// REALM and NONCE. Clients tell a refused credential by that 401 (browsers report it as
/// icecandidateerror 401; aioice and werift drop the unsigned 400 and time out with 701), so the
/// server the harness offers answers as coturn and the RFC do.
struct ServerSocket {
    io: tokio::net::UdpSocket,
    state: Mutex<AuthState>,
}

#[derive(Default)]
struct AuthState {
    /// Transaction ids of requests that carried a USERNAME.
    authenticated: HashSet<[u8; 12]>,
    /// The last NONCE the server gave each client in a challenge.
    nonces: HashMap<SocketAddr, Vec<u8>>,
}

/// A 401 error response for `kind` and `tid` with REALM and NONCE (RFC 8489 section 9.2.4).
pub(super) fn unauthorized(kind: u16, tid: [u8; 12], nonce: &[u8]) -> Vec<u8> {
    let mut code = vec![0, 0, 4, 1];
    code.extend(b"Unauthorized");
    let attrs: Vec<u8> = [attribute(0x0009, &code), attribute(REALM_ATTR, REALM.as_bytes()), attribute(NONCE, nonce)].concat();
    let mut m = Vec::with_capacity(20 + attrs.len());
    m.extend(kind.to_be_bytes());
    m.extend((attrs.len() as u16).to_be_bytes());
    m.extend([0x21, 0x12, 0xA4, 0x42]);
    m.extend(tid);
    m.extend(attrs);
    m
}

impl AuthState {
    fn incoming(&mut self, packet: &[u8]) {
        if stun_type(packet).is_some_and(is_request) && stun_attribute(packet, USERNAME).is_some() {
            if self.authenticated.len() > 4096 {
                self.authenticated.clear();
            }
            self.authenticated.insert(transaction(packet));
        }
    }

    /// The reply to send instead of `packet`, when it needs correcting.
    fn outgoing(&mut self, packet: &[u8], to: SocketAddr) -> Option<Vec<u8>> {
        let kind = stun_type(packet).filter(|k| is_error(*k))?;
        match stun_error_code(packet)? {
            401 => {
                if let Some(nonce) = stun_attribute(packet, NONCE) {
                    self.nonces.insert(to, nonce.to_vec());
                }
                None
            }
            400 if self.authenticated.contains(&transaction(packet)) => {
                let nonce = self.nonces.get(&to).cloned().unwrap_or_else(|| b"rtc-harness-refused".to_vec());
                Some(unauthorized(kind, transaction(packet), &nonce))
            }
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl Conn for ServerSocket {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util_turn::Result<()> {
        Ok(self.io.connect(addr).await?)
    }
    async fn recv(&self, buf: &mut [u8]) -> webrtc_util_turn::Result<usize> {
        Ok(self.io.recv(buf).await?)
    }
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util_turn::Result<(usize, SocketAddr)> {
        let (n, from) = self.io.recv_from(buf).await?;
        self.state.lock().unwrap().incoming(&buf[..n]);
        Ok((n, from))
    }
    async fn send(&self, buf: &[u8]) -> webrtc_util_turn::Result<usize> {
        Ok(self.io.send(buf).await?)
    }
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util_turn::Result<usize> {
        let corrected = self.state.lock().unwrap().outgoing(buf, target);
        match corrected {
            Some(reply) => {
                self.io.send_to(&reply, target).await?;
                Ok(buf.len())
            }
            None => Ok(self.io.send_to(buf, target).await?),
        }
    }
    fn local_addr(&self) -> webrtc_util_turn::Result<SocketAddr> {
        Ok(self.io.local_addr()?)
    }
    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }
    async fn close(&self) -> webrtc_util_turn::Result<()> {
        Ok(())
    }
    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_credential_is_answered_401_with_realm_and_nonce() {
        let client: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut st = AuthState::default();
        // The challenge (401 with a NONCE) to a request without credentials is passed on, its
        // nonce kept.
        let challenge = unauthorized(0x0113, [1; 12], b"n-123");
        assert_eq!(st.outgoing(&challenge, client), None);
        // The retry carries a USERNAME; the crate answers 400: that becomes a 401.
        let mut retry = vec![0x00, 0x03, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42];
        retry.extend([2; 12]);
        retry.extend(attribute(USERNAME, b"alice"));
        st.incoming(&retry);
        let mut bad = vec![0x01, 0x13, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42];
        bad.extend([2; 12]);
        bad.extend(attribute(0x0009, &[0, 0, 4, 0]));
        let fixed = st.outgoing(&bad, client).expect("corrected");
        assert_eq!((stun_type(&fixed), stun_error_code(&fixed)), (Some(0x0113), Some(401)));
        assert_eq!(stun_attribute(&fixed, NONCE), Some(&b"n-123"[..]));
        assert_eq!(stun_attribute(&fixed, REALM_ATTR), Some(REALM.as_bytes()));
        // A 400 to a request without credentials is the crate's own business.
        let mut other = bad.clone();
        other[8..20].copy_from_slice(&[3; 12]);
        assert_eq!(st.outgoing(&other, client), None);
    }
}
