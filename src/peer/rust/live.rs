//! The Rust peer's live video for cases that read frame markers (docs/markers.md): a moving
//! 320x240 picture with the marker painted in, encoded to VP8 by libvpx at 30 fps as it is sent,
//! and a keyframe at once for every keyframe request (PLI, FIR); and the receive side's libvpx
//! decoder, whose pictures the marker is read from. `media::live_pump` sends its frames.
//!
//! The pre-encoded file stays the peer's video everywhere else (the bench's floors, the plain
//! media cases): it costs no encoding.

use super::vpx::{EncoderSettings, Vp8Decoder, Vp8Encoder, VpxError};
use crate::marker::{self, Marker};
use std::time::Duration;

pub const WIDTH: usize = 320;
pub const HEIGHT: usize = 240;
pub const FPS: u32 = 30;
pub const FRAME: Duration = Duration::from_nanos(1_000_000_000 / FPS as u64);
/// A camera call's rate at this size: the marker's cells need far less (docs/markers.md: it reads
/// at 100 kbps), the moving bar keeps the encoder busy as a picture would.
const BITRATE_KBPS: u32 = 300;
/// A keyframe at least every 10 s besides the ones asked for, as browsers' encoders send.
const KEYFRAME_MAX_DISTANCE: u32 = 300;

/// Paints and encodes one frame after another.
pub struct LiveVideo {
    encoder: Vp8Encoder,
    /// I420: the luma plane, then the two quarter-size chroma planes (grey).
    picture: Vec<u8>,
    frames: usize,
}

impl LiveVideo {
    pub fn new() -> Result<LiveVideo, VpxError> {
        let settings = EncoderSettings { width: WIDTH as u32, height: HEIGHT as u32, fps: FPS, bitrate_kbps: BITRATE_KBPS, keyframe_max_distance: KEYFRAME_MAX_DISTANCE };
        Ok(LiveVideo { encoder: Vp8Encoder::new(&settings)?, picture: vec![128u8; WIDTH * HEIGHT * 3 / 2], frames: 0 })
    }

    /// The next frame: the picture with `marker`, encoded (a keyframe when `keyframe`). Returns
    /// the VP8 frames libvpx made of it.
    pub fn encode(&mut self, marker: Marker, keyframe: bool) -> Result<Vec<Vec<u8>>, VpxError> {
        self.paint(marker);
        self.frames += 1;
        self.encoder.encode(&mut self.picture, keyframe)
    }

    /// A bar that moves 4 pixels a frame below the marker's band, over a flat background.
    fn paint(&mut self, marker: Marker) {
        let y = &mut self.picture[..WIDTH * HEIGHT];
        y.fill(96);
        let x0 = (self.frames * 4) % WIDTH;
        for line in y[HEIGHT / 3 * WIDTH..].chunks_mut(WIDTH) {
            line[x0..(x0 + 40).min(WIDTH)].fill(200);
        }
        marker::paint(y, WIDTH, HEIGHT, marker);
    }
}

/// Decodes VP8 frames and reads the marker of each picture shown.
pub struct MarkerReader {
    decoder: Vp8Decoder,
}

impl MarkerReader {
    pub fn new() -> Result<MarkerReader, VpxError> {
        Ok(MarkerReader { decoder: Vp8Decoder::new()? })
    }

    /// The marker of each picture `frame` decodes to (`None`: a picture without one that reads).
    pub fn read(&mut self, frame: &[u8]) -> Result<Vec<Option<Marker>>, VpxError> {
        let mut read = Vec::new();
        self.decoder.decode(frame, |luma| read.push(marker::read_strided(luma.plane, luma.width, luma.height, luma.stride)))?;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_survive_a_libvpx_round_trip_and_a_forced_keyframe_is_one() {
        let mut video = LiveVideo::new().unwrap();
        let mut reader = MarkerReader::new().unwrap();
        let mut read = Vec::new();
        for i in 0..60u16 {
            let keyframe = i == 40;
            let frames = video.encode(Marker::new(5, 0, i).unwrap(), keyframe).unwrap();
            for f in frames {
                if keyframe {
                    assert!(super::super::vp8::keyframe_size(&f).is_some(), "frame {i} was asked to be a keyframe");
                } else if i > 0 {
                    assert!(super::super::vp8::keyframe_size(&f).is_none(), "frame {i}: no keyframe unless asked");
                }
                read.extend(reader.read(&f).unwrap());
            }
        }
        assert!(read.len() >= 55, "{} of 60 frames came out", read.len());
        let indices: Vec<u16> = read.iter().map(|m| m.expect("every picture reads").index).collect();
        assert!(indices.windows(2).all(|w| w[1] > w[0]), "in order: {indices:?}");
        assert!(read.iter().all(|m| m.is_some_and(|m| m.sender == 5)));
    }

    #[test]
    fn a_decoder_joining_at_a_keyframe_reads_from_there() {
        let mut video = LiveVideo::new().unwrap();
        let frames: Vec<Vec<u8>> = (0..20u16).flat_map(|i| video.encode(Marker::new(1, 0, i).unwrap(), i == 10).unwrap()).collect();
        let from = frames.iter().skip(1).position(|f| super::super::vp8::keyframe_size(f).is_some()).expect("the forced keyframe") + 1;
        let mut reader = MarkerReader::new().unwrap();
        let read: Vec<Option<Marker>> = frames[from..].iter().flat_map(|f| reader.read(f).unwrap()).collect();
        assert_eq!(read.first().copied().flatten().map(|m| m.index), Some(10));
    }
}
