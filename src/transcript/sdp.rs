//! Just enough SDP and candidate parsing for the checks and the normalized transcript.

/// One m= section: kind, direction, mid.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub kind: String,
    pub direction: String,
    pub mid: Option<String>,
}

/// The first `a=<name>:` value in the session or any section.
pub fn attr<'a>(sdp: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("a={name}:");
    sdp.lines().find_map(|l| l.trim_end().strip_prefix(prefix.as_str())).map(str::trim)
}

/// The ICE username fragment (RFC 8839 section 5.4); every section shares it under BUNDLE.
pub fn ufrag(sdp: &str) -> Option<&str> {
    attr(sdp, "ice-ufrag")
}

/// Whether the description advertises trickle ICE (`a=ice-options:trickle`, RFC 8838 section 3).
pub fn trickle(sdp: &str) -> bool {
    sdp.lines().any(|l| l.starts_with("a=ice-options:") && l.split_whitespace().any(|w| w.ends_with("trickle")))
}

/// The m= sections in order.
pub fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            let kind = m.split_whitespace().next().unwrap_or("").to_string();
            let direction = if kind == "application" { "-".to_string() } else { "sendrecv".to_string() };
            out.push(Section { kind, direction, mid: None });
        } else if let Some(s) = out.last_mut() {
            match line {
                "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive" => s.direction = line[2..].to_string(),
                _ => {
                    if let Some(mid) = line.strip_prefix("a=mid:") {
                        s.mid = Some(mid.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Candidate lines carried inside the SDP (non-trickle descriptions).
pub fn candidates(sdp: &str) -> Vec<&str> {
    sdp.lines().filter_map(|l| l.trim_end().strip_prefix("a=")).filter(|l| l.starts_with("candidate:")).collect()
}

/// `(type, transport)` of a candidate attribute (RFC 8839 section 5.1): `("host", "udp")`.
pub fn candidate_kind(candidate: &str) -> Option<(String, String)> {
    let body = candidate.trim().strip_prefix("a=").unwrap_or(candidate.trim());
    let body = body.strip_prefix("candidate:")?;
    let fields: Vec<&str> = body.split_whitespace().collect();
    let transport = fields.get(2)?.to_ascii_lowercase();
    let typ_at = fields.iter().position(|f| *f == "typ")?;
    Some((fields.get(typ_at + 1)?.to_string(), transport))
}

/// The `ufrag` extension attribute inside a candidate line, if any.
pub fn candidate_ufrag(candidate: &str) -> Option<&str> {
    let mut it = candidate.split_whitespace();
    while let Some(w) = it.next() {
        if w == "ufrag" {
            return it.next();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=sendrecv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\na=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\n";

    #[test]
    fn reads_sections_ufrag_and_candidates() {
        assert_eq!(ufrag(SDP), Some("abcd"));
        assert!(trickle(SDP));
        let s = sections(SDP);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].kind.as_str(), s[0].direction.as_str()), ("audio", "sendrecv"));
        assert_eq!((s[1].kind.as_str(), s[1].direction.as_str()), ("video", "recvonly"));
        assert_eq!(s[2].mid.as_deref(), Some("2"));
        assert_eq!(candidates(SDP).len(), 1);
        assert_eq!(candidate_kind(candidates(SDP)[0]), Some(("host".into(), "udp".into())));
        assert_eq!(candidate_ufrag("candidate:1 1 udp 1 1.2.3.4 9 typ host generation 0 ufrag Zx9 network-id 1"), Some("Zx9"));
    }
}
