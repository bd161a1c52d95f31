//! The `freezes` expectation: how often, and for how long, the picture a receiver renders stood
//! still, by the W3C webrtc-stats rule for `freezeCount` (section 7.4, RTCInboundRtpStreamStats)
//! applied to the frames whose frame marker changed (docs/markers.md), on the case clock.

use super::check::{lines_of, mismatch, Mismatch};
use crate::transcript::{Event, Transcript};

/// Frame durations the mean is taken over: "the last 30 rendered frames" (webrtc-stats).
const WINDOW: usize = 30;
/// New pictures a receiver must have shown before its freezes say anything (one second at 30
/// fps): fewer is a receiver that barely rendered, which the verdict says instead.
const ENOUGH_PICTURES: usize = 30;

/// One freeze: the picture did not change from `start` for `length` ms (case clock).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Freeze {
    pub start: f64,
    pub length: f64,
}

/// The freezes in a timeline of new pictures (ms, ascending). webrtc-stats: a frame whose
/// duration (the time since the previous rendered frame) is at least max(3 x mean, mean + 150 ms),
/// the mean being that of the last 30 durations, ends a freeze. The first duration has no mean to
/// be judged by.
pub fn freezes(times: &[f64]) -> Vec<Freeze> {
    let mut durations: Vec<f64> = Vec::with_capacity(times.len());
    let mut found = Vec::new();
    for pair in times.windows(2) {
        let duration = pair[1] - pair[0];
        let recent = &durations[durations.len().saturating_sub(WINDOW)..];
        if !recent.is_empty() {
            let mean = recent.iter().sum::<f64>() / recent.len() as f64;
            if duration >= (3.0 * mean).max(mean + 150.0) {
                found.push(Freeze { start: pair[0], length: duration });
            }
        }
        durations.push(duration);
    }
    found
}

