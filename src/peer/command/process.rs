//! One command-peer program: spawned in its own process group, spoken to in JSON lines
//! (`stacks/PROTOCOL.md`), its stderr kept for failure reports. A reader task sorts what the
//! program prints into replies, events and control lines; anything else marks it gone.

use super::schema;
use crate::limits;
use crate::peer::procs;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, oneshot, Notify};

/// The protocol version this harness speaks.
pub const PROTOCOL: u64 = 1;
/// Lines of a program's stderr kept for reports.
const STDERR_LINES: usize = 200;

/// What the program says of itself first.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Hello {
    pub protocol: u64,
    pub stack: String,
    pub version: String,
}

/// A line the program printed, by `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Hello(Hello),
    Ready,
    Fail {
        message: String,
    },
    Done {
        id: u64,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        result: Value,
    },
    Event {
        t: f64,
        event: Value,
    },
    Closed,
}

/// Control lines, in order, for whoever waits on setup or close.
#[derive(Debug)]
pub enum Control {
    Hello(Hello),
    Ready,
    Fail(String),
    Closed,
}

/// Why talking to the program did not give what was asked: callers decide on the kind (a silent
/// program is a timeout of the action; a refusal is the stack's answer; a gone program is
/// reported with its exit status and stderr).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Alive but silent: no reply or control line within the limit.
    #[error("no {what} within {limit:?}")]
    Silent { what: String, limit: Duration },
    /// The program answered with an error (its `done` line's `error`, or `fail` at setup).
    #[error("{0}")]
    Refused(String),
    /// The program cannot be started, exited, or broke the protocol (the text says which).
    #[error("{0}")]
    Gone(String),
    /// A control line other than the one the protocol puts next.
    #[error("expected {expected}, got {got}")]
    Unexpected { expected: &'static str, got: String },
    /// A line of the harness's own breaks a schema: a harness bug, never the program's.
    #[error("the harness wrote a line that breaks the protocol ({why}): {line}")]
    HarnessLine { why: String, line: String },
}

#[derive(Default)]
struct Shared {
    replies: Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>,
    gone: Mutex<Option<String>>,
    stderr: Mutex<VecDeque<String>>,
    /// Lines ever written to stderr (the ring keeps the last [`STDERR_LINES`]): a case's own
    /// lines are those after its mark.
    stderr_total: std::sync::atomic::AtomicU64,
    /// Where the current case's lines begin (set at each `setup`): reports hold only that case.
    case_mark: std::sync::atomic::AtomicU64,
    /// Woken on every event and when the program is gone.
    changed: Notify,
}

pub struct Process {
    pub program: String,
    child: Mutex<Option<Child>>,
    pgid: i32,
    stdin: tokio::sync::Mutex<ChildStdin>,
    shared: Arc<Shared>,
    pub control: tokio::sync::Mutex<mpsc::UnboundedReceiver<Control>>,
    /// `(epoch ms, raw event)` as printed.
    pub events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(f64, Value)>>,
    next_id: std::sync::atomic::AtomicU64,
    stderr_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The exit status once seen (the child is gone after [`Process::kill`]).
    status: Mutex<Option<std::process::ExitStatus>>,
}

