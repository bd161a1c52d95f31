//! The Rust peer's media: VP8 from `fixtures/media/video.ivf` and Opus from `audio.ogg`, looped and
//! paced in real time; and the receive side, which reports the first complete VP8 keyframe and the
//! first Opus packet.

use super::vp8::Vp8Assembler;
use super::Sink;
use crate::scenario::MediaKind;
use crate::transcript::Event;
use bytes::Bytes;
use rtc::media::io::ivf_reader::IVFReader;
use rtc::media::io::ogg_reader::OggReader;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::Track;
use webrtc::rtp_transceiver::RtpSender;

/// Frames (or packets) between two `media_progress` events.
pub const VIDEO_PROGRESS_EVERY: u64 = 10;
pub const AUDIO_PROGRESS_EVERY: u64 = 50;

/// Decoded-once media: each frame or page with its duration.
pub struct Clip {
    pub samples: Vec<(Bytes, Duration)>,
}

impl Clip {
    /// The keyframe at or before `i` (VP8: frame tag bit 0 clear, RFC 6386 section 9.1); the
    /// sample itself for audio, where every packet stands alone.
    fn keyframe_at_or_before(&self, i: usize, kind: MediaKind) -> usize {
        if kind == MediaKind::Audio {
            return i;
        }
        (0..=i).rev().find(|&j| self.samples[j].0.first().is_some_and(|b| b & 1 == 0)).unwrap_or(0)
    }
}

/// `fixtures/media` of this crate (the run's options may name another directory).
pub fn default_media_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media")
}

fn load_ivf(path: &Path) -> Result<Clip, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut ivf, header) = IVFReader::new(std::io::BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
    let frame_time = Duration::from_secs_f64(header.timebase_numerator as f64 / header.timebase_denominator as f64);
    let mut samples = Vec::new();
    while let Ok((frame, _)) = ivf.parse_next_frame() {
        samples.push((frame.freeze(), frame_time));
    }
    Ok(Clip { samples })
}

fn load_ogg(path: &Path) -> Result<Clip, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut ogg, _) = OggReader::new(std::io::BufReader::new(file), true).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut samples = Vec::new();
    let mut last_granule = 0u64;
    while let Ok((page, header)) = ogg.parse_next_page() {
        // The OpusTags page (granule 0) is a header, not audio (RFC 7845 section 5.2).
        if header.granule_position == 0 || page.starts_with(b"OpusTags") {
            continue;
        }
        let samples_48k = header.granule_position.saturating_sub(last_granule);
        last_granule = header.granule_position;
        samples.push((page.freeze(), Duration::from_micros(samples_48k * 1_000_000 / 48_000)));
    }
    Ok(Clip { samples })
}

/// The clip for `kind` from `files`, read from disk once per process and file (a cache, not
/// configuration: the files come with each peer's configuration).
pub fn clip(kind: MediaKind, files: &crate::peer::MediaFiles) -> Result<&'static Clip, super::RustPeerError> {
    type Cache = std::sync::Mutex<Vec<(PathBuf, &'static Result<Clip, String>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let path = match kind {
        MediaKind::Video => &files.video,
        MediaKind::Audio => &files.audio,
    };
    let loaded: &'static Result<Clip, String> = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
        match cache.iter().find(|(p, _)| p == path) {
            Some((_, c)) => c,
            None => {
                let c: &'static Result<Clip, String> = Box::leak(Box::new(match kind {
                    MediaKind::Video => load_ivf(path),
                    MediaKind::Audio => load_ogg(path),
                }));
                cache.push((path.clone(), c));
                c
            }
        }
    };
    match loaded {
        Ok(c) if c.samples.is_empty() => Err(super::RustPeerError::EmptyFixture { kind }),
        Ok(c) => Ok(c),
        Err(e) => Err(super::RustPeerError::Fixture(e.clone())),
    }
}

/// The codec the fixture is encoded in, as registered by `register_default_codecs`.
pub fn codec(kind: MediaKind) -> RTCRtpCodec {
    match kind {
        MediaKind::Video => RTCRtpCodec { mime_type: MIME_TYPE_VP8.to_owned(), clock_rate: 90_000, channels: 0, sdp_fmtp_line: String::new(), rtcp_feedback: vec![] },
        MediaKind::Audio => {
            RTCRtpCodec { mime_type: MIME_TYPE_OPUS.to_owned(), clock_rate: 48_000, channels: 2, sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(), rtcp_feedback: vec![] }
        }
    }
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    h.finish() as u32
}

