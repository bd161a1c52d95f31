//! The Rust peer's records of frame markers (docs/markers.md, stacks/PROTOCOL.md): which marker a
//! sender paints next, and what a receiver read from the frames it decoded, as the transcript's
//! `frame_painted`, `frame_shown` and `markers_seen` events.
//!
//! A pure core (no codec, no clock of its own: callers pass `Instant`s), the Rust twin of the
//! adapter kernels' `Painter` and `Record` (stacks/python/kernel/marker.py, stacks/node/kernel),
//! with the same sampling so that every kind's transcript reads alike.

use crate::marker::Marker;
use crate::transcript::{Event, SenderReads};
use std::time::{Duration, Instant};

/// `frame_painted` / `frame_shown` for indices divisible by this (the latency samples).
pub const SAMPLE_EVERY: u16 = 10;
/// `markers_seen` every this many decoded frames.
pub const SEEN_EVERY: u64 = 30;

/// A sender's marker: frame after frame of one source, counting from 0. `stall` holds the
/// picture: the same index is painted again until the time has passed (the `stall_video` action,
/// a camera that delivers one picture over and over).
#[derive(Debug)]
pub struct Painter {
    sender: u8,
    source: u8,
    index: u32,
    held_until: Option<Instant>,
}

impl Painter {
    /// `None` for a sender out of the marker's range.
    pub fn new(sender: u8, source: u8) -> Option<Painter> {
        Marker::new(sender, source, 0).map(|_| Painter { sender, source, index: 0, held_until: None })
    }

    pub fn stall(&mut self, now: Instant, length: Duration) {
        self.held_until = Some(now + length);
    }

    /// The marker of the frame painted at `now`, and the `frame_painted` event when it is a new
    /// frame whose index is sampled.
    pub fn next(&mut self, now: Instant) -> (Marker, Option<Event>) {
        let held = self.index > 0 && self.held_until.is_some_and(|t| now < t);
        let index = (if held { self.index - 1 } else { self.index }) as u16;
        let marker = Marker::new(self.sender, self.source, index).expect("checked in new");
        if held {
            return (marker, None);
        }
        self.index += 1;
        let event = index.is_multiple_of(SAMPLE_EVERY).then(|| Event::FramePainted { kind: "video".into(), source: self.source, index: u32::from(index) });
        (marker, event)
    }
}

/// What a receiver read from the frames it decoded: per sender and source the count, first and
/// last index, repeats (the same index again: a freeze) and skipped indices; when each new
/// picture came, for the `changes` of the next `markers_seen`.
#[derive(Debug, Default)]
pub struct Record {
    frames: u64,
    unreadable: u64,
    senders: Vec<SenderReads>,
    pushed: u64,
    previous: Option<Marker>,
    changes: Vec<Instant>,
}

impl Record {
    /// One decoded frame at `now`, with the marker it read (`None`: none that reads). Returns the
    /// events it makes: a sampled `frame_shown`, and `markers_seen` every [`SEEN_EVERY`] frames.
    pub fn frame(&mut self, marker: Option<Marker>, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        self.frames += 1;
        if marker.is_some() && marker != self.previous {
            self.changes.push(now);
            self.previous = marker;
        }
        match marker {
            None => self.unreadable += 1,
            Some(m) => {
                let index = u32::from(m.index);
                let found = self.senders.iter().position(|r| r.sender == m.sender && r.source == m.source);
                let sampled = match found {
                    None => true,
                    Some(i) => index != self.senders[i].last && m.index.is_multiple_of(SAMPLE_EVERY),
                };
                let r = match found {
                    Some(i) => &mut self.senders[i],
                    None => {
                        self.senders.push(SenderReads { sender: m.sender, source: m.source, count: 0, first: index, last: index, repeats: 0, skipped: 0 });
                        self.senders.last_mut().expect("just pushed")
                    }
                };
                if found.is_some() && index == r.last {
                    r.repeats += 1;
                } else if found.is_some() {
                    // Forward steps of less than half the index space count as skipped frames;
                    // a step back (a reordered or repeated old frame) does not.
                    let step = (index + 65_536 - r.last) % 65_536;
                    if (2..32_768).contains(&step) {
                        r.skipped += u64::from(step - 1);
                    }
                }
                r.last = index;
                r.count += 1;
                if sampled {
                    events.push(Event::FrameShown { kind: "video".into(), sender: m.sender, source: m.source, index });
                }
            }
        }
        if self.frames.is_multiple_of(SEEN_EVERY) {
            events.extend(self.flush(now));
        }
        events
    }

