//! Runs one case: relay, peers, steps, the settle phase, the verdict, and teardown that always
//! happens (success, failure, timeout; peers also release everything on drop, for panics).

mod wait;

pub use wait::{condition_met, settled};

use crate::clock::{Clock, Millis};
use crate::limits;
use crate::peer::rust::RustPeer;
use crate::peer::{BrowserLauncher, Peer, PeerConfig, PeerError};
use crate::relay::Relay;
use crate::scenario::{Case, Negotiation, StepKind};
use crate::transcript::{Entry, Event, Transcript};
use crate::verdict::{self, Verdict};
use std::sync::Arc;
use std::time::Duration;

/// What the runner needs from its surroundings.
#[derive(Clone, Default)]
pub struct Env {
    /// `None`: browser cases are skipped as unavailable.
    pub browsers: Option<Arc<dyn BrowserLauncher>>,
}

/// The environment of a normal run: browsers are driven when installed (see
/// [`crate::peer::browser`]).
pub fn default_env() -> Env {
    Env { browsers: crate::peer::browser::launcher() }
}

/// Closes every browser and driver the environment started.
pub async fn shutdown_env(env: &Env) {
    if let Some(b) = &env.browsers {
        b.shutdown().await;
    }
}

/// Why a case could not run to a verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The relay or a peer could not be started.
    #[error("setup: {0}")]
    Setup(String),
    /// A peer of this case is not installed (skip, or fail when it is required).
    #[error("{0}")]
    Unavailable(String),
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

/// Runs `case` on its own relay and clock.
pub async fn run_case(case: &Case, env: &Env) -> Result<CaseRun, RunError> {
    // RTC_HARNESS_RUN_EXCLUDED=1 runs them anyway: how one finds out that a known bug is fixed.
    if let Some(why) = case.excluded.as_ref().filter(|_| std::env::var_os("RTC_HARNESS_RUN_EXCLUDED").is_none()) {
        return Err(RunError::Excluded(why.clone()));
    }
    for kind in case.browsers() {
        let launcher = env.browsers.as_ref().ok_or_else(|| {
            RunError::Unavailable(format!("{kind} peers are not enabled in this run"))
        })?;
        launcher.availability(kind).map_err(RunError::Unavailable)?;
    }
    // All of a case's browsers are reserved at once, before any opens (held until the end).
    let browsers = case.kinds.iter().filter(|k| k.is_browser()).count();
    let _slots = match env.browsers.as_ref().filter(|_| browsers > 0) {
        Some(launcher) => Some(launcher.reserve(browsers).await.map_err(setup_error)?),
        None => None,
    };
    let clock = Clock::start();
    let relay = Relay::start(clock).await.map_err(|e| RunError::Setup(format!("relay: {e}")))?;
    let room = case.name().replace("::", ".");
    let names: Vec<String> = case.scenario.peers.iter().map(|p| p.name.clone()).collect();
    relay.rooms.open_room(&room, &names);
    let mut peers: Vec<Box<dyn Peer>> = Vec::new();
    let result = async {
        for spec in &case.scenario.peers {
            let config = peer_config(case, spec, &relay, &room);
            peers.push(start_peer(config, clock, env).await?);
        }
        let mut transcript = Transcript::default();
        run_steps(case, &peers, &clock, &mut transcript).await?;
        settle(case, &peers, &relay, &room, &mut transcript).await;
        for p in &peers {
            let _ = p.collect_stats().await;
        }
        collect(&peers, &mut transcript).await;
        transcript.relay = relay.rooms.records(&room);
        Ok::<Transcript, RunError>(transcript)
    }
    .await;
    for p in &peers {
        p.shutdown().await;
    }
    relay.stop().await;
    let transcript = result?;
    let verdict = verdict::check(&case.scenario, &transcript);
    let timings = timings(case, &transcript);
    Ok(CaseRun { name: case.name(), transcript, verdict, timings })
}

