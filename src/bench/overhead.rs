//! Where each pair's time to DTLS connected goes, against two floors of its receiver's browser.
//!
//! The direct floor is two connections in one page handing each other descriptions and
//! candidates. The floor through the relay is the same page with each connection on its own
//! WebSocket into a relay room, applying what arrives in order, as a pair's agent pages do. The
//! step from the first to the second is the harness's signaling path (relay hops, the browser's
//! WebSocket delivery, JSON, the page's queue) measured inside one browser; the step from the
//! second to the pair is what the second browser costs: its own processes and WebRTC threads on
//! the same two cores, and descriptions applied in another process than they were made in.

use super::floor::RELAY_SUFFIX;
use super::results::{BenchReport, PairResult};
use std::fmt::Write;

/// One pair's time to DTLS connected, and its TTFF ratios, against both floors (medians, ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub floor_dtls: f64,
    pub relay_floor_dtls: f64,
    pub pair_dtls: f64,
    /// The pair's median TTFF over its receiver's direct floor, and over the floor through the
    /// relay.
    pub ratio: f64,
    pub ratio_to_relay_floor: f64,
}

impl Split {
    /// What the harness's signaling path adds to the floor (ms).
    pub fn relay_path(&self) -> f64 {
        self.relay_floor_dtls - self.floor_dtls
    }

    /// What the pair adds beyond the floor through the relay (ms).
    pub fn second_browser(&self) -> f64 {
        self.pair_dtls - self.relay_floor_dtls
    }
}

/// The split of a measured pair whose receiver has both floors.
pub fn split(report: &BenchReport, p: &PairResult) -> Option<Split> {
    if p.skipped.is_some() {
        return None;
    }
    let (_, receiver) = p.pair.split_once('-')?;
    let relay_key = format!("{receiver}{RELAY_SUFFIX}");
    let (floor, relay) = (report.floor_phases.get(receiver)?, report.floor_phases.get(&relay_key)?);
    let relay_ttff = *report.floors.get(&relay_key)?;
    Some(Split {
        floor_dtls: floor.dtls_connected,
        relay_floor_dtls: relay.dtls_connected,
        pair_dtls: p.phases.dtls_connected,
        ratio: p.ratio?,
        ratio_to_relay_floor: p.median / relay_ttff,
    })
}

/// The table; empty when no pair's receiver has a floor through the relay.
pub fn render(report: &BenchReport, w: usize) -> String {
    let mut out = String::new();
    for p in &report.pairs {
        let Some(s) = split(report, p) else { continue };
        if out.is_empty() {
            let _ = writeln!(
                out,
                "\nwhere each pair's time to DTLS connected goes (median ms): its receiver's floor, the same page signaling through the relay, the pair; then its TTFF against both floors:"
            );
            let _ = writeln!(
                out,
                "{:<w$} {:>7} {:>13} {:>7} {:>11} {:>15}   {:>14} {:>16}",
                "pair", "floor", "floor+relay", "pair", "relay path", "second browser", "TTFF vs floor", "vs floor+relay"
            );
        }
        let _ = writeln!(
            out,
            "{:<w$} {:>7.1} {:>13.1} {:>7.1} {:>+11.1} {:>+15.1}   {:>13.2}x {:>15.2}x",
            p.pair,
            s.floor_dtls,
            s.relay_floor_dtls,
            s.pair_dtls,
            s.relay_path(),
            s.second_browser(),
            s.ratio,
            s.ratio_to_relay_floor
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Phases;

    #[test]
    fn the_overhead_is_split_between_the_relay_path_and_the_second_browser() {
        let call = |dtls: f64, frame: f64| Phases { answer_applied: 10.0, ice_connected: dtls - 2.0, dtls_connected: dtls, first_frame: frame, ..Phases::default() };
        let pair = PairResult::from_samples("chrome-chrome", &[call(27.0, 92.0), call(28.0, 90.0), call(26.0, 94.0)], Some(80.0), Some(&call(16.0, 80.0)));
        let mut report = BenchReport { iterations: 3, pairs: vec![pair, PairResult::skipped("firefox-chrome", "no firefox")], ..Default::default() };
        report.floors.insert("chrome".into(), 80.0);
        report.floor_phases.insert("chrome".into(), call(16.0, 80.0));
        assert_eq!(render(&report, 16), "", "no floor through the relay, no table");
        report.floors.insert("chrome+relay".into(), 84.0);
        report.floor_phases.insert("chrome+relay".into(), call(19.5, 84.0));
        let s = split(&report, &report.pairs[0]).expect("both floors");
        assert_eq!((s.relay_path(), s.second_browser()), (3.5, 7.5), "16 -> 19.5 -> 27");
        assert_eq!(s.ratio_to_relay_floor, 92.0 / 84.0);
        let out = render(&report, 16);
        let row = out.lines().find(|l| l.starts_with("chrome-chrome")).map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "));
        assert_eq!(row.as_deref(), Some("16.0 19.5 27.0 +3.5 +7.5 1.15x 1.10x"), "{out}");
        assert!(!out.contains("firefox-chrome"), "a skipped pair has no row: {out}");
    }
}
