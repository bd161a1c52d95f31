//! The Rust peer's media: VP8 from `fixtures/media/video.ivf` and Opus from `audio.ogg`, looped and
//! paced in real time, or painted marked video encoded as it goes (`live`); and the receive side,
//! which reports the first complete VP8 keyframe and the first Opus packet, and reads markers.

use super::live::{LiveVideo, FRAME};
use super::markers::Painter;
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

/// The SSRC and payload type `track` is sent with, once the sender has a negotiated codec (polled:
/// the sender exists before the answer that gives it one); `None` when the track has no SSRC.
async fn negotiated(track: &TrackLocalStaticSample, sender: &Arc<dyn RtpSender>, mut connected: tokio::sync::watch::Receiver<bool>) -> Option<(u32, u8)> {
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
    Some((track.ssrcs().await.first().copied()?, payload_type))
}

/// Sends `clip` on `track` in a loop, paced by each sample's duration, once the sender has a
/// negotiated codec. A keyframe request (PLI/FIR) restarts the clip from the keyframe of the
/// current group, at once.
pub async fn pump(track: Arc<TrackLocalStaticSample>, sender: Arc<dyn RtpSender>, kind: MediaKind, clip: &'static Clip, connected: tokio::sync::watch::Receiver<bool>) {
    let Some((ssrc, payload_type)) = negotiated(&track, &sender, connected).await else { return };
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

/// Paints, encodes ([`super::live`]) and sends a frame every [`FRAME`] on `track` once it is negotiated, with the
/// marker `painter` gives and its `frame_painted` samples; a keyframe request (PLI/FIR, from
/// `keyframe::KeyframeRequests`) makes the next frame a keyframe (RFC 4585 section 6.3.1).
pub(crate) async fn live_pump(
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    painter: Arc<std::sync::Mutex<Painter>>,
    sink: Sink,
    connected: tokio::sync::watch::Receiver<bool>,
) {
    let Some((ssrc, payload_type)) = negotiated(&track, &sender, connected).await else { return };
    let mut video = match LiveVideo::new() {
        Ok(v) => v,
        Err(e) => return sink.emit(Event::Error { context: "video encoder".into(), message: e.to_string() }),
    };
    let mut keyframe = true;
    let mut due = tokio::time::Instant::now();
    loop {
        let (marker, painted) = painter.lock().expect("painter").next(Instant::now());
        if let Some(event) = painted {
            sink.emit(event);
        }
        let frames = match video.encode(marker, keyframe) {
            Ok(frames) => frames,
            Err(e) => return sink.emit(Event::Error { context: "video encoder".into(), message: e.to_string() }),
        };
        keyframe = false;
        for data in frames {
            let sample = Sample { data: data.into(), duration: FRAME, ..Sample::new(Instant::now()) };
            // Errors: not negotiated yet after a renegotiation, or closing; keep pacing.
            let _ = track.sample_writer(ssrc, payload_type).write_sample(&sample).await;
        }
        // Behind by more than a few frames (a starved task): go on from now, not in a burst.
        due = (due + FRAME).max(tokio::time::Instant::now() - FRAME * 3);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                ev = track.poll() => match ev {
                    Some(TrackLocalEvent::OnRtcpPacket(_)) => keyframe = true,
                    Some(_) => {}
                    None => return,
                },
            }
        }
    }
}

/// Shortest gap between two keyframe requests while no keyframe has arrived: about one frame, so
/// a lost request is repeated soon without flooding the sender with one per packet.
const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(20);
/// Shortest gap between two keyframe requests after a loss: a sender answers each with a
/// keyframe, and several in flight at once only add to the load that lost the packets.
const KEYFRAME_REREQUEST_GAP: Duration = Duration::from_millis(250);

/// Asks the sender of `ssrc` for a keyframe (PLI, RFC 4585 section 6.3.1).
async fn request_keyframe(track: &Arc<dyn TrackRemote>, ssrc: Option<u32>) {
    if let Some(ssrc) = ssrc {
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
        let _ = track.write_rtcp(vec![Box::new(pli)]).await;
    }
}

/// What a receiver that reads frame markers needs: a decoder for this track and the peer's record.
struct Reading {
    reader: super::live::MarkerReader,
    record: Arc<std::sync::Mutex<super::markers::Record>>,
}

