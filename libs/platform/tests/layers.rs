//! The module layers drawn in the crate doc (`src/lib.rs`) are the real ones: every module is
//! drawn, and each uses (`crate::<module>` outside comments) only modules of lower layers, so
//! the modules of the crate form no circle.

use std::collections::BTreeMap;
use std::path::Path;

/// Layer of each module, read from the diagram of the crate doc (a module line without a number
/// is in the layer above it).
fn drawn_layers(lib: &str) -> BTreeMap<String, Option<u32>> {
    let mut layers = BTreeMap::new();
    let mut in_diagram = false;
    let mut layer = None;
    for line in lib.lines().filter_map(|l| l.strip_prefix("//!")) {
        if line.trim().starts_with("```") {
            in_diagram = !in_diagram;
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(first), true) = (words.next(), in_diagram) else { continue };
        let name = match first.parse::<u32>() {
            Ok(n) => {
                layer = Some(n);
                words.next().unwrap_or_default()
            }
            Err(_)
                if line.starts_with("     ") && first.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                first
            }
            Err(_) => continue,
        };
        layers.insert(name.to_owned(), layer);
    }
    layers
}

/// The `crate::<module>` uses of a source file, comments left out.
fn uses(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn modules_only_use_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let layers = drawn_layers(&lib);
    let declared: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';').map(str::to_owned))
        .collect();
    assert!(!declared.is_empty());
    let mut errors = Vec::new();
    for module in &declared {
        let Some(&layer) = layers.get(module) else {
            errors.push(format!("`{module}` is not drawn in the crate doc"));
            continue;
        };
        let mut sources = vec![src.join(format!("{module}.rs"))];
        if let Ok(dir) = std::fs::read_dir(src.join(module)) {
            sources.extend(dir.filter_map(Result::ok).map(|e| e.path()));
        }
        for path in sources.iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
            let Ok(source) = std::fs::read_to_string(path) else { continue };
            for used in uses(&source).into_iter().filter(|u| u != module) {
                let ok = match (layer, layers.get(&used)) {
                    (Some(mine), Some(Some(theirs))) => theirs < &mine,
                    _ => false,
                };
                if !ok {
                    errors.push(format!(
                        "`{module}` (layer {layer:?}) uses `{used}` ({:?})",
                        layers.get(&used)
                    ));
                }
            }
        }
    }
    assert!(errors.is_empty(), "module layers broken:\n{}", errors.join("\n"));
}
