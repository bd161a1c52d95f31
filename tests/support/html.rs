//! The HTML report (`run --html DIR`) in a real browser: a results document with every outcome
//! (docs/results.md, written out here, not produced by the runner) is rendered to
//! `DIR/index.html`, opened from `file://` in headless Chromium, and checked for what a person
//! sees: one matrix cell per case in its outcome, the first failed case open, a failed check's
//! EXPECTED / ACTUAL, and the timeline's lanes and failure marker.
//!
//! `RTC_HARNESS_REPORT_SCREENSHOT=FILE` also writes a PNG of the page as the test left it.

use super::{block_on, ensure, env};
use fantoccini::{Client, Locator};
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::peer::browser::{self, BrowserPool, Flavor};
use rtc_harness::scenario::PeerKind;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const FAILED_CHECKS: &str = "negotiation::basic::chrome-rust";
const ERRORED: &str = "ice::restart::chrome-rust";
const SKIPPED: &str = "negotiation::basic::rust-firefox";
const EXPECTED: &str = "bob receives video: at least 30 distinct frames";
const ACTUAL: &str = "bob received 12 frames, the last at 1200.0 ms";
/// Markup in the data must arrive as text.
const INJECTED: &str = "<i class=\"injected\">then nothing</i></script>";

pub fn trials() -> Vec<Trial> {
    vec![Trial::ignorable_test("report::html_in_chromium", run)]
}

fn run() -> Result<Completion, Failed> {
    let options = &env().options;
    let local = options.browsers.grid.is_none();
    if local {
        if let Err(why) = browser::find(Flavor::Chrome, &options.browsers) {
            if options.requires(&PeerKind::new("chrome").expect("a kind name")) {
                return Err(Failed::from(why));
            }
            return Ok(Completion::ignored_with(format!("skipped: {why}")));
        }
    }
    let doc = document();
    let html = rtc_harness::report::html::render(&doc);
    let dir = tempfile::Builder::new().prefix("rtc-harness-report-").tempdir().map_err(|e| Failed::from(e.to_string()))?;
    let page = dir.path().join("index.html");
    std::fs::write(&page, &html).map_err(|e| Failed::from(format!("{}: {e}", page.display())))?;
    // A grid's browser cannot read this machine's files: it gets the same page as a data: URL.
    let url = match local {
        true => url::Url::from_file_path(&page).map_err(|()| Failed::from("not an absolute path"))?.to_string(),
        false => format!("data:text/html;charset=utf-8,{}", percent_encode(&html)),
    };
    block_on(async {
        // A pool of its own, so that the session is not one the scenario cases reuse. (The
        // launcher's `Session::open` is not reachable from here: `peer::browser` imports
        // `Session` privately, and the pool is the public way to a session.)
        let pool = BrowserPool::new(options.browser_options());
        let session = pool.acquire(Flavor::Chrome).await.map_err(|e| Failed::from(e.to_string()))?;
        let result = check(&session.client, &url, &doc).await;
        pool.release(session, false).await;
        result.map(|()| Completion::Completed)
    })
}

fn wd(what: &'static str) -> impl Fn(fantoccini::error::CmdError) -> Failed {
    move |e| Failed::from(format!("{what}: {e}"))
}

async fn attr(element: &fantoccini::elements::Element, name: &str) -> Result<String, Failed> {
    Ok(element.attr(name).await.map_err(wd("read an attribute"))?.unwrap_or_default())
}

/// Clicks the matrix cell of `case` and returns the detail pane, checked to show that case.
async fn open_case(client: &Client, case: &str) -> Result<fantoccini::elements::Element, Failed> {
    client.find(Locator::Css(&format!(".cell[data-case=\"{case}\"]"))).await.map_err(wd("find the case's cell"))?.click().await.map_err(wd("click the cell"))?;
    let detail = client.find(Locator::Css("#case-detail")).await.map_err(wd("find #case-detail"))?;
    let shown = attr(&detail, "data-case").await?;
    ensure(shown == case, || format!("clicked {case}, the detail pane shows '{shown}'"))?;
    ensure(detail.is_displayed().await.map_err(wd("is_displayed"))?, || "the detail pane is hidden".into())?;
    Ok(detail)
}

