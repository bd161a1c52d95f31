//! The programs of a kind that wait for their next case (one program serves many cases).

use super::process::Process;
use crate::limits;
use std::sync::Mutex;

/// Programs waiting for their next case.
#[derive(Default)]
pub(crate) struct Idle(Mutex<Vec<Process>>);

impl Idle {
    /// A waiting program, the last one kept (any will do: each is between cases).
    pub(crate) fn take(&self) -> Option<Process> {
        self.0.lock().unwrap().pop()
    }

    /// Every waiting program (at the end of a run, to stop them).
    pub(crate) fn take_all(&self) -> Vec<Process> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Takes back a program that already closed its case.
    pub(crate) fn keep(&self, process: Process) {
        self.0.lock().unwrap().push(process);
    }

    /// Takes a program back after its case: kept when it closed the case cleanly.
    pub(crate) async fn release(&self, process: Process, limits: limits::Limits) {
        match process.close_case(limits.teardown).await {
            Ok(()) if process.gone().is_none() => self.0.lock().unwrap().push(process),
            _ => process.kill(),
        }
    }
}
