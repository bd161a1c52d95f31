//! The kinds file: which programs are peer kinds, how to tell they are installed, and what each can
//! do. Loaded strictly (unknown keys, bad names and empty commands are errors with
//! file:line:column), like scenarios.

use crate::scenario::{Capabilities, KnownFinding, PeerKind};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decl {
    name: Spanned<String>,
    stack: String,
    command: Spanned<Vec<String>>,
    #[serde(default)]
    check: Option<Vec<String>>,
    install: String,
    #[serde(default)]
    capabilities: Capabilities,
    #[serde(default)]
    findings: Vec<Spanned<KnownFinding>>,
}

/// One declared kind, with its paths resolved.
#[derive(Clone, Debug)]
pub struct KindDecl {
    pub kind: PeerKind,
    pub stack: String,
    /// The program and its arguments; a program path with a `/` is relative to `dir`.
    pub command: Vec<String>,
    pub check: Option<Vec<String>>,
    pub install: String,
    pub capabilities: Capabilities,
    /// Pairs this stack's bugs break in every scenario (checked: each names this kind).
    pub findings: Vec<KnownFinding>,
    /// The kinds file's directory: where programs run.
    pub dir: PathBuf,
}

/// Why a kinds file did not load.
#[derive(Debug, thiserror::Error)]
pub enum KindsError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    /// The file is not a valid kinds file at `line:column` (0:0 when the parser knows no place).
    #[error("{file}:{line}:{column}: {message}")]
    Invalid { file: String, line: u64, column: u64, message: String },
}

/// Why a kind is not installed here; the text says how to install it.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{kind}: {why}; install with `{install}`")]
pub struct NotInstalled {
    pub kind: PeerKind,
    /// What the check found: the program missing, the check failing or not running.
    pub why: String,
    pub install: String,
}

/// Loads a kinds file.
pub fn load_kinds(path: &Path) -> Result<Vec<KindDecl>, KindsError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KindsError::Read { file: file.clone(), source })?;
    let options = serde_saphyr::options! { with_snippet: false };
    let decls: Vec<Decl> = serde_saphyr::from_str_with_options(&text, options).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        KindsError::Invalid { file: file.clone(), line, column, message: e.to_string() }
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let mut out: Vec<KindDecl> = Vec::new();
    for d in decls {
        let at = |loc: &serde_saphyr::Location, message: String| KindsError::Invalid { file: file.clone(), line: loc.line(), column: loc.column(), message };
        let kind = PeerKind::new(&d.name.value).map_err(|e| at(&d.name.referenced, e.to_string()))?;
        if out.iter().any(|o| o.kind == kind) {
            return Err(at(&d.name.referenced, format!("kind '{kind}' is declared twice")));
        }
        if d.command.value.is_empty() {
            return Err(at(&d.command.referenced, "command is empty (a program and its arguments)".into()));
        }
        let mut findings = Vec::new();
        for f in d.findings {
            f.value.check(&kind).map_err(|e| at(&f.referenced, e.to_string()))?;
            findings.push(f.value);
        }
        let resolve = |mut cmd: Vec<String>| {
            if cmd[0].contains('/') && Path::new(&cmd[0]).is_relative() {
                cmd[0] = dir.join(&cmd[0]).display().to_string();
            }
            cmd
        };
        out.push(KindDecl {
            kind,
            stack: d.stack,
            command: resolve(d.command.value),
            check: d.check.filter(|c| !c.is_empty()).map(resolve),
            install: d.install,
            capabilities: d.capabilities,
            findings,
            dir: dir.clone(),
        });
    }
    Ok(out)
}

/// Runs the kind's `check` command (in its directory); `Err` says how to install the stack.
pub fn check_installed(decl: &KindDecl) -> Result<(), NotInstalled> {
    let cmd = decl.check.as_ref().unwrap_or(&decl.command);
    let missing = |why: String| Err(NotInstalled { kind: decl.kind.clone(), why, install: decl.install.clone() });
    if decl.check.is_none() {
        // Without a check, the program itself must exist.
        let found = Path::new(&cmd[0]).is_file() || crate::peer::procs::on_path(&cmd[0]).is_some();
        return if found { Ok(()) } else { missing(format!("{} not found", cmd[0])) };
    }
    let status = std::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .current_dir(&decl.dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => missing(format!("`{}` failed ({s})", cmd.join(" "))),
        Err(e) => missing(format!("cannot run `{}`: {e}", cmd.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<KindDecl>, KindsError> {
        let path = std::env::temp_dir().join(format!("rtc-harness-kinds-{}-{:?}.yaml", std::process::id(), std::thread::current().id()));
        std::fs::write(&path, text).unwrap();
        let out = load_kinds(&path);
        let _ = std::fs::remove_file(&path);
        out
    }

    const HEAD: &str = "- name: mystack\n  stack: s\n  command: [prog]\n  install: i\n";

    #[test]
    fn findings_load_and_must_name_their_kind() {
        let good = format!("{HEAD}  findings:\n    - pairs: [mystack-rust, \"*-mystack\"]\n      when: data_channels\n      reason: r\n");
        let decls = load(&good).unwrap();
        assert_eq!(decls[0].findings[0].pairs, vec!["mystack-rust", "*-mystack"]);
        let foreign = format!("{HEAD}  findings:\n    - pairs: [rust-chrome]\n      reason: r\n");
        match load(&foreign).unwrap_err() {
            KindsError::Invalid { line: 6, message, .. } => assert!(message.contains("does not name mystack"), "{message}"),
            other => panic!("{other}"),
        }
        let typo = format!("{HEAD}  findings:\n    - pairs: [mystack-rust]\n      when: datachannels\n      reason: r\n");
        assert!(matches!(load(&typo).unwrap_err(), KindsError::Invalid { line: 7, .. }), "an unknown `when` is located");
    }
}
