//! The frame marker through a real encoder (docs/markers.md): 90 frames of a moving picture, each
//! marked, encoded by libvpx (GStreamer's vp8enc / vp9enc) at 100 kbps, decoded, and scaled to
//! half size on the way out; the marker must be read from almost every frame, and never wrong.

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
    ["vp8", "vp9"].into_iter().map(|codec| Trial::ignorable_test(format!("marker::{codec}_100kbps_half_size"), move || run(codec))).collect()
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
