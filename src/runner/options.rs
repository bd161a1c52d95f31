//! The run's options: read once, at the edge (the CLI, the test harness), and carried in the
//! [`super::Env`]; nothing below reads the environment for configuration.

use crate::peer::browser::BrowserOptions;
use crate::scenario::PeerKind;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Kinds whose absence fails a case instead of skipping it (`RTC_HARNESS_REQUIRE`).
    pub require: Vec<String>,
    /// Run the pairs a scenario excludes (`RTC_HARNESS_RUN_EXCLUDED=1`).
    pub run_excluded: bool,
    pub browsers: BrowserOptions,
    /// The Rust peer on the crate's own sockets (`RTC_HARNESS_RUST_SOCKETS=crate`).
    pub rust_crate_sockets: bool,
    /// Media fixtures (`RTC_HARNESS_MEDIA_DIR`; default `fixtures/media`).
    pub media_dir: PathBuf,
    /// Kinds files: `stacks/kinds.yaml`, then `RTC_HARNESS_KINDS` (`:`-separated) and `--kinds-file`.
    pub kinds_files: Vec<PathBuf>,
    /// Where a failed attempt's artifacts go (`RTC_HARNESS_ARTIFACTS`, `--artifacts`): one
    /// directory per case and attempt; none are written without it.
    pub artifacts: Option<PathBuf>,
    /// Runs of each case (`RTC_HARNESS_REPEAT`, `--repeat`; at least 1): a per-case pass rate.
    pub repeat: usize,
    /// Reruns of a failed run (`RTC_HARNESS_RETRIES`, `--retries`): a case that passes on a
    /// retry is flaky, not passed.
    pub retries: usize,
    /// The address the built-in STUN/TURN server and the peers' network paths listen on
    /// (`RTC_HARNESS_ICE_IP`; default: this host's first non-loopback IPv4 address).
    pub ice_ip: std::net::IpAddr,
    /// The kinds whose pairs run the extended suite's scenarios (`None`: every pair). The test
    /// harness sets the first three kinds unless `RTC_HARNESS_SUITE=all`; the CLI runs them all.
    pub extended_kinds: Option<Vec<String>>,
    /// Every wait limit, scenario `within:` and `sleep:` multiplied by this
    /// (`RTC_HARNESS_TIME_SCALE`; default 1).
    pub time_scale: crate::limits::Scale,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            require: Vec::new(),
            run_excluded: false,
            browsers: BrowserOptions::default(),
            rust_crate_sockets: false,
            media_dir: crate::peer::rust::media::default_media_dir(),
            kinds_files: vec![crate::peer::command::default_kinds_file()],
            artifacts: None,
            repeat: 1,
            retries: 0,
            ice_ip: crate::net::host_ip(),
            extended_kinds: None,
            time_scale: crate::limits::Scale::ONE,
        }
    }
}

impl RunOptions {
    /// The defaults with every `RTC_HARNESS_*` variable applied. Call it at the edge only.
    pub fn from_env() -> RunOptions {
        RunOptions::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults with the variables `lookup` gives applied (`from_env` with the process's
    /// environment; tests give their own).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> RunOptions {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut o = RunOptions::default();
        if let Some(v) = var("RTC_HARNESS_REQUIRE") {
            o.require = v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        }
        o.run_excluded = var("RTC_HARNESS_RUN_EXCLUDED").is_some();
        o.browsers.grid = var("RTC_HARNESS_WEBDRIVER_URL");
        for name in ["RTC_HARNESS_CHROME", "RTC_HARNESS_CHROMEDRIVER", "RTC_HARNESS_FIREFOX", "RTC_HARNESS_GECKODRIVER"] {
            if let Some(path) = var(name) {
                o.browsers.binaries.insert(name.to_string(), PathBuf::from(path));
            }
        }
        o.rust_crate_sockets = var("RTC_HARNESS_RUST_SOCKETS").as_deref() == Some("crate");
        if let Some(dir) = var("RTC_HARNESS_MEDIA_DIR") {
            o.media_dir = PathBuf::from(dir);
        }
        if let Some(files) = var("RTC_HARNESS_KINDS") {
            o.kinds_files.extend(std::env::split_paths(&files));
        }
        o.artifacts = var("RTC_HARNESS_ARTIFACTS").map(PathBuf::from);
        let count = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok());
        o.repeat = count("RTC_HARNESS_REPEAT").unwrap_or(1).max(1);
        o.retries = count("RTC_HARNESS_RETRIES").unwrap_or(0);
        if let Some(ip) = var("RTC_HARNESS_ICE_IP").and_then(|v| v.trim().parse().ok()) {
            o.ice_ip = ip;
        }
        if let Some(scale) = var("RTC_HARNESS_TIME_SCALE").and_then(|v| crate::limits::Scale::parse(&v)) {
            o.time_scale = scale;
        }
        o
    }

    /// The browsers' options with the run's time scale: the pool waits for browsers and pages
    /// on it.
    pub fn browser_options(&self) -> BrowserOptions {
        BrowserOptions { time_scale: self.time_scale, ..self.browsers.clone() }
    }

    /// Whether `kind` is required; `all` in `RTC_HARNESS_REQUIRE` requires every kind.
    pub fn requires(&self, kind: &PeerKind) -> bool {
        self.require.iter().any(|r| r == kind.as_str() || r == crate::scenario::ALL_KINDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Scale, ACTION};

    #[test]
    fn the_time_scale_is_read_once_and_reaches_the_browsers() {
        let with = |value: &'static str| RunOptions::from_vars(move |name| (name == "RTC_HARNESS_TIME_SCALE").then(|| value.to_string()));
        let o = with("3");
        assert_eq!(o.time_scale.of(ACTION), ACTION * 3);
        assert_eq!(o.browser_options().time_scale, Scale::new(3.0), "the pool waits on the run's scale");
        assert_eq!(with("slow").time_scale, Scale::ONE, "not a number: the default");
        assert_eq!(RunOptions::from_vars(|_| None).time_scale, Scale::ONE);
    }
}
