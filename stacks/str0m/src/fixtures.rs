//! The pre-encoded fixtures the adapter sends (str0m encodes nothing): VP8 frames from IVF and
//! Opus packets from Ogg, read once per process.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// One VP8 frame or one Opus packet, with its duration in RTP clock ticks (90 kHz video, 48 kHz
/// audio: RFC 7741 section 4.1, RFC 7587 section 4.1).
pub struct Sample {
    pub data: Arc<[u8]>,
    pub ticks: u64,
    /// A VP8 keyframe: bit 0 of the frame tag clear (RFC 6386 section 9.1).
    pub key: bool,
}

pub type Samples = Arc<Vec<Sample>>;

static CACHE: LazyLock<Mutex<HashMap<String, Samples>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The samples of a fixture, read on first use.
pub fn load(kind: &str, path: &str) -> Result<Samples, String> {
    let key = format!("{kind}:{path}");
    let mut cache = CACHE.lock().map_err(|_| "fixture cache poisoned".to_string())?;
    if let Some(s) = cache.get(&key) {
        return Ok(s.clone());
    }
    let raw = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let samples = if kind == "video" { read_ivf(&raw) } else { read_ogg_opus(&raw) }.map_err(|e| format!("{path}: {e}"))?;
    let samples = Arc::new(samples);
    cache.insert(key, samples.clone());
    Ok(samples)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// IVF: a 32-byte header ("DKIF", header length at 6, time base rate at 16 and scale at 20), then
/// frames of a 12-byte header (size, timestamp) and the data. The frame duration is the time
/// base, 30 fps when the header has none.
fn read_ivf(raw: &[u8]) -> Result<Vec<Sample>, String> {
    if raw.len() < 32 || &raw[0..4] != b"DKIF" {
        return Err("not an IVF file".into());
    }
    let (rate, scale) = (u32_at(raw, 16) as u64, u32_at(raw, 20) as u64);
    let ticks = if rate > 0 && scale > 0 { 90_000 * scale / rate } else { 3000 };
    let mut off = u16_at(raw, 6) as usize;
    let mut out = Vec::new();
    while off + 12 <= raw.len() {
        let size = u32_at(raw, off) as usize;
        let data = raw.get(off + 12..off + 12 + size).ok_or("truncated IVF frame")?;
        out.push(Sample { data: data.into(), ticks, key: !data.is_empty() && data[0] & 0x01 == 0 });
        off += 12 + size;
    }
    if out.first().map(|s| s.key) != Some(true) {
        return Err("no frames, or the first is not a keyframe".into());
    }
    Ok(out)
}

/// Ogg pages split into packets (RFC 3533 section 6: a lacing value below 255 ends a packet,
/// which may span pages); OpusHead and OpusTags skipped (RFC 7845 section 5).
fn read_ogg_opus(raw: &[u8]) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut off = 0;
    while off + 27 <= raw.len() {
        if &raw[off..off + 4] != b"OggS" {
            return Err(format!("bad Ogg page at byte {off}"));
        }
        let nseg = raw[off + 26] as usize;
        let lacing = raw.get(off + 27..off + 27 + nseg).ok_or("truncated Ogg page")?;
        let mut data = off + 27 + nseg;
        for &l in lacing {
            let seg = raw.get(data..data + l as usize).ok_or("truncated Ogg segment")?;
            partial.extend_from_slice(seg);
            data += l as usize;
            if l < 255 {
                let p = std::mem::take(&mut partial);
                if p.is_empty() || p.starts_with(b"OpusHead") || p.starts_with(b"OpusTags") {
                    continue;
                }
                let ticks = opus_ticks(&p);
                out.push(Sample { data: p.into(), ticks, key: true });
            }
        }
        off = data;
    }
    if out.is_empty() {
        return Err("no Opus packets".into());
    }
    Ok(out)
}

/// A packet's duration at 48 kHz: the TOC configuration's frame size times the frame count
/// (RFC 6716 section 3.1).
fn opus_ticks(p: &[u8]) -> u64 {
    let config = p[0] >> 3;
    // Frame sizes in 48 kHz ticks: SILK 10/20/40/60 ms, hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
    let frame: u64 = match config {
        0..=11 => [480, 960, 1920, 2880][(config % 4) as usize],
        12..=15 => [480, 960][(config % 2) as usize],
        _ => [120, 240, 480, 960][(config % 4) as usize],
    };
    let frames = match p[0] & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => p.get(1).map(|b| (b & 0x3f) as u64).unwrap_or(1),
    };
    frame * frames
}
