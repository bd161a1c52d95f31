//! The `audio` and `silence` expectations: which sender a receiver heard, and for how long it
//! heard no one, from the runs of classified audio windows in its `tones_heard` events
//! (docs/markers.md, "Audio: a tone per sender"), on the case clock.

use super::check::{lines_of, mismatch, Mismatch};
use crate::scenario::Scenario;
use crate::transcript::{Event, Transcript};

/// What a stretch of a receiver's audio held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    Sender(u8),
    Silence,
    /// Sound that is no one sender's tone.
    Other,
}

/// A stretch of `at`'s audio, on the case clock (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    pub from: f64,
    pub to: f64,
    pub heard: Heard,
    /// Windows in it: the audio it holds is `windows` x 40 ms, whenever they were handed over.
    pub windows: u32,
}

/// What `at` heard, in order, and when it last reported (the end of its timeline): every
/// `tones_heard` event's runs on the case clock, with runs of the same thing that touch merged
/// (an event's boundary splits a run).
pub fn timeline(at: &str, t: &Transcript) -> (Vec<Run>, Option<f64>) {
    let mut runs: Vec<Run> = Vec::new();
    let mut last = None;
    for e in t.of(at) {
        let Event::TonesHeard { runs: these, .. } = &e.event else { continue };
        last = Some(e.at);
        for r in these {
            let heard = match (r.sender, r.silence) {
                (Some(s), _) => Heard::Sender(s),
                (None, true) => Heard::Silence,
                (None, false) => Heard::Other,
            };
            runs.push(Run { from: e.at + r.from, to: e.at + r.to, heard, windows: r.windows });
        }
    }
    runs.sort_by(|a, b| a.from.total_cmp(&b.from));
    let mut merged: Vec<Run> = Vec::with_capacity(runs.len());
    for r in runs {
        match merged.last_mut() {
            // As the kernels join windows into runs (an event's boundary splits one).
            Some(m) if m.heard == r.heard && r.from - m.to <= crate::tone::JOIN_MS => {
                m.to = m.to.max(r.to);
                m.windows += r.windows;
            }
            _ => merged.push(r),
        }
    }
    (merged, last)
}

/// The longest stretch in which no sender's tone was heard, between the first tone heard and
/// `end`: silence, other sound, and time with no audio played at all (a receiver whose decoder
/// stopped delivering reports no windows). `None` when no tone was heard.
pub fn longest_silence(runs: &[Run], end: f64) -> Option<(f64, f64)> {
    let mut tones = runs.iter().filter(|r| matches!(r.heard, Heard::Sender(_)));
    let first = tones.next()?;
    let mut heard_until = first.to;
    let mut longest = (first.to, 0.0);
    for r in tones {
        if r.from - heard_until > longest.1 {
            longest = (heard_until, r.from - heard_until);
        }
        heard_until = heard_until.max(r.to);
    }
    if end - heard_until > longest.1 {
        longest = (heard_until, end - heard_until);
    }
    Some(longest)
}

/// `audio: {at, from, min}`.
pub(super) fn audio(scenario: &Scenario, at: &str, from: &str, min: f64, t: &Transcript) -> Result<(), Mismatch> {
    let sender = scenario.marker_sender(from).unwrap_or(u8::MAX);
    let expected = format!("{at} hears {from}'s tone (sender {sender}, {:.0} Hz) for at least {min:.0} ms in all, and no other sender's tone", crate::tone::frequency(sender));
    let excerpt = || lines_of(t, at, |e| matches!(e, Event::Track { .. } | Event::FirstPacket { .. } | Event::TonesHeard { .. }));
    let (runs, last) = timeline(at, t);
    if last.is_none() {
        return mismatch(expected, format!("{at} reported no tones_heard: it classified no audio"), excerpt());
    }
    // Audio heard is counted in windows, not wall time: a receiver handed its audio in bursts
    // heard all of it.
    let total = |h: Heard| runs.iter().filter(|r| r.heard == h).map(|r| f64::from(r.windows) * crate::tone::WINDOW_MS).sum::<f64>();
    let mine = total(Heard::Sender(sender));
    let mut foreign: Vec<(u8, f64, f64)> = Vec::new();
    for r in &runs {
        if let Heard::Sender(s) = r.heard {
            if s == sender {
                continue;
            }
            match foreign.iter_mut().find(|f| f.0 == s) {
                Some(f) => f.2 += f64::from(r.windows) * crate::tone::WINDOW_MS,
                None => foreign.push((s, r.from, f64::from(r.windows) * crate::tone::WINDOW_MS)),
            }
        }
    }
    if mine >= min && foreign.is_empty() {
        return Ok(());
    }
    let mut actual = format!("{mine:.0} ms of {from}'s tone, {:.0} ms of silence, {:.0} ms of other sound", total(Heard::Silence), total(Heard::Other));
    if !foreign.is_empty() {
        let named: Vec<String> = foreign
            .iter()
            .map(|(s, first, ms)| {
                let who = scenario.peers.get(usize::from(*s)).map(|p| p.name.clone()).unwrap_or_else(|| "no peer of this case".into());
                format!("sender {s} ({who}, {:.0} Hz): {ms:.0} ms, first heard at {first:.1} ms", crate::tone::frequency(*s))
            })
            .collect();
        actual.push_str(&format!("; another sender's tone: {}", named.join("; ")));
    }
    mismatch(expected, actual, excerpt())
}

