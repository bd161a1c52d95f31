//! The few pieces of the STUN wire format (RFC 8489 section 5, 14) that the paths and the
//! server's socket read and write: message type, transaction id, attributes, error codes.

pub const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// The STUN message type of `packet`, if it is a STUN message (RFC 8489 section 5: first two
/// bits zero, the magic cookie at bytes 4-7).
pub fn stun_type(packet: &[u8]) -> Option<u16> {
    (packet.len() >= 20 && packet[0] & 0xC0 == 0 && packet[4..8] == MAGIC_COOKIE).then(|| u16::from_be_bytes([packet[0], packet[1]]))
}

/// The value of the first attribute of type `wanted` in a STUN message.
pub fn stun_attribute(packet: &[u8], wanted: u16) -> Option<&[u8]> {
    let len = u16::from_be_bytes([packet[2], packet[3]]) as usize;
    let body = packet.get(20..20 + len)?;
    let mut i = 0;
    while i + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[i], body[i + 1]]);
        let alen = u16::from_be_bytes([body[i + 2], body[i + 3]]) as usize;
        let value = body.get(i + 4..i + 4 + alen)?;
        if kind == wanted {
            return Some(value);
        }
        i += 4 + alen.div_ceil(4) * 4;
    }
    None
}

/// The ERROR-CODE attribute (0x0009) of a STUN error response: class * 100 + number.
pub fn stun_error_code(packet: &[u8]) -> Option<u16> {
    stun_attribute(packet, 0x0009).filter(|v| v.len() >= 4).map(|v| (v[2] & 0x07) as u16 * 100 + v[3] as u16)
}

pub fn transaction(packet: &[u8]) -> [u8; 12] {
    packet[8..20].try_into().expect("a STUN message has a transaction id")
}

pub const USERNAME: u16 = 0x0006;
pub const REALM_ATTR: u16 = 0x0014;
pub const NONCE: u16 = 0x0015;

/// A request (class bits 0b00, RFC 8489 section 5) and an error response (0b11).
pub fn is_request(kind: u16) -> bool {
    kind & 0x0110 == 0
}
pub fn is_error(kind: u16) -> bool {
    kind & 0x0110 == 0x0110
}

pub fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + value.len() + 3);
    out.extend(kind.to_be_bytes());
    out.extend((value.len() as u16).to_be_bytes());
    out.extend(value);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}
