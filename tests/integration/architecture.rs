//! ARCHITECTURE.md stays true: every repository path it names in
//! backquotes (under `src/`, `tests/`, `benches/`, `proto/`, `deploy/` or
//! `docs/`) must exist, so moving or deleting a module without updating the
//! map fails here instead of misleading the next reader.

use std::path::Path;

/// Where repository paths start; other backquoted text (commands, flags,
/// file names inside the data directory) is not checked.
const PREFIXES: [&str; 6] = ["src/", "tests/", "benches/", "proto/", "deploy/", "docs/"];

/// The backquoted spans of a Markdown text that look like repository
/// paths, outside fenced code blocks (those hold diagrams and commands).
fn named_paths(markdown: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Odd pieces between backquotes are code spans.
        for span in line.split('`').skip(1).step_by(2) {
            let span = span.trim();
            if PREFIXES.iter().any(|p| span.starts_with(p)) && !span.contains(char::is_whitespace) {
                paths.push(span.to_string());
            }
        }
    }
    paths
}

#[test]
fn every_path_architecture_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository root");
    let paths = named_paths(&text);
    // Guards the extraction itself: a parser that finds nothing passes vacuously.
    assert!(
        paths.iter().any(|p| p == "src/engine/commit.rs"),
        "expected ARCHITECTURE.md to name src/engine/commit.rs; found {paths:?}"
    );
    let mut missing: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|p| !root.join(p.trim_end_matches('/')).exists())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names {} path(s) that do not exist; update the map or restore them:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn path_extraction() {
    let text = "See `src/a.rs` and `docs/` but not `cargo test` or `graph-0.idx`.\n\
                ```\n`src/in_a_fence.rs`\n```\n\
                Two on a line: `tests/x/` then `benches/y.rs`; `src/with space.rs`.";
    assert_eq!(
        named_paths(text),
        ["src/a.rs", "docs/", "tests/x/", "benches/y.rs"]
    );
}