/// `silence: {at, min, max}`.
pub(super) fn silence(at: &str, (lo, hi): (Option<f64>, Option<f64>), t: &Transcript) -> Result<(), Mismatch> {
    let bound = match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo:.0} to {hi:.0} ms"),
        (Some(lo), None) => format!("at least {lo:.0} ms"),
        (None, Some(hi)) => format!("at most {hi:.0} ms"),
        (None, None) => String::new(),
    };
    let expected = format!("the longest stretch in which {at} hears no sender's tone (silence, other sound or no audio), from the first tone it hears to its last report: {bound}");
    let excerpt = || lines_of(t, at, |e| matches!(e, Event::Track { .. } | Event::FirstPacket { .. } | Event::TonesHeard { .. }));
    let (runs, last) = timeline(at, t);
    let Some(end) = last else {
        return mismatch(expected, format!("{at} reported no tones_heard: it classified no audio"), excerpt());
    };
    let Some((start, length)) = longest_silence(&runs, end) else {
        return mismatch(expected, format!("{at} heard no sender's tone"), excerpt());
    };
    if lo.is_none_or(|lo| length >= lo) && hi.is_none_or(|hi| length <= hi) {
        return Ok(());
    }
    let first = runs.iter().find(|r| matches!(r.heard, Heard::Sender(_))).map(|r| r.from).unwrap_or(start);
    mismatch(expected, format!("the longest: {length:.0} ms from {start:.1} ms (tones heard from {first:.1} ms, last report at {end:.1} ms)"), excerpt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(from: f64, to: f64, heard: Heard) -> Run {
        Run { from, to, heard, windows: ((to - from) / crate::tone::WINDOW_MS).round() as u32 }
    }

    #[test]
    fn the_longest_silence_counts_gaps_other_sound_and_the_tail() {
        let runs = [run(100.0, 1000.0, Heard::Sender(1)), run(1000.0, 1400.0, Heard::Silence), run(1400.0, 3000.0, Heard::Sender(1))];
        assert_eq!(longest_silence(&runs, 3040.0), Some((1000.0, 400.0)));
        // No windows at all for 2 s (a decoder that stopped), then the tone again.
        let runs = [run(0.0, 500.0, Heard::Sender(0)), run(2500.0, 3000.0, Heard::Sender(0))];
        assert_eq!(longest_silence(&runs, 3000.0), Some((500.0, 2000.0)));
        // A tail: the tone stopped at 1 s and the receiver kept reporting until 4 s.
        let runs = [run(0.0, 1000.0, Heard::Sender(0)), run(1000.0, 4000.0, Heard::Other)];
        assert_eq!(longest_silence(&runs, 4000.0), Some((1000.0, 3000.0)));
        // Silence before the first tone is the call starting, not a gap.
        let runs = [run(0.0, 2000.0, Heard::Silence), run(2000.0, 3000.0, Heard::Sender(2))];
        assert_eq!(longest_silence(&runs, 3000.0), Some((3000.0, 0.0)));
        assert_eq!(longest_silence(&[run(0.0, 1000.0, Heard::Silence)], 1000.0), None);
    }

    #[test]
    fn a_run_split_by_an_event_is_one_run() {
        use crate::transcript::{Entry, ToneRun, Transcript};
        let mut t = Transcript::default();
        let tr = |from: f64, to: f64, sender: Option<u8>| ToneRun { from, to, windows: ((to - from) / 40.0) as u32, sender, silence: sender.is_none() };
        t.push(Entry { at: 1000.0, peer: "bob".into(), event: Event::TonesHeard { windows: 25, runs: vec![tr(-1000.0, -400.0, None), tr(-400.0, 0.0, Some(3))] } });
        t.push(Entry { at: 2000.0, peer: "bob".into(), event: Event::TonesHeard { windows: 50, runs: vec![tr(-1000.0, 0.0, Some(3))] } });
        let (runs, last) = timeline("bob", &t);
        assert_eq!(runs, vec![run(0.0, 600.0, Heard::Silence), run(600.0, 2000.0, Heard::Sender(3))]);
        assert_eq!(last, Some(2000.0));
    }
}
