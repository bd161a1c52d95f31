//! The frame marker through a real encoder (docs/markers.md): 90 frames of a moving picture, each
//! marked, encoded by libvpx (GStreamer's vp8enc / vp9enc) at 100 kbps, decoded, and scaled to
//! half size on the way out; the marker must be read from almost every frame, and never wrong.
//! And the audio marker (`tone::opus_8kbps`): senders' tones and a silence through libopus.

use super::skip_unless_installed;
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::marker::{self, Marker};
use rtc_harness::scenario::PeerKind;
use std::path::Path;
use std::process::Command;

const W: usize = 320;
const H: usize = 240;
const FRAMES: usize = 90;
const BITRATE: u32 = 100_000;
const SENDER: u8 = 21;
const SOURCE: u8 = 3;
const FIRST: u16 = 65_500; // the index wraps within the run

pub fn trials() -> Vec<Trial> {
    let mut all: Vec<Trial> = ["vp8", "vp9"].into_iter().map(|codec| Trial::ignorable_test(format!("marker::{codec}_100kbps_half_size"), move || run(codec))).collect();
    all.push(Trial::ignorable_test("tone::opus_8kbps", opus));
    all
}

/// A frame of a moving picture (smooth waves drifting each frame, what a camera's content costs an
/// encoder), marked with frame `i`'s marker.
fn frame(i: usize) -> Vec<u8> {
    let mut yuv = vec![128u8; W * H * 3 / 2];
    let t = i as f64;
    for y in 0..H {
        for x in 0..W {
            let v = 128.0 + 70.0 * ((x as f64 + 3.0 * t) / 17.0).sin() * ((y as f64 - 2.0 * t) / 13.0).cos();
            yuv[y * W + x] = v as u8;
        }
    }
    marker::paint(&mut yuv[..W * H], W, H, Marker::new(SENDER, SOURCE, FIRST.wrapping_add(i as u16)).expect("in range"));
    yuv
}

