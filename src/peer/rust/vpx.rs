//! The few libvpx calls the Rust peer's live video makes (VP8, `vpx_encoder.h`, `vpx_decoder.h`),
//! behind a safe interface: an encoder of I420 pictures that can be told to make a keyframe, and a
//! decoder that hands each decoded picture's luma plane to a closure.
//!
//! The one `unsafe` place of the peer. The bindings (`env-libvpx-sys`) are generated for the
//! installed libvpx, so the ABI versions passed to the init calls are the headers' own.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use vpx_sys::{vpx_codec_ctx_t, vpx_codec_err_t, vpx_img_fmt};

/// A failed libvpx call: what was done, and libvpx's words for it.
#[derive(Debug, thiserror::Error)]
#[error("libvpx: {doing}: {message}")]
pub struct VpxError {
    doing: &'static str,
    message: String,
}

fn check(err: vpx_codec_err_t, doing: &'static str) -> Result<(), VpxError> {
    if err == vpx_codec_err_t::VPX_CODEC_OK {
        return Ok(());
    }
    // SAFETY: vpx_codec_err_to_string returns a static NUL-terminated string for any code.
    let message = unsafe { CStr::from_ptr(vpx_sys::vpx_codec_err_to_string(err)) }.to_string_lossy().into_owned();
    Err(VpxError { doing, message })
}

/// Encoder settings: a real-time VP8 sender's.
pub struct EncoderSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// A keyframe at least every this many frames.
    pub keyframe_max_distance: u32,
}

/// A VP8 encoder of I420 pictures.
pub struct Vp8Encoder {
    ctx: Box<vpx_codec_ctx_t>,
    width: u32,
    height: u32,
    pts: i64,
}

// SAFETY: the context is owned by this value and used only through `&mut self`.
unsafe impl Send for Vp8Encoder {}

impl Vp8Encoder {
    /// CBR at the given rate with the real-time settings: no look-ahead (each frame out as it goes
    /// in), one thread, error-resilient (no frame depends on entropy state a lost one carried), and
    /// no frame dropped by rate control (a dropped frame would read as a skipped one).
    pub fn new(s: &EncoderSettings) -> Result<Vp8Encoder, VpxError> {
        // SAFETY: the config is written by vpx_codec_enc_config_default before it is read; the
        // context is zeroed, boxed (its address stays put) and initialised before any other call.
        unsafe {
            let iface = vpx_sys::vpx_codec_vp8_cx();
            let mut cfg = MaybeUninit::<vpx_sys::vpx_codec_enc_cfg_t>::zeroed().assume_init();
            check(vpx_sys::vpx_codec_enc_config_default(iface, &mut cfg, 0), "encoder defaults")?;
            cfg.g_w = s.width;
            cfg.g_h = s.height;
            cfg.g_timebase = vpx_sys::vpx_rational { num: 1, den: s.fps as i32 };
            cfg.g_threads = 1;
            cfg.g_lag_in_frames = 0;
            cfg.g_error_resilient = vpx_sys::VPX_ERROR_RESILIENT_DEFAULT;
            cfg.rc_end_usage = vpx_sys::vpx_rc_mode::VPX_CBR;
            cfg.rc_target_bitrate = s.bitrate_kbps;
            cfg.rc_dropframe_thresh = 0;
            cfg.kf_mode = vpx_sys::vpx_kf_mode::VPX_KF_AUTO;
            cfg.kf_min_dist = 0;
            cfg.kf_max_dist = s.keyframe_max_distance;
            let mut ctx = Box::new(MaybeUninit::<vpx_codec_ctx_t>::zeroed().assume_init());
            check(vpx_sys::vpx_codec_enc_init_ver(&mut *ctx, iface, &cfg, 0, vpx_sys::VPX_ENCODER_ABI_VERSION as i32), "encoder init")?;
            Ok(Vp8Encoder { ctx, width: s.width, height: s.height, pts: 0 })
        }
    }