/// Reads a remote track: reports the track, the first keyframe / packet and progress; with the
/// peer's marker `record`, decodes every video frame and records the marker of each picture.
///
/// Video: until the first keyframe, a keyframe is requested when the track appears and on every
/// undecodable frame, at most once per [`KEYFRAME_REQUEST_GAP`]: what a decoder with nothing to
/// decode does. A decoder also waits for (and asks for) a keyframe after lost packets, which the
/// frames after them may refer to.
pub(crate) async fn receive(track: Arc<dyn TrackRemote>, sink: Sink, record: Option<Arc<std::sync::Mutex<super::markers::Record>>>) {
    let kind = match track.kind().await {
        RtpCodecKind::Video => MediaKind::Video,
        _ => MediaKind::Audio,
    };
    let emit = |event: Event| sink.emit(event);
    // A decoder for each video track of a peer that reads markers.
    let mut reading = match record.filter(|_| kind == MediaKind::Video) {
        Some(record) => match super::live::MarkerReader::new() {
            Ok(reader) => Some(Reading { reader, record }),
            Err(e) => {
                emit(Event::Error { context: "video decoder".into(), message: e.to_string() });
                None
            }
        },
        None => None,
    };
    emit(Event::Track { kind: kind.to_string() });
    let ssrc = track.ssrcs().await.first().copied();
    let mut last_request: Option<Instant> = None;
    if kind == MediaKind::Video {
        request_keyframe(&track, ssrc).await;
        last_request = Some(Instant::now());
    }
    let mut assembler = Vp8Assembler::default();
    let mut count = 0u64;
    let mut state = VideoState::default();
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
                for frame in assembler.push(pkt.header.sequence_number, pkt.header.marker, &pkt.payload, pkt.header.timestamp, Instant::now()) {
                    video_frame(frame, &mut state, reading.as_mut(), &emit);
                }
                if state.wants_keyframe && last_request.is_none_or(|t| t.elapsed() >= state.request_gap()) {
                    request_keyframe(&track, ssrc).await;
                    last_request = Some(Instant::now());
                }
            }
        }
    }
}

/// The receive side's video state between frames.
#[derive(Default)]
struct VideoState {
    count: u64,
    seen_keyframe: bool,
    /// Frames after lost packets are not decoded until a keyframe (only when reading markers:
    /// frames are counted regardless otherwise, as before).
    waiting: bool,
    wants_keyframe: bool,
}

impl VideoState {
    /// First keyframe: ask often (nothing to show yet); after a loss, about a round trip and a
    /// keyframe's encoding apart, not a request per frame that a sender would answer with a
    /// keyframe each.
    fn request_gap(&self) -> Duration {
        if self.seen_keyframe {
            KEYFRAME_REREQUEST_GAP
        } else {
            KEYFRAME_REQUEST_GAP
        }
    }
}

/// One reassembled frame: counted, reported, and with `reading`, decoded and read.
fn video_frame(frame: super::vp8::Frame, state: &mut VideoState, reading: Option<&mut Reading>, emit: &impl Fn(Event)) {
    state.waiting |= frame.after_loss && reading.is_some();
    // Frames before the first keyframe cannot be decoded: they do not count.
    if !state.seen_keyframe || state.waiting {
        let Some((width, height)) = frame.keyframe else {
            state.wants_keyframe = true;
            return;
        };
        if !state.seen_keyframe {
            emit(Event::FirstFrame { kind: "video".into(), width, height });
        }
        state.seen_keyframe = true;
        state.waiting = false;
    }
    state.wants_keyframe = false;
    state.count += 1;
    if state.count.is_multiple_of(VIDEO_PROGRESS_EVERY) {
        emit(Event::MediaProgress { kind: "video".into(), count: state.count });
    }
    if let Some(r) = reading {
        match r.reader.read(&frame.data) {
            Ok(markers) => {
                for marker in markers {
                    let events = r.record.lock().expect("record").frame(marker, Instant::now());
                    events.into_iter().for_each(emit);
                }
            }
            // A corrupt frame: nothing is shown until the next keyframe.
            Err(_) => {
                state.waiting = true;
                state.wants_keyframe = true;
            }
        }
    }
}
