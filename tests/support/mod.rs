//! Shared pieces of the test target: one tokio runtime and one browser launcher for all trials.

pub mod cases;
pub mod invalid;
pub mod relay;

use libtest_mimic::Failed;
use rtc_harness::runner::Env;
use std::future::Future;
use std::sync::OnceLock;

/// One runtime for every trial: browser sessions opened by one case are reused by the next.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime"))
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        // Ctrl-C or a kill: no browser or driver may outlive the run.
        runtime().spawn(rtc_harness::peer::browser::kill_all_on_signal());
        rtc_harness::runner::default_env()
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

/// Closes every browser and driver (called once, after the last trial).
pub fn shutdown() {
    runtime().block_on(rtc_harness::runner::shutdown_env(env()));
}
