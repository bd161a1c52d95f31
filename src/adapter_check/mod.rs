//! The adapter author's kit (`rtc-harness adapter-check KIND`): a fixed battery of cases that a
//! command-peer program must pass, run against the kind alone and against the Rust peer, each
//! failure told in the words of `stacks/PROTOCOL.md` (the rule, its section) beside the harness's
//! own failure text. A capability the kinds file claims is held to the cases that exercise it.

mod battery;
mod rules;

pub use battery::{Item, BATTERY};
pub use rules::{explain, Rule};

use crate::runner::{self, attempts::AttemptRun, Env, RunError};
use crate::scenario::{self, Case, PeerKind};
use futures::StreamExt;
use std::sync::Arc;

/// What one battery item came to for one pair.
#[derive(Debug)]
pub enum Verdict {
    Passed,
    /// The failure text and the protocol rules it points at.
    Failed {
        text: String,
        rules: Vec<&'static Rule>,
    },
    /// Not run: a kind of the pair (the checked one or the Rust peer) lacks what the case needs,
    /// with the runner's reason (which names it).
    Unsupported(String),
    /// Not run: a known finding of the stack (`exclude:` in the scenario or the kinds file).
    KnownFinding(String),
    /// Not run: the kind is not installed or the Rust peer is missing.
    Unavailable(String),
}

impl Verdict {
    fn of(attempts: &[AttemptRun]) -> Verdict {
        let Some(last) = attempts.last() else { return Verdict::Unavailable("no attempt ran".into()) };
        match &last.result {
            _ if last.passed() => Verdict::Passed,
            Err(RunError::Unsupported(why)) => Verdict::Unsupported(why.clone()),
            Err(RunError::Excluded(why)) => Verdict::KnownFinding(why.clone()),
            Err(RunError::Unavailable(why)) => Verdict::Unavailable(why.clone()),
            result => {
                let text = crate::report::failure_details(result).unwrap_or_else(|| "failed".into());
                let rules = explain(&text);
                Verdict::Failed { text, rules }
            }
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Failed { .. })
    }
}

/// One battery item's results, per pair (`kind-rust`, `rust-kind`, `kind-kind`).
#[derive(Debug)]
pub struct ItemResult {
    pub item: &'static Item,
    pub pairs: Vec<(String, Verdict)>,
}

impl ItemResult {
    pub fn failed(&self) -> bool {
        self.pairs.iter().any(|(_, v)| v.failed())
    }

    /// Every pair was left out for a capability a kind lacks: the first reason.
    pub fn not_claimed(&self) -> Option<&str> {
        let mut reasons = self.pairs.iter().map(|(_, v)| match v {
            Verdict::Unsupported(why) => Some(why.as_str()),
            _ => None,
        });
        let first = reasons.next()??;
        reasons.all(|r| r.is_some()).then_some(first)
    }
}

/// The three pairs an item runs: the kind offering to the Rust peer, answering it, and with itself.
fn pairs_of(kind: &PeerKind) -> Vec<Vec<PeerKind>> {
    let rust = PeerKind::new("rust").expect("a valid kind name");
    vec![vec![kind.clone(), rust.clone()], vec![rust, kind.clone()], vec![kind.clone(), kind.clone()]]
}

/// A scenario of the battery (built into the harness) that does not load against this run's kinds.
#[derive(Debug, thiserror::Error)]
#[error("the battery's {file} does not load: {source}")]
pub struct BatteryError {
    pub file: &'static str,
    pub source: scenario::LoadError,
}

/// The battery's cases for `kind`, item by item (an item whose scenario does not list the kind
/// for a side has fewer pairs).
pub fn cases(kind: &PeerKind, env: &Env, only: Option<&[&str]>) -> Result<Vec<(&'static Item, Vec<Case>)>, BatteryError> {
    let kinds = env.registry.kinds();
    let mut out = Vec::new();
    for item in BATTERY.iter().filter(|i| only.is_none_or(|names| names.contains(&i.name))) {
        let path = std::path::PathBuf::from("scenarios").join(item.file);
        let loaded = scenario::load_str(item.text, &path.display().to_string(), &item.file.trim_end_matches(".yaml").replace('/', "::"), path.clone(), &kinds)
            .map_err(|source| BatteryError { file: item.file, source })?;
        let expanded = scenario::expand(&Arc::new(loaded));
        let wanted = pairs_of(kind);
        let mut chosen: Vec<Case> = Vec::new();
        for pair in &wanted {
            if chosen.iter().any(|c| &c.kinds == pair) {
                continue;
            }
            if let Some(c) = expanded.iter().find(|c| &c.kinds == pair) {
                chosen.push(c.clone());
            }
        }
        out.push((item, chosen));
    }
    Ok(out)
}

