//! A failed attempt's artifacts, written while its peers are still up: the full transcript
//! (JSON), what failed (the verdict's EXPECTED / ACTUAL or the error), each peer's last
//! `getStats()` summary, and what each peer kind can add (a browser's console log and
//! screenshot, a program's stderr).

use super::result::{CaseRun, RunError};
use crate::peer::Peer;
use crate::transcript::{Event, Transcript};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Writes the artifacts into `dir` (created); `None` when nothing could be written.
pub(super) async fn save(dir: &Path, result: &Result<CaseRun, RunError>, peers: &[Box<dyn Peer>]) -> Option<PathBuf> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!("artifacts: cannot create {}: {e}", dir.display());
        return None;
    }
    let (transcript, failure) = match result {
        Ok(run) => (Some(&run.transcript), run.verdict.to_string()),
        Err(e @ RunError::Step { transcript, .. }) => (Some(transcript.as_ref()), format!("{e}\n\nlast events of each peer:\n{}\n", transcript.tail_by_peer(40))),
        Err(e) => (None, e.to_string()),
    };
    let mut written = vec![write(dir, "failure.txt", failure.as_bytes())];
    if let Some(t) = transcript {
        written.push(write(dir, "transcript.json", &serde_json::to_vec_pretty(t).unwrap_or_default()));
    }
    // The last getStats() is taken now: a case that stopped at a step never reached the end-of-case
    // collection, and what the stacks report at the moment of failure is what one wants to see.
    let mut now = Transcript::default();
    for p in peers {
        if p.collect_stats().await.is_ok() {
            now.entries.extend(p.drain().await.unwrap_or_default());
        }
    }
    let mut stats = transcript.map(last_stats).unwrap_or_else(|| Value::Object(Map::new()));
    if let (Value::Object(all), Value::Object(fresh)) = (&mut stats, last_stats(&now)) {
        all.extend(fresh);
    }
    written.push(write(dir, "stats.json", &serde_json::to_vec_pretty(&stats).unwrap_or_default()));
    for p in peers {
        written.extend(p.save_artifacts(dir).await.into_iter().map(Some));
    }
    written.iter().any(Option::is_some).then(|| dir.to_path_buf())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Option<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map(|_| path).map_err(|e| tracing::warn!("artifacts: {name}: {e}")).ok()
}

/// Each peer's last `getStats()` summary, by peer name.
pub(crate) fn last_stats(t: &Transcript) -> Value {
    let mut out = Map::new();
    for e in &t.entries {
        if let Event::Stats { summary } = &e.event {
            out.insert(e.peer.clone(), json!({ "at": e.at, "summary": summary }));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Entry;

    #[test]
    fn the_last_stats_of_each_peer_wins() {
        let stats = |n: u64| Event::Stats { summary: json!({ "n": n }) };
        let t = Transcript {
            entries: vec![
                Entry { at: 1.0, peer: "alice".into(), event: stats(1) },
                Entry { at: 2.0, peer: "bob".into(), event: stats(2) },
                Entry { at: 3.0, peer: "alice".into(), event: stats(3) },
            ],
            relay: vec![],
        };
        let v = last_stats(&t);
        assert_eq!(v["alice"]["summary"]["n"], 3);
        assert_eq!(v["bob"]["at"], 2.0);
    }
}
