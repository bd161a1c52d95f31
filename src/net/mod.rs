//! The network of a case: the built-in STUN/TURN server ([`turn`]) and, per peer given ICE
//! servers, its own path to it ([`path`]) whose conditions the impairment engine ([`impair`])
//! applies. The runner starts it before the peers, hands each peer its `ice_servers`, applies
//! `network` and `blackout` steps, and stops it with the case (no port or task outlives it).

mod error;
pub mod impair;
pub mod path;
pub mod stun;
pub mod turn;

pub use error::NetError;

use crate::clock::Clock;
use crate::scenario::{IceServer, Scenario};
use crate::transcript::{Entry, Event};
use path::PeerPath;
use std::collections::HashMap;
use std::net::IpAddr;

/// The servers and paths of one case.
pub struct CaseNetwork {
    server: turn::TurnServer,
    paths: Vec<PeerPath>,
    passwords: HashMap<String, String>,
    clock: Clock,
}

impl CaseNetwork {
    /// Starts the server on `ip` and a path per peer that has ICE servers; `None` when no peer of
    /// the scenario has any.
    pub async fn start(scenario: &Scenario, ip: IpAddr, clock: Clock) -> Result<Option<CaseNetwork>, NetError> {
        if !scenario.uses_ice_servers() {
            return Ok(None);
        }
        // A fresh password per peer and case: a stale or copied credential is refused.
        let nonce = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        let passwords: HashMap<String, String> = scenario.peers.iter().map(|p| (p.name.clone(), format!("{}-{}", p.name, &nonce[nonce.len().saturating_sub(10)..]))).collect();
        let server = turn::TurnServer::start(ip, scenario.turn_port.unwrap_or(0), passwords.clone()).await?;
        let mut paths = Vec::new();
        for (i, p) in scenario.peers.iter().enumerate().filter(|(_, p)| !p.ice_servers.is_empty()) {
            let seed = scenario.seed.wrapping_mul(0x9E37_79B9).wrapping_add(i as u64);
            match PeerPath::start(&p.name, ip, server.addr(), &p.network, seed, clock).await {
                Ok(path) => paths.push(path),
                Err(e) => {
                    for path in paths {
                        path.stop().await;
                    }
                    server.stop().await;
                    return Err(e);
                }
            }
        }
        Ok(Some(CaseNetwork { server, paths, passwords, clock }))
    }

    pub fn path(&self, peer: &str) -> Option<&PeerPath> {
        self.paths.iter().find(|p| p.peer() == peer)
    }

    /// `RTCIceServer`s (W3C webrtc-pc section 4.2.2) for `peer`, every URL pointing at the
    /// peer's own path.
    pub fn ice_servers(&self, scenario: &Scenario, peer: &str) -> Vec<serde_json::Value> {
        let (Some(spec), Some(path)) = (scenario.peer(peer), self.path(peer)) else { return Vec::new() };
        let addr = path.addr();
        spec.ice_servers
            .iter()
            .map(|s| match s {
                IceServer::Stun => serde_json::json!({"urls": [format!("stun:{addr}")]}),
                IceServer::Turn { username, credential } => serde_json::json!({
                    "urls": [format!("turn:{addr}?transport=udp")],
                    "username": username.clone().unwrap_or_else(|| peer.to_string()),
                    "credential": credential.clone().unwrap_or_else(|| self.passwords[peer].clone()),
                }),
            })
            .collect()
    }

    /// Network changes since the last drain, for the transcript.
    pub fn drain(&self) -> Vec<Entry> {
        self.paths.iter().flat_map(|p| p.drain()).collect()
    }

    /// Each path's record as it stands, as transcript entries (`net_record`).
    pub fn records(&self) -> Vec<Entry> {
        self.paths
            .iter()
            .map(|p| Entry { at: self.clock.now(), peer: p.peer().to_string(), event: Event::NetRecord { record: serde_json::to_value(p.record()).unwrap_or_default() } })
            .collect()
    }

