//! The network of a case: the built-in STUN/TURN server ([`turn`]) and, per peer given ICE
//! servers, its own path to it ([`path`]) whose conditions the impairment engine ([`impair`])
//! applies. The runner starts it before the peers, hands each peer its `ice_servers`, applies
//! `network` and `blackout` steps, and stops it with the case (no port or task outlives it).

pub mod impair;
pub mod path;
pub mod turn;

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
    pub async fn start(scenario: &Scenario, ip: IpAddr, clock: Clock) -> Result<Option<CaseNetwork>, String> {
        if !scenario.uses_ice_servers() {
            return Ok(None);
        }
        // A fresh password per peer and case: a stale or copied credential is refused.
        let nonce = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        let passwords: HashMap<String, String> = scenario
            .peers
            .iter()
            .map(|p| (p.name.clone(), format!("{}-{}", p.name, &nonce[nonce.len().saturating_sub(10)..])))
            .collect();
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
            .map(|p| Entry {
                at: self.clock.now(),
                peer: p.peer().to_string(),
                event: Event::NetRecord { record: serde_json::to_value(p.record()).unwrap_or_default() },
            })
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
/// `../shared/NETWORK.md`), else 127.0.0.1.
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
