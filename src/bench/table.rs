//! Bench results: the table the CLI prints, the JSON it writes, and the comparison to a baseline.

pub use super::results::{BenchReport, PairResult};
use super::Phases;
use crate::stats::median;
use std::fmt::Write;

/// A pair regresses when its median TTFF exceeds the baseline's by more than this fraction...
pub const REGRESSION_RATIO: f64 = 0.10;
/// ...and by more than this many milliseconds (small medians are all noise otherwise).
pub const REGRESSION_MIN_MS: f64 = 5.0;

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.1}"),
        _ => "-".to_string(),
    }
}

/// The table: pair, median, p90, min, max, floor, ratio, then the phase medians.
pub fn render(report: &BenchReport, baseline: Option<&BenchReport>) -> String {
    let mut out = String::new();
    // The first column fits the longest pair or floor name (`libdatachannel-libdatachannel`).
    let w = report.pairs.iter().map(|p| p.pair.len()).chain(report.floors.keys().map(|k| k.len() + 6)).max().unwrap_or(0).max(16);
    let _ = writeln!(
        out,
        "{:<w$} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6}   {:>7} {:>7} {:>7} {:>9} {:>6}  vs baseline",
        "pair", "median", "p90", "min", "max", "floor", "ratio", "answer", "ice", "dtls", "dtls-over", "dtls-x"
    );
    for p in &report.pairs {
        if let Some(why) = &p.skipped {
            let _ = writeln!(out, "{:<w$} skipped: {why}", p.pair);
            continue;
        }
        let cmp = baseline.and_then(|b| b.pairs.iter().find(|q| q.pair == p.pair && q.skipped.is_none())).map(|b| compare(p, b));
        let _ = writeln!(
            out,
            "{:<w$} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6}   {:>7} {:>7} {:>7} {:>9} {:>6}  {}",
            p.pair,
            ms(Some(p.median)),
            ms(Some(p.p90)),
            ms(Some(p.min)),
            ms(Some(p.max)),
            ms(p.floor),
            p.ratio.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "-".into()),
            ms(Some(p.phases.answer_applied)),
            ms(Some(p.phases.ice_connected)),
            ms(Some(p.phases.dtls_connected)),
            p.dtls_overhead.map(|v| format!("{v:+.1}")).unwrap_or_else(|| "-".into()),
            p.dtls_ratio.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "-".into()),
            cmp.unwrap_or_default()
        );
    }
    for (browser, floor) in &report.floors {
        let how = if browser.ends_with(super::floor::RELAY_SUFFIX) { "through the relay, as a pair's pages" } else { "no relay" };
        match report.floor_phases.get(browser) {
            Some(f) => {
                let _ = writeln!(
                    out,
                    "{:<w$} {:>8} {:>44}   {:>7} {:>7} {:>7}   (two peer connections in one page, {how}, no WebDriver)",
                    format!("floor-{browser}"),
                    ms(Some(*floor)),
                    "",
                    ms(Some(f.answer_applied)),
                    ms(Some(f.ice_connected)),
                    ms(Some(f.dtls_connected))
                );
            }
            None => {
                let _ = writeln!(out, "{:<w$} {:>8}   (two peer connections in one process, no relay)", format!("floor-{browser}"), ms(Some(*floor)));
            }
        }
    }
    out.push_str(&answer_steps(report, w));
    out.push_str(&trips(report, w));
    out.push_str(&super::handshake::render(report, w));
    out.push_str(&super::overhead::render(report, w));
    out.push_str(&sender_floors(report, w));
    out.push_str(&glass(report, w));
    if let Some(p) = &report.profile {
        let _ = writeln!(out, "network profile on both peers' paths (relay-only through the harness's TURN server): {p}");
    }
    if report.dither_ms > 0.0 {
        let _ = writeln!(out, "each offer started 0-{:.0} ms after capture start (--dither), evenly over the fake cameras' tick phases", report.dither_ms);
    } else {
        let _ = writeln!(out, "each offer started at capture start (--dither 0): TTFF moves by whole camera ticks");
    }
    out
}

