//! What the CLI prints per case, and the summary line.

use crate::runner::{CaseRun, RunError};

/// `PASS negotiation::basic::rust-rust  connected 31.2 ms  first frame 45.0 ms`.
pub fn case_line(name: &str, result: &Result<CaseRun, RunError>) -> String {
    match result {
        Ok(run) => {
            let ms = |v: Option<f64>| v.map(|v| format!("{v:.1} ms")).unwrap_or_else(|| "-".into());
            format!(
                "{} {name}  connected {}  first frame {}",
                if run.passed() { "PASS" } else { "FAIL" },
                ms(run.timings.to_connected),
                ms(run.timings.to_first_frame)
            )
        }
        Err(RunError::Unavailable(why)) => format!("SKIP {name}  ({why})"),
        Err(RunError::Excluded(why)) => format!("SKIP {name}  (excluded: {why})"),
        Err(e) => format!("FAIL {name}  {}", first_line(&e.to_string())),
    }
}

/// The details printed under a failed case: the verdict's EXPECTED / ACTUAL blocks, or the error
/// with the transcript's last events.
pub fn failure_details(result: &Result<CaseRun, RunError>) -> Option<String> {
    match result {
        Ok(run) if !run.passed() => Some(run.verdict.to_string()),
        Ok(_) | Err(RunError::Unavailable(_)) | Err(RunError::Excluded(_)) => None,
        Err(RunError::Step { message, transcript, .. }) => {
            Some(format!("{message}\nlast events of each peer:\n{}\n", transcript.tail_by_peer(15)))
        }
        Err(e) => Some(format!("{e}\n")),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Median of `values` (None when empty).
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Nearest-rank percentile.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_use_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(super::median(&v), Some(3.0));
        assert_eq!(super::percentile(&v, 90.0), Some(5.0));
        assert_eq!(super::percentile(&v, 0.0), Some(1.0));
        assert_eq!(super::median(&[]), None);
    }
}
