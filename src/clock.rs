//! The one clock of a case: monotonic milliseconds since the case started, shared by every peer.
//!
//! Browsers stamp events with `performance.timeOrigin + performance.now()` (milliseconds since the
//! Unix epoch); the Rust side reads `Instant`. A [`Clock`] holds both bases taken at the same moment,
//! so an epoch stamp from a page on this host converts to the same timeline as an `Instant`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the start of a case.
pub type Millis = f64;

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
    start_epoch_ms: f64,
}

impl Clock {
    pub fn start() -> Self {
        let start = Instant::now();
        let start_epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
        Clock { start, start_epoch_ms }
    }

    /// Now, on this clock.
    pub fn now(&self) -> Millis {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// An `Instant` taken earlier (or later), on this clock.
    pub fn at(&self, instant: Instant) -> Millis {
        if instant >= self.start {
            (instant - self.start).as_secs_f64() * 1000.0
        } else {
            -((self.start - instant).as_secs_f64() * 1000.0)
        }
    }

    /// A browser's epoch-millisecond stamp, on this clock.
    pub fn from_epoch_ms(&self, epoch_ms: f64) -> Millis {
        epoch_ms - self.start_epoch_ms
    }

    /// This clock's zero as epoch milliseconds (handed to pages so they can stamp relative times).
    pub fn start_epoch_ms(&self) -> f64 {
        self.start_epoch_ms
    }
}
