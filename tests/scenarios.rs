//! The one test target: every scenario x peer pair as its own test (`negotiation::basic::rust-chrome`),
//! the invalid-scenario fixtures (`invalid::<file>`), the relay's bad-input tests (`relay::...`), the
//! broken command peers (`broken::...`), the HTML report in headless Chromium
//! (`report::html_in_chromium`), the bench's floor page in each browser (`bench::floor_page::...`),
//! the house rules of `src/` (`layout::...`), the adapter kernels' unit tests (`kernels::...`) and
//! the frame marker through libvpx (`marker::...`).
//! A `harness = false` target on libtest-mimic, so `cargo test -- basic::rust` filters as usual.
//!
//! Environment: `RTC_HARNESS_REQUIRE=chrome,firefox` turns a missing browser into a failure;
//! `RTC_HARNESS_JOBS=N` runs N cases at once and `RTC_HARNESS_IDLE_JOBS=M` up to M more while the
//! CPU is idle (the defaults are the CLI's);
//! `RTC_HARNESS_REPEAT=N` runs each case N times against the same snapshot;
//! `RTC_HARNESS_RETRIES=N` retries a failed case up to N times (FLAKY when a retry passes);
//! `INSTA_UPDATE=always` (or `cargo insta review`) records new snapshots.

mod support;

use libtest_mimic::Arguments;

fn main() {
    let mut args = Arguments::from_args();
    // As many cases at once as the CLI runs (RTC_HARNESS_JOBS: the runner's job permits, and
    // RTC_HARNESS_IDLE_JOBS more while the CPU is idle), and `jobs` threads more to wait for
    // browser slots or a job meanwhile; `--test-threads` overrides.
    if args.test_threads.is_none() {
        args.test_threads = Some(support::env().options.in_flight());
    }
    let mut trials = Vec::new();
    trials.extend(support::cases::trials());
    trials.extend(support::invalid::trials());
    trials.extend(support::relay::trials());
    trials.extend(support::broken::trials());
    trials.extend(support::kit::trials());
    trials.extend(support::html::trials());
    trials.extend(support::floor::trials());
    trials.extend(support::layout::trials());
    trials.extend(support::kernels::trials());
    trials.extend(support::codec::trials());
    let conclusion = libtest_mimic::run(&args, trials);
    support::cases::print_flaky();
    support::shutdown();
    conclusion.exit();
}
