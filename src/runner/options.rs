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
    /// Reruns of a failed run (`RTC_HARNESS_RETRIES`, `--retries`; default
    /// [`DEFAULT_RETRIES`]): a case that passes on a retry is flaky, not passed.
    pub retries: usize,
    /// The address the built-in STUN/TURN server and the peers' network paths listen on
    /// (`RTC_HARNESS_ICE_IP`; default: this host's first non-loopback IPv4 address).
    pub ice_ip: std::net::IpAddr,
    /// The kinds whose pairs run the extended suite's scenarios (`None`: every pair). The test
    /// `RTC_HARNESS_SUITE=core` limits them to pairs of rust, chrome and firefox (a quicker
    /// local run); by default, in the CLI and in `cargo test` alike, every pair runs them.
    pub extended_kinds: Option<Vec<String>>,
    /// Every wait limit, built here once: the named waits, and the factor for scenario `within:`
    /// and `sleep:` (`RTC_HARNESS_TIME_SCALE`; default 1).
    pub limits: crate::limits::Limits,
    /// Cases run at once (`RTC_HARNESS_JOBS`, `--jobs`; default [`DEFAULT_JOBS`]).
    pub jobs: usize,
    /// Cases that may run beyond `jobs` while the machine's CPU is idle (`RTC_HARNESS_IDLE_JOBS`,
    /// `--idle-jobs`; default [`DEFAULT_IDLE_JOBS`]; 0 turns them off): see runner/load.rs.
    pub idle_jobs: usize,
}

/// Cases at once on this project's 2-core machines, by measurement (docs/testing.md, "Cases at once"): most of a
/// case is waiting for timers, frames and consent checks, so two cores hold more cases than two;
/// past this the load average rises above the cores and timing checks start to slip.
pub const DEFAULT_JOBS: usize = 4;

/// Idle jobs by default: at most twice [`DEFAULT_JOBS`] cases at once, the second four only
/// while the machine is idle (`runner/load.rs`, `may_admit`; docs/testing.md, "Cases at once").
pub const DEFAULT_IDLE_JOBS: usize = 4;

/// Retries of a failed case by default, as nextest's CI profiles set `retries = 1`: the main job
/// runs about 4,800 calls between real stacks, several at once on 2 cores, and a race that one
/// call in a thousand meets showed up in each of three fresh-clone CI runs, a different case each
/// time. One retry tells such a case (FLAKY in every report, with its failed attempt) from one that
/// fails again (FAILED); `RTC_HARNESS_RETRIES=0` runs strictly.
pub const DEFAULT_RETRIES: usize = 1;

/// A `RTC_HARNESS_*` variable whose value cannot be used: an error naming it, never a silent
/// default.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{name}={value:?}: {expected}")]
pub struct OptionError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
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
            retries: DEFAULT_RETRIES,
            ice_ip: crate::net::host_ip(),
            extended_kinds: None,
            limits: crate::limits::Limits::ONE,
            jobs: DEFAULT_JOBS,
            idle_jobs: DEFAULT_IDLE_JOBS,
        }
    }
}

