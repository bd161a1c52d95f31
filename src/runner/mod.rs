//! Runs one case: relay, peers, steps, the settle phase, the verdict, and teardown that always
//! happens (success, failure, timeout; peers also release everything on drop, for panics).

mod artifacts;
pub mod attempts;
mod wait;

use wait::Stop;
pub use wait::{condition_met, settled};

mod gather;
mod load;
mod options;
pub mod order;
mod result;
mod steps;
use steps::{run_steps, Signaling};

use gather::{collect, poll_until};
pub use options::RunOptions;
pub use result::{location, CaseRun, RunError, RunErrorKind, Timings};

use crate::clock::Clock;
use crate::limits;
use crate::peer::{Launcher, Peer, PeerConfig, PeerError, Registry};
use crate::relay::Relay;
use crate::scenario::{Case, Negotiation};
use crate::transcript::{Event, Transcript};
use crate::verdict;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the runner needs from its surroundings: the peer kinds and the run's options.
#[derive(Clone)]
pub struct Env {
    pub registry: Arc<Registry>,
    pub options: RunOptions,
    /// One permit per case running at once (`RunOptions::jobs`), taken after the case's browser
    /// slots: a case waiting for a browser holds no job, so the other cases fill the machine.
    jobs: Arc<tokio::sync::Semaphore>,
    /// Cases beyond `jobs` while the CPU is idle (`RunOptions::idle_jobs`, runner/load.rs).
    idle: Option<Arc<load::IdleJobs>>,
}

impl Env {
    /// The built-in kinds (`rust`, `chrome`, `firefox`) and every kind of the options' kinds
    /// files, in that order.
    pub fn new(options: RunOptions) -> Result<Env, crate::peer::command::KindsError> {
        let mut registry = Registry::new();
        registry.register(Arc::new(crate::peer::rust::RustKind::new("rust", options.rust_crate_sockets)));
        crate::peer::browser::register(&mut registry, options.browser_options());
        for file in &options.kinds_files {
            crate::peer::command::register_file(&mut registry, file, &crate::peer::MediaFiles::in_dir(&options.media_dir), options.limits)?;
        }
        Ok(Env::with_registry(registry, options))
    }

    /// An environment with a registry of the caller's (a project's own kinds).
    pub fn with_registry(registry: Registry, options: RunOptions) -> Env {
        let jobs = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
        let idle = load::IdleJobs::new(options.idle_jobs).map(Arc::new);
        Env { registry: Arc::new(registry), options, jobs, idle }
    }

    /// Closes every browser, driver and program the kinds started.
    pub async fn shutdown(&self) {
        self.registry.shutdown().await;
    }
}

/// Whether the case can run here: excluded, a kind missing (or required and missing), a
/// capability lacking. Checked before anything starts.
pub fn admit(case: &Case, env: &Env) -> Result<Vec<Arc<dyn Launcher>>, RunError> {
    // RTC_HARNESS_RUN_EXCLUDED=1 runs them anyway: how one finds out that a known bug is fixed.
    if let Some(why) = case.excluded.as_ref().filter(|_| !env.options.run_excluded) {
        return Err(RunError::Excluded(why.clone()));
    }
    if let (true, Some(kinds)) = (case.scenario.extended, &env.options.extended_kinds) {
        if case.kinds.iter().any(|k| !kinds.iter().any(|x| x == k.as_str())) {
            return Err(RunError::Unsupported(format!(
                "an extended-suite scenario, run for pairs of {} only (RTC_HARNESS_SUITE=core; unset, every pair runs it)",
                kinds.join(", ")
            )));
        }
    }
    let mut launchers = Vec::new();
    for kind in &case.kinds {
        let launcher = env.registry.get(kind).ok_or_else(|| RunError::Unavailable(format!("no peer kind '{kind}' in this run (kinds: {})", env.registry.names())))?;
        if let Err(why) = launcher.availability() {
            return Err(match env.options.requires(kind) {
                true => RunError::Setup(format!("{kind} is required (RTC_HARNESS_REQUIRE) but unavailable: {why}")),
                false => RunError::Unavailable(why.to_string()),
            });
        }
        launchers.push(Arc::clone(launcher));
    }
    if let Some(why) = lacking(case, &launchers) {
        return Err(RunError::Unsupported(why));
    }
    // After the capabilities: a case a kind cannot take part in says so, not that it is broken.
    if let Some(finding) = first_finding(case, &launchers).filter(|_| !env.options.run_excluded) {
        return Err(RunError::Excluded(finding.reason.clone()));
    }
    Ok(launchers)
}

