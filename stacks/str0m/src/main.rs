//! rtc-harness command peer for str0m 0.25.0 (the sans-I/O Rust WebRTC library): speaks the
//! command-peer protocol of ../PROTOCOL.md, version 1 (JSON lines on stdin/stdout).
//!
//! Modules: proto (lines and configuration), case (the Rtc and its run loop, state events), net
//! (sockets, relay), negotiation (offers, answers, remote candidates), gathering
//! (local candidates), media and fixtures (sending and
//! receiving), channels, stats, stun (server-reflexive gathering), actions, floor (the bench's
//! floor: two cases in this process). One thread, one loop: str0m is driven from one place.

mod actions;
mod case;
mod channels;
mod fixtures;
mod floor;
mod gathering;
mod media;
mod negotiation;
mod net;
mod proto;
mod stats;
mod stun;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use case::{Case, Wake};
use proto::{done, line, log, Config};

/// str0m's version, as its crate is pinned in Cargo.toml (`=0.25.0`).
const STR0M_VERSION: &str = "0.25.0";

enum Next {
    Command(Option<Value>),
    Wake(Wake),
}

/// A harness line for the program while a case may be open.
async fn command(case: &mut Option<Case>, cmd: Value) {
    let typ = cmd.get("type").and_then(Value::as_str).unwrap_or("");
    let id = cmd.get("id").and_then(Value::as_u64).unwrap_or(0);
    match typ {
        "setup" => {
            *case = None;
            let cfg: Config = match serde_json::from_value(cmd.get("config").cloned().unwrap_or(Value::Null)) {
                Ok(c) => c,
                Err(e) => return line(&json!({"type": "fail", "message": format!("setup.config: {e}")})),
            };
            if let Some(why) = cfg.refusal() {
                return line(&json!({"type": "fail", "message": why}));
            }
            match Case::new(cfg).await {
                Ok(c) => {
                    *case = Some(c);
                    line(&json!({"type": "ready"}));
                }
                Err(e) => line(&json!({"type": "fail", "message": e})),
            }
        }
        "perform" => {
            let result = match case.as_mut() {
                Some(c) => c.perform(cmd.get("action").unwrap_or(&Value::Null)),
                None => Err("no case set up".into()),
            };
            done(id, result.err());
        }
        "collect_stats" => match case.as_ref() {
            Some(c) => {
                c.collect_stats();
                done(id, None);
            }
            None => done(id, Some("no case set up".into())),
        },
        "close" => {
            // Everything of the case is released (its Drop), then `closed`.
            *case = None;
            line(&json!({"type": "closed"}));
        }
        "floor" => match floor::floor(&cmd).await {
            Ok(times) => line(&json!({"type": "done", "id": id, "result": {"floor": times}})),
            Err(e) => done(id, Some(e)),
        },
        other => log(&format!("unknown command {other}")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("--check") {
        // `check` of the kinds entry: the binary was built with str0m and starts.
        eprintln!("str0m {STR0M_VERSION}");
        return;
    }
    // Logs to stderr only: stdout carries the protocol. STR0M_LOG chooses the level (warn).
    let filter = tracing_subscriber::EnvFilter::try_from_env("STR0M_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_ansi(false).init();
    line(&json!({"type": "hello", "protocol": 1, "stack": "str0m", "version": STR0M_VERSION}));
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(l)) = lines.next_line().await {
            if l.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(&l) {
                Ok(v) => {
                    let _ = tx.send(v);
                }
                Err(_) => log(&format!("not JSON: {l}")),
            }
        }
    });
    let mut case: Option<Case> = None;
    loop {
        let next = match case.as_mut() {
            Some(c) => tokio::select! {
                cmd = rx.recv() => Next::Command(cmd),
                w = c.wake() => Next::Wake(w),
            },
            None => Next::Command(rx.recv().await),
        };
        match next {
            // EOF: exit now, with status 0 (PROTOCOL.md "Reuse, failures and exit").
            Next::Command(None) => std::process::exit(0),
            Next::Command(Some(cmd)) => command(&mut case, cmd).await,
            Next::Wake(w) => {
                if let Some(c) = case.as_mut() {
                    c.handle(w);
                }
            }
        }
    }
}
