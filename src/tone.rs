//! The audio marker (docs/markers.md, "Audio: a tone per sender"): which sender a receiver hears,
//! told by the frequency of the tone each sender sends, and when it hears nothing.
//!
//! A pure core, like [`crate::marker`]: [`frequency`] is the tone of a sender and [`classify`]
//! says what a window of decoded samples holds. Every sender sends a continuous sine at its
//! sender's frequency; every receiver cuts what it plays into windows of [`WINDOW_MS`] and
//! classifies each with a Hann-weighted Goertzel filter at every sender's frequency. The kernels
//! (`stacks/python/kernel/tone.py`, `stacks/node/kernel/tone.js`) do the same and their tests
//! assert the same reference figures as the tests here.
//!
//! Why a tone and not data over sound: Opus keeps a steady sine at any bitrate a call uses (its
//! narrowband mode keeps up to 4 kHz, the highest tone is 3.7 kHz), a receiver needs no sync to
//! read it, and a window that holds two senders' tones at once (a mix) is refused, not misread.

/// The first sender's tone, Hz.
pub const BASE_HZ: f64 = 600.0;
/// The distance between two senders' tones, Hz: four bins of a 40 ms window, where a Hann
/// window's leakage from the neighbour is below -40 dB.
pub const STEP_HZ: f64 = 100.0;
/// Senders 0 to 31, as the frame marker's `sender`.
pub const SENDERS: u8 = 32;
/// A classification window, ms: 25 bins per second of resolution.
pub const WINDOW_MS: f64 = 40.0;
/// Windows of the same kind further apart than this (ms) are two runs (`tones_heard`): a receiver
/// handed audio in bursts (a jitter buffer's release) is not silent between them.
pub const JOIN_MS: f64 = 3.0 * WINDOW_MS;
/// The amplitude a sender sends its tone at, of full scale (-12 dBFS).
pub const AMPLITUDE: f64 = 0.25;
/// Below this RMS (of full scale, -40 dBFS) a window is silence: comfort noise and a decoder's
/// concealment of lost packets stay under it, a tone sent at [`AMPLITUDE`] and halved by a mix
/// is far above it.
pub const SILENCE_RMS: f64 = 0.01;
/// The share of a window's power one sender's tone must hold to name it: a mix of two senders'
/// tones gives each about half, so it is [`Heard::Other`], never one of them.
pub const MIN_SHARE: f64 = 0.6;

/// What one window of decoded audio holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// Below [`SILENCE_RMS`].
    Silence,
    /// This sender's tone, holding at least [`MIN_SHARE`] of the window's power.
    Sender(u8),
    /// Sound that is no one sender's tone (noise, speech, a mix).
    Other,
}

/// The tone sender `sender` sends, Hz.
pub fn frequency(sender: u8) -> f64 {
    BASE_HZ + STEP_HZ * f64::from(sender)
}

/// Samples in one window at `rate` Hz (1,920 at 48 kHz).
pub fn window_len(rate: u32) -> usize {
    (f64::from(rate) * WINDOW_MS / 1000.0).round() as usize
}

/// What `samples` (one channel, -1.0..1.0, at `rate` Hz; a window of [`window_len`]) hold.
pub fn classify(samples: &[f32], rate: u32) -> Heard {
    let n = samples.len();
    if n < 2 || rate == 0 {
        return Heard::Silence;
    }
    let rms = (samples.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n as f64).sqrt();
    if rms < SILENCE_RMS {
        return Heard::Silence;
    }
    let hann: Vec<f64> = (0..n).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos()).collect();
    let windowed: Vec<f64> = samples.iter().zip(&hann).map(|(&x, w)| f64::from(x) * w).collect();
    let (sum_w, sum_w2): (f64, f64) = hann.iter().fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    let energy: f64 = windowed.iter().map(|x| x * x).sum();
    // A sine of amplitude A gives |X|^2 = (A sum_w / 2)^2 at its frequency, and a windowed power
    // energy / sum_w2 = A^2 / 2: their ratio below is 1 for a pure tone.
    let share = |power: f64| 2.0 * power * sum_w2 / (sum_w * sum_w * energy);
    let (best, power) = (0..SENDERS).map(|s| (s, goertzel(&windowed, frequency(s), rate))).fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    if share(power) >= MIN_SHARE {
        Heard::Sender(best)
    } else {
        Heard::Other
    }
}

