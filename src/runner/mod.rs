//! Runs one case: relay, peers, steps, the settle phase, the verdict, and teardown that always
//! happens (success, failure, timeout; peers also release everything on drop, for panics).

mod artifacts;
mod wait;

pub use wait::{condition_met, settled};
use wait::Stop;

mod options;
mod steps;
use steps::{run_steps, Signaling};

pub use options::RunOptions;

use crate::clock::{Clock, Millis};
use crate::limits;
use crate::peer::{Launcher, Peer, PeerConfig, PeerError, Registry};
use crate::relay::Relay;
use crate::scenario::{Case, Negotiation};
use crate::transcript::{Entry, Event, Transcript};
use crate::verdict::{self, Verdict};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the runner needs from its surroundings: the peer kinds and the run's options.
#[derive(Clone)]
pub struct Env {
    pub registry: Arc<Registry>,
    pub options: RunOptions,
}

impl Env {
    /// The built-in kinds (`rust`, `chrome`, `firefox`) and every kind of the options' kinds
    /// files, in that order.
    pub fn new(options: RunOptions) -> Result<Env, String> {
        let mut registry = Registry::new();
        registry.register(Arc::new(crate::peer::rust::RustKind::new("rust", options.rust_crate_sockets)));
        crate::peer::browser::register(&mut registry, options.browser_options());
        for file in &options.kinds_files {
            crate::peer::command::register_file(&mut registry, file, &crate::peer::MediaFiles::in_dir(&options.media_dir), options.time_scale)?;
        }
        Ok(Env { registry: Arc::new(registry), options })
    }

    /// An environment with a registry of the caller's (a project's own kinds).
    pub fn with_registry(registry: Registry, options: RunOptions) -> Env {
        Env { registry: Arc::new(registry), options }
    }

    /// Closes every browser, driver and program the kinds started.
    pub async fn shutdown(&self) {
        self.registry.shutdown().await;
    }
}

/// Why a case could not run to a verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The relay or a peer could not be started, or a required kind is missing.
    #[error("setup: {0}")]
    Setup(String),
    /// A peer of this case is not installed (skipped; a failure when the kind is required).
    #[error("{0}")]
    Unavailable(String),
    /// A peer kind lacks a capability the scenario needs (ignored with the reason).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The scenario excludes this pair (`exclude:`), with its reason.
    #[error("excluded: {0}")]
    Excluded(String),
    /// A step failed or its wait ran out; `transcript` holds what was seen until then.
    #[error("{file}:{line}: step '{step}' failed: {message}")]
    Step { file: String, line: u64, step: String, message: String, transcript: Box<Transcript> },
}

/// Time to connected and to first frame, from the offerer's first `createOffer`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Timings {
    pub to_connected: Option<Millis>,
    pub to_first_frame: Option<Millis>,
}

/// A case that ran to a verdict.
#[derive(Debug)]
pub struct CaseRun {
    pub name: String,
    pub transcript: Transcript,
    pub verdict: Verdict,
    pub timings: Timings,
}