/// `KIND (peer) lacks X, Y` for the first peer whose kind lacks something the case needs.
fn lacking(case: &Case, launchers: &[Arc<dyn Launcher>]) -> Option<String> {
    case.needs().iter().zip(launchers).find_map(|((peer, kind, needs), launcher)| {
        let lacks = launcher.info().capabilities.lacks(needs);
        (!lacks.is_empty()).then(|| format!("{kind} ({peer}) lacks {}", lacks.join(", ")))
    })
}

/// The first known finding of the launchers' kinds that breaks the case's pair.
fn first_finding<'a>(case: &Case, launchers: &'a [Arc<dyn Launcher>]) -> Option<&'a crate::scenario::KnownFinding> {
    launchers.iter().flat_map(|l| l.info().findings.iter()).find(|f| f.applies(case))
}

/// The first known finding of the case's kinds (their kinds file entries) that breaks its pair;
/// none where a kind lacks what the case needs (that case is ignored for the lack, as `admit` says).
pub fn known_finding(case: &Case, registry: &Registry) -> Option<crate::scenario::KnownFinding> {
    let launchers = case.kinds.iter().map(|k| registry.get(k).cloned()).collect::<Option<Vec<_>>>()?;
    if lacking(case, &launchers).is_some() {
        return None;
    }
    first_finding(case, &launchers).cloned()
}

/// Reserves every scarce slot the case needs, pool by pool, before any peer opens.
async fn reserve(launchers: &[Arc<dyn Launcher>]) -> Result<Vec<tokio::sync::OwnedSemaphorePermit>, RunError> {
    let mut pools: Vec<(Arc<dyn crate::peer::SlotPool>, usize)> = Vec::new();
    for pool in launchers.iter().filter_map(|l| l.slots()) {
        match pools.iter_mut().find(|(p, _)| Arc::ptr_eq(p, &pool)) {
            Some((_, n)) => *n += 1,
            None => pools.push((pool, 1)),
        }
    }
    let mut permits = Vec::new();
    for (pool, n) in pools {
        permits.push(pool.reserve(n).await.map_err(setup_error)?);
    }
    Ok(permits)
}

/// Runs `case` on its own relay and clock (no artifacts).
pub async fn run_case(case: &Case, env: &Env) -> Result<CaseRun, RunError> {
    run_attempt(case, env, None).await.0
}

/// Runs `case` once; when it fails and `artifacts` is given, writes the failure's artifacts there
/// (see `runner/artifacts.rs`) before the peers close, and returns the directory with the result.
pub async fn run_attempt(case: &Case, env: &Env, artifacts: Option<PathBuf>) -> (Result<CaseRun, RunError>, Option<PathBuf>) {
    match begin(case, env).await {
        Ok(admitted) => admitted.run(env, artifacts).await,
        Err(e) => (Err(e), None),
    }
}

/// The case as it runs with these kinds: each peer whose trickle follows its kind trickles as
/// its kind can ([`Case::resolved`]). Kinds not in the registry are taken as trickling.
pub fn resolve(case: &Case, registry: &Registry) -> Case {
    let can: Vec<bool> = case.kinds.iter().map(|k| registry.get(k).is_none_or(|l| l.info().capabilities.trickle)).collect();
    case.resolved(&can)
}