/// The marked calls beside the plain ones (docs/markers.md): time to first frame with and without
/// frame markers, what painting and reading them cost, and the glass-to-glass latency of the
/// marked calls' sampled frames (medians over the calls). Empty when no pair ran marked calls.
pub fn glass(report: &BenchReport, w: usize) -> String {
    let mut out = String::new();
    let marked: Vec<(&str, &super::results::Marked, f64)> =
        report.pairs.iter().filter(|p| p.skipped.is_none()).filter_map(|p| p.marked.as_ref().map(|m| (p.pair.as_str(), m, p.median))).collect();
    if marked.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nframe markers, side by side (medians, ms; g2g: painted at alice to shown at bob, on the case clock)");
    let _ = writeln!(out, "{:<w$} {:>8} {:>8} {:>7} {:>8} {:>8} {:>6}", "pair", "plain", "marked", "cost", "g2g p50", "g2g p95", "calls");
    for (pair, m, plain) in marked {
        match &m.skipped {
            Some(why) => {
                let _ = writeln!(out, "{pair:<w$} no marked call: {why}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "{pair:<w$} {:>8} {:>8} {:>6.1}% {:>8} {:>8} {:>6}",
                    ms(Some(plain)),
                    ms(Some(m.median)),
                    m.cost * 100.0,
                    ms(m.glass_p50),
                    ms(m.glass_p95),
                    m.ttff.len()
                );
            }
        }
    }
    out
}

