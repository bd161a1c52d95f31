//! Finding browsers and drivers, starting WebDriver sessions, and killing every process they start.

use crate::limits;
use crate::scenario::PeerKind;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// Frame rate of Chrome's fake camera for sessions started from now on (0: Chrome's default,
/// 20 fps). See [`set_fake_camera_fps`].
static FAKE_CAMERA_FPS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Runs Chrome's fake camera at `fps` in the Chromes this process starts later
/// (`rtc-harness bench --camera-fps 60`). At the default 20 fps a first frame waits for the next
/// capture tick, so a Chrome sender's time to first frame moves in 50 ms steps (120 or 170 ms for
/// one pair on this machine). Firefox's fake camera has no such switch
/// (`media.navigator.video.default_fps` did not change its floor), so the default stays.
pub fn set_fake_camera_fps(fps: u32) {
    FAKE_CAMERA_FPS.store(fps, std::sync::atomic::Ordering::Relaxed);
}

/// Chromium flags verified on these machines (shared/BROWSERS.md): headless, fake media without
/// prompts, real host addresses instead of mDNS names (a non-browser peer must reach them), no
/// background throttling (requestVideoFrameCallback), and no background network traffic.
const CHROME_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
];

/// Where a kind's browser and driver are, or why they cannot be used.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub browser: PathBuf,
    pub driver: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn locate(var: &str, names: &[&str], fallbacks: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    names.iter().find_map(|n| on_path(n)).or_else(|| fallbacks.iter().find(|p| p.is_file()).cloned())
}

/// Finds the browser and driver of `kind` (environment variables, then PATH, then Debian's paths).
pub fn find(kind: PeerKind) -> Result<Binaries, String> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let (browser, driver, install) = match kind {
        PeerKind::Chrome => (
            locate("RTC_HARNESS_CHROME", &["chromium", "chromium-browser", "google-chrome"], &["/usr/bin/chromium".into()]),
            locate("RTC_HARNESS_CHROMEDRIVER", &["chromedriver"], &["/usr/bin/chromedriver".into()]),
            "apt-get install chromium chromium-driver",
        ),
        PeerKind::Firefox => (
            locate("RTC_HARNESS_FIREFOX", &["firefox-esr", "firefox"], &["/usr/bin/firefox-esr".into()]),
            locate("RTC_HARNESS_GECKODRIVER", &["geckodriver"], &[home.join(".cargo/bin/geckodriver")]),
            "apt-get install firefox-esr && cargo install geckodriver --locked",
        ),
        PeerKind::Rust => return Err("the Rust peer is not a browser".into()),
    };
    match (browser, driver) {
        (Some(browser), Some(driver)) => Ok(Binaries { browser, driver }),
        (b, d) => {
            let missing: Vec<&str> = [(b.is_none(), "browser"), (d.is_none(), "WebDriver driver")]
                .iter()
                .filter(|(m, _)| *m)
                .map(|(_, w)| *w)
                .collect();
            Err(format!("{kind}: {} not found; install with `bash scripts/install-browsers.sh` (or {install})", missing.join(" and ")))
        }
    }
}

/// Process groups of every driver started by this process, for [`kill_all_now`].
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// SIGKILLs every driver process group still alive (drivers and the browsers they started) and
/// reaps what is left. Synchronous, for panic and Ctrl-C paths.
pub fn kill_all_now() {
    for pgid in GROUPS.lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default() {
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
fn reap(target: i32) {
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

/// A chromedriver or geckodriver process, in a process group of its own so that killing the
/// group also kills the browser it started.
pub struct Driver {
    child: Child,
    pgid: i32,
    pub url: String,
}

impl Driver {
    pub fn spawn(driver: &Path) -> Result<Driver, String> {
        use std::os::unix::process::CommandExt;
        become_subreaper();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver.display()))?;
        let pgid = child.id() as i32;
        GROUPS.lock().unwrap().push(pgid);
        Ok(Driver { child, pgid, url: format!("http://127.0.0.1:{port}") })
    }

    /// Waits until the driver accepts connections.
    pub async fn ready(&self, limit: Duration) -> Result<(), String> {
        let addr = self.url.trim_start_matches("http://").to_string();
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!("the driver at {} did not listen within {limit:?}", self.url))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group created for this driver.
        unsafe {
            libc::kill(-self.pgid, libc::SIGKILL);
        }
        reap(-self.pgid);
        let _ = self.child.try_wait();
        if let Ok(mut g) = GROUPS.lock() {
            g.retain(|p| *p != self.pgid);
        }
    }
}

