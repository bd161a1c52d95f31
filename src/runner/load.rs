//! Idle jobs: cases admitted beyond `--jobs` while the machine's CPU is idle, so the stretches
//! of a run where every running case waits (a blackout, a refused offer, a delayed answer) fill
//! the cores; a pure decision ([`may_admit`]) fed by a sampler of `/proc/stat` and the kernel's
//! CPU pressure (`/proc/pressure/cpu`, PSI).
//!
//! Why not simply more jobs: most cases are busy (media encoding, ICE, DTLS), and past four at
//! once on two cores their timing checks slip (docs/testing.md, "Cases at once"). But a full run
//! has whole minutes where the four running cases wait on a timer and the load falls below one
//! (measured at d2d8e8e: load 0.5-0.9 through `blackout_restart_ice`, 1.0-1.3 through
//! `offer_without_ufrag`). An idle job is taken only then, one at a time with a settling gap, so
//! the cases it adds never start on a busy machine. A first version read the CPU share of the
//! last second alone, and every quiet second let a case in: the load of a full run rose to 9-10
//! (with four jobs it is about 3), so the share is now a mean over [`WINDOW`] and the pressure
//! must be low too.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The mean CPU share (all cores, 0 to 1) over [`WINDOW`] under which an idle job may be taken.
/// Measured on 2 cores with 4 jobs: 0.05-0.35 while the running cases wait on timers
/// (`offer_without_ufrag`), 0.9-1.0 while they connect and send video (`negotiation/basic`).
pub const IDLE_BELOW: f64 = 0.5;

/// The CPU pressure (PSI `some avg10`: the share of the last 10 s in which some task waited for
/// a CPU, in percent) under which an idle job may be taken: 6-25 in the waiting stretch above,
/// 40-78 in the busy one, 20-31 through `blackout_8s` with a share of 0.25-0.5 (the sandbox's
/// own daemons keep it above 20 on this machine; a bound of 20 let no idle job in there). Where
/// the kernel has no PSI, the share alone decides.
pub const PRESSURE_BELOW: f64 = 35.0;

/// The time after one idle job was taken before another may be: a case's start (a browser page,
/// a program, ICE and DTLS) takes a second or two to show in the CPU share.
pub const SETTLE: Duration = Duration::from_secs(5);

/// How often the sampler reads `/proc/stat`.
pub const SAMPLE: Duration = Duration::from_secs(1);

/// The samples the CPU share is a mean of (5 s).
pub const WINDOW: usize = 5;

/// The whole-machine CPU counters of `/proc/stat`'s `cpu` line, in clock ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

impl CpuTimes {
    /// The `cpu` line of `/proc/stat` (proc(5)): user nice system idle iowait irq softirq steal
    /// guest guest_nice. Idle time is `idle` + `iowait`; guest time is already counted in `user`
    /// and `nice`, so it is left out of the total.
    pub fn parse(stat: &str) -> Option<CpuTimes> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
        if v.len() < 4 {
            return None;
        }
        let total: u64 = v.iter().take(8).sum();
        let idle = v[3] + v.get(4).copied().unwrap_or(0);
        Some(CpuTimes { busy: total - idle, total })
    }

    /// The busy share between an earlier reading and this one; none when no tick passed.
    pub fn share_since(&self, earlier: &CpuTimes) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        let busy = self.busy.checked_sub(earlier.busy)?;
        (total > 0).then(|| busy as f64 / total as f64)
    }
}

/// What the sampler last measured: the mean CPU share over [`WINDOW`] (none until the window
/// is full) and the CPU pressure (none without PSI).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    pub share: Option<f64>,
    pub pressure: Option<f64>,
}

/// Whether a case waiting for a job may take an idle one: some are free, the CPU share was
/// measured over the whole window and is under [`IDLE_BELOW`], the pressure (where the kernel
/// has it) is under [`PRESSURE_BELOW`], and the last idle job was taken [`SETTLE`] ago or more.
pub fn may_admit(free: usize, now: Reading, since_last: Option<Duration>) -> bool {
    free > 0 && now.share.is_some_and(|s| s < IDLE_BELOW) && now.pressure.is_none_or(|p| p < PRESSURE_BELOW) && since_last.is_none_or(|d| d >= SETTLE)
}

/// The `some avg10` figure of `/proc/pressure/cpu` (the kernel's PSI, Documentation/accounting/psi.rst).
pub fn parse_pressure(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    line.split_whitespace().find_map(|f| f.strip_prefix("avg10="))?.parse().ok()
}

/// The machine's CPU share and pressure, kept by one background thread (started on first use; a
/// thread, not a task, so that it runs whichever runtime the caller has).
struct Gauge {
    /// The mean share over the window in thousandths; `u32::MAX` until the window is full.
    share: AtomicU32,
    /// The pressure in hundredths of a percent; `u32::MAX` without PSI.
    pressure: AtomicU32,
}