async fn check(client: &Client, url: &str, doc: &Value) -> Result<(), Failed> {
    client.set_window_size(1440, 1000).await.map_err(wd("set the window size"))?;
    client.goto(url).await.map_err(wd("open the report"))?;

    // The matrix: exactly one cell per case, each in its case's outcome.
    let cases = doc["cases"].as_array().expect("cases");
    let cells = client.find_all(Locator::Css(".cell")).await.map_err(wd("find the cells"))?;
    ensure(cells.len() == cases.len(), || format!("{} .cell elements for {} cases", cells.len(), cases.len()))?;
    let mut seen = BTreeMap::new();
    for cell in &cells {
        seen.insert(attr(cell, "data-case").await?, attr(cell, "data-outcome").await?);
    }
    for c in cases {
        let (name, outcome) = (c["name"].as_str().unwrap_or_default(), c["outcome"].as_str().unwrap_or_default());
        ensure(seen.get(name).map(String::as_str) == Some(outcome), || format!("the cell of {name}: {:?}, expected {outcome}", seen.get(name)))?;
    }
    let failed = client.find(Locator::Css(".chip[data-key=\"failed\"] b")).await.map_err(wd("find the failed count"))?;
    let count = failed.text().await.map_err(wd("read the failed count"))?;
    ensure(count == "2", || format!("the header counts {count} failed, not 2"))?;

    // The page opens on the first failed case.
    let detail = client.find(Locator::Css("#case-detail")).await.map_err(wd("find #case-detail"))?;
    let first = attr(&detail, "data-case").await?;
    ensure(first == FAILED_CHECKS, || format!("the page opened on '{first}', not the first failed case {FAILED_CHECKS}"))?;

    // A case that errored: its failure marker sits at the step that failed, named after it.
    open_case(client, ERRORED).await?;
    let marker = client.find(Locator::Css("#case-detail svg.timeline .failure-marker")).await.map_err(wd("find the errored case's failure marker"))?;
    let label = marker.text().await.map_err(wd("read the marker"))?;
    ensure(label.contains("wait(connected)"), || format!("the failure marker of {ERRORED} says '{label}'"))?;
    ensure(attr(&marker, "data-at").await? == "2000", || "the marker of an error is at the last step (2000 ms)".into())?;

    // The failed checks: EXPECTED / ACTUAL visible, the marker drawn, one lane per peer and the relay.
    let detail = open_case(client, FAILED_CHECKS).await?;
    let checks = detail.find_all(Locator::Css(".failed-check")).await.map_err(wd("find .failed-check"))?;
    ensure(checks.len() == 2, || format!("{} .failed-check elements, expected 2", checks.len()))?;
    ensure(checks[0].is_displayed().await.map_err(wd("is_displayed"))?, || "the failed check is not visible".into())?;
    let text = checks[0].text().await.map_err(wd("read the failed check"))?;
    for want in [EXPECTED, ACTUAL, INJECTED] {
        ensure(text.contains(want), || format!("the failed check does not show '{want}':\n{text}"))?;
    }
    let injected = client.find_all(Locator::Css(".injected")).await.map_err(wd("find injected markup"))?;
    ensure(injected.is_empty(), || "markup from the data became elements".into())?;
    let markers = detail.find_all(Locator::Css("svg.timeline .failure-marker")).await.map_err(wd("find the failure marker"))?;
    ensure(markers.len() == 1, || format!("{} failure markers in the timeline", markers.len()))?;
    ensure(attr(&markers[0], "data-at").await? == "3000", || "the marker of failed checks is at the last entry (3000 ms)".into())?;
    let mut lanes = Vec::new();
    for lane in detail.find_all(Locator::Css("svg.timeline .lane")).await.map_err(wd("find the lanes"))? {
        lanes.push(attr(&lane, "data-lane").await?);
    }
    lanes.sort();
    ensure(lanes == ["alice", "bob", "relay"], || format!("timeline lanes {lanes:?}, expected alice, bob and relay"))?;
    let marks = detail.find_all(Locator::Css("svg.timeline .mark")).await.map_err(wd("find the marks"))?;
    ensure(marks.len() >= 30, || format!("only {} marks on the timeline", marks.len()))?;
    let plots = detail.find_all(Locator::Css("svg.timeline .media-plot")).await.map_err(wd("find the media plot"))?;
    ensure(plots.len() == 1, || format!("{} media plots in the timeline, expected bob's video", plots.len()))?;
    let stats = detail.find(Locator::Css(".stats")).await.map_err(wd("find the stats table"))?.text().await.map_err(wd("read the stats"))?;
    ensure(stats.contains("framesDecoded") && stats.contains("host/udp"), || format!("the stats table lacks the last figures:\n{stats}"))?;

    // Nothing was fetched: the page is self-contained.
    let fetched = client.execute("return performance.getEntriesByType('resource').length", vec![]).await.map_err(wd("count resources"))?;
    ensure(fetched == json!(0), || format!("the page fetched {fetched} resources"))?;

    if let Some(path) = std::env::var_os("RTC_HARNESS_REPORT_SCREENSHOT") {
        let png = client.screenshot().await.map_err(wd("screenshot"))?;
        std::fs::write(&path, png).map_err(|e| Failed::from(format!("{}: {e}", path.to_string_lossy())))?;
    }

    // A case left out shows why, and has no timeline.
    let detail = open_case(client, SKIPPED).await?;
    let text = detail.text().await.map_err(wd("read the detail"))?;
    ensure(text.contains("browser and WebDriver driver not found"), || format!("the skipped case does not say why:\n{text}"))?;
    Ok(())
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn at(t: f64, peer: &str, event: Value) -> Value {
    json!({ "at": t, "peer": peer, "event": event })
}

fn relay(t: f64, from: &str, to: &str, kind: Value) -> Value {
    let mut r = json!({ "at": t, "room": "case-1", "from": from, "to": [to] });
    r.as_object_mut().expect("object").extend(kind.as_object().expect("object").clone());
    r
}

fn step(t: f64, peer: &str, name: &str) -> Value {
    at(t, peer, json!({ "type": "step", "name": name }))
}

fn state(t: f64, peer: &str, which: &str, value: &str) -> Value {
    at(t, peer, json!({ "type": which, "state": value }))
}

fn peers(a: (&str, &str, &str), b: (&str, &str, &str)) -> Value {
    json!([
        { "name": "alice", "kind": a.0, "stack": a.1, "version": a.2 },
        { "name": "bob", "kind": b.0, "stack": b.1, "version": b.2 },
    ])
}

const OFFER: &str = "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:actpass\r\na=ice-ufrag:abcd\r\na=rtpmap:96 VP8/90000\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
const ANSWER: &str = "v=0\r\no=- 77 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:active\r\na=ice-ufrag:wxyz\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
const HOST_A: &str = "candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host generation 0";
const HOST_B: &str = "candidate:2 1 udp 2122260223 192.168.1.2 50001 typ host";

/// A negotiation of alice (offerer) and bob up to connected, with video from alice to bob.
fn negotiation() -> (Vec<Value>, Vec<Value>) {
    let entries = vec![
        step(0.2, "alice", "start"),
        at(0.5, "alice", json!({ "type": "hello", "stack": "Chromium", "version": "156.0.7400.0" })),
        step(0.6, "bob", "start"),
        at(0.9, "bob", json!({ "type": "hello", "stack": "webrtc-rs", "version": "0.21.1" })),
        step(1.0, "alice", "add_track(video)"),
        at(1.2, "alice", json!({ "type": "negotiation_needed" })),
        step(1.5, "alice", "create_data_channel(chat)"),
        step(2.0, "alice", "offer"),
        at(2.1, "alice", json!({ "type": "create_offer" })),
        at(4.0, "alice", json!({ "type": "local_description", "sdp_type": "offer", "sdp": OFFER })),
        state(4.1, "alice", "signaling_state", "have-local-offer"),
        state(4.2, "alice", "ice_gathering_state", "gathering"),
        at(5.0, "alice", json!({ "type": "local_candidate", "candidate": HOST_A })),
        at(6.0, "bob", json!({ "type": "remote_description", "sdp_type": "offer", "sdp": OFFER })),
        state(6.1, "bob", "signaling_state", "have-remote-offer"),
        at(6.5, "bob", json!({ "type": "remote_candidate", "candidate": HOST_A })),
        at(7.0, "alice", json!({ "type": "end_of_candidates", "form": "null" })),
        state(7.1, "alice", "ice_gathering_state", "complete"),
        at(8.0, "bob", json!({ "type": "local_description", "sdp_type": "answer", "sdp": ANSWER })),
        state(8.1, "bob", "signaling_state", "stable"),
        at(9.0, "bob", json!({ "type": "local_candidate", "candidate": HOST_B })),
        at(10.0, "alice", json!({ "type": "remote_candidate", "candidate": HOST_B })),
        at(10.5, "alice", json!({ "type": "remote_description", "sdp_type": "answer", "sdp": ANSWER })),
        state(10.6, "alice", "signaling_state", "stable"),
        state(12.0, "alice", "ice_connection_state", "checking"),
        state(13.0, "bob", "ice_connection_state", "checking"),
        state(25.0, "alice", "ice_connection_state", "connected"),
        state(26.0, "alice", "connection_state", "connected"),
        state(27.5, "bob", "ice_connection_state", "connected"),
        state(28.0, "bob", "connection_state", "connected"),
        at(30.0, "bob", json!({ "type": "track", "kind": "video" })),
        at(45.0, "bob", json!({ "type": "first_frame", "kind": "video", "width": 640, "height": 480 })),
    ];
    let relay = vec![
        relay(4.5, "alice", "bob", json!({ "kind": "desc", "sdp_type": "offer" })),
        relay(5.3, "alice", "bob", json!({ "kind": "candidate" })),
        relay(7.2, "alice", "bob", json!({ "kind": "end_of_candidates", "form": "null" })),
        relay(8.4, "bob", "alice", json!({ "kind": "desc", "sdp_type": "answer" })),
        relay(9.2, "bob", "alice", json!({ "kind": "candidate" })),
    ];
    (entries, relay)
}

fn stats(frames: u64, packets: u64) -> Value {
    json!({ "type": "stats", "summary": {
        "inbound_rtp": [{ "kind": "video", "packetsReceived": packets, "framesDecoded": frames, "frameWidth": 640, "frameHeight": 480 }],
        "outbound_rtp": [],
        "candidate_pair": { "local": "host/udp", "remote": "host/udp" },
    }})
}

fn attempt(outcome: &str, duration: f64, checks: Value, failure: Value, details: Value) -> Value {
    json!({
        "outcome": outcome, "started_at": "2026-11-27T00:24:26.000Z", "duration_ms": duration,
        "connected_ms": if outcome == "passed" { json!(28.0) } else { Value::Null }, "first_frame_ms": if outcome == "passed" { json!(45.0) } else { Value::Null },
        "checks": checks, "failure": failure, "details": details, "artifacts": null,
    })
}

/// A run of seven cases: passed, failed (checks), failed (error), flaky, skipped, ignored, excluded.
fn document() -> Value {
    let chrome = ("chrome", "Chromium", "156.0.7400.0");
    let rust = ("rust", "webrtc-rs", "0.21.1");

    // The failed checks: video stalls at 12 frames, and bob reports an error.
    let (mut entries, relays) = negotiation();
    entries.push(at(300.0, "alice", json!({ "type": "data_channel_open", "label": "chat" })));
    entries.push(at(305.0, "bob", json!({ "type": "data_channel_open", "label": "chat" })));
    entries.push(at(310.0, "bob", json!({ "type": "data_channel_message", "label": "chat", "data": "</script><b class=\"injected\">hello</b>" })));
    entries.extend((1..=12).map(|i| at(100.0 * i as f64, "bob", json!({ "type": "media_progress", "kind": "video", "count": 10 * i }))));
    entries.push(at(800.0, "bob", stats(80, 900)));
    entries.push(step(1500.0, "alice", "wait(3s)"));
    entries.push(at(2900.0, "bob", json!({ "type": "error", "context": "getStats", "message": "stats report had no inbound-rtp for track 1" })));
    entries.push(at(2990.0, "alice", stats(0, 0)));
    entries.push(at(3000.0, "bob", stats(120, 1320)));
    entries.sort_by(|a, b| a["at"].as_f64().partial_cmp(&b["at"].as_f64()).expect("times"));
    let media_check = json!({ "name": "media(bob, video)", "line": 31, "expected": EXPECTED, "actual": format!("{ACTUAL}; {INJECTED}"),
        "excerpt": ["  1100.0 ms  bob      media_progress video x11, 10 -> 110", "  1200.0 ms  bob      {\"type\":\"media_progress\",\"kind\":\"video\",\"count\":120}"] });
    let errors_check = json!({ "name": "no peer or relay errors", "line": 0, "expected": "no error events", "actual": "bob: error getStats: stats report had no inbound-rtp for track 1", "excerpt": [] });
    let checks_failure =
        json!({ "kind": "checks", "message": format!("check failed: media(bob, video): EXPECTED {EXPECTED} ACTUAL {ACTUAL}"), "checks": [media_check, errors_check] });
    let failed_checks = json!({
        "name": FAILED_CHECKS, "scenario": "negotiation::basic", "area": "negotiation", "file": "scenarios/negotiation/basic.yaml",
        "description": "An offer, an answer, trickled candidates, video from alice to bob and a data channel.", "pair": "chrome-rust",
        "peers": peers(chrome, rust), "outcome": "failed", "reason": null, "failure": checks_failure,
        "runs": 1, "passes": 0, "pass_rate": 0.0, "duration_ms": 3120.4, "timings": { "connected_ms": null, "first_frame_ms": null },
        "attempts": [attempt("failed", 3120.4,
            json!([{ "name": "signaling state machine (alice)", "passed": true }, { "name": "media(bob, video)", "passed": false }, { "name": "no peer or relay errors", "passed": false }]),
            checks_failure, json!(format!("check failed: media(bob, video)\n  EXPECTED {EXPECTED}\n  ACTUAL   {ACTUAL}")))],
        "artifacts": "target/rtc-harness/artifacts/negotiation__basic__chrome-rust/1",
        "transcript": { "entries": entries, "relay": relays },
    });

    // The error: the ICE restart never reconnects; the failing step is the last step.
    let (mut entries, mut relays) = negotiation();
    entries.push(step(1000.0, "alice", "restart_ice"));
    entries.push(state(1003.0, "alice", "signaling_state", "have-local-offer"));
    relays.push(relay(1004.0, "alice", "bob", json!({ "kind": "desc", "sdp_type": "offer" })));
    relays.push(relay(1006.0, "bob", "alice", json!({ "kind": "rejected", "code": "unknown_peer" })));
    entries.push(state(1500.0, "bob", "ice_connection_state", "disconnected"));
    entries.push(step(2000.0, "alice", "wait(connected)"));
    entries.push(state(4000.0, "alice", "ice_connection_state", "failed"));
    entries.push(state(4001.0, "alice", "connection_state", "failed"));
    let at_step = "scenarios/ice/restart.yaml:14: alice: wait(connected)";
    let waited = "waited 10s for alice: connected; saw instead: ice_connection_state failed";
    let error_failure = json!({ "kind": "error", "message": format!("{at_step}: {waited}"), "at": at_step, "error": waited });
    let errored = json!({
        "name": ERRORED, "scenario": "ice::restart", "area": "ice", "file": "scenarios/ice/restart.yaml",
        "description": "alice restarts ICE after connecting; both reconnect.", "pair": "chrome-rust",
        "peers": peers(chrome, rust), "outcome": "failed", "reason": null, "failure": error_failure,
        "runs": 1, "passes": 0, "pass_rate": 0.0, "duration_ms": 12050.0, "timings": { "connected_ms": null, "first_frame_ms": null },
        "attempts": [attempt("failed", 12050.0, json!([]), error_failure, json!(format!("{at_step}: {waited}")))],
        "artifacts": "/tmp/rtc-harness-artifacts/ice__restart__chrome-rust/1",
        "transcript": { "entries": entries, "relay": relays },
    });

    let (entries, relays) = negotiation();
    let passed_checks = json!([{ "name": "signaling state machine (alice)", "passed": true }, { "name": "connection(*, connected)", "passed": true }]);
    let passed = json!({
        "name": "negotiation::basic::rust-chrome", "scenario": "negotiation::basic", "area": "negotiation", "file": "scenarios/negotiation/basic.yaml",
        "description": "An offer, an answer, trickled candidates, video from alice to bob and a data channel.", "pair": "rust-chrome",
        "peers": peers(rust, chrome), "outcome": "passed", "reason": null, "failure": null,
        "runs": 1, "passes": 1, "pass_rate": 1.0, "duration_ms": 2345.6, "timings": { "connected_ms": 28.0, "first_frame_ms": 45.0 },
        "attempts": [attempt("passed", 2345.6, passed_checks.clone(), Value::Null, Value::Null)],
        "artifacts": null, "transcript": { "entries": entries, "relay": relays },
    });

    let (entries, relays) = negotiation();
    let flaky_failure = json!({ "kind": "error", "message": "scenarios/datachannel/echo.yaml:9: bob: wait(data_channel_open(chat)): waited 5s", "at": "scenarios/datachannel/echo.yaml:9: bob: wait(data_channel_open(chat))", "error": "waited 5s" });
    let flaky = json!({
        "name": "datachannel::echo::rust-chrome", "scenario": "datachannel::echo", "area": "datachannel", "file": "scenarios/datachannel/echo.yaml",
        "description": "Messages on a data channel come back.", "pair": "rust-chrome",
        "peers": peers(rust, chrome), "outcome": "flaky", "reason": null, "failure": flaky_failure,
        "runs": 2, "passes": 1, "pass_rate": 0.5, "duration_ms": 7400.0, "timings": { "connected_ms": 30.5, "first_frame_ms": null },
        "attempts": [attempt("failed", 5200.0, json!([]), flaky_failure.clone(), json!("waited 5s")), attempt("passed", 2200.0, passed_checks, Value::Null, Value::Null)],
        "artifacts": null, "transcript": { "entries": entries, "relay": relays },
    });

    let left_out = |name: &str, scenario: &str, pair: &str, outcome: &str, reason: &str| {
        let kinds: Vec<&str> = pair.split('-').collect();
        json!({
            "name": name, "scenario": scenario, "area": scenario.split("::").next(), "file": format!("scenarios/{}.yaml", scenario.replace("::", "/")),
            "description": "", "pair": pair,
            "peers": [{ "name": "alice", "kind": kinds[0], "stack": null, "version": null }, { "name": "bob", "kind": kinds[1], "stack": null, "version": null }],
            "outcome": outcome, "reason": reason, "failure": null, "runs": 0, "passes": 0, "pass_rate": null, "duration_ms": 0.0,
            "timings": { "connected_ms": null, "first_frame_ms": null }, "attempts": [], "artifacts": null, "transcript": null,
        })
    };
    let skipped =
        left_out(SKIPPED, "negotiation::basic", "rust-firefox", "skipped", "firefox: browser and WebDriver driver not found; install with `bash scripts/install-browsers.sh`");
    let ignored = left_out("datachannel::echo::rust-gstreamer", "datachannel::echo", "rust-gstreamer", "ignored", "gstreamer lacks the capability data_channels");
    let excluded = left_out("ice::restart::rust-firefox", "ice::restart", "rust-firefox", "excluded", "Firefox ESR 153 never sends a restart answer in time (bug 1234567)");

    json!({
        "schema": "rtc-harness/results", "schema_version": 1,
        "tool": { "name": "rtc-harness", "version": "0.1.0" },
        "started_at": "2026-11-27T00:24:25.123Z", "duration_ms": 32345.6,
        "summary": { "total": 7, "passed": 1, "failed": 2, "flaky": 1, "skipped": 1, "ignored": 1, "excluded": 1 },
        "cases": [passed, failed_checks, errored, flaky, skipped, ignored, excluded],
    })
}
