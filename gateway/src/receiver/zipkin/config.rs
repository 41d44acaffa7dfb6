//! `receivers.zipkin:` — absent (the default) is off.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZipkinReceiverConfig {
    /// Address to listen on. Default `127.0.0.1:9411` (Zipkin's port); use
    /// `0.0.0.0:9411` for all interfaces.
    pub listen: String,
    /// Largest accepted body, in bytes, both as sent and after gzip decompression.
    /// Default 4 MiB.
    pub max_body_bytes: usize,
}

impl Default for ZipkinReceiverConfig {
    fn default() -> Self {
        ZipkinReceiverConfig {
            listen: "127.0.0.1:9411".to_owned(),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

impl ZipkinReceiverConfig {
    /// Checks what serde cannot; the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.max_body_bytes < 1024 {
            return Err((
                "receivers.zipkin.max_body_bytes".to_owned(),
                "must be at least 1024".to_owned(),
            ));
        }
        Ok(())
    }
}