impl Gauge {
    fn global() -> &'static Gauge {
        static GAUGE: OnceLock<&'static Gauge> = OnceLock::new();
        GAUGE.get_or_init(|| {
            let gauge: &'static Gauge = Box::leak(Box::new(Gauge { share: AtomicU32::new(u32::MAX), pressure: AtomicU32::new(u32::MAX) }));
            let spawned = std::thread::Builder::new().name("cpu-gauge".into()).spawn(move || gauge.sample());
            // Without the thread the share is never known, and no idle job is ever taken.
            drop(spawned);
            gauge
        })
    }

    fn sample(&self) {
        let read = || std::fs::read_to_string("/proc/stat").ok().as_deref().and_then(CpuTimes::parse);
        let mut last = read();
        let mut window: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
        loop {
            std::thread::sleep(SAMPLE);
            let now = read();
            match now.zip(last).and_then(|(n, l)| n.share_since(&l)) {
                Some(share) => window.push_back(share),
                None => window.clear(),
            }
            while window.len() > WINDOW {
                window.pop_front();
            }
            let mean = (window.len() == WINDOW).then(|| window.iter().sum::<f64>() / WINDOW as f64);
            self.share.store(mean.map_or(u32::MAX, |s| (s * 1000.0).round() as u32), Ordering::Relaxed);
            let pressure = std::fs::read_to_string("/proc/pressure/cpu").ok().as_deref().and_then(parse_pressure);
            self.pressure.store(pressure.map_or(u32::MAX, |p| (p * 100.0).round() as u32), Ordering::Relaxed);
            last = now;
        }
    }

    fn reading(&self) -> Reading {
        let get = |a: &AtomicU32, unit: f64| match a.load(Ordering::Relaxed) {
            u32::MAX => None,
            v => Some(v as f64 / unit),
        };
        Reading { share: get(&self.share, 1000.0), pressure: get(&self.pressure, 100.0) }
    }
}

/// The idle jobs of a run (`RunOptions::idle_jobs`); none when that is 0.
pub(super) struct IdleJobs {
    permits: Arc<tokio::sync::Semaphore>,
    /// When the last idle job was taken.
    last: Mutex<Option<Instant>>,
}

impl IdleJobs {
    pub(super) fn new(count: usize) -> Option<IdleJobs> {
        (count > 0).then(|| IdleJobs { permits: Arc::new(tokio::sync::Semaphore::new(count)), last: Mutex::new(None) })
    }

    /// An idle job, when [`may_admit`] says one may be taken now.
    pub(super) fn try_take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let now = Gauge::global().reading();
        let mut last = self.last.lock().expect("idle jobs lock");
        if !may_admit(self.permits.available_permits(), now, last.map(|t| t.elapsed())) {
            return None;
        }
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok()?;
        *last = Some(Instant::now());
        Some(permit)
    }
}

/// A job: one of `jobs` as soon as one is free, in turn; or, while waiting, an idle job when
/// [`IdleJobs::try_take`] gives one.
pub(super) async fn job(jobs: &Arc<tokio::sync::Semaphore>, idle: Option<&IdleJobs>) -> tokio::sync::OwnedSemaphorePermit {
    // One acquire for the whole wait, so the case keeps its place in the jobs' queue.
    let mut queued = std::pin::pin!(Arc::clone(jobs).acquire_owned());
    let Some(idle) = idle else {
        return queued.await.expect("the jobs semaphore is never closed");
    };
    loop {
        tokio::select! {
            permit = &mut queued => return permit.expect("the jobs semaphore is never closed"),
            _ = tokio::time::sleep(crate::limits::IDLE_JOB_CHECK) => {
                if let Some(permit) = idle.try_take() {
                    return permit;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 150 1120 16250 520 20 35 0 0 0\ncpu0 2352 75 560 8125 260 10 17 0 0 0\nintr 1 2 3\n";

    #[test]
    fn reads_the_whole_machine_line() {
        let t = CpuTimes::parse(STAT).unwrap();
        assert_eq!(t, CpuTimes { busy: 4705 + 150 + 1120 + 20 + 35, total: 4705 + 150 + 1120 + 16250 + 520 + 20 + 35 });
        assert_eq!(CpuTimes::parse("cpu0 1 2 3 4\n"), None);
        assert_eq!(CpuTimes::parse("cpu  1 x 3 4\n"), None);
        assert_eq!(CpuTimes::parse("cpu  1 2 3\n"), None);
    }

    #[test]
    fn the_share_is_busy_ticks_over_all_ticks() {
        let a = CpuTimes { busy: 100, total: 1000 };
        assert_eq!(CpuTimes { busy: 250, total: 1200 }.share_since(&a), Some(0.75));
        assert_eq!(a.share_since(&a), None);
        assert_eq!(a.share_since(&CpuTimes { busy: 200, total: 2000 }), None);
    }

    #[test]
    fn reads_the_pressure_of_some_tasks() {
        let psi = "some avg10=25.93 avg60=48.27 avg300=37.38 total=5693267567\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(parse_pressure(psi), Some(25.93));
        assert_eq!(parse_pressure("full avg10=1.00\n"), None);
    }

    #[test]
    fn an_idle_job_needs_a_free_one_a_quiet_cpu_and_a_settled_last_one() {
        let quiet = Reading { share: Some(0.30), pressure: Some(8.0) };
        let long = Some(SETTLE);
        assert!(may_admit(1, quiet, None));
        assert!(may_admit(1, quiet, long));
        assert!(may_admit(1, Reading { pressure: None, ..quiet }, long), "without PSI the share decides");
        assert!(!may_admit(0, quiet, long), "none free");
        assert!(!may_admit(1, Reading { share: Some(IDLE_BELOW), ..quiet }, long), "the CPU is not idle enough");
        assert!(!may_admit(1, Reading { pressure: Some(PRESSURE_BELOW), ..quiet }, long), "tasks wait for a CPU");
        assert!(!may_admit(1, Reading { share: None, ..quiet }, long), "the window is not full yet");
        assert!(!may_admit(1, quiet, Some(SETTLE - Duration::from_millis(1))), "the last one has not settled");
    }
}