/// A local track for `kind` in stream `stream_id`.
pub fn local_track(kind: MediaKind, stream_id: &str, n: usize) -> Result<Arc<TrackLocalStaticSample>, super::RustPeerError> {
    let rtp_kind = match kind {
        MediaKind::Video => RtpCodecKind::Video,
        MediaKind::Audio => RtpCodecKind::Audio,
    };
    let track = MediaStreamTrack::new(
        stream_id.to_owned(),
        format!("{stream_id}-{kind}-{n}"),
        format!("{kind} {n}"),
        rtp_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(random_u32()), ..Default::default() },
            codec: codec(kind),
            ..Default::default()
        }],
    );
    TrackLocalStaticSample::new(Instant::now(), track).map(Arc::new).map_err(super::RustPeerError::Setup)
}

/// Sends `clip` on `track` in a loop, paced by each sample's duration, once the sender has a
/// negotiated codec (polled: the sender exists before the answer that gives it one). A keyframe
/// request (PLI/FIR) restarts the clip from the keyframe of the current group, at once.
pub async fn pump(track: Arc<TrackLocalStaticSample>, sender: Arc<dyn RtpSender>, kind: MediaKind, clip: &'static Clip, mut connected: tokio::sync::watch::Receiver<bool>) {
    let payload_type = loop {
        if *connected.borrow() {
            if let Ok(params) = sender.get_parameters().await {
                if let Some(c) = params.rtp_parameters.codecs.first() {
                    break c.payload_type;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(5), connected.changed()).await;
    };
    let Some(ssrc) = track.ssrcs().await.first().copied() else { return };
    let mut due = tokio::time::Instant::now();
    let mut i = 0usize;
    loop {
        let (data, duration) = &clip.samples[i];
        let sample = Sample { data: data.clone(), duration: *duration, ..Sample::new(Instant::now()) };
        // Errors: not negotiated yet after a renegotiation, or closing; keep pacing.
        let _ = track.sample_writer(ssrc, payload_type).write_sample(&sample).await;
        i = (i + 1) % clip.samples.len();
        due += *duration;
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            ev = track.poll() => match ev {
                Some(TrackLocalEvent::OnRtcpPacket(_)) => {
                    i = clip.keyframe_at_or_before(i.saturating_sub(1), kind);
                    due = tokio::time::Instant::now();
                }
                Some(_) => {}
                None => return,
            },
        }
    }
}

/// Shortest gap between two keyframe requests while no keyframe has arrived: about one frame, so
/// a lost request is repeated soon without flooding the sender with one per packet.
const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(20);

/// Asks the sender of `ssrc` for a keyframe (PLI, RFC 4585 section 6.3.1).
async fn request_keyframe(track: &Arc<dyn TrackRemote>, ssrc: Option<u32>) {
    if let Some(ssrc) = ssrc {
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
        let _ = track.write_rtcp(vec![Box::new(pli)]).await;
    }
}

/// Reads a remote track: reports the track, the first keyframe / packet and progress.
///
/// Video: until the first keyframe, a keyframe is requested when the track appears and on every
/// undecodable frame, at most once per [`KEYFRAME_REQUEST_GAP`]: what a decoder with nothing to
/// decode does.
pub(crate) async fn receive(track: Arc<dyn TrackRemote>, sink: Sink) {
    let kind = match track.kind().await {
        RtpCodecKind::Video => MediaKind::Video,
        _ => MediaKind::Audio,
    };
    let emit = |event: Event| sink.emit(event);
    emit(Event::Track { kind: kind.to_string() });
    let ssrc = track.ssrcs().await.first().copied();
    let mut last_request: Option<Instant> = None;
    if kind == MediaKind::Video {
        request_keyframe(&track, ssrc).await;
        last_request = Some(Instant::now());
    }
    let mut assembler = Vp8Assembler::default();
    let mut count = 0u64;
    let mut seen_keyframe = false;
    while let Some(ev) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(pkt) = ev else {
            if matches!(ev, TrackRemoteEvent::OnEnded) {
                break;
            }
            continue;
        };
        match kind {
            MediaKind::Audio => {
                count += 1;
                if count == 1 {
                    emit(Event::FirstPacket { kind: "audio".into() });
                }
                if count.is_multiple_of(AUDIO_PROGRESS_EVERY) {
                    emit(Event::MediaProgress { kind: "audio".into(), count });
                }
            }
            MediaKind::Video => {
                let Some(frame) = assembler.push(pkt.header.sequence_number, pkt.header.marker, &pkt.payload) else {
                    continue;
                };
                // Frames before the first keyframe cannot be decoded: they do not count.
                if !seen_keyframe {
                    let Some((width, height)) = frame.keyframe else {
                        if last_request.is_none_or(|t| t.elapsed() >= KEYFRAME_REQUEST_GAP) {
                            request_keyframe(&track, ssrc).await;
                            last_request = Some(Instant::now());
                        }
                        continue;
                    };
                    seen_keyframe = true;
                    emit(Event::FirstFrame { kind: "video".into(), width, height });
                }
                count += 1;
                if count.is_multiple_of(VIDEO_PROGRESS_EVERY) {
                    emit(Event::MediaProgress { kind: "video".into(), count });
                }
            }
        }
    }
}
