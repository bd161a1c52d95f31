//! A project's own peer kind, run against the scenario catalog from its own test target.
//!
//! A project that builds on a WebRTC stack adds `rtc-harness` as a dev-dependency, implements
//! [`Launcher`] (and [`Peer`]) for its stack, registers it, and turns every case into a test. Here
//! the "own stack" is the harness's Rust peer under the name `mystack`, which is all an example
//! needs; a real project opens its own peer connection in `open`.
//!
//! As a project's `tests/interop.rs` (with `harness = false`), or here:
//! `cargo run --example own_kind -- mystack-rust` (arguments as for any libtest test binary).

use async_trait::async_trait;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use rtc_harness::clock::Clock;
use rtc_harness::peer::rust::RustKind;
use rtc_harness::peer::{KindError, KindInfo, Launcher, Peer, PeerConfig, PeerError, Registry};
use rtc_harness::report::{failure_details, Outcome};
use rtc_harness::runner::{run_case, Env, RunOptions};
use rtc_harness::scenario::{self, Capabilities, PeerKind};
use std::sync::Arc;

/// The project's kind: its name, what it can do, and how it opens a peer.
struct MyStack {
    info: KindInfo,
    inner: RustKind,
}

impl MyStack {
    fn new() -> MyStack {
        let info = KindInfo {
            kind: PeerKind::new("mystack").expect("a valid kind name"),
            stack: "my stack (the harness's Rust peer, renamed)".into(),
            // Declare only what the stack can do: cases that need more are ignored with the reason.
            capabilities: Capabilities::full(&["VP8", "opus"]),
            install: "nothing to install".into(),
            // Bugs of the stack that break whole pairs: each excludes those cases with its reason.
            findings: Vec::new(),
        };
        MyStack { info, inner: RustKind::new("mystack", false) }
    }
}

#[async_trait]
impl Launcher for MyStack {
    fn info(&self) -> &KindInfo {
        &self.info
    }
    fn availability(&self) -> Result<(), KindError> {
        Ok(())
    }
    async fn open(&self, config: PeerConfig, clock: Clock) -> Result<Box<dyn Peer>, PeerError> {
        self.inner.open(config, clock).await
    }
    async fn version(&self) -> Result<String, KindError> {
        Ok("mystack 0.1".into())
    }
    async fn shutdown(&self) {}
}

fn main() {
    let args = Arguments::from_args();
    let rt = Arc::new(tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime"));
    // The harness's own kinds (rust, chrome, firefox, the stacks of stacks/kinds.yaml) plus ours;
    // `Registry::new()` and a single `register` would run ours alone.
    let mut env = rt.block_on(async { Env::new(RunOptions::from_env().unwrap_or_else(|e| panic!("{e}"))) }).expect("peer kinds");
    let mut registry: Registry = (*env.registry).clone();
    registry.register(Arc::new(MyStack::new()));
    env = Env::with_registry(registry, env.options.clone());
    let catalog = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mine = PeerKind::new("mystack").expect("valid");
    let mut trials = Vec::new();
    for loaded in scenario::load_dir(&catalog, &env.registry.kinds()) {
        let scenario = Arc::new(loaded.expect("the catalog loads"));
        // Our kind against every kind, in both roles.
        for case in scenario::expand(&scenario).into_iter().filter(|c| c.kinds.contains(&mine)) {
            let (env, rt) = (env.clone(), Arc::clone(&rt));
            trials.push(Trial::ignorable_test(case.name(), move || {
                let result = rt.block_on(run_case(&case, &env));
                match Outcome::of(&result) {
                    Outcome::Passed => Ok(Completion::Completed),
                    Outcome::Failed(_) => Err(Failed::from(failure_details(&result).unwrap_or_default())),
                    other => Ok(Completion::ignored_with(other.reason().unwrap_or_default().to_string())),
                }
            }));
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    rt.block_on(env.shutdown());
    conclusion.exit();
}