impl Process {
    /// Starts `command` in `dir` and reads its `hello` (bounded by [`limits::PEER_START`]).
    pub async fn spawn(command: &[String], dir: &Path, limits: limits::Limits) -> Result<(Process, Hello), ProcessError> {
        let program = command.first().ok_or_else(|| ProcessError::Gone("empty command".into()))?.clone();
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&command[1..])
            .current_dir(dir)
            .env("RTC_HARNESS_PROTOCOL", PROTOCOL.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| ProcessError::Gone(format!("cannot start {}: {e}", command.join(" "))))?;
        let pgid = child.id().map(|p| p as i32).ok_or_else(|| ProcessError::Gone("the program exited at once".into()))?;
        procs::register_group(pgid, procs::Owner::Commands);
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let shared = Arc::new(Shared::default());
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let stderr_task = tokio::spawn(read_stderr(BufReader::new(stderr), Arc::clone(&shared)));
        tokio::spawn(read_stdout(BufReader::new(stdout), Arc::clone(&shared), control_tx, events_tx, pgid));
        let process = Process {
            program: command.join(" "),
            child: Mutex::new(Some(child)),
            pgid,
            stdin: tokio::sync::Mutex::new(stdin),
            shared,
            control: tokio::sync::Mutex::new(control_rx),
            events: tokio::sync::Mutex::new(events_rx),
            next_id: std::sync::atomic::AtomicU64::new(1),
            stderr_task: Mutex::new(Some(stderr_task)),
            status: Mutex::new(None),
        };
        let failed = match process.expect_control(limits.peer_start, "hello").await {
            Ok(Control::Hello(h)) if h.protocol == PROTOCOL => return Ok((process, h)),
            Ok(Control::Hello(h)) => format!("speaks protocol {} (this harness speaks {PROTOCOL})", h.protocol),
            Ok(other) => format!("expected hello first, got {other:?}"),
            Err(e) => format!("no hello: {e}"),
        };
        process.settle().await;
        let report = process.report(&format!("{}: {failed}", process.program));
        process.kill();
        Err(ProcessError::Gone(report))
    }

    /// Once the program is gone: waits (briefly) for its exit status and the rest of its stderr,
    /// so that a report shows both.
    pub async fn settle(&self) {
        for _ in 0..40 {
            let exited = self.child.lock().unwrap().as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let task = self.stderr_task.lock().unwrap().take();
        if let Some(t) = task {
            let _ = tokio::time::timeout(Duration::from_millis(500), t).await;
        }
    }

    /// `message`, why the program is gone (with its exit status), and its last stderr lines.
    pub fn report(&self, message: &str) -> String {
        let mut out = message.to_string();
        if let Some(why) = self.gone() {
            if !out.contains(&why) {
                out.push_str(&format!(" [{why}]"));
            }
        }
        let case = self.stderr_since(self.shared.case_mark.load(std::sync::atomic::Ordering::SeqCst));
        let tail = &case[case.len().saturating_sub(20)..];
        if tail.is_empty() {
            out.push_str(" (stderr: empty)");
        } else {
            out.push_str(&format!("\nlast stderr lines of {}:\n  {}", self.program, tail.join("\n  ")));
        }
        out
    }

    /// Ends the program's case: `close`, and its `closed` within `limit`. The runner's end of a
    /// case and the idle pool's take-back both close this way.
    pub async fn close_case(&self, limit: Duration) -> Result<(), ProcessError> {
        self.send(&serde_json::json!({"type": "close"})).await?;
        match self.expect_control(limit, "closed").await? {
            Control::Closed => Ok(()),
            other => Err(ProcessError::Unexpected { expected: "closed", got: format!("{other:?}") }),
        }
    }

    /// Writes one protocol line.
    pub async fn send(&self, line: &Value) -> Result<(), ProcessError> {
        if let Some(why) = self.gone() {
            return Err(ProcessError::Gone(why));
        }
        // The harness keeps the specification too: a line of its own that breaks a schema is a
        // harness bug, reported as such rather than left for the program to misread.
        if let Err(v) = schema::schemas().check(line) {
            return Err(ProcessError::HarnessLine { why: v.to_string(), line: line.to_string() });
        }
        let mut text = serde_json::to_string(line).expect("JSON");
        text.push('\n');
        let mut stdin = self.stdin.lock().await;
        let written = async {
            stdin.write_all(text.as_bytes()).await?;
            stdin.flush().await
        };
        written.await.map_err(|e| ProcessError::Gone(self.mark_gone(format!("writing to it failed: {e}"))))
    }

    /// Sends `{"type": kind, "id": N, ...fields}` and waits for its `done` within `limit`.
    pub async fn request(&self, kind: &str, fields: Value, limit: Duration) -> Result<(), ProcessError> {
        self.request_result(kind, fields, limit).await.map(|_| ())
    }

    /// [`Process::request`], returning the `done` line's `result`.
    pub async fn request_result(&self, kind: &str, mut fields: Value, limit: Duration) -> Result<Value, ProcessError> {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.replies.lock().unwrap().insert(id, tx);
        fields["type"] = Value::from(kind);
        fields["id"] = Value::from(id);
        self.send(&fields).await?;
        match tokio::time::timeout(limit, rx).await {
            Err(_) => {
                self.shared.replies.lock().unwrap().remove(&id);
                Err(ProcessError::Silent { what: format!("answer to {kind}"), limit })
            }
            Ok(Err(_)) => Err(ProcessError::Gone(self.gone().unwrap_or_else(|| "the program stopped answering".into()))),
            Ok(Ok(r)) => r.map_err(ProcessError::Refused),
        }
    }

    /// The next control line, within `limit`; events that arrive meanwhile stay queued.
    pub async fn expect_control(&self, limit: Duration, what: &str) -> Result<Control, ProcessError> {
        let mut control = self.control.lock().await;
        match tokio::time::timeout(limit, control.recv()).await {
            Err(_) => Err(ProcessError::Silent { what: what.to_string(), limit }),
            Ok(None) => Err(ProcessError::Gone(self.gone().unwrap_or_else(|| "the program is gone".into()))),
            Ok(Some(c)) => Ok(c),
        }
    }

    /// Why the program is gone (it exited, or broke the protocol), with its exit status.
    pub fn gone(&self) -> Option<String> {
        let why = self.shared.gone.lock().unwrap().clone()?;
        let mut child = self.child.lock().unwrap();
        let status = child.as_mut().and_then(|c| c.try_wait().ok().flatten()).or(*self.status.lock().unwrap());
        if let Some(s) = status {
            *self.status.lock().unwrap() = Some(s);
        }
        Some(match status {
            Some(s) => format!("{why} ({s})"),
            None => why,
        })
    }

    fn mark_gone(&self, why: String) -> String {
        self.shared.gone.lock().unwrap().get_or_insert(why).clone()
    }

    pub async fn changed(&self) {
        self.shared.changed.notified().await
    }

    /// Starts a case: from here on, reports and [`Process::stderr_since`] the returned mark hold
    /// only this case's stderr lines.
    pub fn begin_case(&self) -> u64 {
        let mark = self.shared.stderr_total.load(std::sync::atomic::Ordering::SeqCst);
        self.shared.case_mark.store(mark, std::sync::atomic::Ordering::SeqCst);
        mark
    }

    /// The lines written to stderr since `mark` (those the ring still holds).
    pub fn stderr_since(&self, mark: u64) -> Vec<String> {
        let lines = self.shared.stderr.lock().unwrap();
        let total = self.shared.stderr_total.load(std::sync::atomic::Ordering::SeqCst);
        let new = usize::try_from(total.saturating_sub(mark)).unwrap_or(usize::MAX).min(lines.len());
        lines.iter().skip(lines.len() - new).cloned().collect()
    }

    /// Kills the process group and reaps it.
    pub fn kill(&self) {
        self.mark_gone("killed by the harness".into());
        procs::kill_group(self.pgid);
        if let Some(mut c) = self.child.lock().unwrap().take() {
            if let Ok(Some(s)) = c.try_wait() {
                self.status.lock().unwrap().get_or_insert(s);
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.lock().unwrap().is_some() {
            self.kill();
        }
    }
}

async fn read_stderr(mut reader: BufReader<tokio::process::ChildStderr>, shared: Arc<Shared>) {
    let mut line = String::new();
    while reader.read_line(&mut line).await.is_ok_and(|n| n > 0) {
        let mut lines = shared.stderr.lock().unwrap();
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(line.trim_end().to_string());
        shared.stderr_total.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        line.clear();
    }
}

/// One line the program printed, checked against its message's schema in `stacks/PROTOCOL.md`.
/// An event that breaks its own schema does not kill the program: it becomes an `error` event of
/// context `protocol` naming the field, which fails the case's "no peer or relay errors"
/// invariant (PROTOCOL.md, `event`); any other violation is an error.
fn checked_line(text: &str) -> Result<Line, String> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match schema::schemas().check(&value) {
        Ok(()) => {}
        Err(v @ (schema::Violation::Event { .. } | schema::Violation::UnknownEvent(_))) => {
            let shown: String = value["event"].to_string().chars().take(200).collect();
            value["event"] = serde_json::json!({"type": "error", "context": "protocol", "message": format!("{v}: {shown}")});
        }
        Err(v) => return Err(v.to_string()),
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Sorts stdout lines; a line that is not a protocol object kills the program ("prints garbage").
async fn read_stdout(
    mut reader: BufReader<tokio::process::ChildStdout>,
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
    events: mpsc::UnboundedSender<(f64, Value)>,
    pgid: i32,
) {
    let mut line = String::new();
    let why = loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) => break "it exited".to_string(),
            Err(e) => break format!("reading its output failed: {e}"),
            Ok(_) => {}
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let parsed = match checked_line(text) {
            Ok(l) => l,
            Err(e) => {
                let shown: String = text.chars().take(200).collect();
                // The reason first, so that whoever trips over the dead pipe next reports this.
                shared.gone.lock().unwrap().get_or_insert(format!("it printed a line that is not the protocol ({e}): {shown}"));
                procs::kill_group(pgid);
                break String::new();
            }
        };
        match parsed {
            Line::Hello(h) => drop(control.send(Control::Hello(h))),
            Line::Ready => drop(control.send(Control::Ready)),
            Line::Fail { message } => drop(control.send(Control::Fail(message))),
            Line::Closed => drop(control.send(Control::Closed)),
            Line::Done { id, error, result } => {
                if let Some(tx) = shared.replies.lock().unwrap().remove(&id) {
                    let _ = tx.send(error.map_or(Ok(result), Err));
                }
            }
            Line::Event { t, event } => {
                let _ = events.send((t, event));
                shared.changed.notify_one();
            }
        }
    };
    shared.gone.lock().unwrap().get_or_insert(why);
    shared.replies.lock().unwrap().clear();
    shared.changed.notify_one();
}