fn peer_config(case: &Case, spec: &crate::scenario::PeerSpec, relay: &Relay, room: &str) -> PeerConfig {
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
    }
}

fn setup_error(e: PeerError) -> RunError {
    match e {
        PeerError::Unavailable(m) => RunError::Unavailable(m),
        other => RunError::Setup(other.to_string()),
    }
}

async fn start_peer(config: PeerConfig, clock: Clock, env: &Env) -> Result<Box<dyn Peer>, RunError> {
    if config.kind.is_browser() {
        let launcher = env.browsers.as_ref().ok_or_else(|| RunError::Unavailable("no browser launcher".into()))?;
        launcher.open_peer(config, clock).await.map_err(setup_error)
    } else {
        Ok(Box::new(RustPeer::start(config, clock).await.map_err(setup_error)?))
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

/// Waits for news from any peer: pushed events wake at once; browsers are polled.
pub(crate) async fn next_change(peers: &[Box<dyn Peer>]) {
    if peers.iter().all(|p| p.pushes_events()) {
        let waits = peers.iter().map(|p| Box::pin(p.changed()));
        futures::future::select_all(waits).await;
    } else {
        tokio::time::sleep(limits::BROWSER_POLL).await;
    }
}

async fn run_steps(case: &Case, peers: &[Box<dyn Peer>], clock: &Clock, transcript: &mut Transcript) -> Result<(), RunError> {
    let scenario = &case.scenario;
    let peer = |name: &str| peers.iter().find(|p| p.name() == name).expect("validated peer name");
    for step in &scenario.steps {
        let (who, label) = match &step.kind {
            StepKind::Do { peer, action } => (peer.clone(), action.name()),
            StepKind::Wait { peer, condition, .. } => (peer.clone(), format!("wait({condition})")),
            StepKind::Sleep(d) => ("runner".to_string(), format!("sleep({d:?})")),
        };
        transcript.push(Entry { at: clock.now(), peer: who.clone(), event: Event::Step { name: label.clone() } });
        let fail = |message: String, transcript: &Transcript| RunError::Step {
            file: scenario.path.display().to_string(),
            line: step.line,
            step: format!("{who}: {label}"),
            message,
            transcript: Box::new(transcript.clone()),
        };
        match &step.kind {
            StepKind::Do { peer: name, action } => {
                if let Err(e) = peer(name).perform(action).await {
                    collect(peers, transcript).await;
                    return Err(fail(e.to_string(), transcript));
                }
            }
            StepKind::Sleep(d) => tokio::time::sleep(limits::scaled(*d)).await,
            StepKind::Wait { peer: name, condition, within } => {
                let limit = limits::scaled(*within);
                if let Err(seen) = wait::until(peers, transcript, limit, |t| condition_met(t, name, condition)).await {
                    let message = format!(
                        "waited {limit:?} for {name}: {condition}; saw instead:\n{}",
                        wait::seen(transcript, name, seen)
                    );
                    return Err(fail(message, transcript));
                }
            }
        }
        collect(peers, transcript).await;
    }
    Ok(())
}

/// After the last step: wait until every expectation holds and the exchange has settled (see
/// [`settled`]), or until the longest expectation limit runs out. What did not happen by then is
/// for the verdict to report.
async fn settle(case: &Case, peers: &[Box<dyn Peer>], relay: &Relay, room: &str, transcript: &mut Transcript) {
    let limit = case
        .scenario
        .expect
        .iter()
        .filter_map(|e| verdict::within(&e.kind))
        .max()
        .unwrap_or(limits::EXPECTATION_WAIT);
    let limit = limits::scaled(limit.max(Duration::from_secs(1)));
    let _ = wait::until(peers, transcript, limit, |t| {
        let mut t = t.clone();
        t.relay = relay.rooms.records(room);
        settled(&case.scenario, &t) && verdict::check(&case.scenario, &t).passed()
    })
    .await;
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