impl CaseRun {
    pub fn passed(&self) -> bool {
        self.verdict.passed()
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
                "an extended-suite scenario, run here for pairs of {} only (RTC_HARNESS_SUITE=all runs every pair)",
                kinds.join(", ")
            )));
        }
    }
    let mut launchers = Vec::new();
    for kind in &case.kinds {
        let launcher = env.registry.get(kind).ok_or_else(|| {
            RunError::Unavailable(format!("no peer kind '{kind}' in this run (kinds: {})", env.registry.names()))
        })?;
        if let Err(why) = launcher.availability() {
            return Err(match env.options.requires(kind) {
                true => RunError::Setup(format!("{kind} is required (RTC_HARNESS_REQUIRE) but unavailable: {why}")),
                false => RunError::Unavailable(why),
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
    let launchers = match admit(case, env) {
        Ok(l) => l,
        Err(e) => return (Err(e), None),
    };
    let _slots = match reserve(&launchers).await {
        Ok(s) => s,
        Err(e) => return (Err(e), None),
    };
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
            return (Err(RunError::Setup(e)), None);
        }
    };
    let mut peers: Vec<Box<dyn Peer>> = Vec::new();
    let result = async {
        for (spec, launcher) in case.scenario.peers.iter().zip(&launchers) {
            let mut config = peer_config(case, spec, &relay, &room, env);
            if let Some(net) = &net {
                config.ice_servers = net.ice_servers(&case.scenario, &spec.name);
            }
            peers.push(launcher.open(config, clock).await.map_err(setup_error)?);
        }
        joined(&relay, &room, &names, &peers, env.options.time_scale).await?;
        let mut transcript = Transcript::default();
        let mut sampler = wait::Sampler::new(net.as_ref());
        let signaling = Signaling { relay: &relay, room: &room };
        run_steps(case, &peers, &clock, &mut transcript, &mut sampler, signaling, env.options.time_scale).await?;
        settle(case, &peers, &relay, &room, &mut transcript, &mut sampler, env.options.time_scale).await?;
        for p in &peers {
            let _ = p.collect_stats().await;
        }
        collect(&peers, &mut transcript).await;
        sampler.drain_network(&mut transcript);
        if let Some(net) = &net {
            transcript.entries.extend(net.records());
        }
        transcript.relay = relay.rooms.records(&room);
        Ok::<Transcript, RunError>(transcript)
    }
    .await;
    let result = result.map(|transcript| {
        let verdict = verdict::check(&case.scenario, &transcript, env.options.time_scale);
        let timings = timings(case, &transcript);
        CaseRun { name: case.name(), transcript, verdict, timings }
    });
    // Artifacts are taken while the browsers still show the page and the programs still run.
    let failed = match &result {
        Ok(run) => !run.passed(),
        Err(e) => matches!(e, RunError::Step { .. } | RunError::Setup(_)),
    };
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

fn peer_config(case: &Case, spec: &crate::scenario::PeerSpec, relay: &Relay, room: &str, env: &Env) -> PeerConfig {
    PeerConfig {
        name: spec.name.clone(),
        kind: case.kind_of(&spec.name).expect("case has a kind per peer"),
        media: spec.media.clone(),
        data_channels: spec.data_channels.clone(),
        trickle: spec.trickle,
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
        time_scale: env.options.time_scale,
    }
}

/// Waits until the relay has registered every peer in the room. A peer is ready once its
/// WebSocket handshake is done, but the relay's upgrade task registers it a moment later, and a
/// message sent to a room before its other member is registered reaches nobody (seen: a Rust
/// offer lost under load, 1 run in 20).
async fn joined(relay: &Relay, room: &str, names: &[String], peers: &[Box<dyn Peer>], scale: limits::Scale) -> Result<(), RunError> {
    let all_in = || names.iter().all(|n| relay.rooms.is_member(room, n)) || wait::first_gone(peers).is_some();
    poll_until(scale.of(limits::PEER_START), Duration::from_millis(2), all_in).await;
    // A peer that died before joining fails for its own reason, not for the missing join.
    if let Some(why) = wait::first_gone(peers) {
        return Err(RunError::Setup(why));
    }
    let missing: Vec<&str> = names.iter().filter(|n| !relay.rooms.is_member(room, n)).map(String::as_str).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(RunError::Setup(format!(
        "the relay never registered {} in room {room} (a peer is ready only once its relay WebSocket is open)",
        missing.join(", ")
    )))
}

/// Polls the relay's state (it has no notification for these) every `every` until `done`
/// holds or `limit` runs out; whether it held.
async fn poll_until(limit: Duration, every: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(every).await;
    }
    true
}

fn setup_error(e: PeerError) -> RunError {
    match e {
        PeerError::Unavailable(m) => RunError::Unavailable(m),
        other => RunError::Setup(other.to_string()),
    }
}

/// Drains every peer into the transcript (kept in time order).
pub(crate) async fn collect(peers: &[Box<dyn Peer>], transcript: &mut Transcript) {
    let mut fresh: Vec<Entry> = Vec::new();
    for p in peers {
        match p.drain().await {
            Ok(entries) => fresh.extend(entries),
            Err(e) => fresh.push(Entry {
                at: transcript.entries.last().map(|e| e.at).unwrap_or(0.0),
                peer: p.name().to_string(),
                event: Event::Error { context: "drain".into(), message: e.to_string() },
            }),
        }
    }
    if !fresh.is_empty() {
        transcript.entries.extend(fresh);
        transcript.sort();
    }
}

/// Waits for news from any peer: pushed events wake at once; when some peer is polled (a
/// browser), only the polled peers' intervals (`changed` sleeps one) wake, since a pushed event
/// would only drain the polled ones early.
pub(crate) async fn next_change(peers: &[Box<dyn Peer>]) {
    let any_polled = peers.iter().any(|p| !p.pushes_events());
    let waits: Vec<_> = peers.iter().filter(|p| !(any_polled && p.pushes_events())).map(|p| Box::pin(p.changed())).collect();
    if !waits.is_empty() {
        futures::future::select_all(waits).await;
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
    scale: limits::Scale,
) -> Result<(), RunError> {
    let limit = case
        .scenario
        .expect
        .iter()
        .filter_map(|e| verdict::within(&e.kind))
        .max()
        .unwrap_or(limits::EXPECTATION_WAIT);
    let limit = scale.of(limit.max(Duration::from_secs(1)));
    let net = sampler.net;
    let waited = wait::until(peers, transcript, sampler, limit, |t| {
        let mut t = t.clone();
        t.relay = relay.rooms.records(room);
        if let Some(net) = net {
            t.entries.extend(net.records());
        }
        settled(&case.scenario, &t) && verdict::check(&case.scenario, &t, scale).passed()
    })
    .await;
    match waited {
        Err(Stop::Gone(why)) => Err(RunError::Step {
            file: case.scenario.path.display().to_string(),
            line: 0,
            step: "expectations".into(),
            message: why,
            transcript: Box::new(transcript.clone()),
        }),
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
    let first_frame = t
        .first(answerer, |e| matches!(e, Event::FirstFrame { .. }))
        .or_else(|| t.first(&case.scenario.offerer, |e| matches!(e, Event::FirstFrame { .. })))
        .map(|e| e.at);
    Timings {
        to_connected: start.zip(connected).map(|(s, c)| c - s),
        to_first_frame: start.zip(first_frame).map(|(s, f)| f - s),
    }
}
