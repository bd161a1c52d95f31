//! The house rules of `src/` that a reader relies on, checked on the source text (`layout::...`):
//! no import cycle between the files of a folder (a file names a sibling through `super::` or
//! `crate::<folder>::`, or the folder's `mod.rs` by an item it re-exports), and the scenario file
//! as written stays private to `scenario/yaml/`.

use libtest_mimic::{Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a readable folder").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The text that imports: without `//` lines and without the unit tests at the end of a file (a
/// test module may use anything of its parent).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("a readable file");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The names a path prefix is followed by: `super::a`, `super::{a, b::C}` -> a, b, C.
fn names_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|s| !s.is_empty()).map(String::from));
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push(name);
        }
    }
    out
}

/// Each folder's files as nodes, an edge for each sibling (or the folder's `mod.rs`) a file names.
fn folder_graphs(src: &Path) -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graphs: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let folder = f.parent().expect("a folder").to_path_buf();
        let stem = f.file_stem().expect("a name").to_string_lossy().into_owned();
        let rel: Vec<String> = folder.strip_prefix(src).expect("under src").components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let crate_prefix = if rel.is_empty() { "crate::".to_string() } else { format!("crate::{}::", rel.join("::")) };
        let siblings: BTreeSet<String> = fs::read_dir(&folder)
            .expect("a readable folder")
            .flatten()
            .map(|e| e.path())
            .map(|p| if p.is_dir() { p.file_name().unwrap().to_string_lossy().into_owned() } else { p.file_stem().unwrap().to_string_lossy().into_owned() })
            .collect();
        let root = if siblings.contains("mod") { "mod" } else { "lib" };
        let code = code_of(f);
        let mut names = names_after(&code, &crate_prefix);
        let is_root = stem == root || stem == "main";
        if is_root {
            // The root names its children by relative paths: `pub use child::Item;`.
            for line in code.lines().map(str::trim_start) {
                let path = line.strip_prefix("pub(crate) use ").or_else(|| line.strip_prefix("pub use ")).or_else(|| line.strip_prefix("use "));
                if let Some(path) = path {
                    names.push(path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
                }
            }
        } else {
            names.extend(names_after(&code, "super::"));
        }
        let edges = graphs.entry(folder.clone()).or_default().entry(stem.clone()).or_default();
        for n in names {
            if n == stem || n == "self" || n == "super" || n.is_empty() {
                continue;
            }
            if siblings.contains(&n) && fs::metadata(folder.join(format!("{n}.rs"))).is_ok() {
                edges.insert(n);
            } else if !is_root && n.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && siblings.contains(root) {
                // An item named through the folder's root file (a re-export or its own).
                edges.insert(root.to_string());
            }
        }
    }
    graphs
}

/// The cycles of a graph, each as its files in order (one per strongly connected component).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let reaches = |from: &str, to: &str| -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for next in graph.get(&n).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let mut placed = BTreeSet::new();
    for node in graph.keys() {
        if placed.contains(node) || !reaches(node, node) {
            continue;
        }
        let component: Vec<String> = graph.keys().filter(|o| *o == node || (reaches(node, o) && reaches(o, node))).cloned().collect();
        placed.extend(component.iter().cloned());
        found.push(component);
    }
    found
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("layout::no_import_cycle_inside_a_folder", no_import_cycle_inside_a_folder),
        Trial::test("layout::the_checker_sees_a_cycle", the_checker_sees_a_cycle),
        Trial::test("layout::the_scenario_file_as_written_stays_in_its_front_end", the_scenario_file_as_written_stays_in_its_front_end),
    ]
}

fn no_import_cycle_inside_a_folder() -> Result<(), Failed> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    for (folder, graph) in folder_graphs(&src) {
        for c in cycles(&graph) {
            all.push(format!("{}: {}", folder.strip_prefix(&src).unwrap_or(&folder).display(), c.join(" <-> ")));
        }
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(format!("import cycles between the files of a folder:\n{}", all.join("\n")).into())
    }
}

fn the_checker_sees_a_cycle() -> Result<(), Failed> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(names_after("use super::{x, y::Z};\nlet v = super::w::f();", "super::"), ["x", "y", "Z", "w"]);
    Ok(())
}

fn the_scenario_file_as_written_stays_in_its_front_end() -> Result<(), Failed> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let front_end = src.join("scenario").join("yaml");
    let leaks: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&front_end))
        .filter(|f| {
            let code = code_of(f);
            code.contains("scenario::yaml") || (f.parent() == Some(&src.join("scenario")) && code.contains("yaml::") && !f.ends_with("mod.rs"))
        })
        .map(|f| f.display().to_string())
        .collect();
    if leaks.is_empty() {
        Ok(())
    } else {
        Err(format!("files outside scenario/yaml/ that name it: {leaks:?}").into())
    }
}
