//! `--html DIR`: a self-contained report (placeholder until the renderer lands).

use serde_json::Value;

/// The report page for a results document (see `docs/results.md`).
pub fn render(doc: &Value) -> String {
    format!("<!doctype html><meta charset=utf-8><title>rtc-harness report</title><pre>{}</pre>", serde_json::to_string_pretty(doc).unwrap_or_default().replace('&', "&amp;").replace('<', "&lt;"))
}
