//! The house's layering, checked from the sources: no crate depends on one above it, no module
//! of the binary imports one above it, no system reaches into another system's internals (only
//! its `client`, the typed client with the types on its wire), and nothing low (the platform,
//! money, the shared contracts) imports a system.

// A failed unwrap is a failed test, with its location: what a test wants.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The workspace's crates, lowest first: a crate may depend only on crates of a lower layer.
const CRATE_LAYERS: &[&[&str]] = &[
    &["sse-decoder"],
    &["llm", "business-services"],
    &["mcp-contract"],
    &["mcp-server", "investigator"],
    &["concierge"],
    &["web-widget", "evals"],
    &["boutique"],
];

/// The binary's modules, lowest first: a module may import only modules of a lower layer.
const MODULE_LAYERS: &[&[&str]] = &[
    &["apps"],
    &["registry"],
    &["config"],
    &["mcp"],
    &["systems", "demo", "dead_letters", "credential", "keys"],
    &["audit", "chat", "eval"],
];

/// Modules of `business-services` that are not systems, and what each may import.
const FOUNDATIONS: &[(&str, &[&str])] = &[
    ("platform", &["platform"]),
    ("money", &["platform", "money"]),
    ("contracts", &["platform", "money", "contracts"]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The module paths `text` names after `prefix` (e.g. `crate::`), as their first two segments.
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<(usize, &'a str, Option<&'a str>)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let end = |s: &str| s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
            let first = &rest[..end(rest)];
            let second = rest[first.len()..].strip_prefix("::").map(|tail| &tail[..end(tail)]);
            found.push((number + 1, first, second.filter(|s| !s.is_empty())));
        }
    }
    found
}

/// The names of the workspace crates a manifest depends on.
fn dependencies(manifest: &Path, crates: &[&str]) -> Vec<String> {
    let text = fs::read_to_string(manifest).unwrap();
    let mut section = String::new();
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section != "[dependencies]" {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
        if crates.contains(&name) {
            found.push(name.to_owned());
        }
    }
    found
}

#[test]
fn no_crate_depends_on_a_higher_one() {
    let layer_of: BTreeMap<&str, usize> = CRATE_LAYERS
        .iter()
        .enumerate()
        .flat_map(|(layer, crates)| crates.iter().map(move |name| (*name, layer)))
        .collect();
    let crates: Vec<&str> = layer_of.keys().copied().collect();
    let mut wrong = Vec::new();
    for (name, layer) in &layer_of {
        let manifest =
            if *name == "boutique" { root().join("Cargo.toml") } else { root().join(name).join("Cargo.toml") };
        if !manifest.exists() {
            continue;
        }
        for dependency in dependencies(&manifest, &crates) {
            if layer_of[dependency.as_str()] >= *layer {
                wrong.push(format!("{name} depends on {dependency}, which is not below it"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_of_the_binary_imports_a_higher_one() {
    let layer_of: BTreeMap<&str, usize> = MODULE_LAYERS
        .iter()
        .enumerate()
        .flat_map(|(layer, modules)| modules.iter().map(move |name| (*name, layer)))
        .collect();
    let mut wrong = Vec::new();
    for file in sources(&root().join("src")) {
        let module = file.file_stem().unwrap().to_str().unwrap();
        if matches!(module, "main" | "lib") {
            continue;
        }
        let own = *layer_of.get(module).unwrap_or_else(|| panic!("src/{module}.rs has no layer in MODULE_LAYERS"));
        let text = fs::read_to_string(&file).unwrap();
        for (line, imported, _) in paths_after(&text, "crate::") {
            if let Some(layer) = layer_of.get(imported)
                && *layer >= own
                && imported != module
            {
                wrong.push(format!("src/{module}.rs:{line} imports crate::{imported}, which is not below it"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_system_reaches_into_another_and_nothing_low_imports_a_system() {
    let src = root().join("business-services/src");
    let systems: Vec<String> = fs::read_dir(&src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_str().unwrap().to_owned())
        .filter(|name| !FOUNDATIONS.iter().any(|(foundation, _)| foundation == name))
        .collect();
    assert!(systems.len() >= 13, "found only {systems:?}");
    let mut wrong = Vec::new();
    for file in sources(&src) {
        let relative = file.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let owner = relative.split(['/', '.']).next().unwrap().to_owned();
        let text = fs::read_to_string(&file).unwrap();
        for (line, module, item) in paths_after(&text, "crate::") {
            let place = format!("business-services/src/{relative}:{line}");
            if let Some((_, allowed)) = FOUNDATIONS.iter().find(|(foundation, _)| *foundation == owner) {
                if !allowed.contains(&module) {
                    wrong.push(format!("{place}: {owner} imports crate::{module}, which is above it"));
                }
            } else if systems.contains(&owner) {
                let other_system = systems.iter().any(|system| system == module) && module != owner;
                if other_system && item != Some("client") {
                    wrong.push(format!(
                        "{place}: {owner} imports crate::{module}::{}, not {module}'s client",
                        item.unwrap_or("*")
                    ));
                }
                if module == "launch" {
                    wrong.push(format!("{place}: {owner} imports the launcher, which starts systems"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let text = "use crate::checkout::domain::OrderId;\nlet x = crate::platform::db::Db::open; // crate::oms\n";
    assert_eq!(
        paths_after(text, "crate::"),
        vec![(1, "checkout", Some("domain")), (2, "platform", Some("db"))],
        "comments are skipped and paths split into their first two segments"
    );
    let manifest = std::env::temp_dir().join(format!("layering-{}.toml", std::process::id()));
    fs::write(
        &manifest,
        "[dependencies]\nllm.workspace = true\nserde = \"1\"\n[dev-dependencies]\nevals.workspace = true\n",
    )
    .unwrap();
    assert_eq!(dependencies(&manifest, &["llm", "evals"]), vec!["llm".to_owned()], "only normal dependencies count");
    fs::remove_file(manifest).unwrap();
}
