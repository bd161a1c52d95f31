//! The validator's core: a load error with its file:line:column, and the [`Validator`] that the
//! other parts of the front end extend (peers, steps, expectations, fault rules), each in its file.

use crate::scenario::kinds::{PeerKind, ALL_KINDS};
use serde_saphyr::{Location, Spanned};
use std::fmt;

/// A scenario that could not be loaded: `scenarios/a/b.yaml:12:5: unknown step ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
        }
    }
}

impl std::error::Error for LoadError {}

pub(super) struct Validator<'a> {
    pub(super) file: &'a str,
    /// The registry's kinds.
    pub(super) kinds: &'a [PeerKind],
}

impl Validator<'_> {
    pub(super) fn err(&self, at: &Location, message: impl Into<String>) -> LoadError {
        LoadError { file: self.file.to_string(), line: at.line(), column: at.column(), message: message.into() }
    }

    pub(super) fn kind_list(&self) -> String {
        let mut names: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
        names.push(ALL_KINDS);
        names.join(", ")
    }

    pub(super) fn peer_ref(&self, r: &Spanned<String>, names: &[String]) -> Result<String, LoadError> {
        if names.contains(&r.value) {
            Ok(r.value.clone())
        } else {
            Err(self.err(&r.referenced, format!("unknown peer '{}' (expected one of: {})", r.value, names.join(", "))))
        }
    }
}