/// A case admitted to run, holding its browser slots and its job: from here it runs at once.
pub struct Admitted {
    /// The case as it runs ([`resolve`]).
    pub case: Case,
    launchers: Vec<Arc<dyn Launcher>>,
    _slots: Vec<tokio::sync::OwnedSemaphorePermit>,
    _job: tokio::sync::OwnedSemaphorePermit,
    /// When it began running (the time before was spent waiting for slots and a job).
    pub began: std::time::Instant,
    pub began_at: std::time::SystemTime,
}

/// Admission (installed, capable, not excluded), then the case's browser slots, then a job.
pub async fn begin(case: &Case, env: &Env) -> Result<Admitted, RunError> {
    let launchers = admit(case, env)?;
    let _slots = reserve(&launchers).await?;
    let _job = load::job(&env.jobs, env.idle.as_deref()).await;
    let case = resolve(case, &env.registry);
    Ok(Admitted { case, launchers, _slots, _job, began: std::time::Instant::now(), began_at: std::time::SystemTime::now() })
}

impl Admitted {
    /// Runs the case (see [`run_attempt`]); the slots and the job are released at the end.
    pub async fn run(self, env: &Env, artifacts: Option<PathBuf>) -> (Result<CaseRun, RunError>, Option<PathBuf>) {
        run_admitted(&self.case, env, &self.launchers, artifacts).await
    }
}