impl RunOptions {
    /// The defaults with every `RTC_HARNESS_*` variable applied. Call it at the edge only.
    pub fn from_env() -> Result<RunOptions, OptionError> {
        RunOptions::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults with the variables `lookup` gives applied (`from_env` with the process's
    /// environment; tests give their own). A value that cannot be used is an error naming it.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<RunOptions, OptionError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bad = |name: &'static str, value: &str, expected: &'static str| OptionError { name, value: value.to_string(), expected };
        let mut o = RunOptions::default();
        if let Some(v) = var("RTC_HARNESS_REQUIRE") {
            o.require = v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            if o.require.iter().any(|k| k != crate::scenario::ALL_KINDS && PeerKind::new(k).is_err()) {
                return Err(bad("RTC_HARNESS_REQUIRE", &v, "expected peer kind names separated by commas (chrome,aiortc), or 'all'"));
            }
        }
        o.run_excluded = match var("RTC_HARNESS_RUN_EXCLUDED").as_deref().map(str::trim) {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(v) => return Err(bad("RTC_HARNESS_RUN_EXCLUDED", v, "expected 1 (or true, yes) to run excluded pairs, 0 (or false, no) not to")),
        };
        if let Some(v) = var("RTC_HARNESS_WEBDRIVER_URL") {
            let url = v.trim().parse::<hyper::Uri>().ok().filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
            if url.is_none() {
                return Err(bad("RTC_HARNESS_WEBDRIVER_URL", &v, "expected a Selenium Grid's http:// or https:// URL"));
            }
            o.browsers.grid = Some(v.trim().to_string());
        }
        for name in ["RTC_HARNESS_CHROME", "RTC_HARNESS_CHROMEDRIVER", "RTC_HARNESS_FIREFOX", "RTC_HARNESS_GECKODRIVER"] {
            if let Some(path) = var(name) {
                o.browsers.binaries.insert(name.to_string(), PathBuf::from(path));
            }
        }
        o.rust_crate_sockets = match var("RTC_HARNESS_RUST_SOCKETS").as_deref().map(str::trim) {
            None | Some("harness") => false,
            Some("crate") => true,
            Some(v) => return Err(bad("RTC_HARNESS_RUST_SOCKETS", v, "expected 'crate' or 'harness'")),
        };
        if let Some(dir) = var("RTC_HARNESS_MEDIA_DIR") {
            o.media_dir = PathBuf::from(dir);
        }
        if let Some(files) = var("RTC_HARNESS_KINDS") {
            o.kinds_files.extend(std::env::split_paths(&files));
        }
        o.artifacts = var("RTC_HARNESS_ARTIFACTS").map(PathBuf::from);
        let count = |name: &'static str, min: usize| -> Result<Option<usize>, OptionError> {
            match var(name) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if n >= min => Ok(Some(n)),
                    _ if min == 0 => Err(bad(name, &v, "expected a whole number (0 or more)")),
                    _ => Err(bad(name, &v, "expected a whole number, 1 or more")),
                },
            }
        };
        o.repeat = count("RTC_HARNESS_REPEAT", 1)?.unwrap_or(1);
        o.retries = count("RTC_HARNESS_RETRIES", 0)?.unwrap_or(DEFAULT_RETRIES);
        o.jobs = count("RTC_HARNESS_JOBS", 1)?.unwrap_or(DEFAULT_JOBS);
        o.idle_jobs = count("RTC_HARNESS_IDLE_JOBS", 0)?.unwrap_or(DEFAULT_IDLE_JOBS);
        if let Some(v) = var("RTC_HARNESS_ICE_IP") {
            o.ice_ip = v.trim().parse().map_err(|_| bad("RTC_HARNESS_ICE_IP", &v, "expected an IP address"))?;
        }
        if let Some(v) = var("RTC_HARNESS_TIME_SCALE") {
            o.limits = crate::limits::Limits::parse(&v).ok_or_else(|| bad("RTC_HARNESS_TIME_SCALE", &v, "expected a number (a factor, at least 0.1)"))?;
        }
        o.extended_kinds = match var("RTC_HARNESS_SUITE").as_deref().map(str::trim) {
            None | Some("all") => None,
            Some("core") => Some(["rust", "chrome", "firefox"].map(String::from).to_vec()),
            Some(v) => {
                return Err(bad("RTC_HARNESS_SUITE", v, "expected 'all' (every pair, the default) or 'core' (the extended scenarios for pairs of rust, chrome and firefox only)"))
            }
        };
        Ok(o)
    }

    /// Cases kept in flight at once: every job and idle job, and `jobs` more waiting for browser
    /// slots or a job meanwhile (the stream `run` drives, the test threads of `cargo test`).
    pub fn in_flight(&self) -> usize {
        self.jobs * 2 + self.idle_jobs
    }

    /// The browsers' options with the run's time limits: the pool waits for browsers and pages
    /// on it.
    pub fn browser_options(&self) -> BrowserOptions {
        BrowserOptions { limits: self.limits, ..self.browsers.clone() }
    }

    /// Whether `kind` is required; `all` in `RTC_HARNESS_REQUIRE` requires every kind.
    pub fn requires(&self, kind: &PeerKind) -> bool {
        self.require.iter().any(|r| r == kind.as_str() || r == crate::scenario::ALL_KINDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Limits, ACTION};

    #[test]
    fn the_time_scale_is_read_once_and_reaches_the_browsers() {
        let with = |value: &'static str| RunOptions::from_vars(move |name| (name == "RTC_HARNESS_TIME_SCALE").then(|| value.to_string()));
        let o = with("3").unwrap();
        assert_eq!(o.limits.action, ACTION * 3);
        assert_eq!(o.browser_options().limits, Limits::scaled(3.0), "the pool waits on the run's limits");
        assert_eq!(RunOptions::from_vars(|_| None).unwrap().limits, Limits::ONE);
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_variable() {
        let one = |name: &'static str, value: &'static str| RunOptions::from_vars(move |n| (n == name).then(|| value.to_string()));
        for (name, value) in [
            ("RTC_HARNESS_REPEAT", "abc"),
            ("RTC_HARNESS_REPEAT", "0"),
            ("RTC_HARNESS_RETRIES", "-1"),
            ("RTC_HARNESS_JOBS", "many"),
            ("RTC_HARNESS_JOBS", "0"),
            ("RTC_HARNESS_IDLE_JOBS", "-1"),
            ("RTC_HARNESS_TIME_SCALE", "slow"),
            ("RTC_HARNESS_ICE_IP", "localhost"),
            ("RTC_HARNESS_SUITE", "some"),
            ("RTC_HARNESS_RUST_SOCKETS", "kernel"),
            ("RTC_HARNESS_RUN_EXCLUDED", "maybe"),
            ("RTC_HARNESS_REQUIRE", "chrome,Firefox"),
            ("RTC_HARNESS_WEBDRIVER_URL", "localhost:4444"),
        ] {
            let e = one(name, value).unwrap_err();
            assert_eq!((e.name, e.value.as_str()), (name, value));
            assert!(e.to_string().starts_with(&format!("{name}=")), "{e}");
        }
        assert_eq!(one("RTC_HARNESS_JOBS", " 6 ").unwrap().jobs, 6);
        assert_eq!(one("RTC_HARNESS_IDLE_JOBS", "0").unwrap().idle_jobs, 0, "0 turns them off");
        assert!(one("RTC_HARNESS_RUN_EXCLUDED", "1").unwrap().run_excluded);
        assert!(!one("RTC_HARNESS_RUN_EXCLUDED", "0").unwrap().run_excluded, "0 does not run them");
        assert_eq!(one("RTC_HARNESS_REQUIRE", "all").unwrap().require, ["all"]);
        assert_eq!(one("RTC_HARNESS_WEBDRIVER_URL", "http://grid:4444/wd/hub").unwrap().browsers.grid.as_deref(), Some("http://grid:4444/wd/hub"));
        assert_eq!(one("RTC_HARNESS_SUITE", "core").unwrap().extended_kinds.map(|k| k.len()), Some(3));
        let defaults = RunOptions::from_vars(|_| None).unwrap();
        assert_eq!((defaults.jobs, defaults.idle_jobs, defaults.repeat, defaults.retries, defaults.extended_kinds), (DEFAULT_JOBS, DEFAULT_IDLE_JOBS, 1, DEFAULT_RETRIES, None));
    }
}
