//! A bounded pool of WebDriver sessions, reused across cases (a fresh page per case) so that a
//! suite does not pay a browser start per case.

use super::launcher::{self, BrowserError, BrowserOptions, Flavor, Session};
use crate::peer::{PeerError, SlotPool};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, OnceCell, OwnedSemaphorePermit, Semaphore};

/// At most this many browsers in use at once, and this many of one kind (a chrome-chrome case
/// needs two). Browser cases are the longest line of a full run (their case time alone is about
/// the run's wall time at 2.2 running), so the pool, not the jobs, set the pace through the
/// browser-heavy scenarios: `scenarios/media` (1,100 cases, release, 4 jobs) took 333 and 338 s
/// with 3, 309 and 300 s with 4 (the cases' own times 3% longer), every case passing.
pub const MAX_SESSIONS: usize = 4;
pub const MAX_PER_KIND: usize = 2;
/// Sessions kept alive (in use or idle) with local drivers: two of each kind. A run moves between
/// chrome-chrome and firefox-firefox cases all the time; with only `MAX_SESSIONS` alive, every such
/// move closed a browser to start another (42 starts in one run of the negotiation scenarios' 1,300
/// cases), and a start costs 5-8 CPU-seconds on this machine. An idle browser costs memory only;
/// browsers in use stay bounded by the slots.
pub const MAX_LIVE_LOCAL: usize = MAX_PER_KIND * 2;
/// What a grid whose `/status` cannot be read is assumed to run at once: one two-browser case.
pub const GRID_FALLBACK_SESSIONS: usize = 2;

#[derive(Default)]
struct State {
    idle: Vec<Session>,
    /// Kinds of every live session, leased or idle.
    live: Vec<Flavor>,
}

/// The pool's bounds, decided on first use (a grid's capacity is read from its `/status`).
struct Slots {
    /// Reserved by whole cases (see [`BrowserPool::reserve`]): `in_use` permits.
    semaphore: Arc<Semaphore>,
    /// Browsers in use at once: `MAX_SESSIONS`, or fewer when the grid runs fewer sessions.
    in_use: usize,
    /// Sessions kept alive, in use or idle: [`MAX_LIVE_LOCAL`], or the grid's capacity (where an
    /// idle session holds a slot of the grid).
    live: usize,
}

pub struct BrowserPool {
    state: Mutex<State>,
    freed: Notify,
    /// Where sessions come from (a grid or local drivers) and how browsers are started.
    pub(crate) options: BrowserOptions,
    /// Browser slots and how many sessions may stay alive, decided on first use.
    slots: OnceCell<Slots>,
    /// The drivers this pool started, and only those, are killed by [`BrowserPool::close_all`].
    owner: crate::peer::procs::Owner,
}

impl BrowserPool {
    pub fn new(options: BrowserOptions) -> Arc<BrowserPool> {
        Arc::new(BrowserPool { state: Mutex::new(State::default()), freed: Notify::new(), options, slots: OnceCell::new(), owner: crate::peer::procs::Owner::new_browsers() })
    }

    async fn slots(&self) -> &Slots {
        self.slots
            .get_or_init(|| async {
                let (in_use, live) = match &self.options.grid {
                    None => (MAX_SESSIONS, MAX_LIVE_LOCAL),
                    Some(url) => {
                        let n = match launcher::grid_capacity(url, self.options.limits).await {
                            Ok(n) => n.clamp(1, MAX_SESSIONS),
                            Err(e) => {
                                tracing::warn!("grid {url}: {e}; assuming {GRID_FALLBACK_SESSIONS} sessions at once");
                                GRID_FALLBACK_SESSIONS
                            }
                        };
                        (n, n)
                    }
                };
                Slots { semaphore: Arc::new(Semaphore::new(in_use)), in_use, live }
            })
            .await
    }

    /// Reserves slots for `browsers` sessions at once, before a case opens any of them. Cases that
    /// took their browsers one at a time could each hold half of what the other needs: with two
    /// test threads and a two-session grid, chrome-firefox beside firefox-chrome waited until
    /// the browser-start limit. The permit is held until the case has closed its peers.
    pub async fn reserve(&self, browsers: usize) -> Result<OwnedSemaphorePermit, PeerError> {
        let Slots { semaphore: slots, in_use: capacity, .. } = self.slots().await;
        let needed = u32::try_from(browsers).unwrap_or(u32::MAX);
        if browsers > *capacity {
            let place = self.options.grid.as_deref().map_or("this pool".to_string(), |g| format!("the grid at {g}"));
            return Err(PeerError::Unavailable(format!("the case needs {browsers} browsers at once; {place} runs {capacity}")));
        }
        let limit = self.options.limits.browser_slots;
        match tokio::time::timeout(limit, Arc::clone(slots).acquire_many_owned(needed)).await {
            Ok(permit) => Ok(permit.expect("the pool never closes its semaphore")),
            Err(_) => Err(PeerError::Timeout {
                peer: "browsers".into(),
                what: format!("{browsers} free browser slot(s) ({} of {capacity} free at the end)", slots.available_permits()),
                limit,
            }),
        }
    }