async fn run_admitted(case: &Case, env: &Env, launchers: &[Arc<dyn Launcher>], artifacts: Option<PathBuf>) -> (Result<CaseRun, RunError>, Option<PathBuf>) {
    let clock = Clock::start();
    let relay = match Relay::start(clock, env.registry.pages()).await {
        Ok(r) => r,
        Err(e) => return (Err(RunError::Setup(format!("relay: {e}"))), None),
    };
    let room = case.name().replace("::", ".");
    let names: Vec<String> = case.scenario.peers.iter().map(|p| p.name.clone()).collect();
    relay.rooms.open_room(&room, &names);
    relay.rooms.set_faults(&room, case.scenario.faults.clone());
    let net = match crate::net::CaseNetwork::start(&case.scenario, env.options.ice_ip, clock).await {
        Ok(n) => n,
        Err(e) => {
            relay.stop().await;
            return (Err(RunError::Setup(e.to_string())), None);
        }
    };
    let mut peers: Vec<Box<dyn Peer>> = Vec::new();
    let result = async {
        // The peers start side by side: a browser page loads while a program sets up (a
        // browser-browser case paid two page loads one after the other). A peer that did start
        // is kept, so that teardown closes it when another failed to.
        let opens = case.scenario.peers.iter().zip(launchers).map(|(spec, launcher)| {
            let mut config = peer_config(case, spec, &relay, &room, env);
            if let Some(net) = &net {
                config.ice_servers = net.ice_servers(&case.scenario, &spec.name);
            }
            launcher.open(config, clock)
        });
        let mut failed = None;
        for opened in futures::future::join_all(opens).await {
            match opened {
                Ok(peer) => peers.push(peer),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        if let Some(e) = failed {
            return Err(setup_error(e));
        }
        joined(&relay, &room, &names, &peers, env.options.limits).await?;
        let mut transcript = Transcript::default();
        let mut sampler = wait::Sampler::new(net.as_ref());
        let signaling = Signaling { relay: &relay, room: &room };
        run_steps(case, &peers, &clock, &mut transcript, &mut sampler, signaling, env.options.limits).await?;
        settle(case, &peers, &relay, &room, &mut transcript, &mut sampler, env.options.limits).await?;
        // The end of the case is answered like every step: a peer that stopped answering (no
        // stats, no close) fails the case instead of passing on what it said earlier.
        let silent = |what: &str, e: PeerError, transcript: &Transcript| RunError::Step {
            file: case.scenario.path.display().to_string(),
            line: 0,
            step: format!("{}: {what} (end of case)", peer_of(&e)),
            message: format!("{e}: the peer stopped answering"),
            transcript: Box::new(transcript.clone()),
        };
        for p in &peers {
            if let Err(e @ (PeerError::Timeout { .. } | PeerError::Gone { .. })) = p.collect_stats().await {
                collect(&peers, &mut transcript).await;
                return Err(silent("collect_stats", e, &transcript));
            }
        }
        collect(&peers, &mut transcript).await;
        for p in &peers {
            if let Err(e) = p.finish().await {
                collect(&peers, &mut transcript).await;
                return Err(silent("close", e, &transcript));
            }
        }
        sampler.drain_network(&mut transcript);
        if let Some(net) = &net {
            transcript.entries.extend(net.records());
        }
        transcript.relay = relay.rooms.records(&room);
        Ok::<Transcript, RunError>(transcript)
    }
    .await;
    let result = result.map(|transcript| {
        let verdict = verdict::check(&case.scenario, &transcript, env.options.limits);
        let timings = timings(case, &transcript);
        CaseRun { name: case.name(), transcript, verdict, timings, logs: String::new() }
    });
    // Artifacts are taken while the browsers still show the page and the programs still run.
    let failed = match &result {
        Ok(run) => !run.passed(),
        Err(e) => !e.left_out(),
    };
    let mut result = result;
    if failed {
        with_logs(&mut result, &peers).await;
    }
    let saved = match artifacts.filter(|_| failed) {
        Some(dir) => artifacts::save(&dir, &result, &peers).await,
        None => None,
    };
    for p in &peers {
        p.shutdown().await;
    }
    if let Some(net) = net {
        net.stop().await;
    }
    relay.stop().await;
    (result, saved)
}

/// The peer a [`PeerError`] names.
fn peer_of(e: &PeerError) -> &str {
    match e {
        PeerError::Timeout { peer, .. } | PeerError::Failed { peer, .. } | PeerError::Gone { peer, .. } => peer,
        PeerError::Unavailable(_) => "a peer",
    }
}

/// Lines of a peer's own log a failure message carries (its last ones).
const LOG_LINES_IN_FAILURE: usize = 30;

/// Puts each peer's log of this case (a program's stderr since its setup) into the failure, so
/// the cause is in the message and not only in the artifacts.
async fn with_logs(result: &mut Result<CaseRun, RunError>, peers: &[Box<dyn Peer>]) {
    let mut text = String::new();
    for p in peers {
        let lines = p.case_log().await;
        if lines.is_empty() {
            continue;
        }
        let shown = &lines[lines.len().saturating_sub(LOG_LINES_IN_FAILURE)..];
        let cut = if shown.len() < lines.len() { format!(", last {} of {}", shown.len(), lines.len()) } else { String::new() };
        text.push_str(&format!("\nstderr of {} (this case{cut}):\n  {}", p.name(), shown.join("\n  ")));
    }
    if text.is_empty() {
        return;
    }
    match result {
        Ok(run) => run.logs = text,
        Err(RunError::Step { message, .. }) => message.push_str(&text),
        Err(RunError::Setup(message)) => message.push_str(&text),
        Err(_) => {}
    }
}

fn peer_config(case: &Case, spec: &crate::scenario::PeerSpec, relay: &Relay, room: &str, env: &Env) -> PeerConfig {
    PeerConfig {
        name: spec.name.clone(),
        kind: case.kind_of(&spec.name).expect("case has a kind per peer"),
        media: spec.media.clone(),
        data_channels: spec.data_channels.clone(),
        trickle: spec.trickles(),
        auto_negotiate: spec.negotiation == Negotiation::Auto,
        echo: spec.echo,
        signaling_url: relay.ws_url(room, &spec.name),
        relay_base: relay.http_base(),
        room: room.to_string(),
        media_files: crate::peer::MediaFiles::in_dir(&env.options.media_dir),
        ice_servers: Vec::new(),
        ice_transport_policy: spec.ice_transport_policy,
        polite: spec.polite,
        codec_preferences: spec.codecs.clone(),
        marker: case.scenario.uses_markers().then(|| case.scenario.marker_sender(&spec.name)).flatten(),
        tone: case.scenario.uses_tones().then(|| case.scenario.marker_sender(&spec.name)).flatten(),
        limits: env.options.limits,
    }
}

/// Waits until the relay has registered every peer in the room. A peer is ready once its
/// WebSocket handshake is done, but the relay's upgrade task registers it a moment later, and a
/// message sent to a room before its other member is registered reaches nobody (seen: a Rust
/// offer lost under load, 1 run in 20).
async fn joined(relay: &Relay, room: &str, names: &[String], peers: &[Box<dyn Peer>], limits: limits::Limits) -> Result<(), RunError> {
    let all_in = || names.iter().all(|n| relay.rooms.is_member(room, n)) || wait::first_gone(peers).is_some();
    poll_until(limits.peer_start, Duration::from_millis(2), all_in).await;
    // A peer that died before joining fails for its own reason, not for the missing join.
    if let Some(why) = wait::first_gone(peers) {
        return Err(RunError::Setup(why));
    }
    let missing: Vec<&str> = names.iter().filter(|n| !relay.rooms.is_member(room, n)).map(String::as_str).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(RunError::Setup(format!("the relay never registered {} in room {room} (a peer is ready only once its relay WebSocket is open)", missing.join(", "))))
}

fn setup_error(e: PeerError) -> RunError {
    match e {
        PeerError::Unavailable(m) => RunError::Unavailable(m),
        other => RunError::Setup(other.to_string()),
    }
}

/// After the last step: wait until every expectation holds and the exchange has settled (see
/// [`settled`]), or until the longest expectation limit runs out. What did not happen by then is
/// for the verdict to report.
async fn settle(
    case: &Case,
    peers: &[Box<dyn Peer>],
    relay: &Relay,
    room: &str,
    transcript: &mut Transcript,
    sampler: &mut wait::Sampler<'_>,
    limits: limits::Limits,
) -> Result<(), RunError> {
    let limit = case.scenario.expect.iter().filter_map(|e| verdict::within(&e.kind)).max().unwrap_or(limits::EXPECTATION_WAIT);
    let limit = limits.scenario(limit.max(Duration::from_secs(1)));
    let net = sampler.net;
    let waited = wait::until(peers, transcript, sampler, limit, |t| {
        let mut t = t.clone();
        t.relay = relay.rooms.records(room);
        if let Some(net) = net {
            t.entries.extend(net.records());
        }
        settled(&case.scenario, &t) && verdict::check(&case.scenario, &t, limits).passed()
    })
    .await;
    match waited {
        Err(Stop::Gone(why)) => {
            Err(RunError::Step { file: case.scenario.path.display().to_string(), line: 0, step: "expectations".into(), message: why, transcript: Box::new(transcript.clone()) })
        }
        _ => Ok(()),
    }
}

fn timings(case: &Case, t: &Transcript) -> Timings {
    let start = t.first(&case.scenario.offerer, |e| matches!(e, Event::CreateOffer)).map(|e| e.at);
    let connected = case
        .scenario
        .peers
        .iter()
        .map(|p| t.first(&p.name, |e| matches!(e, Event::ConnectionState { state } if state == "connected")).map(|e| e.at))
        .collect::<Option<Vec<_>>>()
        .and_then(|v| v.into_iter().reduce(f64::max));
    let answerer = case.scenario.answerer();
    let first_frame =
        t.first(answerer, |e| matches!(e, Event::FirstFrame { .. })).or_else(|| t.first(&case.scenario.offerer, |e| matches!(e, Event::FirstFrame { .. }))).map(|e| e.at);
    Timings {
        to_connected: start.zip(connected).map(|(s, c)| c - s),
        to_first_frame: start.zip(first_frame).map(|(s, f)| f - s),
        streams: crate::verdict::figures::streams(&case.scenario, t),
    }
}