/// Runs the battery for `kind` (cases at once as `--jobs` says; `only` these items, if given),
/// then calls `on_item` for each item, in the battery's order.
pub async fn run(kind: &PeerKind, env: &Env, only: Option<&[&str]>, mut on_item: impl FnMut(&ItemResult)) -> Result<Vec<ItemResult>, BatteryError> {
    let items = cases(kind, env, only)?;
    let jobs = env.options.jobs.max(1);
    let flat: Vec<(usize, Case)> = items.iter().enumerate().flat_map(|(i, (_, cs))| cs.iter().cloned().map(move |c| (i, c))).collect();
    let mut done: Vec<(usize, String, Verdict)> = futures::stream::iter(flat)
        .map(|(i, case)| async move {
            let mut attempts = Vec::new();
            runner::attempts::run(&case, env, || {}, |a| attempts.push(a)).await;
            (i, case.pair(), Verdict::of(&attempts))
        })
        .buffered(jobs * 2)
        .collect()
        .await;
    let mut results = Vec::new();
    for (i, (item, _)) in items.iter().enumerate() {
        let pairs = done.iter().position(|(j, ..)| *j == i).map(|_| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut done).into_iter().partition(|(j, ..)| *j == i);
            done = rest;
            mine.into_iter().map(|(_, p, v)| (p, v)).collect()
        });
        let result = ItemResult { item, pairs: pairs.unwrap_or_default() };
        on_item(&result);
        results.push(result);
    }
    Ok(results)
}

/// The program's `hello`: its stack and version, as `rtc-harness kinds` shows them; `Err` with
/// the rules broken when it is not installed or says no proper hello.
pub async fn hello(kind: &PeerKind, env: &Env) -> Result<String, (String, Vec<&'static Rule>)> {
    let Some(launcher) = env.registry.get(kind) else {
        return Err((format!("no kind '{kind}' (kinds: {}); give its kinds file with --kinds-file", env.registry.names()), Vec::new()));
    };
    if let Err(why) = launcher.availability() {
        return Err((format!("not installed: {why}"), Vec::new()));
    }
    launcher.version().await.map_err(|e| {
        let text = e.to_string();
        let rules = explain(&text);
        (text, rules)
    })
}

/// An item's lines for the terminal: its verdict, then for a failure each pair's headline, the
/// rules it shows broken and where the full text is.
pub fn render(result: &ItemResult) -> String {
    let item = result.item;
    let claim = item.claim.map(|c| format!(" [{c}]")).unwrap_or_default();
    if let Some(why) = result.not_claimed() {
        return format!("  -     {:<22} not run: {why}", format!("{}{claim}", item.name));
    }
    if result.pairs.is_empty() {
        return format!("  -     {:<22} not run: the scenario lists no pair of this kind with the Rust peer", item.name);
    }
    let head = if result.failed() { "FAIL" } else { "ok" };
    let pairs: Vec<String> = result
        .pairs
        .iter()
        .map(|(pair, v)| match v {
            Verdict::Passed => format!("{pair} passed"),
            Verdict::Failed { .. } => format!("{pair} FAILED"),
            Verdict::Unsupported(why) => format!("{pair} not run ({why})"),
            Verdict::KnownFinding(_) => format!("{pair} left out (known finding)"),
            Verdict::Unavailable(_) => format!("{pair} unavailable"),
        })
        .collect();
    let mut out = format!("  {head:<5} {:<22} {}", format!("{}{claim}", item.name), pairs.join(", "));
    if !result.failed() {
        return out;
    }
    out.push_str(&format!("\n        it proves: {} (PROTOCOL.md, \"{}\")", item.proves, item.section));
    for (pair, v) in &result.pairs {
        let Verdict::Failed { text, rules } = v else { continue };
        let headline: Vec<&str> = text.lines().take(3).collect();
        out.push_str(&format!("\n        {pair}: {}", headline.join("\n          ")));
        if rules.is_empty() {
            out.push_str("\n          the protocol was kept; the stack's behaviour failed the scenario's checks (see `rtc-harness run --filter`)");
        }
        for r in rules {
            out.push_str(&format!("\n          breaks PROTOCOL.md, \"{}\": {}", r.section, r.says));
        }
        if let Some(claim) = item.claim {
            out.push_str(&format!("\n          the kinds file claims `{claim}: true`: fix the program, or claim false"));
        }
    }
    out
}