    /// A session of `kind`: an idle one, a new one, or (when the pool is full) one that replaces an
    /// idle session of another kind; otherwise waits for a release.
    pub async fn acquire(&self, kind: Flavor) -> Result<Session, PeerError> {
        let limit = self.options.limits.browser_start;
        let deadline = tokio::time::Instant::now() + limit;
        let capacity = self.slots().await.live;
        loop {
            let freed = self.freed.notified();
            let (evicted, create) = {
                let mut st = self.state.lock().unwrap();
                if let Some(i) = st.idle.iter().position(|s| s.kind == kind) {
                    return Ok(st.idle.remove(i));
                }
                let mine = st.live.iter().filter(|k| **k == kind).count();
                let mut evicted = None;
                // At the live capacity an idle session of another kind is closed before a new one
                // is started (a grid queues requests beyond its capacity rather than refusing them).
                let full = st.live.len() >= capacity;
                if mine < MAX_PER_KIND && full && !st.idle.is_empty() {
                    let s = st.idle.remove(0);
                    let at = st.live.iter().position(|k| *k == s.kind).expect("idle sessions are live");
                    st.live.remove(at);
                    evicted = Some(s);
                }
                let create = mine < MAX_PER_KIND && st.live.len() < capacity;
                if create {
                    st.live.push(kind);
                }
                (evicted, create)
            };
            if let Some(s) = evicted {
                s.close().await;
            }
            if create {
                return match Session::open(kind, &self.options, self.owner).await {
                    Ok(s) => Ok(s),
                    Err(e) => {
                        self.forget(kind);
                        Err(PeerError::Failed { peer: kind.to_string(), what: "starting the browser".into(), message: e.to_string() })
                    }
                };
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(PeerError::Timeout { peer: kind.to_string(), what: "a free browser slot".into(), limit });
            }
        }
    }

    /// A session of `kind` is gone (closed, killed or dropped): free its slot.
    pub(crate) fn forget(&self, kind: Flavor) {
        let mut st = self.state.lock().unwrap();
        if let Some(at) = st.live.iter().position(|k| *k == kind) {
            st.live.remove(at);
        }
        drop(st);
        self.freed.notify_waiters();
    }

    /// Returns a session: reused after a blank page when `healthy`, else closed and killed.
    pub async fn release(&self, session: Session, healthy: bool) {
        let kind = session.kind;
        let blank = healthy && tokio::time::timeout(self.options.limits.teardown, session.client.goto("about:blank")).await.is_ok_and(|r| r.is_ok());
        if blank {
            self.state.lock().unwrap().idle.push(session);
            self.freed.notify_waiters();
        } else {
            session.close().await;
            self.forget(kind);
        }
    }

    /// Closes every idle session and kills every driver this pool started.
    pub async fn close_all(&self) {
        let idle: Vec<Session> = std::mem::take(&mut self.state.lock().unwrap().idle);
        for s in idle {
            let kind = s.kind;
            s.close().await;
            self.forget(kind);
        }
        crate::peer::procs::kill_owned(self.owner);
    }
}

#[async_trait]
impl SlotPool for BrowserPool {
    async fn reserve(&self, count: usize) -> Result<OwnedSemaphorePermit, PeerError> {
        BrowserPool::reserve(self, count).await
    }
}

impl BrowserPool {
    /// Loads `url` in a browser of `kind` and runs `script` there with WebDriver's execute-async
    /// (`arguments[arguments.length - 1]` is the callback), returning what it passes back (the
    /// bench's floor page).
    pub async fn run_script(&self, kind: Flavor, url: &str, script: &str, args: Vec<serde_json::Value>) -> Result<serde_json::Value, BrowserError> {
        let _slot = BrowserPool::reserve(self, 1).await?;
        let session = self.acquire(kind).await?;
        let limit = self.options.limits.browser_start;
        let result = async {
            session.client.goto(url).await.map_err(|source| BrowserError::Load { url: url.to_string(), source })?;
            session.client.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(Some(limit), None, None)).await.map_err(BrowserError::Command)?;
            tokio::time::timeout(limit, session.client.execute_async(script, args)).await.map_err(|_| BrowserError::ScriptTimeout { limit })?.map_err(BrowserError::Script)
        }
        .await;
        self.release(session, result.is_ok()).await;
        result
    }
}
