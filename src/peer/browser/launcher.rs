//! Finding browsers and drivers, starting WebDriver sessions, and killing every process they start.

use crate::limits;
use crate::peer::procs;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The browsers the harness drives. Each has its own capabilities and binaries; a new browser
/// is a new variant here plus a registration in [`super::register`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    Chrome,
    Firefox,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Chrome => "chrome",
            Flavor::Firefox => "firefox",
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The agent page's warm-up before a case (see [`BrowserOptions::warm_up`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WarmUp {
    /// createOffer and setLocalDescription on a throwaway connection.
    #[default]
    Offer,
    /// Two throwaway connections in the page call each other until a video frame is rendered.
    Call,
}

/// A `--warm-up` value that names no [`WarmUp`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown warm-up '{0}' (expected one of: offer, call)")]
pub struct UnknownWarmUp(pub String);

impl std::str::FromStr for WarmUp {
    type Err = UnknownWarmUp;
    fn from_str(s: &str) -> Result<WarmUp, UnknownWarmUp> {
        match s {
            "offer" => Ok(WarmUp::Offer),
            "call" => Ok(WarmUp::Call),
            other => Err(UnknownWarmUp(other.to_string())),
        }
    }
}

impl WarmUp {
    pub fn as_str(self) -> &'static str {
        match self {
            WarmUp::Offer => "offer",
            WarmUp::Call => "call",
        }
    }
}

/// Options of the browser kinds, read once at the edge (CLI, test harness).
#[derive(Clone, Debug, Default)]
pub struct BrowserOptions {
    /// `RTC_HARNESS_WEBDRIVER_URL`: sessions come from this Selenium Grid instead of local drivers.
    pub grid: Option<String>,
    /// Chrome's fake camera frame rate (`bench --camera-fps`; default: Chrome's 20 fps). At 20 fps
    /// a first frame waits for the next capture tick, so a Chrome sender's time to first frame
    /// moves in 50 ms steps. Firefox's fake camera has no such switch
    /// (`media.navigator.video.default_fps` did not change its floor).
    pub camera_fps: Option<u32>,
    /// What the agent page does before the case (`bench --warm-up`): a throwaway offer (the
    /// default), or a whole throwaway call in the page, as the bench's floor has had after its
    /// first iteration.
    pub warm_up: WarmUp,
    /// How often the runner calls an idle page through WebDriver (default `limits::BROWSER_POLL`;
    /// `bench --browser-poll`): a heartbeat, since the page pushes its events.
    pub poll: Option<std::time::Duration>,
    /// Binaries given by `RTC_HARNESS_CHROME`, `RTC_HARNESS_CHROMEDRIVER`, `RTC_HARNESS_FIREFOX`,
    /// `RTC_HARNESS_GECKODRIVER` (keyed by those names); otherwise PATH, then Debian's paths.
    pub binaries: std::collections::HashMap<String, PathBuf>,
    /// The run's time limits (`RunOptions::limits`, handed in by `Env::new`).
    pub limits: limits::Limits,
}

/// Chromium flags verified on these machines (docs/browsers.md): headless, fake media without
/// prompts, real host addresses instead of mDNS names (a non-browser peer must reach them), no
/// background throttling (requestVideoFrameCallback), and no background network traffic. Every
/// agent page is on 127.0.0.1, so one renderer process serves them all (`--process-per-site`, and
/// no back-forward cache or proactive BrowsingInstance swap, which started a new renderer for
/// every WebDriver navigation): 7 chrome-chrome cases started 40 renderers before, 12 now, and
/// took 9-13% less CPU.
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
    "--disable-features=WebRtcHideLocalIpsWithMdns,BackForwardCache,ProactivelySwapBrowsingInstance",
    "--process-per-site",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
];

