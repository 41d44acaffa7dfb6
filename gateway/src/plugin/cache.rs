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
//!
//! The directory is bounded: after each write, the least recently used artifacts (by
//! modification time, refreshed on every hit) beyond [`MAX_CACHE_BYTES`] are deleted.
//! An interpreter guest's artifact is ~33 MB and componentize-py builds differ byte for
//! byte, so without a bound every rebuild of a Python plugin would add one for good.

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
/// What the cache directory may hold: ~60 Python or JavaScript plugins, thousands of
/// Rust or C ones.
pub(super) const MAX_CACHE_BYTES: u64 = 2 << 30;

pub(super) struct ArtifactCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl ArtifactCache {
    /// Creates the directory if needed: an unusable cache is a start-up error, not a
    /// silent recompilation on every start.
    pub(super) fn open(dir: PathBuf) -> Result<ArtifactCache, PluginError> {
        std::fs::create_dir_all(&dir).map_err(|source| PluginError::Cache {
            path: dir.clone(),
            source,
        })?;
        Ok(ArtifactCache {
            dir,
            max_bytes: MAX_CACHE_BYTES,
        })
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
            touch(&path);
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
        evict_least_recently_used(&self.dir, self.max_bytes, &path);
        Ok((component, false, artifact.len()))
    }
}

/// Marks a hit: eviction goes by modification time. Best effort (a read-only cache
/// still serves hits).
fn touch(path: &Path) {
    let _ = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
}

/// Deletes the oldest `.cwasm` files of `dir` until the rest fit in `max_bytes`;
/// `keep` (the artifact just written) stays whatever its size.
fn evict_least_recently_used(dir: &Path, max_bytes: u64, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut artifacts: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "cwasm"))
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            Some((metadata.modified().ok()?, metadata.len(), entry.path()))
        })
        .collect();
    artifacts.sort_by_key(|(modified, _, _)| std::cmp::Reverse(*modified));
    let mut kept = artifacts
        .iter()
        .find(|(_, _, path)| path == keep)
        .map_or(0, |(_, len, _)| *len);
    for (_, len, path) in &artifacts {
        if path == keep {
            continue;
        }
        if kept + len <= max_bytes {
            kept += len;
            continue;
        }
        match std::fs::remove_file(path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), bytes = len, "plugin artifact cache over its limit: removed the least recently used artifact")
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot remove a plugin artifact from the full cache")
            }
        }
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

    #[test]
    fn the_least_recently_used_artifacts_go_when_the_cache_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now();
        let write = |name: &str, bytes: usize, age_secs: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, vec![0u8; bytes]).unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(now - std::time::Duration::from_secs(age_secs))
                .unwrap();
            path
        };
        let oldest = write("a.cwasm", 400, 300);
        let older = write("b.cwasm", 400, 200);
        let recent = write("c.cwasm", 400, 100);
        let other = write("notes.txt", 5000, 400);
        let new = write("d.cwasm", 400, 0);
        // Room for three: the new one, then the most recent others.
        evict_least_recently_used(dir.path(), 1200, &new);
        assert!(new.exists() && recent.exists() && older.exists());
        assert!(!oldest.exists(), "the least recently used goes");
        assert!(other.exists(), "only artifacts are evicted");
        // A hit refreshes an artifact: `b` is now the most recent, so `c` goes.
        touch(&older);
        evict_least_recently_used(dir.path(), 800, &new);
        assert!(new.exists() && older.exists() && !recent.exists());
        // The artifact just written stays even when it alone is over the limit.
        evict_least_recently_used(dir.path(), 10, &new);
        assert!(new.exists() && !older.exists());
    }
}
