//! Gathering: str0m gathers nothing ("NIC enumeration and TURN (and STUN)" are the
//! application's, its crate docs), so the adapter adds the host candidates of its sockets and,
//! with a STUN server, the server-reflexive ones of its own Binding requests (stun.rs). Reported
//! as `local_candidate` / `end_of_candidates`, trickled after their description (RFC 8838).

use std::time::Instant;

use serde_json::json;
use str0m::Candidate;

use crate::case::Case;
use crate::proto::log;
use crate::stun;

impl Case {
    /// Gathers the host candidates once: one per bound socket, added to str0m (which gathers
    /// nothing itself). They are reported, and with trickle sent after the description they
    /// belong to, then the end-of-candidates (RFC 8838 sections 4.1 and 4.4).
    pub fn gather(&mut self) {
        if self.sig.gathered {
            return;
        }
        self.sig.gathered = true;
        self.set_gathering("gathering");
        for addr in self.sig.host_addrs.clone() {
            let c = match Candidate::host(addr, "udp") {
                Ok(c) => c,
                Err(e) => {
                    log(&format!("host candidate {addr}: {e}"));
                    continue;
                }
            };
            self.add_local(c);
        }
        if !self.sig.stun_servers.is_empty() {
            if self.cfg.trickle {
                self.send_binding_requests();
                return;
            }
            // Without trickle the description waits for nothing: srflx needs trickle here.
            log("STUN servers not used without trickle: the description carries host candidates only");
        }
        self.finish_gathering();
    }

    /// A local candidate: added to str0m, reported, trickled after its description.
    fn add_local(&mut self, c: Candidate) {
        let Some(line) = self.rtc.add_local_candidate(c).map(|c| c.to_sdp_string()) else { return };
        self.drive();
        self.emit(json!({"type": "local_candidate", "candidate": line}));
        if self.cfg.trickle {
            let msg = json!({"candidate": {"candidate": line, "sdpMid": self.sig.mid, "sdpMLineIndex": 0, "usernameFragment": self.sig.ufrag}});
            self.relay.send(&msg);
        }
    }

    /// One Binding request per host socket and STUN server; gathering ends with the last
    /// response, or after 2 s (a server that does not answer ends no call).
    fn send_binding_requests(&mut self) {
        let mut n = 0;
        for base in self.sig.host_addrs.clone() {
            for server in self.sig.stun_servers.clone() {
                n += 1;
                let (id, msg) = stun::binding_request(n);
                self.send_raw(base, server, &msg);
                self.sig.stun.requests.push((id, base));
            }
        }
        self.sig.stun.deadline = Some(Instant::now() + std::time::Duration::from_secs(2));
    }

    /// A datagram that answers one of our Binding requests is ours, not str0m's.
    pub fn stun_response(&mut self, d: &crate::net::Datagram) -> bool {
        if self.sig.stun.requests.is_empty() {
            return false;
        }
        let Some((id, mapped)) = stun::parse_success(&d.data) else { return false };
        let Some(base) = self.sig.stun.take(&id) else { return false };
        match Candidate::server_reflexive(mapped, base, "udp") {
            Ok(c) => {
                self.sig.srflx.push(mapped);
                self.add_local(c);
            }
            Err(e) => log(&format!("srflx candidate {mapped}: {e}")),
        }
        if self.sig.stun.requests.is_empty() {
            self.finish_gathering();
        }
        true
    }

    /// Gathering gives up on the servers that did not answer.
    pub fn stun_deadline(&mut self) {
        if self.sig.stun.deadline.is_some_and(|d| d <= Instant::now()) {
            log(&format!("{} STUN Binding request(s) unanswered after 2 s", self.sig.stun.requests.len()));
            self.finish_gathering();
        }
    }

    fn finish_gathering(&mut self) {
        self.sig.stun = stun::Pending::default();
        self.emit(json!({"type": "end_of_candidates", "form": "null"}));
        self.set_gathering("complete");
        if self.cfg.trickle {
            self.relay.send(&json!({"candidate": null}));
        }
    }
}
