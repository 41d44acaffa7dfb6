//! The view's files, compiled into the binary, and the version that names them in URLs.
//! The stylesheet and the theme script are written into the page itself, so that the
//! first paint waits for no other request; the page's Content-Security-Policy allows
//! exactly those two inline blocks by their SHA-256.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use sha2::{Digest as _, Sha256};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Every file under `/ui/<version>/`: name, content type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("assets/favicon.svg"),
    ),
    ("app.js", JAVASCRIPT, include_str!("assets/app.js")),
    ("api.js", JAVASCRIPT, include_str!("assets/api.js")),
    (
        "complete.js",
        JAVASCRIPT,
        include_str!("assets/complete.js"),
    ),
    ("results.js", JAVASCRIPT, include_str!("assets/results.js")),
    ("trace.js", JAVASCRIPT, include_str!("assets/trace.js")),
    (
        "waterfall.js",
        JAVASCRIPT,
        include_str!("assets/waterfall.js"),
    ),
    ("details.js", JAVASCRIPT, include_str!("assets/details.js")),
    (
        "services.js",
        JAVASCRIPT,
        include_str!("assets/services.js"),
    ),
    ("dom.js", JAVASCRIPT, include_str!("assets/dom.js")),
];

/// The page; `{{version}}` becomes [`version`] so its links name the current assets,
/// `{{style}}` and `{{theme}}` the two files it carries inline, `{{tenant_label}}` the
/// gateway's `multitenancy.tenant_label` (empty with multi-tenancy off).
const INDEX_TEMPLATE: &str = include_str!("assets/index.html");
const STYLE: &str = include_str!("assets/app.css");
/// Runs before the first paint: the theme picked with the toggle.
const THEME_SCRIPT: &str = include_str!("assets/theme.js");

#[derive(Clone)]
pub(super) struct Asset {
    pub(super) name: &'static str,
    pub(super) content_type: &'static str,
    pub(super) body: Bytes,
}

impl Asset {
    /// A strong ETag from the contents.
    pub(super) fn etag(&self) -> String {
        format!("\"{:016x}\"", fnv1a(0, &self.body))
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, content_type, text)| Asset {
            name,
            content_type,
            body: Bytes::from_static(text.as_bytes()),
        })
        .collect()
});

/// Twelve hex digits of a hash over every asset's name and contents.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let hash = FILES.iter().fold(0, |hash, (name, _, text)| {
        fnv1a(fnv1a(hash, name.as_bytes()), text.as_bytes())
    });
    format!("{hash:016x}")[..12].to_owned()
});

static PAGE: LazyLock<String> = LazyLock::new(|| {
    INDEX_TEMPLATE
        .replace("{{version}}", version())
        .replace("{{style}}", STYLE)
        .replace("{{theme}}", THEME_SCRIPT)
});

/// This origin only, plus the page's own inline style and script by hash.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src 'self' '{}'; style-src 'self' '{}'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        sha256_source(THEME_SCRIPT),
        sha256_source(STYLE)
    )
});

/// A CSP hash source: `sha256-<base64 of the digest>`.
fn sha256_source(text: &str) -> String {
    format!("sha256-{}", BASE64.encode(Sha256::digest(text.as_bytes())))
}

pub(super) fn content_security_policy() -> &'static str {
    &CONTENT_SECURITY_POLICY
}

pub(super) fn version() -> &'static str {
    &VERSION
}

/// The page of this gateway: the label naming the tenant on metrics plugins' series is
/// written in (an attribute value; a label name needs no escaping, but is escaped).
pub(super) fn index(tenant_label: Option<&str>) -> Asset {
    let label = tenant_label
        .unwrap_or("")
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: Bytes::from(PAGE.replace("{{tenant_label}}", &label)),
    }
}

pub(super) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// Every file the view serves, the page included (for tests).
#[cfg(test)]
pub(super) fn all() -> impl Iterator<Item = Asset> {
    std::iter::once(index(None)).chain(ASSETS.iter().cloned())
}

/// FNV-1a (64-bit), continuing from `hash` (0 starts with the offset basis): stable
/// across builds and platforms, which a URL version needs.
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let start = if hash == 0 { OFFSET_BASIS } else { hash };
    bytes.iter().fold(start, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}
