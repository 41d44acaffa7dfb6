//! The recorded Grafana Tempo answers in `tests/fixtures/tempo-responses/`.

use std::path::PathBuf;

use serde_json::Value;

/// `tests/fixtures/tempo-responses`.
pub fn dir() -> PathBuf {
    crate::harness::crate_dir().join("fixtures/tempo-responses")
}

/// The raw bytes of a recorded answer.
pub fn bytes(file: &str) -> Vec<u8> {
    let path = dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A recorded JSON answer.
pub fn json(file: &str) -> Value {
    serde_json::from_slice(&bytes(file)).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"))
}

/// What `_index.json` recorded for the answer called `name`.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub url: String,
    pub status: u16,
    pub content_type: String,
    pub file: String,
}

pub fn recorded(name: &str) -> Recorded {
    let index = json("_index.json");
    let entry = index
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("{name} is not in _index.json"));
    Recorded {
        url: entry["url"].as_str().unwrap_or_default().to_owned(),
        status: entry["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .expect("status"),
        content_type: entry["content_type"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        file: entry["file"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The path and query of a recorded URL (`/api/echo`).
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or_else(|| "/".to_owned(), |i| after_scheme[i..].to_owned())
}
