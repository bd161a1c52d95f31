//! `--html DIR`: one self-contained page (the CLI writes it as `DIR/index.html`) for a results
//! document: the summary, a pair x scenario matrix, the cases (failed first), and for the case
//! shown its failure (EXPECTED / ACTUAL), a timeline of its transcript (a lane per peer and one for
//! the relay, the failure marked), media and stats plots, and its attempts.
//!
//! The page is static text around the document: the styles and the script are compiled in
//! (`html/report.css`, `html/report.js`, plain ES2020), the document is embedded as JSON in
//! `<script type="application/json" id="results">`, and a Content-Security-Policy forbids every
//! fetch, so the page works from `file://` and never reaches the network. The script inserts data
//! only as text (`textContent`, `setAttribute`, `createElementNS`), never as markup.

use super::{write_file, ReportError, Reporter, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// Inline styles and scripts only; no connection, image, font or frame from anywhere.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// `--html DIR`: the page for the run's results document, written as `DIR/index.html` when it ends.
pub struct Html {
    pub dir: PathBuf,
}

impl Reporter for Html {
    fn finish(&mut self, run: &Run<'_>) -> Result<(), ReportError> {
        let doc = super::json::document(run.cases, run.started, run.took);
        write_file(&self.dir.join("index.html"), &render(&relative_to(doc, &self.dir)), "HTML report")
    }
}

/// The document with artifact paths relative to `dir` where they lie inside it, so that the
/// report's links work wherever the directory is copied (a CI artifact).
fn relative_to(mut doc: Value, dir: &Path) -> Value {
    let fix = |v: &mut Value| {
        if let Some(rel) = v.as_str().and_then(|p| Path::new(p).strip_prefix(dir).ok().map(|r| r.display().to_string())) {
            *v = Value::String(rel);
        }
    };
    for case in doc["cases"].as_array_mut().into_iter().flatten() {
        fix(&mut case["artifacts"]);
        for attempt in case["attempts"].as_array_mut().into_iter().flatten() {
            fix(&mut attempt["artifacts"]);
        }
    }
    doc
}

/// The report page for a results document (see `docs/results.md`).
pub fn render(doc: &Value) -> String {
    let count = |k: &str| doc["summary"][k].as_u64().unwrap_or(0);
    let started = doc["started_at"].as_str().unwrap_or("");
    let verdict = match count("failed") {
        0 => format!("{} passed of {}", count("passed"), count("total")),
        n => format!("{n} failed of {}", count("total")),
    };
    let title = escape(&format!("rtc-harness: {verdict} \u{b7} {started}"));
    let fallback = escape(&format!(
        "{} cases: {} passed, {} failed, {} flaky, {} skipped, {} ignored, {} excluded (started {started}).",
        count("total"),
        count("passed"),
        count("failed"),
        count("flaky"),
        count("skipped"),
        count("ignored"),
        count("excluded"),
    ));
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"rtc-harness {version}\">\n\
         <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <div id=\"app\"><noscript><p>This report draws itself with JavaScript. {fallback} \
         The results are in the <code>results</code> script element of this file.</p></noscript></div>\n\
         <script type=\"application/json\" id=\"results\">{data}</script>\n\
         <script>\n{JS}</script>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
        data = embed(doc),
    )
}

/// The document as JSON that cannot end (or otherwise disturb) the script element holding it:
/// every `<` (only ever inside a JSON string) becomes `\u003c`, so no `</script>` or `<!--`
/// survives, and `JSON.parse` gives back the same document.
fn embed(doc: &Value) -> String {
    serde_json::to_string(doc).unwrap_or_else(|_| "{}".into()).replace('<', "\\u003c")
}

/// Text for an HTML text node or a double-quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(hostile: &str) -> Value {
        json!({
            "schema": "rtc-harness/results", "schema_version": 1,
            "tool": { "name": "rtc-harness", "version": "0.1.0" },
            "started_at": "2026-11-27T00:24:25.123Z", "duration_ms": 10.0,
            "summary": { "total": 1, "passed": 0, "failed": 1, "flaky": 0, "skipped": 0, "ignored": 0, "excluded": 0 },
            "cases": [{
                "name": "negotiation::basic::rust-chrome", "scenario": "negotiation::basic", "area": "negotiation",
                "file": "scenarios/negotiation/basic.yaml", "description": hostile, "pair": "rust-chrome",
                "peers": [{ "name": "alice", "kind": "rust", "stack": "webrtc-rs", "version": "0.21.1" }],
                "outcome": "failed", "reason": null,
                "failure": { "kind": "checks", "message": hostile, "checks": [{ "name": hostile, "line": 3, "expected": "a", "actual": "b", "excerpt": [hostile] }] },
                "runs": 1, "passes": 0, "pass_rate": 0.0, "duration_ms": 10.0, "timings": { "connected_ms": null, "first_frame_ms": null },
                "attempts": [], "artifacts": null,
                "transcript": {
                    "entries": [{ "at": 1.5, "peer": "alice", "event": { "type": "error", "context": hostile, "message": hostile } }],
                    "relay": [{ "at": 2.0, "room": hostile, "from": "alice", "to": ["bob"], "kind": "unknown" }]
                }
            }]
        })
    }

    /// The text of the `results` script element.
    fn embedded(page: &str) -> &str {
        let open = "<script type=\"application/json\" id=\"results\">";
        let start = page.find(open).expect("the results element") + open.len();
        &page[start..start + page[start..].find("</script>").expect("its end")]
    }

    #[test]
    fn data_cannot_end_its_script_element() {
        let hostile = "</script><script>alert(1)</script><!-- </SCRIPT > <b>&amp;</b>";
        let d = doc(hostile);
        let page = render(&d);
        let back: Value = serde_json::from_str(embedded(&page)).expect("the embedded text is JSON");
        assert_eq!(back, d, "the page carries the document unchanged");
        let lower = page.to_ascii_lowercase();
        assert_eq!(lower.matches("</script").count(), 2, "only the data and the code elements end");
        assert_eq!(lower.matches("</style").count(), 1);
        assert!(!page.contains("<!--"), "no comment opener from the data");
        assert!(!CSS.contains("</") && !JS.to_ascii_lowercase().contains("</script"));
    }

    #[test]
    fn nothing_is_fetched_from_anywhere() {
        let page = render(&doc("plain"));
        // The SVG namespace is a name, not a resource; anything else with a scheme would be.
        let rest = page.replace("'http://www.w3.org/2000/svg'", "");
        for needle in ["http://", "https://", "<link", "@import", " src=", "fetch(", "XMLHttpRequest", "import(", "//cdn", "<iframe", "<img"] {
            assert!(!rest.contains(needle), "the page references {needle}");
        }
        assert!(rest.split("url(").skip(1).all(|s| s.starts_with('#')), "only url(#fragment)");
        assert!(page.contains("default-src 'none'"), "a CSP forbids fetches");
    }

    #[test]
    fn title_and_fallback_are_escaped() {
        let mut d = doc("x");
        d["started_at"] = json!("<img onerror=alert(1)>");
        let page = render(&d);
        assert!(page.contains("&lt;img onerror=alert(1)&gt;") && !page.contains("<img"), "{page:.400}");
        assert!(page.contains("<title>rtc-harness: 1 failed of 1"));
    }
}
