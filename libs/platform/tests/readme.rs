//! The README's configuration table names every `OPERANT_*` variable that the code reads
//! (any `OPERANT_…` word in the non-test sources of the workspace), so a new setting cannot go
//! undocumented.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `OPERANT_[A-Z0-9_]+` word of `text` (a trailing `_` left out: `OPERANT_X_` is a prefix).
fn variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("OPERANT_") {
        let word: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        rest = &rest[at + word.len()..];
        if !word.ends_with('_') {
            found.insert(word);
        }
    }
    found
}

#[test]
fn every_variable_the_code_reads_is_in_the_readme() {
    let root = root();
    let mut files = Vec::new();
    for group in ["services", "libs", "apps"] {
        for krate in std::fs::read_dir(root.join(group)).unwrap() {
            sources(&krate.unwrap().path().join("src"), &mut files);
        }
    }
    sources(&root.join("gateway/src"), &mut files);
    assert!(files.len() > 50, "only {} sources found", files.len());
    let used: BTreeSet<String> =
        files.iter().flat_map(|f| variables(&std::fs::read_to_string(f).unwrap())).collect();
    assert!(used.contains("OPERANT_DATABASE_URL") && used.contains("OPERANT_MASTER_KEY"), "{used:?}");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let configuration = &readme[readme.find("## Configuration").unwrap()..];
    let configuration = &configuration[..configuration[3..].find("\n## ").unwrap()];
    let documented = variables(configuration);
    let missing: Vec<_> = used.difference(&documented).collect();
    assert!(missing.is_empty(), "not in the README's configuration table: {missing:?}");
}