fn run(codec: &str) -> Result<Completion, Failed> {
    // GStreamer is the gstreamer kind's stack: missing, this is ignored as its cases are.
    if let Some(skipped) = skip_unless_installed(&PeerKind::new("gstreamer").expect("a kind name"))? {
        return Ok(skipped);
    }
    let dir = tempfile::tempdir().map_err(|e| Failed::from(format!("a temporary directory: {e}")))?;
    let (src, dst) = (dir.path().join("in.yuv"), dir.path().join("out.yuv"));
    let raw: Vec<u8> = (0..FRAMES).flat_map(frame).collect();
    std::fs::write(&src, raw).map_err(|e| Failed::from(e.to_string()))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codec/roundtrip.py");
    let (ow, oh) = (W / 2, H / 2);
    let args = [
        script.display().to_string(),
        src.display().to_string(),
        dst.display().to_string(),
        W.to_string(),
        H.to_string(),
        codec.into(),
        BITRATE.to_string(),
        ow.to_string(),
        oh.to_string(),
    ];
    let out = Command::new("/usr/bin/python3").args(&args).output().map_err(|e| Failed::from(format!("/usr/bin/python3: {e}")))?;
    if !out.status.success() {
        return Err(Failed::from(format!("the {codec} round trip failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    let decoded = std::fs::read(&dst).map_err(|e| Failed::from(e.to_string()))?;
    let size = ow * oh * 3 / 2;
    let frames: Vec<&[u8]> = decoded.chunks_exact(size).collect();
    let reads: Vec<Option<Marker>> = frames.iter().map(|f| marker::read(&f[..ow * oh], ow, oh)).collect();
    check(&reads).map_err(|e| Failed::from(format!("{codec} at {} kbps, {W}x{H} -> {ow}x{oh}: {e}", BITRATE / 1000)))?;
    Ok(Completion::Completed)
}

/// Every frame came back; at least 95% of them read; each read names the sender and source and the
/// index its position says.
fn check(reads: &[Option<Marker>]) -> Result<(), String> {
    if reads.len() != FRAMES {
        return Err(format!("{} frames decoded of {FRAMES}", reads.len()));
    }
    let read = reads.iter().flatten().count();
    if read * 100 < FRAMES * 95 {
        return Err(format!("the marker was read in {read} of {FRAMES} frames"));
    }
    for (i, m) in reads.iter().enumerate() {
        let want = Marker::new(SENDER, SOURCE, FIRST.wrapping_add(i as u16)).expect("in range");
        if let Some(m) = m {
            if *m != want {
                return Err(format!("frame {i} read as {m:?}, painted as {want:?}"));
            }
        }
    }
    Ok(())
}

/// The audio marker's stretches for the Opus round trip: a sender's tone (or silence) and seconds.
const STRETCHES: &[(Option<u8>, f64)] = &[(Some(0), 1.0), (Some(13), 1.0), (Some(31), 1.0), (None, 0.5), (Some(21), 1.0)];
const OPUS_BITRATE: u32 = 8_000;

/// The tones of several senders and a silence, through libopus (GStreamer's opusenc/opusdec) at
/// 8 kbps, a quarter of what a WebRTC call's Opus runs at: every 40 ms window wholly inside a
/// stretch reads as that stretch, and no window anywhere names a sender that was not sent there.
fn opus() -> Result<Completion, Failed> {
    use rtc_harness::tone::{self, Heard};
    if let Some(skipped) = skip_unless_installed(&PeerKind::new("gstreamer").expect("a kind name"))? {
        return Ok(skipped);
    }
    const RATE: u32 = 48_000;
    let dir = tempfile::tempdir().map_err(|e| Failed::from(format!("a temporary directory: {e}")))?;
    let (src, dst) = (dir.path().join("in.raw"), dir.path().join("out.raw"));
    let mut raw = Vec::new();
    for (sender, seconds) in STRETCHES {
        let n = (f64::from(RATE) * seconds) as usize;
        let samples = sender.map(|s| tone::tone(s, RATE, 0, n)).unwrap_or_else(|| vec![0.0; n]);
        raw.extend(samples.iter().flat_map(|x| ((x * 32767.0).round() as i16).to_le_bytes()));
    }
    std::fs::write(&src, raw).map_err(|e| Failed::from(e.to_string()))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codec/opus_roundtrip.py");
    let args = [script.display().to_string(), src.display().to_string(), dst.display().to_string(), OPUS_BITRATE.to_string()];
    let out = Command::new("/usr/bin/python3").args(&args).output().map_err(|e| Failed::from(format!("/usr/bin/python3: {e}")))?;
    if !out.status.success() {
        return Err(Failed::from(format!("the Opus round trip failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    let decoded: Vec<f32> = std::fs::read(&dst).map_err(|e| Failed::from(e.to_string()))?.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
    let n = tone::window_len(RATE);
    let heard: Vec<Heard> = decoded.chunks_exact(n).map(|w| tone::classify(w, RATE)).collect();
    // Where each stretch starts and ends, in windows; the decoder's delay (a few ms) moves the
    // boundaries, so the windows touching one are only held to naming no stranger.
    let mut bounds = Vec::new();
    let mut at = 0.0;
    for (sender, seconds) in STRETCHES {
        let ms = seconds * 1000.0;
        bounds.push((at / tone::WINDOW_MS, (at + ms) / tone::WINDOW_MS, *sender));
        at += ms;
    }
    let want = |s: Option<u8>| s.map(Heard::Sender).unwrap_or(Heard::Silence);
    for (i, h) in heard.iter().enumerate() {
        let (lo, hi) = (i as f64, i as f64 + 1.0);
        let inside = bounds.iter().find(|(from, to, _)| lo >= from + 1.0 && hi <= to - 1.0);
        let near: Vec<Heard> = bounds.iter().filter(|(from, to, _)| hi > from - 1.0 && lo < to + 1.0).map(|b| want(b.2)).collect();
        let ok = match inside {
            Some(b) => *h == want(b.2),
            None => *h == Heard::Other || near.contains(h),
        };
        if !ok {
            return Err(Failed::from(format!("Opus at {} kbps: window {i} ({:.0} ms) heard as {h:?}; sent there: {near:?}", OPUS_BITRATE / 1000, lo * tone::WINDOW_MS)));
        }
    }
    let expected_windows = (at / tone::WINDOW_MS) as usize;
    if heard.len() + 2 < expected_windows {
        return Err(Failed::from(format!("{} windows decoded of {expected_windows}", heard.len())));
    }
    Ok(Completion::Completed)
}
