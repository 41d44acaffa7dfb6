//! Keeps the module map in ARCHITECTURE.md true: every top-level module of this crate
//! imports only what the map's "module imports" table allows, the table lists every
//! module, and it reads top to bottom (a module may only import modules listed below
//! it), so the imports can never form a cycle.
//!
//! Imports are read from the source text: every `crate::<module>` path outside comments
//! and test code (`tests.rs` files, `tests/` folders, and the `#[cfg(test)] mod tests`
//! block that ends a file), including `crate::{a, b}` groups.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The comment in ARCHITECTURE.md that precedes the table's fenced block.
const TABLE_MARKER: &str = "<!-- module imports: checked by gateway/src/layering.rs -->";
/// Files of `src/` that are not modules of the map: the crate root (it wires everything),
/// the binary, and this test.
const NOT_MODULES: [&str; 3] = ["lib", "main", "layering"];

/// (module, modules it may import), top to bottom as the table lists them.
fn allowed_imports(architecture: &str) -> Vec<(String, BTreeSet<String>)> {
    let after_marker = architecture
        .split_once(TABLE_MARKER)
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md lost the line `{TABLE_MARKER}`"));
    let block = after_marker
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("a ```text block follows the module-imports marker");
    block
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|words| !words.is_empty() && words[0] != "module")
        .map(|words| {
            let imports = words[1..]
                .iter()
                .filter(|word| **word != "-")
                .map(|word| word.trim_end_matches(',').to_owned())
                .collect();
            (words[0].to_owned(), imports)
        })
        .collect()
}

/// The top-level modules of `src/` with the modules each one's non-test code imports.
fn actual_imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(src).expect("read src/") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("utf-8 file name")
            .to_owned();
        if NOT_MODULES.contains(&name.as_str()) {
            continue;
        }
        if path.is_file() && path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let mut imports = BTreeSet::new();
        for file in rust_files(&path) {
            let text = fs::read_to_string(&file).expect("read source");
            imports.extend(crate_imports(&text));
        }
        imports.remove(&name);
        modules.insert(name, imports);
    }
    modules
}

/// The `.rs` files of a module (a file, or a folder walked recursively), test files left out.
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(path).expect("read module folder") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                files.extend(rust_files(&path));
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            files.push(path);
        }
    }
    files
}

/// Top-level module names after `crate::` in non-test, non-comment code.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let code = &text[..test_block_start(text).unwrap_or(text.len())];
    let mut names = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(position) = rest.find("crate::") {
            rest = &rest[position + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                names.extend(group.split(',').filter_map(leading_identifier));
            } else if let Some(name) = leading_identifier(rest) {
                names.insert(name);
            }
        }
    }
    names
}

/// Where the `#[cfg(test)] mod tests` block (any visibility) starts, if there is one.
fn test_block_start(text: &str) -> Option<usize> {
    text.match_indices("#[cfg(test)]")
        .find_map(|(position, attribute)| {
            let after = text[position + attribute.len()..].trim_start();
            let after = ["pub(super) ", "pub(crate) ", "pub "]
                .iter()
                .find_map(|visibility| after.strip_prefix(visibility))
                .unwrap_or(after);
            // `mod tests;` declares a file (left out by name); only an inline block ends the code.
            let inline = after
                .strip_prefix("mod tests")
                .is_some_and(|rest| rest.trim_start().starts_with('{'));
            inline.then_some(position)
        })
}

fn leading_identifier(text: &str) -> Option<String> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_owned())
}

#[test]
fn modules_import_only_what_the_architecture_allows() {
    // The run-time value first: a test binary reused from another checkout sharing the
    // target directory must read this checkout's files.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let manifest = Path::new(&manifest_dir);
    let architecture = fs::read_to_string(manifest.join("../ARCHITECTURE.md"))
        .expect("read ARCHITECTURE.md at the repository root");
    let table = allowed_imports(&architecture);
    let actual = actual_imports(&manifest.join("src"));

    let listed: BTreeSet<&str> = table.iter().map(|(module, _)| module.as_str()).collect();
    let present: BTreeSet<&str> = actual.keys().map(String::as_str).collect();
    assert_eq!(
        listed, present,
        "ARCHITECTURE.md's module-imports table must list exactly the modules of gateway/src"
    );

    let mut problems = Vec::new();
    for (line, (module, allowed)) in table.iter().enumerate() {
        let below: BTreeSet<&str> = table[line + 1..].iter().map(|(m, _)| m.as_str()).collect();
        for import in allowed {
            if !below.contains(import.as_str()) {
                problems.push(format!(
                    "the table lets `{module}` import `{import}`, which is not listed below it"
                ));
            }
        }
        for import in &actual[module] {
            if !allowed.contains(import) {
                problems.push(format!(
                    "`{module}` imports `crate::{import}`, which ARCHITECTURE.md does not allow"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn imports_are_read_from_paths_and_groups_but_not_comments_or_tests() {
    let text = "#[cfg(test)]\nmod tests;\nuse crate::store::TraceStore;\n\
                // crate::query is only mentioned\n\
                use crate::{model::Span, tail};\n\
                fn f() { crate::pipeline::run(); }\n\
                #[cfg(test)]\npub(super) mod tests {\n    use crate::config::Config;\n}\n";
    let names: Vec<String> = crate_imports(text).into_iter().collect();
    assert_eq!(names, ["model", "pipeline", "store", "tail"]);
}
