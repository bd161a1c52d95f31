//! Values the file writes in several places: a peer reference with its position, and durations
//! (`250ms`, `5s`, `1.5s`, `2m`).

use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;
use std::time::Duration;

/// A peer reference with its position in the file.
pub type PeerRef = Spanned<String>;

/// A value the file wrote that does not parse; its text becomes the message of the
/// [`LoadError`](crate::scenario::LoadError) at the value's position.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl From<ValueError> for String {
    fn from(e: ValueError) -> String {
        e.0
    }
}

/// `250ms`, `5s`, `1.5s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let s = s.trim();
    let (num, unit) =
        s.find(|c: char| c.is_ascii_alphabetic()).map(|i| s.split_at(i)).ok_or_else(|| ValueError(format!("duration '{s}' has no unit (expected e.g. 500ms, 5s, 2m)")))?;
    let value: f64 = num.trim().parse().map_err(|_| ValueError(format!("duration '{s}' is not a number followed by ms, s or m")))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        other => return Err(ValueError(format!("duration '{s}': unknown unit '{other}' (expected ms, s or m)"))),
    };
    if !(0.0..=3600.0).contains(&secs) {
        return Err(ValueError(format!("duration '{s}' is out of range (0 to 1 hour)")));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

pub(super) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

/// `#[serde(default = "yes")]`.
pub(super) fn yes() -> bool {
    true
}

/// `#[serde(default = "one")]`.
pub(super) fn one() -> u32 {
    1
}
