//! The registry of error codes (`src/error/codes.rs`) is the one source of truth: its codes are
//! unique, each one is sent somewhere (or marked reserved), no other source spells a code, and the
//! README's error table is the registry's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use operant_platform::error::ErrorCode;
use operant_platform::metrics::code_name;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under a `src` directory of the workspace's crates, with its text up to its
/// unit tests (`#[cfg(test)]`), which may spell wire codes in assertions.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, in_src: bool, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && name != "tests" && !name.starts_with('.') {
                    walk(&path, in_src || name == "src", out);
                }
            } else if in_src && name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
                out.push((path, code));
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["libs", "services", "gateway", "apps"] {
        walk(&workspace().join(dir), false, &mut out);
    }
    assert!(out.len() > 50, "only {} source files found", out.len());
    out
}

fn is_registry(path: &Path) -> bool {
    path.ends_with("libs/platform/src/error/codes.rs")
}

#[test]
fn codes_are_unique_and_screaming_snake() {
    let mut seen = BTreeSet::new();
    for code in ErrorCode::ALL {
        let text = code.as_str();
        assert!(seen.insert(text), "{text} is in the registry twice");
        assert!(
            !text.starts_with('_')
                && !text.ends_with('_')
                && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{text} is not SCREAMING_SNAKE"
        );
        assert_eq!(ErrorCode::parse(text), Some(*code));
        assert!((400..600).contains(&code.http_status()), "{text}: {}", code.http_status());
        assert_ne!(code.grpc_code(), tonic::Code::Ok, "{text}");
        assert!(!code.meaning().is_empty(), "{text} has no meaning");
    }
}

/// A code is sent when some source outside the registry names its variant (`ErrorCode::X`);
/// a reserved one must not be.
#[test]
fn every_code_is_sent_or_reserved() {
    let sources = sources();
    let used = |code: &ErrorCode| {
        let needle = format!("ErrorCode::{code:?}");
        sources.iter().any(|(path, text)| {
            !is_registry(path)
                && text.match_indices(&needle).any(|(at, _)| {
                    !text[at + needle.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
        })
    };
    let mut problems = Vec::new();
    for code in ErrorCode::ALL {
        match (ErrorCode::RESERVED.contains(code), used(code)) {
            (false, false) => problems.push(format!("{code} is never sent: use it or mark it reserved")),
            (true, true) => problems.push(format!("{code} is reserved but sent")),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Only the registry spells a code as a string (gRPC status code names, which some error codes
/// share, are spelled by `metrics::code_name`; OpenAPI schema examples may quote one). The test
/// kit is exempt like every test: its assertions spell the codes clients see, on purpose.
#[test]
fn no_source_but_the_registry_spells_a_code() {
    let mut problems = Vec::new();
    for (path, text) in sources() {
        if is_registry(&path)
            || path.ends_with("libs/platform/src/metrics.rs")
            || path.components().any(|c| c.as_os_str() == "testkit")
        {
            continue;
        }
        let text: String = text.lines().filter(|l| !l.trim_start().starts_with("#[schema(example")).collect();
        for code in ErrorCode::ALL {
            if text.contains(&format!("\"{code}\"")) {
                problems.push(format!("{} spells \"{code}\"", path.display()));
            }
        }
    }
    assert!(problems.is_empty(), "use the ErrorCode variant instead:\n{}", problems.join("\n"));
}

/// The error table of the README, generated from the registry (by HTTP status).
fn table() -> String {
    let mut codes = ErrorCode::ALL.to_vec();
    codes.sort_by_key(|c| c.http_status());
    let mut out = String::from("| HTTP | error_code | gRPC | meaning |\n|---|---|---|---|\n");
    for code in codes {
        out.push_str(&format!(
            "| {} | `{code}` | {} | {} |\n",
            code.http_status(),
            code_name(code.grpc_code()),
            code.meaning()
        ));
    }
    out
}

#[test]
fn the_readme_error_table_is_the_registry() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let section = readme.split("### Errors").nth(1).expect("README has an `### Errors` section");
    let found: String = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        found == table(),
        "the README's error table differs from the registry; the table should read:\n\n{}",
        table()
    );
}