/// |X(f)|^2 of `x` (already windowed) at `f` Hz, by the Goertzel recurrence.
fn goertzel(x: &[f64], f: f64, rate: u32) -> f64 {
    let coefficient = 2.0 * (2.0 * std::f64::consts::PI * f / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + coefficient * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coefficient * s1 * s2
}

/// `len` samples of sender `sender`'s tone at `rate` Hz from sample `start` on (phase-continuous
/// across calls), at [`AMPLITUDE`].
pub fn tone(sender: u8, rate: u32, start: u64, len: usize) -> Vec<f32> {
    let step = 2.0 * std::f64::consts::PI * frequency(sender) / f64::from(rate);
    (0..len as u64).map(|i| (AMPLITUDE * ((start + i) as f64 * step).sin()) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic noise source (the tests need no rand).
    fn noise(seed: &mut u32, amplitude: f32) -> f32 {
        *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (*seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 * amplitude - amplitude
    }

    #[test]
    fn every_sender_is_heard_as_itself_at_the_usual_rates() {
        for rate in [48_000, 44_100, 16_000] {
            for s in 0..SENDERS {
                let w = tone(s, rate, 12_345, window_len(rate));
                assert_eq!(classify(&w, rate), Heard::Sender(s), "sender {s} at {rate} Hz");
            }
        }
    }

    #[test]
    fn the_reference_figures_the_kernels_assert() {
        // The kernels' tests check the same: sender 21 is 2,700 Hz, a window is 1,920 samples.
        assert_eq!(frequency(21), 2700.0);
        assert_eq!(window_len(48_000), 1920);
        assert_eq!(window_len(44_100), 1764);
    }

    #[test]
    fn a_quiet_window_is_silence_and_a_tone_under_noise_still_reads() {
        let rate = 48_000;
        let mut seed = 7;
        let hiss: Vec<f32> = (0..window_len(rate)).map(|_| noise(&mut seed, 0.005)).collect();
        assert_eq!(classify(&hiss, rate), Heard::Silence);
        assert_eq!(classify(&vec![0.0; window_len(rate)], rate), Heard::Silence);
        // The tone at a quarter of its level (an encoder's or a mixer's gain) with noise at -32 dBFS.
        let noisy: Vec<f32> = tone(5, rate, 0, window_len(rate)).iter().map(|x| x / 4.0 + noise(&mut seed, 0.025)).collect();
        assert_eq!(classify(&noisy, rate), Heard::Sender(5));
    }

    #[test]
    fn loud_noise_and_a_mix_of_two_senders_name_no_one() {
        let rate = 48_000;
        let mut seed = 11;
        let loud: Vec<f32> = (0..window_len(rate)).map(|_| noise(&mut seed, 0.3)).collect();
        assert_eq!(classify(&loud, rate), Heard::Other);
        let (a, b) = (tone(3, rate, 0, window_len(rate)), tone(4, rate, 0, window_len(rate)));
        let mix: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect();
        assert_eq!(classify(&mix, rate), Heard::Other);
        // A tone halfway between two senders' (1,050 Hz: senders 4 and 5 are 1,000 and 1,100).
        let between: Vec<f32> = (0..window_len(rate)).map(|i| (0.25 * (2.0 * std::f64::consts::PI * 1050.0 * i as f64 / 48_000.0).sin()) as f32).collect();
        assert_eq!(classify(&between, rate), Heard::Other);
    }

    #[test]
    fn a_window_half_filled_with_a_tone_names_that_sender_or_no_one() {
        // The first window after a sender starts or stops: its tone in half the window.
        let rate = 48_000;
        let mut w = tone(9, rate, 0, window_len(rate));
        let half = w.len() / 2;
        w[..half].iter_mut().for_each(|x| *x = 0.0);
        // Hann-weighted, half a window of tone still holds most of the power: it reads as the
        // sender (the tone is there), never as another one.
        assert!(matches!(classify(&w, rate), Heard::Sender(9) | Heard::Other));
    }
}
