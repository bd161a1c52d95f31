//! The DTLS handshake of each bench call: how long it took after ICE connected, and which calls
//! had a flight lost and resent, with what that cost.
//!
//! On loopback an undisturbed handshake ends a few ms after ICE connects (the floors' medians:
//! 0.7-3 ms). A handshake whose first flight is dropped waits for the sender's retransmission
//! timer instead, and both DTLS stacks of the browsers start it at 50 ms (libwebrtc's
//! `kMinHandshakeTimeout` in `dtls_transport.cc`, NSS's `DTLS_RETRANSMIT_INITIAL_MS`). So a call
//! is counted as resent when its handshake took [`RESENT_MS`] or more: the gap between the two
//! modes is wide (the measured handshakes fall under 17 ms or over 50 ms), so the cut is not
//! sensitive to its exact value.
//!
//! Why a flight is dropped is the other column: a Firefox offerer discards DTLS packets until the
//! answer has given it its DTLS role (`a=setup:actpass` in the offer leaves the role to the
//! answer, RFC 8842 section 5), so a Chrome answerer whose ICE connects right after the answer
//! was applied loses its ClientHello. Each call's ICE-connected time at the receiver minus its
//! answer-applied time at the offerer shows that race, per call.

use super::results::BenchReport;
use super::Phases;
use crate::stats::median;
use std::fmt::Write;

/// A handshake that took this long (ms, from ICE connected to DTLS connected at the receiver) had
/// a flight resent: under the browsers' 50 ms initial retransmission timeout, above every
/// undisturbed handshake measured here.
pub const RESENT_MS: f64 = 40.0;

/// The DTLS handshake's duration in a call: the receiver's DTLS connected minus its ICE connected.
pub fn handshake(p: &Phases) -> f64 {
    p.dtls_connected - p.ice_connected
}

/// Whether the call's handshake waited for a retransmission (see [`RESENT_MS`]).
pub fn resent(p: &Phases) -> bool {
    handshake(p) >= RESENT_MS
}

/// How long after the offerer applied the answer the receiver's ICE connected (ms; negative:
/// before). A dropped first flight needs this to be short: the answerer's ClientHello leaves as
/// soon as its ICE connects, and must find the offerer's DTLS role already set.
pub fn ice_after_answer(p: &Phases) -> f64 {
    p.ice_connected - p.answer_applied
}

/// One pair's handshakes, summarized.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshakes {
    pub median_ms: f64,
    /// Median time from DTLS connected to the first frame: the sender's camera tick, encoder and
    /// packetizer, the receiver's jitter buffer, decoder and renderer. It belongs to the two
    /// stacks, not to the signaling, and differs by sender (see docs/benchmarks.md).
    pub frame_after_dtls: f64,
    pub resent: usize,
    pub calls: usize,
    /// Median TTFF of the calls whose handshake was not resent.
    pub ttff_not_resent: Option<f64>,
    /// Median [`ice_after_answer`] of the resent calls, then of the others.
    pub race_resent: Option<f64>,
    pub race_not_resent: Option<f64>,
}

pub fn summarize(samples: &[Phases]) -> Option<Handshakes> {
    let of = |keep: bool, f: fn(&Phases) -> f64| median(&samples.iter().filter(|p| resent(p) == keep).map(f).collect::<Vec<_>>());
    Some(Handshakes {
        median_ms: median(&samples.iter().map(handshake).collect::<Vec<_>>())?,
        frame_after_dtls: median(&samples.iter().map(|p| p.first_frame - p.dtls_connected).collect::<Vec<_>>())?,
        resent: samples.iter().filter(|p| resent(p)).count(),
        calls: samples.len(),
        ttff_not_resent: of(false, |p| p.first_frame),
        race_resent: of(true, ice_after_answer),
        race_not_resent: of(false, ice_after_answer),
    })
}