fn capabilities(kind: PeerKind, bins: Option<&Binaries>, profile: Option<&Path>) -> Capabilities {
    let caps = match kind {
        PeerKind::Firefox => {
            let mut opts = json!({
                "args": ["-headless"],
                "prefs": {
                    "media.navigator.streams.fake": true,
                    "media.navigator.permission.disabled": true,
                    "media.peerconnection.ice.obfuscate_host_addresses": false,
                    "media.peerconnection.ice.loopback": true,
                    "media.autoplay.default": 0
                }
            });
            if let Some(b) = bins {
                opts["binary"] = json!(b.browser);
            }
            json!({ "browserName": "firefox", "moz:firefoxOptions": opts })
        }
        _ => {
            let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
            match FAKE_CAMERA_FPS.load(std::sync::atomic::Ordering::Relaxed) {
                0 => {}
                fps => args.iter_mut().filter(|a| *a == "--use-fake-device-for-media-stream").for_each(|a| *a = format!("{a}=fps={fps}")),
            }
            if let Some(p) = profile {
                args.push(format!("--user-data-dir={}", p.display()));
            }
            let mut opts = json!({ "args": args });
            if let Some(b) = bins {
                opts["binary"] = json!(b.browser);
            }
            json!({ "browserName": "chrome", "goog:chromeOptions": opts })
        }
    };
    match caps {
        Value::Object(m) => m,
        _ => unreachable!("capabilities are an object"),
    }
}

/// How many sessions the grid at `url` runs at once: the sum of its nodes' `maxSessions` in the
/// Selenium Grid `/status` document (a standalone server is one node).
pub async fn grid_capacity(url: &str) -> Result<usize, String> {
    use http_body_util::{BodyExt, Empty};
    let status = format!("{}/status", url.trim_end_matches('/'));
    let uri: hyper::Uri = status.parse().map_err(|e| format!("{status}: {e}"))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<bytes::Bytes>>(hyper_util::client::legacy::connect::HttpConnector::new());
    let limit = limits::scaled(limits::TEARDOWN);
    let body = tokio::time::timeout(limit, async {
        let response = client.get(uri).await.map_err(|e| format!("GET {status}: {e}"))?;
        let bytes = response.into_body().collect().await.map_err(|e| format!("GET {status}: {e}"))?;
        Ok::<_, String>(bytes.to_bytes())
    })
    .await
    .map_err(|_| format!("GET {status}: no answer within {limit:?}"))??;
    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("{status}: not JSON: {e}"))?;
    let nodes = doc["value"]["nodes"].as_array().ok_or_else(|| format!("{status}: no value.nodes (not a Selenium Grid?)"))?;
    match nodes.iter().filter_map(|n| n["maxSessions"].as_u64()).sum::<u64>() {
        0 => Err(format!("{status}: no node has registered yet")),
        n => Ok(n as usize),
    }
}

/// One WebDriver session: a browser with its driver (or on a grid) and its profile directory.
pub struct Session {
    pub kind: PeerKind,
    pub client: Client,
    _driver: Option<Driver>,
    _profile: Option<tempfile::TempDir>,
}

impl Session {
    /// Starts a driver and a browser of `kind`, or opens a session on the grid at `grid`.
    pub async fn open(kind: PeerKind, grid: Option<&str>) -> Result<Session, String> {
        let limit = limits::scaled(limits::BROWSER_START);
        let (driver, bins, url) = match grid {
            Some(url) => (None, find(kind).ok(), url.to_string()),
            None => {
                let bins = find(kind)?;
                let driver = Driver::spawn(&bins.driver)?;
                driver.ready(limit).await?;
                let url = driver.url.clone();
                (Some(driver), Some(bins), url)
            }
        };
        let profile = if kind == PeerKind::Chrome && grid.is_none() {
            Some(tempfile::Builder::new().prefix("rtc-harness-chrome-").tempdir().map_err(|e| e.to_string())?)
        } else {
            None
        };
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities(kind, bins.as_ref(), profile.as_ref().map(|p| p.path())));
        let client = tokio::time::timeout(limit, builder.connect(&url))
            .await
            .map_err(|_| format!("{kind}: no WebDriver session from {url} within {limit:?}"))?
            .map_err(|e| format!("{kind}: new WebDriver session at {url}: {e}"))?;
        Ok(Session { kind, client, _driver: driver, _profile: profile })
    }

    /// Ends the session politely (bounded), then kills the driver's process group.
    pub async fn close(self) {
        let _ = tokio::time::timeout(limits::scaled(limits::TEARDOWN), self.client.clone().close()).await;
    }
}