/// When `at` showed a new picture: every `markers_seen` event's `changes`, on the case clock.
pub fn timeline(at: &str, t: &Transcript) -> Vec<f64> {
    let mut times: Vec<f64> = t
        .of(at)
        .flat_map(|e| match &e.event {
            Event::MarkersSeen { kind, changes, .. } if kind == "video" => changes.iter().map(|offset| e.at + offset).collect(),
            _ => Vec::new(),
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// What a `freezes` expectation asks: bounds of the count, of the longest freeze and of their
/// total length (ms).
pub struct Want<'a> {
    pub at: &'a str,
    pub count: (Option<u32>, Option<u32>),
    pub longest: (Option<f64>, Option<f64>),
    pub total: (Option<f64>, Option<f64>),
}

pub(super) fn check(want: Want, t: &Transcript) -> Result<(), Mismatch> {
    let Want { at, count, longest, total } = want;
    let expected = expected(&want_text(count, longest, total), at);
    let excerpt = || lines_of(t, at, |e| matches!(e, Event::Track { .. } | Event::FirstFrame { .. } | Event::MarkersSeen { .. }));
    let times = timeline(at, t);
    if times.len() < ENOUGH_PICTURES {
        return mismatch(expected, format!("{at} showed {} new picture(s) (markers_seen changes): too few to judge freezes by", times.len()), excerpt());
    }
    let found = freezes(&times);
    let n = found.len() as u32;
    let max_len = found.iter().map(|f| f.length).fold(0.0, f64::max);
    let sum: f64 = found.iter().map(|f| f.length).fold(0.0, |a, b| a + b);
    let within = |v: f64, (lo, hi): (Option<f64>, Option<f64>)| lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi);
    let count_ok = within(f64::from(n), (count.0.map(f64::from), count.1.map(f64::from)));
    // No freeze is a longest freeze of 0 ms: it meets every upper bound and no lower one.
    if count_ok && within(max_len, longest) && within(sum, total) {
        return Ok(());
    }
    let span = (times[times.len() - 1] - times[0]) / 1000.0;
    let listed: Vec<String> = found.iter().take(6).map(|f| format!("at {:.1} ms for {:.0} ms", f.start, f.length)).collect();
    let more = if found.len() > 6 { format!(" and {} more", found.len() - 6) } else { String::new() };
    let actual = if found.is_empty() {
        format!("no freeze in {:.1} s of video ({} new pictures)", span, times.len())
    } else {
        format!("{n} freeze(s), {sum:.0} ms in all, in {:.1} s of video ({} new pictures): {}{more}", span, times.len(), listed.join(", "))
    };
    mismatch(expected, actual, excerpt())
}

fn want_text(count: (Option<u32>, Option<u32>), longest: (Option<f64>, Option<f64>), total: (Option<f64>, Option<f64>)) -> String {
    let range = |lo: Option<String>, hi: Option<String>, unit: &str| match (lo, hi) {
        (Some(lo), Some(hi)) if lo == hi => format!("exactly {lo}{unit}"),
        (Some(lo), Some(hi)) => format!("{lo}{unit} to {hi}{unit}"),
        (Some(lo), None) => format!("at least {lo}{unit}"),
        (None, Some(hi)) => format!("at most {hi}{unit}"),
        (None, None) => String::new(),
    };
    let mut parts = Vec::new();
    if count.0.is_some() || count.1.is_some() {
        parts.push(format!("{} freeze(s)", range(count.0.map(|n| n.to_string()), count.1.map(|n| n.to_string()), "")));
    }
    let ms = |b: Option<f64>| b.map(|ms| format!("{ms:.0}"));
    if longest.0.is_some() || longest.1.is_some() {
        parts.push(format!("the longest {}", range(ms(longest.0), ms(longest.1), " ms")));
    }
    if total.0.is_some() || total.1.is_some() {
        parts.push(format!("{} in all", range(ms(total.0), ms(total.1), " ms")));
    }
    parts.join(", ")
}

fn expected(want: &str, at: &str) -> String {
    format!("{at}'s picture: {want} (webrtc-stats: a new picture at least max(3 x, 150 ms +) the mean of the last 30 frame durations after the one before ends a freeze)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Entry;

    /// New pictures every `step` ms from `from` to `to` (exclusive).
    fn steady(from: f64, to: f64, step: f64) -> Vec<f64> {
        let mut v = Vec::new();
        let mut t = from;
        while t < to {
            v.push(t);
            t += step;
        }
        v
    }

    #[test]
    fn a_steady_picture_has_no_freeze_and_jitter_below_the_rule_is_none() {
        assert!(freezes(&steady(0.0, 10_000.0, 33.3)).is_empty());
        // A frame 170 ms late at 30 fps: below mean + 150 ms (183 ms).
        let mut late = steady(0.0, 2_000.0, 33.3);
        late.extend(steady(2_170.0, 4_000.0, 33.3));
        assert!(freezes(&late).is_empty(), "{:?}", freezes(&late));
    }

    #[test]
    fn a_two_second_stall_is_one_freeze_of_its_length() {
        let mut times = steady(0.0, 3_000.0, 33.3);
        let last = *times.last().unwrap();
        times.extend(steady(last + 2_000.0, 8_000.0, 33.3));
        let found = freezes(&times);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!((found[0].length - 2_000.0).abs() < 1.0 && (found[0].start - last).abs() < 1e-9, "{found:?}");
    }

    #[test]
    fn at_a_low_frame_rate_the_bar_is_three_frame_durations() {
        // 5 fps (200 ms): a 500 ms gap is under 3 x 200 = 600 ms, a 650 ms one is a freeze.
        let mut times = steady(0.0, 4_000.0, 200.0);
        times.push(4_300.0);
        times.extend(steady(4_500.0, 8_000.0, 200.0));
        times.push(8_450.0);
        times.extend(steady(8_500.0, 9_000.0, 200.0));
        assert!(freezes(&times).is_empty(), "{:?}", freezes(&times));
        let mut times = steady(0.0, 4_000.0, 200.0);
        times.extend(steady(4_450.0, 8_000.0, 200.0));
        assert_eq!(freezes(&times).len(), 1);
    }

    fn seen(at: f64, changes: Vec<f64>) -> Entry {
        let event = Event::MarkersSeen { kind: "video".into(), frames: changes.len() as u64, unreadable: 0, senders: Vec::new(), changes };
        Entry { at, peer: "bob".into(), event }
    }

    /// bob's events: new pictures at 30 fps from 1 s to 9 s, with a stall of `stall` ms at 4 s,
    /// written as `markers_seen` events each carrying the changes since the one before.
    fn stalled_call(stall: f64) -> Transcript {
        let mut times = steady(1_000.0, 4_000.0, 33.3);
        let last = *times.last().unwrap();
        times.extend(steady(last + stall, 9_000.0 + stall, 33.3));
        let entries: Vec<Entry> = times
            .chunks(30)
            .map(|c| {
                let now = c[c.len() - 1] + 5.0;
                seen(now, c.iter().map(|t| t - now).collect())
            })
            .collect();
        Transcript { entries, relay: Vec::new() }
    }

    #[test]
    fn a_stalled_sender_fails_max_zero_and_passes_a_three_second_bound() {
        let t = stalled_call(2_000.0);
        let none = check(Want { at: "bob", count: (None, Some(0)), longest: (None, None), total: (None, None) }, &t).unwrap_err();
        assert!(none.expected.contains("at most 0 freeze(s)"), "{}", none.expected);
        assert!(none.actual.starts_with("1 freeze(s), 2000 ms in all, in") && none.actual.contains("for 2000 ms"), "{}", none.actual);
        let short = check(Want { at: "bob", count: (None, None), longest: (None, None), total: (None, Some(1_000.0)) }, &t).unwrap_err();
        assert!(short.expected.contains("at most 1000 ms in all"), "{}", short.expected);
        check(Want { at: "bob", count: (None, None), longest: (None, Some(3_000.0)), total: (None, None) }, &t).unwrap();
        check(Want { at: "bob", count: (Some(1), Some(1)), longest: (Some(1_500.0), Some(2_500.0)), total: (Some(1_500.0), Some(3_000.0)) }, &t).unwrap();
        let four = check(Want { at: "bob", count: (None, None), longest: (None, Some(1_000.0)), total: (None, None) }, &stalled_call(4_000.0)).unwrap_err();
        assert!(four.expected.contains("the longest at most 1000 ms"), "{}", four.expected);
    }

    #[test]
    fn a_receiver_without_pictures_or_without_freezes_says_so() {
        let empty = Transcript { entries: vec![seen(1_000.0, Vec::new())], relay: Vec::new() };
        let e = check(Want { at: "bob", count: (None, Some(0)), longest: (None, None), total: (None, None) }, &empty).unwrap_err();
        assert!(e.actual.contains("showed 0 new picture(s)"), "{}", e.actual);
        let smooth = stalled_call(33.3);
        check(Want { at: "bob", count: (None, None), longest: (None, Some(1_000.0)), total: (None, Some(500.0)) }, &smooth).expect("no freeze meets upper bounds");
        let e = check(Want { at: "bob", count: (Some(1), None), longest: (Some(6_500.0), None), total: (None, None) }, &smooth).unwrap_err();
        assert!(e.actual.starts_with("no freeze in"), "{}", e.actual);
        assert!(e.expected.contains("at least 1 freeze(s), the longest at least 6500 ms"), "{}", e.expected);
    }
}
