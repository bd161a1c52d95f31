//! Server-reflexive gathering (RFC 8445 section 5.1.1.2) with the STUN servers of `ice_servers`:
//! str0m has no STUN client ("NIC enumeration and TURN (and STUN)" are the application's in its
//! crate docs), so the adapter sends one RFC 8489 Binding request from each host socket to each
//! server and adds the mapped address with `Candidate::server_reflexive`. The responses arrive on
//! the host sockets and are taken out before str0m sees the datagram.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const MAGIC: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const MAPPED_ADDRESS: u16 = 0x0001;

/// The `stun:` servers of the configuration, as socket addresses (IP literals: the harness gives
/// its own server as `stun:192.0.2.2:40123`).
pub fn servers(urls: &[String]) -> Vec<SocketAddr> {
    urls.iter()
        .filter_map(|u| u.strip_prefix("stun:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter_map(|hostport| hostport.parse::<SocketAddr>().ok().or_else(|| format!("{hostport}:3478").parse().ok()))
        .collect()
}

/// A fresh 96-bit transaction id (RFC 8489 section 5: uniformly random; a clock and a counter are
/// enough here, where no attacker is on the path).
fn transaction_id(n: u32) -> [u8; 12] {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&(nanos as u64).to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

/// A Binding request without attributes (RFC 8489 section 6: no authentication with a STUN server).
pub fn binding_request(n: u32) -> ([u8; 12], Vec<u8>) {
    let id = transaction_id(n);
    let mut msg = Vec::with_capacity(20);
    msg.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    msg.extend_from_slice(&0u16.to_be_bytes());
    msg.extend_from_slice(&MAGIC.to_be_bytes());
    msg.extend_from_slice(&id);
    (id, msg)
}

/// A Binding success response: its transaction id and the mapped address (XOR-MAPPED-ADDRESS,
/// RFC 8489 section 14.2; MAPPED-ADDRESS of RFC 3489 servers as a fallback). IPv4 only, as the
/// host sockets are.
pub fn parse_success(b: &[u8]) -> Option<([u8; 12], SocketAddr)> {
    if b.len() < 20 || u16::from_be_bytes([b[0], b[1]]) != BINDING_SUCCESS || u32::from_be_bytes([b[4], b[5], b[6], b[7]]) != MAGIC {
        return None;
    }
    let id: [u8; 12] = b[8..20].try_into().ok()?;
    let end = (20 + u16::from_be_bytes([b[2], b[3]]) as usize).min(b.len());
    let mut off = 20;
    let mut mapped = None;
    while off + 4 <= end {
        let typ = u16::from_be_bytes([b[off], b[off + 1]]);
        let len = u16::from_be_bytes([b[off + 2], b[off + 3]]) as usize;
        let v = b.get(off + 4..off + 4 + len)?;
        if (typ == XOR_MAPPED_ADDRESS || typ == MAPPED_ADDRESS) && len >= 8 && v[1] == 0x01 {
            let mut port = u16::from_be_bytes([v[2], v[3]]);
            let mut ip = u32::from_be_bytes([v[4], v[5], v[6], v[7]]);
            if typ == XOR_MAPPED_ADDRESS {
                port ^= (MAGIC >> 16) as u16;
                ip ^= MAGIC;
            }
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port);
            if typ == XOR_MAPPED_ADDRESS || mapped.is_none() {
                mapped = Some(addr);
            }
        }
        off += 4 + len.div_ceil(4) * 4;
    }
    Some((id, mapped?))
}

/// The Binding requests in flight: their ids and bases, and when gathering stops waiting.
#[derive(Default)]
pub struct Pending {
    pub requests: Vec<([u8; 12], SocketAddr)>,
    pub deadline: Option<Instant>,
}

impl Pending {
    /// The base of a response's request, removing it.
    pub fn take(&mut self, id: &[u8; 12]) -> Option<SocketAddr> {
        let i = self.requests.iter().position(|(r, _)| r == id)?;
        Some(self.requests.remove(i).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_mapped_address_round_trip() {
        let (id, req) = binding_request(7);
        assert_eq!(req.len(), 20);
        let mut resp = vec![0x01, 0x01, 0, 12];
        resp.extend_from_slice(&MAGIC.to_be_bytes());
        resp.extend_from_slice(&id);
        let port = 40000u16 ^ 0x2112;
        let ip = u32::from(Ipv4Addr::new(192, 0, 2, 2)) ^ MAGIC;
        resp.extend_from_slice(&[0, 0x20, 0, 8, 0, 1]);
        resp.extend_from_slice(&port.to_be_bytes());
        resp.extend_from_slice(&ip.to_be_bytes());
        assert_eq!(parse_success(&resp), Some((id, "192.0.2.2:40000".parse().unwrap())));
    }
}