    /// `markers_seen` at `now` when frames were decoded since the last one (every
    /// [`SEEN_EVERY`] frames, and when stats are collected).
    pub fn flush(&mut self, now: Instant) -> Option<Event> {
        if self.frames == self.pushed {
            return None;
        }
        self.pushed = self.frames;
        // ms before the event, one decimal (PROTOCOL.md: 0 or less).
        let changes = self.changes.drain(..).map(|t| -((now.saturating_duration_since(t).as_secs_f64() * 10_000.0).round() / 10.0)).collect();
        Some(Event::MarkersSeen { kind: "video".into(), frames: self.frames, unreadable: self.unreadable, senders: self.senders.clone(), changes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(sender: u8, source: u8, index: u16) -> Option<Marker> {
        Marker::new(sender, source, index)
    }

    #[test]
    fn a_painter_counts_samples_and_holds_its_picture_while_stalled() {
        let t0 = Instant::now();
        let mut p = Painter::new(3, 0).unwrap();
        let (first, event) = p.next(t0);
        assert_eq!(first, Marker::new(3, 0, 0).unwrap());
        assert_eq!(event, Some(Event::FramePainted { kind: "video".into(), source: 0, index: 0 }));
        for i in 1..10u16 {
            assert_eq!(p.next(t0), (Marker::new(3, 0, i).unwrap(), None));
        }
        p.stall(t0, Duration::from_millis(100));
        // Frame 9 again while held, and no event for a repeat.
        assert_eq!(p.next(t0 + Duration::from_millis(50)), (Marker::new(3, 0, 9).unwrap(), None));
        let (after, event) = p.next(t0 + Duration::from_millis(100));
        assert_eq!(after.index, 10);
        assert_eq!(event, Some(Event::FramePainted { kind: "video".into(), source: 0, index: 10 }));
        assert!(Painter::new(32, 0).is_none());
    }

    #[test]
    fn a_record_counts_repeats_skips_and_unreadable_frames() {
        let t0 = Instant::now();
        let mut r = Record::default();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        assert_eq!(r.frame(m(1, 0, 5), ms(0)), vec![Event::FrameShown { kind: "video".into(), sender: 1, source: 0, index: 5 }]);
        assert!(r.frame(m(1, 0, 5), ms(33)).is_empty(), "a repeat is not sampled");
        assert!(r.frame(None, ms(66)).is_empty());
        assert_eq!(r.frame(m(1, 0, 10), ms(100)).len(), 1, "index 10 is sampled");
        let Some(Event::MarkersSeen { frames, unreadable, senders, changes, .. }) = r.flush(ms(200)) else { panic!("markers_seen") };
        assert_eq!((frames, unreadable), (4, 1));
        assert_eq!(senders, vec![SenderReads { sender: 1, source: 0, count: 3, first: 5, last: 10, repeats: 1, skipped: 4 }]);
        // New pictures at 0 and 100 ms: 200 and 100 ms before the event.
        assert_eq!(changes, vec![-200.0, -100.0]);
        assert_eq!(r.flush(ms(300)), None, "nothing new: no event");
    }

    #[test]
    fn markers_seen_comes_every_thirty_frames_and_a_foreign_sender_is_its_own_line() {
        let t0 = Instant::now();
        let mut r = Record::default();
        let mut seen = Vec::new();
        for i in 0..60u16 {
            let sender = if i == 45 { 9 } else { 2 };
            seen.extend(r.frame(m(sender, 0, i), t0).into_iter().filter(|e| matches!(e, Event::MarkersSeen { .. })));
        }
        assert_eq!(seen.len(), 2);
        let Some(Event::MarkersSeen { frames, senders, .. }) = seen.pop() else { panic!("markers_seen") };
        assert_eq!(frames, 60);
        assert_eq!(senders.iter().map(|s| (s.sender, s.count)).collect::<Vec<_>>(), vec![(2, 59), (9, 1)]);
        assert_eq!(r.flush(t0), None, "flushed at the 60th frame already");
    }
}
