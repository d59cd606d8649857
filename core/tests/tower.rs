//! The crates' modules form a tower: no module uses another that, directly or through
//! others, uses it back. Read from the source files: every `crate::a::b` and `super::x`
//! path in code (not in comments) is an edge from the file's module to the longest module
//! it names.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file under `src` (`sim/mod.rs` → `sim`, `lib.rs` → ``).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod" && p != "lib" && p != "main")
        .collect();
    parts.join("::")
}

/// Identifier-ish path segments following `prefix` at `at` in `line`.
fn path_after(line: &str, at: usize) -> Vec<&str> {
    let rest = &line[at..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].split("::").filter(|s| !s.is_empty()).collect()
}

/// The module graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let parent = from.rsplit_once("::").map_or("", |(p, _)| p).to_string();
        let text = fs::read_to_string(file).unwrap();
        // Unit tests inside a file may reach anywhere; the tower is about the code.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for (prefix, base) in [("crate::", String::new()), ("super::", parent.clone())] {
                for (at, _) in line.match_indices(prefix) {
                    // `$crate::` in macros is the crate too; `leasehold_crate::` is not.
                    let before = line[..at].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let mut target = base.clone();
                    let mut found = None;
                    for part in path_after(line, at + prefix.len()) {
                        target = if target.is_empty() {
                            part.to_string()
                        } else {
                            format!("{target}::{part}")
                        };
                        if modules.contains(&target) {
                            found = Some(target.clone());
                        }
                    }
                    if let Some(to) = found.filter(|to| *to != from && !to.is_empty()) {
                        edges.entry(from.clone()).or_default().insert(to);
                    }
                }
            }
        }
    }
    edges
}

/// A cycle in `edges`, as the modules along it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut c = stack[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut done, &mut Vec::new()))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn assert_tower(krate: &str) {
    let edges = graph(&workspace().join(krate).join("src"));
    assert!(!edges.is_empty(), "{krate}: no module uses another?");
    if let Some(c) = cycle(&edges) {
        panic!(
            "{krate}: modules use each other in a loop: {}",
            c.join(" → ")
        );
    }
}

#[test]
fn core_modules_form_a_tower() {
    assert_tower("core");
}

#[test]
fn dashboard_modules_form_a_tower() {
    assert_tower("web");
}

#[test]
fn javascript_api_modules_form_a_tower() {
    assert_tower("wasm");
}

#[test]
fn service_modules_form_a_tower() {
    assert_tower("server");
}

#[test]
fn the_checker_finds_a_loop() {
    let mut edges = BTreeMap::new();
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    edges.insert("engine".to_string(), set(&["queue", "fsm"]));
    edges.insert("queue".to_string(), set(&["op"]));
    assert_eq!(cycle(&edges), None);
    edges.insert("op".to_string(), set(&["engine"]));
    assert_eq!(
        cycle(&edges).unwrap(),
        ["engine", "queue", "op", "engine"].map(String::from)
    );
}