    pub async fn stop(self) {
        for p in self.paths {
            p.stop().await;
        }
        self.server.stop().await;
    }
}

/// The address ICE servers listen on: this host's first non-loopback IPv4 address that is up
/// (Firefox refuses a TURN server on 127.0.0.1 unless `media.peerconnection.ice.loopback` is set;
/// docs/networks.md), else 127.0.0.1.
pub fn host_ip() -> IpAddr {
    let mut found = None;
    unsafe {
        let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut ifap) == 0 {
            let mut cur = ifap;
            while !cur.is_null() && found.is_none() {
                let ifa = &*cur;
                let up = ifa.ifa_flags & libc::IFF_UP as u32 != 0 && ifa.ifa_flags & libc::IFF_LOOPBACK as u32 == 0;
                if up && !ifa.ifa_addr.is_null() && (*ifa.ifa_addr).sa_family as i32 == libc::AF_INET {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    found = Some(IpAddr::V4(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
                }
                cur = ifa.ifa_next;
            }
            libc::freeifaddrs(ifap);
        }
    }
    found.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use crate::scenario::PeerKind;
    use std::path::PathBuf;
    use std::time::Duration;

    const SCENARIO: &str = "
peers:
  - name: alice
    kind: all
    ice_servers: [stun, turn]
    ice_transport_policy: relay
    network: {latency: 30ms}
  - name: bob
    kind: all
    ice_servers: [stun]
";

    /// A STUN Binding request (RFC 8489 section 5) with transaction id `tid`.
    fn binding(tid: u8) -> Vec<u8> {
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        m.extend([tid; 12]);
        m
    }

    /// The server answers a Binding through each peer's path (alice's 30 ms slower each way), the
    /// paths record it, and stopping the case leaves no task and no socket behind.
    #[test]
    fn a_case_network_serves_stun_through_each_path_and_leaves_nothing_behind() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let kinds = [PeerKind::new("rust").unwrap()];
            let scenario = load_str(SCENARIO, "t.yaml", "t", PathBuf::from("t.yaml"), &kinds).unwrap();
            let baseline = tokio::runtime::Handle::current().metrics().num_alive_tasks();
            let ip = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
            let net = CaseNetwork::start(&scenario, ip, Clock::start()).await.unwrap().expect("peers have servers");
            let servers = net.ice_servers(&scenario, "alice");
            assert_eq!(servers.len(), 2);
            assert_eq!(servers[1]["username"], "alice");
            let mut ports = vec![net.server.addr()];
            let mut rtt = Vec::new();
            for peer in ["alice", "bob"] {
                let path = net.path(peer).unwrap().addr();
                ports.push(path);
                let client = tokio::net::UdpSocket::bind((ip, 0)).await.unwrap();
                let sent = std::time::Instant::now();
                client.send_to(&binding(7), path).await.unwrap();
                let mut buf = [0u8; 1500];
                let (n, from) = tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf)).await.expect("an answer").unwrap();
                rtt.push(sent.elapsed());
                assert_eq!((from, path::stun_type(&buf[..n])), (path, Some(0x0101)), "a Binding success response, through the path");
            }
            // A lower bound only: the delay is a floor the path guarantees. How fast bob's
            // perfect path answers depends on the machine's load, so it is not asserted here
            // (the impairment engine's own tests check a perfect path on a virtual clock).
            assert!(rtt[0] >= Duration::from_millis(60), "alice's path adds 30 ms each way: {:?}", rtt[0]);
            let records = net.records();
            assert_eq!(records.len(), 2);
            assert!(records.iter().all(|e| matches!(&e.event, Event::NetRecord { record } if record["binding_requests"] == 1)));
            net.stop().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(tokio::runtime::Handle::current().metrics().num_alive_tasks(), baseline, "every task of the case ended");
            for port in ports {
                std::net::UdpSocket::bind(port).unwrap_or_else(|e| panic!("{port} is still held: {e}"));
            }
        });
    }
}