/// Where each pair's answer phase goes, step by step (medians, ms), beside its receiver's floor:
/// the offer set at the offerer, its way to the answerer and `setRemoteDescription` there, the
/// answer created and set, and its way back with `setRemoteDescription` at the offerer. Empty when
/// no pair has the steps (a stack that does not stamp them).
pub fn answer_steps(report: &BenchReport, w: usize) -> String {
    let steps = |p: &Phases| -> Option<[f64; 5]> {
        let (set, applied, answer) = (p.offer_set?, p.offer_applied?, p.answer_set?);
        Some([set, applied - set, answer - applied, p.answer_applied - answer, p.answer_applied])
    };
    let mut rows: Vec<(String, [f64; 5])> = Vec::new();
    for p in report.pairs.iter().filter(|p| p.skipped.is_none()) {
        if let Some(s) = steps(&p.phases) {
            rows.push((p.pair.clone(), s));
        }
    }
    for (kind, f) in &report.floor_phases {
        if let Some(s) = steps(f) {
            rows.push((format!("floor-{kind}"), s));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(out, "\nthe answer phase, step by step (median ms):");
    let _ = writeln!(out, "{:<w$} {:>9} {:>12} {:>9} {:>11} {:>8}", "pair", "offer set", "to answerer", "answerer", "to offerer", "answer");
    for (name, s) in rows {
        let _ = writeln!(out, "{:<w$} {:>9} {:>12} {:>9} {:>11} {:>8}", name, ms(Some(s[0])), ms(Some(s[1])), ms(Some(s[2])), ms(Some(s[3])), ms(Some(s[4])));
    }
    out
}

/// Each description's trip split where the receiving peer stamps it (medians, ms): from the
/// sender's `setLocalDescription` to its arrival in the receiver (the relay's hops and the
/// browser's delivery), the wait there for the page, and `setRemoteDescription` itself. A floor
/// through the relay is split the same way; a direct floor has no trip (it calls
/// `setRemoteDescription` at once, so its "to answerer" step is that call). Empty when no pair
/// has the stamps.
pub fn trips(report: &BenchReport, w: usize) -> String {
    // Per run, then the median of each part (a difference of medians can come out negative).
    let split = |set: Option<f64>, applied: Option<f64>, queued: Option<f64>, apply: Option<f64>| -> Option<[f64; 3]> {
        let (queued, apply) = (queued?, apply?);
        Some([applied? - set? - queued - apply, queued, apply])
    };
    let medians = |parts: Vec<[f64; 3]>| -> Option<[f64; 3]> {
        let m = |i: usize| median(&parts.iter().map(|s| s[i]).collect::<Vec<_>>());
        Some([m(0)?, m(1)?, m(2)?])
    };
    let cell = |s: [f64; 3]| format!("{:.1} / {:.1} / {:.1}", s[0], s[1], s[2]);
    let both = |samples: &[Phases]| -> Option<(String, String)> {
        let offer = medians(samples.iter().filter_map(|f| split(f.offer_set, f.offer_applied, f.offer_queued, f.offer_apply)).collect())?;
        let answer = medians(samples.iter().filter_map(|f| split(f.answer_set, Some(f.answer_applied), f.answer_queued, f.answer_apply)).collect())?;
        Some((cell(offer), cell(answer)))
    };
    let mut out = String::new();
    for p in report.pairs.iter().filter(|p| p.skipped.is_none()) {
        let Some((o, a)) = both(&p.samples) else { continue };
        if out.is_empty() {
            let _ = writeln!(out, "\neach description's trip (median ms): in flight (relay, browser delivery) / queued in the page / setRemoteDescription:");
            let _ = writeln!(out, "{:<w$} {:>18} {:>18}", "pair", "offer", "answer");
        }
        let _ = writeln!(out, "{:<w$} {:>18} {:>18}", p.pair, o, a);
    }
    if out.is_empty() {
        return out;
    }
    // A floor through the relay stamps the same split; a direct one has no trip.
    for (kind, f) in &report.floor_phases {
        let samples: Vec<Phases> = report.floor_runs.get(kind).map(|runs| runs.iter().filter_map(super::floor::phases).collect()).unwrap_or_default();
        if let Some((o, a)) = both(&samples) {
            let _ = writeln!(out, "{:<w$} {:>18} {:>18}", format!("floor-{kind}"), o, a);
        } else if let (Some(set), Some(applied)) = (f.offer_set, f.offer_applied) {
            let _ = writeln!(out, "{:<w$} {:>18}", format!("floor-{kind}"), format!("- / - / {:.1}", applied - set));
        }
    }
    out
}

/// A pair of two kinds against the *sender's* floor as well: the first frame waits for the
/// sender's capture tick (a Chrome camera's 50 ms against a Firefox one's 33 ms), which the
/// receiver's floor, whose sender is the receiver's own stack, never waits for. Empty when no
/// mixed pair has both floors.
pub fn sender_floors(report: &BenchReport, w: usize) -> String {
    let mut out = String::new();
    for p in report.pairs.iter().filter(|p| p.skipped.is_none()) {
        let Some((sender, receiver)) = p.pair.split_once('-') else { continue };
        let (Some(floor), true) = (report.floors.get(sender), sender != receiver) else { continue };
        if out.is_empty() {
            let _ = writeln!(out, "\nmixed pairs against the sender's floor (the first frame waits for the sender's camera tick):");
            let _ = writeln!(out, "{:<w$} {:>8} {:>20} {:>6}", "pair", "median", "sender's floor", "ratio");
        }
        let _ = writeln!(out, "{:<w$} {:>8} {:>20} {:>5.2}x", p.pair, ms(Some(p.median)), format!("{floor:.1} {sender}"), p.median / floor);
    }
    out
}

/// Runs agree on a pair when its ratio to the floor differs by at most this much between them...
pub const AGREE_RATIO: f64 = 0.05;
/// ...and its overhead up to DTLS connected by at most this many ms.
pub const AGREE_DTLS_MS: f64 = 10.0;

/// How far several runs of the bench agree, pair by pair: each run's ratio and DTLS overhead, and
/// whether the spread is within [`AGREE_RATIO`] and [`AGREE_DTLS_MS`].
pub fn agreement(runs: &[BenchReport]) -> String {
    let mut out = String::new();
    let names: Vec<&str> = runs.first().map(|r| r.pairs.iter().filter(|p| p.skipped.is_none()).map(|p| p.pair.as_str()).collect()).unwrap_or_default();
    let w = names.iter().map(|n| n.len()).max().unwrap_or(0).max(16);
    let _ = writeln!(out, "{:<w$} {:>24}   {:>30}   agree   {:>24}", "pair", "ratio per run", "dtls overhead per run (ms)", "vs floor+relay per run");
    let mut all = true;
    for name in names {
        let of_runs: Vec<&PairResult> = runs.iter().filter_map(|r| r.pairs.iter().find(|p| p.pair == name && p.skipped.is_none())).collect();
        // Shown, not judged: the ratio to the receiver's floor through the relay (`overhead`).
        let to_relay_floor: Vec<f64> =
            runs.iter().filter_map(|r| r.pairs.iter().find(|p| p.pair == name).and_then(|p| super::overhead::split(r, p))).map(|s| s.ratio_to_relay_floor).collect();
        let ratios: Vec<f64> = of_runs.iter().filter_map(|p| p.ratio).collect();
        let overheads: Vec<f64> = of_runs.iter().filter_map(|p| p.dtls_overhead).collect();
        let spread = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max) - v.iter().copied().fold(f64::INFINITY, f64::min);
        let agree = of_runs.len() == runs.len() && (ratios.is_empty() || spread(&ratios) <= AGREE_RATIO) && (overheads.is_empty() || spread(&overheads) <= AGREE_DTLS_MS);
        all &= agree;
        let show = |v: &[f64], f: &dyn Fn(f64) -> String| if v.is_empty() { "-".to_string() } else { v.iter().map(|x| f(*x)).collect::<Vec<_>>().join(" ") };
        let _ = writeln!(
            out,
            "{:<w$} {:>24}   {:>30}   {:<5}   {:>24}",
            name,
            show(&ratios, &|r| format!("{r:.2}x")),
            show(&overheads, &|o| format!("{o:+.1}")),
            if agree { "yes" } else { "NO" },
            show(&to_relay_floor, &|r| format!("{r:.2}x"))
        );
    }
    let _ = writeln!(out, "{} runs {} (ratio within {AGREE_RATIO}, DTLS overhead within {AGREE_DTLS_MS} ms)", runs.len(), if all { "agree" } else { "do not agree" });
    out
}

/// `+12.0% REGRESSION` or `-3.1%`.
pub fn compare(now: &PairResult, base: &PairResult) -> String {
    let delta = now.median - base.median;
    let pct = 100.0 * delta / base.median;
    if regressed(now, base) {
        format!("{pct:+.1}% REGRESSION (was {:.1})", base.median)
    } else {
        format!("{pct:+.1}%")
    }
}

pub fn regressed(now: &PairResult, base: &PairResult) -> bool {
    let delta = now.median - base.median;
    delta > REGRESSION_MIN_MS && delta > base.median * REGRESSION_RATIO
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases(ms: f64) -> Phases {
        Phases { answer_applied: 1.0, ice_connected: 2.0, dtls_connected: 3.0, first_frame: ms, ..Phases::default() }
    }

    #[test]
    fn summarizes_and_flags_regressions() {
        let floor = Phases { answer_applied: 1.0, ice_connected: 1.5, dtls_connected: 2.0, first_frame: 10.0, ..Phases::default() };
        let p = PairResult::from_samples("rust-rust", &[phases(10.0), phases(30.0), phases(20.0)], Some(10.0), Some(&floor));
        assert_eq!((p.median, p.min, p.max, p.p90), (20.0, 10.0, 30.0, 30.0));
        assert_eq!(p.ratio, Some(2.0));
        assert_eq!((p.dtls_overhead, p.dtls_ratio), (Some(1.0), Some(1.5)), "3 ms to DTLS against the floor's 2");
        let run = |p: PairResult| BenchReport { iterations: 3, pairs: vec![p], ..Default::default() };
        let mut q = p.clone();
        q.ratio = Some(2.03);
        assert!(agreement(&[run(p.clone()), run(q.clone())]).contains("2 runs agree"));
        q.ratio = Some(2.2);
        assert!(agreement(&[run(p.clone()), run(q)]).contains("do not agree"));
        let base = PairResult::from_samples("rust-rust", &[phases(12.0)], None, None);
        assert!(regressed(&p, &base), "20 ms vs 12 ms is a regression");
        let near = PairResult::from_samples("rust-rust", &[phases(15.0)], None, None);
        assert!(!regressed(&near, &base), "3 ms is under the noise floor");
        assert!(render(&BenchReport { iterations: 3, pairs: vec![p], ..Default::default() }, Some(&BenchReport { iterations: 1, pairs: vec![base], ..Default::default() }))
            .contains("REGRESSION"));
    }

    #[test]
    fn the_answer_phase_is_split_into_its_steps() {
        let stamped =
            |set, applied, answer, done| Phases { offer_set: Some(set), offer_applied: Some(applied), answer_set: Some(answer), answer_applied: done, ..Phases::default() };
        let pair = PairResult::from_samples("chrome-firefox", &[stamped(5.0, 25.0, 40.0, 70.0)], None, None);
        let mut report = BenchReport { iterations: 1, pairs: vec![pair], ..Default::default() };
        report.floor_phases.insert("firefox".into(), stamped(4.0, 12.0, 24.0, 30.0));
        let out = answer_steps(&report, 16);
        let row = |name: &str| out.lines().find(|l| l.starts_with(name)).map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "));
        assert_eq!(row("chrome-firefox").as_deref(), Some("5.0 20.0 15.0 30.0 70.0"), "{out}");
        assert_eq!(row("floor-firefox").as_deref(), Some("4.0 8.0 12.0 6.0 30.0"), "{out}");
        report.floors.insert("firefox".into(), 100.0);
        report.floors.insert("chrome".into(), 120.0);
        report.pairs[0].median = 126.0;
        let mixed = sender_floors(&report, 16);
        assert!(mixed.lines().any(|l| l.starts_with("chrome-firefox") && l.ends_with("1.05x")), "{mixed}");
        let unstamped = BenchReport { iterations: 1, pairs: vec![PairResult::from_samples("rust-rust", &[phases(9.0)], None, None)], ..Default::default() };
        assert_eq!(answer_steps(&unstamped, 16), "", "no table without the steps");
        assert_eq!(trips(&unstamped, 16), "", "no trips without the page's stamps");
    }

    #[test]
    fn a_trip_is_split_per_run_then_summarized() {
        let run = |queued: f64, apply: f64| Phases {
            offer_set: Some(5.0),
            offer_applied: Some(25.0),
            answer_set: Some(40.0),
            answer_applied: 70.0,
            offer_queued: Some(queued),
            offer_apply: Some(apply),
            answer_queued: Some(1.0),
            answer_apply: Some(9.0),
            ..phases(100.0)
        };
        let pair = PairResult::from_samples("chrome-chrome", &[run(2.0, 8.0), run(4.0, 6.0), run(12.0, 6.0)], None, None);
        let mut report = BenchReport { iterations: 3, pairs: vec![pair], ..Default::default() };
        report.floor_phases.insert("chrome".into(), Phases { offer_set: Some(4.0), offer_applied: Some(9.5), ..phases(90.0) });
        let out = trips(&report, 16);
        // Offer: 20 ms from set to applied; in flight 10, 10, 2 -> 10; queued 4; apply 6.
        assert!(out.lines().any(|l| l.starts_with("chrome-chrome") && l.contains("10.0 / 4.0 / 6.0") && l.ends_with("20.0 / 1.0 / 9.0")), "{out}");
        assert!(out.lines().any(|l| l.starts_with("floor-chrome") && l.ends_with("- / - / 5.5")), "{out}");
    }

    #[test]
    fn marked_calls_show_their_cost_and_glass_to_glass_latency() {
        use super::super::results::Marked;
        let call = |ttff: f64, g50: f64, g95: f64| Phases { first_frame: ttff, glass_p50: Some(g50), glass_p95: Some(g95), ..phases(ttff) };
        let marked = Marked::of(&[call(105.0, 40.0, 60.0), call(103.0, 50.0, 90.0), call(110.0, 45.0, 70.0)], 100.0, None).expect("ran");
        assert!((marked.cost - 0.05).abs() < 1e-9 && marked.glass_p50 == Some(45.0) && marked.glass_p95 == Some(70.0), "{marked:?}");
        assert!(Marked::of(&[], 100.0, None).is_none());
        let refused = Marked::of(&[], 100.0, Some("werift (alice) lacks frame markers".into())).expect("a reason");
        let report = BenchReport {
            pairs: vec![
                PairResult { median: 100.0, marked: Some(marked), ..PairResult::from_samples("chrome-chrome", &[phases(100.0)], None, None) },
                PairResult { marked: Some(refused), ..PairResult::from_samples("werift-werift", &[phases(30.0)], None, None) },
            ],
            ..BenchReport::default()
        };
        let out = glass(&report, 16);
        assert!(out.lines().any(|l| l.starts_with("chrome-chrome") && l.contains("105.0") && l.contains("5.0%") && l.contains("45.0") && l.contains("70.0")), "{out}");
        assert!(out.contains("werift-werift    no marked call: werift (alice) lacks frame markers"), "{out}");
        assert!(glass(&BenchReport::default(), 16).is_empty());
    }
}