/// Why a browser could not be found, started, or made to run a script.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// The browser or its driver (`missing`: which of them) is not installed.
    #[error("{kind}: {missing} not found; install with `bash scripts/install-browsers.sh` (or {install})")]
    NotFound { kind: Flavor, missing: String, install: &'static str },
    /// No port for the driver to listen on.
    #[error("no free port: {0}")]
    NoPort(#[source] std::io::Error),
    /// The driver program does not start.
    #[error("cannot start {}: {source}", driver.display())]
    Driver { driver: PathBuf, source: std::io::Error },
    /// The driver started but did not listen in time.
    #[error("the driver at {url} did not listen within {limit:?}")]
    DriverNotListening { url: String, limit: Duration },
    /// A grid's `/status` (`status`: its URL) cannot be fetched.
    #[error("GET {status}: {message}")]
    GridUnreachable { status: String, message: String },
    /// A grid's `/status` is not a Selenium Grid's, or has no node yet.
    #[error("{status}: {message}")]
    GridStatus { status: String, message: String },
    /// The Chrome profile directory cannot be made.
    #[error("{0}")]
    Profile(#[source] std::io::Error),
    /// No WebDriver session within the limit.
    #[error("{kind}: no WebDriver session from {url} within {limit:?}")]
    SessionTimeout { kind: Flavor, url: String, limit: Duration },
    /// The driver or grid refused a new session.
    #[error("{kind}: new WebDriver session at {url}: {source}")]
    Session { kind: Flavor, url: String, source: fantoccini::error::NewSessionError },
    /// No browser slot or session for a script ([`super::BrowserPool::run_script`]).
    #[error("{0}")]
    Pool(#[from] crate::peer::PeerError),
    /// The page to run a script in does not load.
    #[error("loading {url}: {source}")]
    Load { url: String, source: fantoccini::error::CmdError },
    /// A WebDriver command of the session failed.
    #[error("{0}")]
    Command(#[source] fantoccini::error::CmdError),
    /// The page script did not call back within the limit.
    #[error("the page script did not finish within {limit:?}")]
    ScriptTimeout { limit: Duration },
    /// The page script threw or WebDriver failed while running it.
    #[error("page script: {0}")]
    Script(#[source] fantoccini::error::CmdError),
}

/// Where a kind's browser and driver are, or why they cannot be used.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub browser: PathBuf,
    pub driver: PathBuf,
}

fn locate(given: Option<&PathBuf>, names: &[&str], fallbacks: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.clone()).filter(|p| p.is_file());
    }
    names.iter().find_map(|n| procs::on_path(n)).or_else(|| fallbacks.iter().find(|p| p.is_file()).cloned())
}

/// Finds the browser and driver of `kind` (the options' paths, then PATH, then Debian's paths).
pub fn find(kind: Flavor, options: &BrowserOptions) -> Result<Binaries, BrowserError> {
    let given = |var: &str| options.binaries.get(var);
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let (browser, driver, install) = match kind {
        Flavor::Chrome => (
            locate(given("RTC_HARNESS_CHROME"), &["chromium", "chromium-browser", "google-chrome"], &["/usr/bin/chromium".into()]),
            locate(given("RTC_HARNESS_CHROMEDRIVER"), &["chromedriver"], &["/usr/bin/chromedriver".into()]),
            "apt-get install chromium chromium-driver",
        ),
        Flavor::Firefox => (
            locate(given("RTC_HARNESS_FIREFOX"), &["firefox-esr", "firefox"], &["/usr/bin/firefox-esr".into()]),
            locate(given("RTC_HARNESS_GECKODRIVER"), &["geckodriver"], &[home.join(".cargo/bin/geckodriver")]),
            "apt-get install firefox-esr && cargo install geckodriver --locked",
        ),
    };
    match (browser, driver) {
        (Some(browser), Some(driver)) => Ok(Binaries { browser, driver }),
        (b, d) => {
            let missing: Vec<&str> = [(b.is_none(), "browser"), (d.is_none(), "WebDriver driver")].iter().filter(|(m, _)| *m).map(|(_, w)| *w).collect();
            Err(BrowserError::NotFound { kind, missing: missing.join(" and "), install })
        }
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
    pub fn spawn(driver: &Path, owner: procs::Owner) -> Result<Driver, BrowserError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(BrowserError::NoPort)?.port();
        let mut command = Command::new(driver);
        command.arg(format!("--port={port}")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = procs::spawn_in_group(&mut command, owner).map_err(|source| BrowserError::Driver { driver: driver.to_path_buf(), source })?;
        let pgid = child.id() as i32;
        Ok(Driver { child, pgid, url: format!("http://127.0.0.1:{port}") })
    }

    /// Waits until the driver accepts connections.
    pub async fn ready(&self, limit: Duration) -> Result<(), BrowserError> {
        let addr = self.url.trim_start_matches("http://").to_string();
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(BrowserError::DriverNotListening { url: self.url.clone(), limit })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        procs::kill_group(self.pgid);
        let _ = self.child.try_wait();
    }
}

fn capabilities(kind: Flavor, bins: Option<&Binaries>, profile: Option<&Path>, camera_fps: Option<u32>) -> Capabilities {
    let caps = match kind {
        Flavor::Firefox => {
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
        Flavor::Chrome => {
            let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
            match camera_fps {
                None | Some(0) => {}
                Some(fps) => args.iter_mut().filter(|a| *a == "--use-fake-device-for-media-stream").for_each(|a| *a = format!("{a}=fps={fps}")),
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
pub async fn grid_capacity(url: &str, limits: limits::Limits) -> Result<usize, BrowserError> {
    use http_body_util::{BodyExt, Empty};
    let status = format!("{}/status", url.trim_end_matches('/'));
    let bad = |message: String| BrowserError::GridStatus { status: status.clone(), message };
    let unreachable = |message: String| BrowserError::GridUnreachable { status: status.clone(), message };
    let uri: hyper::Uri = status.parse().map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<bytes::Bytes>>(hyper_util::client::legacy::connect::HttpConnector::new());
    let limit = limits.teardown;
    let body = tokio::time::timeout(limit, async {
        let response = client.get(uri).await.map_err(|e| unreachable(e.to_string()))?;
        let bytes = response.into_body().collect().await.map_err(|e| unreachable(e.to_string()))?;
        Ok::<_, BrowserError>(bytes.to_bytes())
    })
    .await
    .map_err(|_| unreachable(format!("no answer within {limit:?}")))??;
    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let nodes = doc["value"]["nodes"].as_array().ok_or_else(|| bad("no value.nodes (not a Selenium Grid?)".into()))?;
    match nodes.iter().filter_map(|n| n["maxSessions"].as_u64()).sum::<u64>() {
        0 => Err(bad("no node has registered yet".into())),
        n => Ok(n as usize),
    }
}

/// One WebDriver session: a browser with its driver (or on a grid) and its profile directory.
pub struct Session {
    pub kind: Flavor,
    pub client: Client,
    _driver: Option<Driver>,
    _profile: Option<tempfile::TempDir>,
    /// How long [`Session::close`] waits for the browser (the run's limits applied).
    teardown: std::time::Duration,
}

impl Session {
    /// Starts a driver (its process group registered to `owner`) and a browser of `kind`, or opens
    /// a session on the grid at `grid`.
    pub async fn open(kind: Flavor, options: &BrowserOptions, owner: procs::Owner) -> Result<Session, BrowserError> {
        let grid = options.grid.as_deref();
        let limit = options.limits.browser_start;
        let (driver, bins, url) = match grid {
            Some(url) => (None, find(kind, options).ok(), url.to_string()),
            None => {
                let bins = find(kind, options)?;
                let driver = Driver::spawn(&bins.driver, owner)?;
                driver.ready(limit).await?;
                let url = driver.url.clone();
                (Some(driver), Some(bins), url)
            }
        };
        let profile =
            if kind == Flavor::Chrome && grid.is_none() { Some(tempfile::Builder::new().prefix("rtc-harness-chrome-").tempdir().map_err(BrowserError::Profile)?) } else { None };
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities(kind, bins.as_ref(), profile.as_ref().map(|p| p.path()), options.camera_fps));
        let client = tokio::time::timeout(limit, builder.connect(&url))
            .await
            .map_err(|_| BrowserError::SessionTimeout { kind, url: url.clone(), limit })?
            .map_err(|source| BrowserError::Session { kind, url: url.clone(), source })?;
        Ok(Session { kind, client, _driver: driver, _profile: profile, teardown: options.limits.teardown })
    }

    /// Ends the session politely (bounded), then kills the driver's process group.
    pub async fn close(self) {
        let _ = tokio::time::timeout(self.teardown, self.client.clone().close()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warm_up_is_one_of_two_names() {
        assert_eq!("call".parse::<WarmUp>(), Ok(WarmUp::Call));
        assert_eq!("offer".parse::<WarmUp>().map(WarmUp::as_str), Ok("offer"));
        let bad = "fast".parse::<WarmUp>().unwrap_err();
        assert_eq!(bad, UnknownWarmUp("fast".into()));
        assert_eq!(bad.to_string(), "unknown warm-up 'fast' (expected one of: offer, call)");
    }
}