/// The table: each pair's handshake median, its resent calls, the median TTFF of the others and
/// its ratio to the pair's floor, and the race column; then each floor's handshakes.
pub fn render(report: &BenchReport, w: usize) -> String {
    let cell = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
    let mut out = String::new();
    for p in report.pairs.iter().filter(|p| p.skipped.is_none()) {
        let Some(h) = summarize(&p.samples) else { continue };
        if out.is_empty() {
            let _ = writeln!(
                out,
                "\nthe DTLS handshake, from ICE connected to DTLS connected at the receiver (median ms); a call is resent when it took {RESENT_MS:.0} ms or more (both browsers resend a lost flight after 50 ms):"
            );
            let _ = writeln!(
                out,
                "{:<w$} {:>9} {:>10} {:>17} {:>6} {:>16}   receiver's ICE connected after the answer applied: resent / not resent",
                "pair", "handshake", "resent", "TTFF not resent", "ratio", "frame after DTLS"
            );
        }
        let ratio = match (h.ttff_not_resent, p.floor) {
            (Some(t), Some(f)) if f > 0.0 => format!("{:.2}x", t / f),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<w$} {:>9.1} {:>10} {:>17} {:>6} {:>16.1}   {} / {} ms",
            p.pair,
            h.median_ms,
            format!("{} of {}", h.resent, h.calls),
            cell(h.ttff_not_resent),
            ratio,
            h.frame_after_dtls,
            cell(h.race_resent),
            cell(h.race_not_resent)
        );
    }
    if out.is_empty() {
        return out;
    }
    for (kind, runs) in &report.floor_runs {
        let complete: Vec<Phases> = runs.iter().filter_map(super::floor::phases).collect();
        let Some(h) = summarize(&complete) else { continue };
        let _ =
            writeln!(out, "{:<w$} {:>9.1} {:>10} {:>17} {:>6} {:>16.1}", format!("floor-{kind}"), h.median_ms, format!("{} of {}", h.resent, h.calls), "", "", h.frame_after_dtls);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::PairResult;

    fn call(answer: f64, ice: f64, dtls: f64, frame: f64) -> Phases {
        Phases { answer_applied: answer, ice_connected: ice, dtls_connected: dtls, first_frame: frame, ..Phases::default() }
    }

    #[test]
    fn a_handshake_over_the_cut_is_resent_and_left_out_of_the_ttff() {
        let calls = [call(20.0, 27.0, 30.0, 100.0), call(20.0, 28.0, 31.0, 104.0), call(25.0, 26.0, 78.0, 150.0), call(20.0, 21.0, 72.0, 146.0), call(19.0, 30.0, 33.0, 108.0)];
        let h = summarize(&calls).expect("five calls");
        assert_eq!((h.resent, h.calls), (2, 5));
        assert_eq!(h.median_ms, 3.0, "handshakes 3, 3, 52, 51, 3");
        assert_eq!(h.frame_after_dtls, 73.0, "70, 73, 72, 74, 75");
        assert_eq!(h.ttff_not_resent, Some(104.0), "100, 104, 108");
        assert_eq!((h.race_resent, h.race_not_resent), (Some(1.0), Some(8.0)), "ICE after the answer: 1 and 1 against 7, 8, 11");
        assert!(!resent(&call(0.0, 10.0, 10.0 + RESENT_MS - 0.1, 0.0)) && resent(&call(0.0, 10.0, 10.0 + RESENT_MS, 0.0)));
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn the_table_shows_pairs_and_floors() {
        let calls = [call(20.0, 27.0, 30.0, 100.0), call(25.0, 26.0, 78.0, 150.0), call(19.0, 30.0, 33.0, 110.0), call(20.0, 29.0, 32.0, 120.0)];
        let mut report = BenchReport { iterations: 4, pairs: vec![PairResult::from_samples("firefox-chrome", &calls, Some(84.0), None)], ..Default::default() };
        let floor = |ice, dtls| crate::peer::FloorRun { first_frame: 84.0, answer_applied: Some(15.0), ice_connected: Some(ice), dtls_connected: Some(dtls), ..Default::default() };
        report.floor_runs.insert("chrome".into(), vec![floor(16.0, 17.0), floor(16.0, 18.5), floor(16.0, 17.5)]);
        let out = render(&report, 16);
        let row = |name: &str| out.lines().find(|l| l.starts_with(name)).map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "));
        assert_eq!(row("firefox-chrome").as_deref(), Some("3.0 1 of 4 110.0 1.31x 72.0 1.0 / 9.0 ms"), "{out}");
        assert_eq!(row("floor-chrome").as_deref(), Some("1.5 0 of 3 66.5"), "{out}");
        let none = BenchReport { iterations: 0, pairs: vec![PairResult::skipped("chrome-chrome", "no chrome")], ..Default::default() };
        assert_eq!(render(&none, 16), "", "nothing measured, no table");
    }
}
