//! Shared pieces of the test target: one tokio runtime and one environment (peer kinds, browser
//! sessions, idle command-peer programs) for all trials.

pub mod broken;
pub mod cases;
pub mod codec;
pub mod floor;
pub mod html;
pub mod invalid;
pub mod kernels;
pub mod kit;
pub mod layout;
pub mod relay;

use libtest_mimic::Failed;
use rtc_harness::runner::{Env, RunOptions};
use std::future::Future;
use std::sync::OnceLock;

/// One runtime for every trial: browser sessions and programs opened by one case are reused by
/// the next.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime"))
}

/// The environment, built once from `RTC_HARNESS_*` (the options are read here, at the edge).
pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        // Ctrl-C or a kill: no browser, driver or program may outlive the run.
        runtime().spawn(rtc_harness::peer::procs::kill_all_on_signal());
        // A bad RTC_HARNESS_* value fails the run, naming the variable. The suite is what the CLI
        // runs: every pair, the extended scenarios included (RTC_HARNESS_SUITE=core for fewer).
        let mut options = RunOptions::from_env().unwrap_or_else(|e| panic!("{e}"));
        // Under nextest (which sets NEXTEST=1) its own `retries` mark a case flaky; the harness's
        // would hide the failure from it, so they apply only when asked for by name.
        if std::env::var_os("NEXTEST").is_some() && std::env::var_os("RTC_HARNESS_RETRIES").is_none() {
            options.retries = 0;
        }
        // A failed case's artifacts land in target/ unless RTC_HARNESS_ARTIFACTS says otherwise.
        if options.artifacts.is_none() {
            options.artifacts = Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts"));
        }
        runtime().block_on(async { Env::new(options) }).unwrap_or_else(|e| panic!("peer kinds: {e}"))
    })
}

/// Runs `f` on the shared runtime; a panic becomes a failure with its message.
pub fn block_on<F: Future<Output = Result<T, Failed>>, T>(f: F) -> Result<T, Failed> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime().block_on(f))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(Failed::from(msg.unwrap_or_else(|| "panicked".into())))
        }
    }
}

/// `Ok` when `ok`, else a failure saying `what` (built only then).
pub fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(Failed::from(what()))
    }
}

/// Closes every browser, driver and program (called once, after the last trial).
pub fn shutdown() {
    runtime().block_on(env().shutdown());
}

/// Whether a test that needs `kind`'s stack can run here: `Ok(None)` when the stack is installed;
/// `Ok(Some(ignored))` with the reason when it is missing (the kind's cases are ignored so too); an
/// error when it is missing and required (`RTC_HARNESS_REQUIRE`) or the kind is not registered.
pub fn skip_unless_installed(kind: &rtc_harness::scenario::PeerKind) -> Result<Option<libtest_mimic::Completion>, Failed> {
    let launcher = env().registry.get(kind).ok_or_else(|| Failed::from(format!("no kind '{kind}' registered")))?;
    match launcher.availability() {
        Ok(()) => Ok(None),
        Err(why) if env().options.requires(kind) => Err(Failed::from(why)),
        Err(why) => Ok(Some(libtest_mimic::Completion::ignored_with(format!("skipped: {why}")))),
    }
}
