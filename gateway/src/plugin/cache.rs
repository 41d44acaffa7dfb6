//! Compiled-artifact cache: `Component::new` costs ~0.1 s for a Rust plugin and
//! ~20 s for a Python or JS one; loading a serialized artifact costs ~0.2 ms.
//!
//! One file per (wasm bytes, wasmtime version, engine settings): `<key>.cwasm`, holding
//! a magic, an xxh3 checksum of the body and the body (`Component::serialize`). A file
//! is written to a temporary name and renamed, so readers never see half of one; a
//! file that fails its checksum or that wasmtime refuses is logged, ignored and
//! rewritten. Deserializing is `unsafe` in wasmtime (the bytes become machine code), so
//! only bytes that pass our checksum are handed to it: the cache directory is ours, the
//! checksum catches truncation and corruption, not an attacker who can write there.

use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;
use xxhash_rust::xxh3::{Xxh3Default, xxh3_64};

use super::PluginError;
use super::runtime::compile;

/// Pinned in Cargo.toml; part of the key even though the engine hash covers it too.
const WASMTIME_VERSION: &str = "48.0.8";
const MAGIC: &[u8; 8] = b"SGPLUG01";
const HEADER_LEN: usize = MAGIC.len() + 8;

pub(super) struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// Creates the directory if needed: an unusable cache is a start-up error, not a
    /// silent recompilation on every start.
    pub(super) fn open(dir: PathBuf) -> Result<ArtifactCache, PluginError> {
        std::fs::create_dir_all(&dir).map_err(|source| PluginError::Cache {
            path: dir.clone(),
            source,
        })?;
        Ok(ArtifactCache { dir })
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The compiled component for `wasm`: from the cache, or compiled and stored.
    /// Returns (component, from_cache, artifact_bytes).
    pub(super) fn compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> Result<(Component, bool, usize), PluginError> {
        let path = self.path_for(&cache_key(engine, wasm));
        if let Some((component, artifact_bytes)) = read_artifact(engine, &path) {
            return Ok((component, true, artifact_bytes));
        }
        let component = compile(engine, wasm)?;
        let artifact = match component.serialize() {
            Ok(artifact) => artifact,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot serialize a compiled plugin; not caching it");
                return Ok((component, false, 0));
            }
        };
        if let Err(error) = write_atomically(&path, &artifact) {
            tracing::warn!(path = %path.display(), %error, "cannot write a plugin artifact to the cache");
        }
        Ok((component, false, artifact.len()))
    }
}

/// Hex xxh3-128 of the wasm bytes, the wasmtime version and the engine's compilation
/// settings (`precompile_compatibility_hash`): a different engine config or wasmtime
/// never reads another's artifact.
pub(super) fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Xxh3Default::new();
    hasher.update(MAGIC);
    hasher.update(WASMTIME_VERSION.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.update(&(wasm.len() as u64).to_le_bytes());
    hasher.update(wasm);
    format!("{:032x}", hasher.digest128())
}

/// A cached component, or `None` (missing, corrupt or incompatible: logged unless missing).
#[allow(unsafe_code)] // loads native code wasmtime compiled earlier; see SAFETY below
fn read_artifact(engine: &Engine, path: &Path) -> Option<(Component, usize)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read a cached plugin artifact; recompiling");
            return None;
        }
    };
    let Some(body) = checked_body(&bytes) else {
        tracing::warn!(path = %path.display(), "corrupt cached plugin artifact; recompiling and rewriting it");
        return None;
    };
    // SAFETY: `body` is a `Component::serialize` output that this cache wrote (the
    // checksum matches); wasmtime itself refuses artifacts of another version or
    // engine configuration with an error.
    match unsafe { Component::deserialize(engine, body) } {
        Ok(component) => Some((component, body.len())),
        Err(error) => {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "incompatible cached plugin artifact; recompiling and rewriting it");
            None
        }
    }
}

/// The serialized component inside a cache file, if its header and checksum hold.
fn checked_body(file: &[u8]) -> Option<&[u8]> {
    if file.len() < HEADER_LEN || &file[..MAGIC.len()] != MAGIC {
        return None;
    }
    let checksum = u64::from_le_bytes(file[MAGIC.len()..HEADER_LEN].try_into().ok()?);
    let body = &file[HEADER_LEN..];
    (xxh3_64(body) == checksum).then_some(body)
}

fn encode(artifact: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(HEADER_LEN + artifact.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&xxh3_64(artifact).to_le_bytes());
    file.extend_from_slice(artifact);
    file
}

/// Writes to a unique temporary file beside `path`, then renames: concurrent writers
/// (two gateways sharing a cache) each rename a complete file.
fn write_atomically(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&encode(artifact))?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_the_bytes_and_the_engine() {
        let engine = Engine::default();
        let key = cache_key(&engine, b"abc");
        assert_eq!(key.len(), 32);
        assert_eq!(key, cache_key(&engine, b"abc"));
        assert_ne!(key, cache_key(&engine, b"abd"));
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other_engine = Engine::new(&config).unwrap();
        assert_ne!(key, cache_key(&other_engine, b"abc"));
    }

    #[test]
    fn checksum_rejects_corruption() {
        let file = encode(b"serialized component");
        assert_eq!(checked_body(&file), Some(&b"serialized component"[..]));
        let mut flipped = file.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(checked_body(&flipped), None);
        assert_eq!(checked_body(&file[..file.len() - 1]), None);
        assert_eq!(checked_body(&file[..4]), None);
        let mut wrong_magic = file;
        wrong_magic[0] = b'X';
        assert_eq!(checked_body(&wrong_magic), None);
    }

    #[test]
    fn writes_are_atomic_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.cwasm");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(
            checked_body(&std::fs::read(&path).unwrap()),
            Some(&b"two"[..])
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.cwasm")]);
    }
}
