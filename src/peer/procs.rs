//! Processes the harness starts for peers (browser drivers, command peers): each in a process
//! group of its own, killed and reaped on every path (pass, failure, timeout, panic, Ctrl-C), so
//! that no browser, driver or stack program outlives a case or a run.

use crate::limits;
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

/// The first file called `name` in a PATH directory.
pub fn on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Who started a process group: each launcher kills its own at shutdown, the signal handler all.
/// Browser pools are told apart by number: two environments in one process (the test harness's
/// and the broken-peer tests') must not kill each other's drivers when one shuts down (seen in
/// CI: a firefox-firefox case lost both drivers at once while `broken::*` shut its pool down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Browsers(u64),
    Commands,
}

impl Owner {
    /// A browser owner no other pool in this process has.
    pub fn new_browsers() -> Owner {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Owner::Browsers(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Spawns `command` as the leader of a new process group, registered for [`kill_all_now`].
pub fn spawn_in_group(command: &mut Command, owner: Owner) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    become_subreaper();
    let child = command.process_group(0).spawn()?;
    GROUPS.lock().unwrap().push((child.id() as i32, owner));
    Ok(child)
}

/// Registers a group spawned elsewhere (a tokio child with `process_group(0)`).
pub fn register_group(pgid: i32, owner: Owner) {
    become_subreaper();
    GROUPS.lock().unwrap().push((pgid, owner));
}

/// SIGKILLs every group `owner` started that is still registered, and reaps them.
pub fn kill_owned(owner: Owner) {
    let mine: Vec<i32> = GROUPS.lock().map(|g| g.iter().filter(|(_, o)| *o == owner).map(|(p, _)| *p).collect()).unwrap_or_default();
    for pgid in mine {
        kill_group(pgid);
    }
}

/// SIGKILLs the group `pgid` and reaps it.
pub fn kill_group(pgid: i32) {
    // SAFETY: kill(2) on a process group this process created.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    reap(-pgid);
    if let Ok(mut g) = GROUPS.lock() {
        g.retain(|(p, _)| *p != pgid);
    }
    reap_orphans();
}

/// Reaps the exited orphans re-parented to this process (a subreaper): a browser's crash handler
/// whose browser is gone, say. Only zombies that are not a group this process still tracks: a
/// tracked group's leader is a child someone awaits (tokio's process handle), and reaping it
/// here would take its exit status away; nor one in this process's own group (a command it runs
/// and waits for itself, such as a kind's install check). Without this, a long run gathers
/// hundreds of zombies.
pub fn reap_orphans() {
    let me = std::process::id().to_string();
    // SAFETY: getpgrp(2) has no preconditions.
    let my_group = unsafe { libc::getpgrp() }.to_string();
    let tracked: Vec<i32> = GROUPS.lock().map(|g| g.iter().map(|(p, _)| *p).collect()).unwrap_or_default();
    let Ok(dir) = std::fs::read_dir("/proc") else { return };
    for pid in dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok())) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces, so read after its closing paren.
        let mut rest = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace()).into_iter().flatten();
        let (state, ppid, pgrp) = (rest.next(), rest.next(), rest.next());
        if state == Some("Z") && ppid == Some(me.as_str()) && pgrp != Some(my_group.as_str()) && !tracked.contains(&pid) {
            reap(pid);
        }
    }
}

/// Process groups of every driver and program started by this process, for [`kill_all_now`].
static GROUPS: Mutex<Vec<(i32, Owner)>> = Mutex::new(Vec::new());

/// SIGKILLs every process group still alive (drivers and the browsers they started, command
/// peers) and
/// reaps what is left. Synchronous, for panic and Ctrl-C paths.
pub fn kill_all_now() {
    for (pgid, _) in GROUPS.lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default() {
        // SAFETY: kill(2) on a process group this process created.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        reap(-pgid);
    }
    // Browser helpers that left their group were re-parented to us (we are a subreaper).
    reap(-1);
}

/// Waits for SIGTERM or SIGINT, then kills every browser and driver and exits with 130: no browser
/// or driver may outlive a killed or interrupted command or test run. Spawned at start-up.
pub async fn kill_all_on_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else { return };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    kill_all_now();
    std::process::exit(130);
}

/// Makes this process the reaper of its orphaned descendants: when a driver dies, the browser
/// processes under it are re-parented here instead of to PID 1 (which may never reap them), so
/// they can be waited for and no zombie outlives the run.
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only changes how orphans are re-parented.
    ONCE.call_once(|| unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    });
}

/// Waits for every exited child in `target` (a `waitpid` pid argument: `-pgid`, or -1 for all)
/// until none is left, for at most `limits::TEARDOWN`.
pub fn reap(target: i32) {
    let deadline = std::time::Instant::now() + limits::TEARDOWN;
    loop {
        let mut status = 0;
        // SAFETY: waitpid(2) with WNOHANG on our own children.
        let r = unsafe { libc::waitpid(target, &mut status, libc::WNOHANG) };
        if r > 0 {
            continue;
        }
        if r < 0 || std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
