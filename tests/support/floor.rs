//! The bench's floor page in each browser, both ways: direct (the two connections hand each
//! other descriptions and candidates in the page) and through the relay (each connection on its
//! own WebSocket into a relay room, as a pair's pages). What `rtc-harness bench` reads from it must
//! be there and in order; a kind without a relay floor (rust, the command kinds) says so. And
//! each command kind's own floor (its stack against itself in one process).

use super::{block_on, ensure, env, skip_unless_installed};
use libtest_mimic::{Completion, Failed, Trial};
use rtc_harness::bench::floor::{self, Signaling};
use rtc_harness::peer::FloorRun;
use rtc_harness::scenario::PeerKind;

pub fn trials() -> Vec<Trial> {
    let mut trials: Vec<Trial> = ["chrome", "firefox"].into_iter().map(|kind| Trial::ignorable_test(format!("bench::floor_page::{kind}"), move || run(kind))).collect();
    trials.push(Trial::test("bench::floor_page::rust_has_none", || {
        let rust = PeerKind::new("rust").expect("a kind name");
        let relay = block_on(async { Ok(floor::measure(&rust, &[0.0], Signaling::Relay, env()).await) })?;
        ensure(relay.is_none(), || format!("the Rust kind has no floor page, yet measured {relay:?}"))
    }));
    // A command kind's floor (PROTOCOL.md "Optional: the floor"): the stack against itself in its
    // own process; every bundled adapter has one.
    for kind in ["aiortc", "libdatachannel", "libwebrtc", "werift", "gstreamer", "pion", "str0m"] {
        trials.push(Trial::ignorable_test(format!("bench::floor_command::{kind}"), move || command_floor(kind)));
    }
    trials
}

/// Two calls, each timed from createOffer to a first frame that comes after ICE connected where
/// the floor stamps it. Retried as a case is (`RTC_HARNESS_RETRIES`): a floor that fails and then
/// passes is FLAKY, printed with its failure (pion's failed once in a fresh-clone CI run, "no first
/// frame within 20s", and passed 11 of 11 times alone and under CPU hogs).
fn command_floor(kind: &str) -> Result<Completion, Failed> {
    let kind = PeerKind::new(kind).expect("a kind name");
    if let Some(skipped) = skip_unless_installed(&kind)? {
        return Ok(skipped);
    }
    let mut failures = Vec::new();
    for attempt in 0..=env().options.retries {
        match command_floor_once(&kind) {
            Ok(()) if failures.is_empty() => return Ok(Completion::Completed),
            Ok(()) => {
                let text = format!("FLAKY bench::floor_command::{kind}: passed on attempt {}; failed before:\n  {}", attempt + 1, failures.join("\n  "));
                return super::cases::flaky(text);
            }
            Err(e) => failures.push(e.message().unwrap_or("failed").to_string()),
        }
    }
    Err(Failed::from(failures.join("\n")))
}

fn command_floor_once(kind: &PeerKind) -> Result<(), Failed> {
    let measured = block_on(async { Ok(floor::measure(kind, &[0.0, 0.0], Signaling::Direct, env()).await) })?;
    let runs = measured.ok_or_else(|| Failed::from(format!("{kind} answers that it has no floor")))?.map_err(|e| Failed::from(format!("{kind}'s floor: {e}")))?;
    ensure(runs.len() == 2, || format!("{} runs for 2 iterations", runs.len()))?;
    for run in &runs {
        let after_ice = run.ice_connected.is_none_or(|ice| run.first_frame >= ice);
        ensure(run.first_frame > 0.0 && after_ice, || format!("a first frame at {} ms (ICE connected at {:?})", run.first_frame, run.ice_connected))?;
    }
    Ok(())
}

/// Two calls each way, 0 and 40 ms after capture start.
fn run(kind: &str) -> Result<Completion, Failed> {
    let kind = PeerKind::new(kind).expect("a kind name");
    if let Some(skipped) = skip_unless_installed(&kind)? {
        return Ok(skipped);
    }
    let delays = [0.0, 40.0];
    for signaling in [Signaling::Direct, Signaling::Relay] {
        let runs = block_on(async { Ok(floor::measure(&kind, &delays, signaling, env()).await) })?
            .ok_or_else(|| Failed::from(format!("{kind} has no {signaling:?} floor")))?
            .map_err(|e| Failed::from(format!("{signaling:?} floor: {e}")))?;
        ensure(runs.len() == delays.len(), || format!("{signaling:?}: {} runs for {} delays", runs.len(), delays.len()))?;
        for (run, delay) in runs.iter().zip(delays) {
            check(run, delay, signaling).map_err(|e| Failed::from(format!("{signaling:?} floor, delay {delay} ms: {e}\n{run:?}")))?;
        }
    }
    Ok(Completion::Completed)
}

/// Every phase is there and in order; only the relay floor has a trip to split.
fn check(run: &FloorRun, delay: f64, signaling: Signaling) -> Result<(), String> {
    let p = floor::phases(run).ok_or("a phase the tables need is missing")?;
    let (set, applied, answer_set) = (p.offer_set.ok_or("no offer_set")?, p.offer_applied.ok_or("no offer_applied")?, p.answer_set.ok_or("no answer_set")?);
    let order = [("offer set", set), ("offer applied", applied), ("answer set", answer_set), ("answer applied", p.answer_applied)];
    if order.windows(2).any(|w| w[0].1 > w[1].1) || set < 0.0 {
        return Err(format!("the answer phase's steps are out of order: {order:?}"));
    }
    if !(p.dtls_connected >= p.ice_connected && p.first_frame > p.dtls_connected) {
        return Err("ICE connected, DTLS connected and the first frame are out of order".into());
    }
    if run.delay != Some(delay) {
        return Err(format!("the page ran with delay {:?}", run.delay));
    }
    let stamps = [p.offer_queued, p.offer_apply, p.answer_queued, p.answer_apply];
    match signaling {
        Signaling::Direct if stamps.iter().any(Option::is_some) => Err("a direct floor stamped a trip".into()),
        Signaling::Direct => Ok(()),
        Signaling::Relay => {
            let [Some(oq), Some(oa), Some(aq), Some(aa)] = stamps else {
                return Err(format!("the relay floor did not stamp its trips: queued/apply {stamps:?}"));
            };
            // In flight = the trip minus its two parts; Firefox's clocks are whole ms, so one ms
            // of rounding either way.
            let in_flight = [(applied - set) - oq - oa, (p.answer_applied - answer_set) - aq - aa];
            if [oq, oa, aq, aa].iter().any(|v| *v < 0.0) || in_flight.iter().any(|v| *v < -1.0) {
                return Err(format!("the trips do not split: queued/apply {:?}, in flight {in_flight:?}", [oq, oa, aq, aa]));
            }
            Ok(())
        }
    }
}