    /// Encodes one I420 picture (`width * height * 3 / 2` bytes), a keyframe when `keyframe`;
    /// returns the frames libvpx made of it (one with these settings).
    pub fn encode(&mut self, i420: &mut [u8], keyframe: bool) -> Result<Vec<Vec<u8>>, VpxError> {
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(i420.len(), w * h * 3 / 2, "an I420 picture of {w}x{h}");
        let flags = if keyframe { vpx_sys::VPX_EFLAG_FORCE_KF as vpx_sys::vpx_enc_frame_flags_t } else { 0 };
        let mut frames = Vec::new();
        // SAFETY: the image only points into `i420`, which outlives the encode call (libvpx copies
        // the picture in real-time mode with no look-ahead); packets are copied out before the next
        // call on the context, which is when libvpx reuses their memory.
        unsafe {
            let mut img = MaybeUninit::<vpx_sys::vpx_image_t>::zeroed().assume_init();
            let wrapped = vpx_sys::vpx_img_wrap(&mut img, vpx_img_fmt::VPX_IMG_FMT_I420, self.width, self.height, 1, i420.as_mut_ptr());
            if wrapped.is_null() {
                return Err(VpxError { doing: "wrapping the picture", message: "vpx_img_wrap refused it".into() });
            }
            check(vpx_sys::vpx_codec_encode(&mut *self.ctx, &img, self.pts, 1, flags, vpx_sys::VPX_DL_REALTIME as _), "encoding")?;
            let mut iter: vpx_sys::vpx_codec_iter_t = std::ptr::null();
            loop {
                let pkt = vpx_sys::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter);
                if pkt.is_null() {
                    break;
                }
                if (*pkt).kind == vpx_sys::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    let f = (*pkt).data.frame;
                    frames.push(std::slice::from_raw_parts(f.buf as *const u8, f.sz).to_vec());
                }
            }
        }
        self.pts += 1;
        Ok(frames)
    }
}

impl Drop for Vp8Encoder {
    fn drop(&mut self) {
        // SAFETY: initialised in new, destroyed once.
        unsafe {
            vpx_sys::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}

/// A VP8 decoder.
pub struct Vp8Decoder {
    ctx: Box<vpx_codec_ctx_t>,
}

// SAFETY: as the encoder.
unsafe impl Send for Vp8Decoder {}

/// A decoded picture's luma plane, borrowed from the decoder until the next call.
pub struct Luma<'a> {
    pub plane: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes from one row to the next (at least `width`).
    pub stride: usize,
}

impl Vp8Decoder {
    pub fn new() -> Result<Vp8Decoder, VpxError> {
        // SAFETY: as in the encoder: zeroed, boxed, initialised before use.
        unsafe {
            let cfg = vpx_sys::vpx_codec_dec_cfg_t { threads: 1, w: 0, h: 0 };
            let mut ctx = Box::new(MaybeUninit::<vpx_codec_ctx_t>::zeroed().assume_init());
            check(vpx_sys::vpx_codec_dec_init_ver(&mut *ctx, vpx_sys::vpx_codec_vp8_dx(), &cfg, 0, vpx_sys::VPX_DECODER_ABI_VERSION as i32), "decoder init")?;
            Ok(Vp8Decoder { ctx })
        }
    }

    /// Decodes one frame and calls `picture` with the luma plane of each picture it shows.
    pub fn decode(&mut self, frame: &[u8], mut picture: impl FnMut(Luma<'_>)) -> Result<(), VpxError> {
        // SAFETY: the data pointer and length describe `frame`; each image returned belongs to the
        // decoder and stays valid until the next decode call, so it is only borrowed inside this
        // one. I420 is what VP8 decodes to: the luma plane is `stride * d_h` bytes.
        unsafe {
            check(vpx_sys::vpx_codec_decode(&mut *self.ctx, frame.as_ptr(), frame.len() as u32, std::ptr::null_mut(), 0), "decoding")?;
            let mut iter: vpx_sys::vpx_codec_iter_t = std::ptr::null();
            loop {
                let img = vpx_sys::vpx_codec_get_frame(&mut *self.ctx, &mut iter);
                if img.is_null() {
                    break;
                }
                let img = &*img;
                let stride = img.stride[0];
                if stride <= 0 || img.planes[0].is_null() {
                    continue;
                }
                let (width, height, stride) = (img.d_w as usize, img.d_h as usize, stride as usize);
                let plane = std::slice::from_raw_parts(img.planes[0], stride * height);
                picture(Luma { plane, width, height, stride });
            }
        }
        Ok(())
    }
}

impl Drop for Vp8Decoder {
    fn drop(&mut self) {
        // SAFETY: initialised in new, destroyed once.
        unsafe {
            vpx_sys::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}
