//! The view's files, compiled into the binary, and the version that names them in URLs.

use std::sync::LazyLock;

use bytes::Bytes;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Every file under `/ui/<version>/`: name, content type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("assets/favicon.svg"),
    ),
    ("theme.js", JAVASCRIPT, include_str!("assets/theme.js")),
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

/// The page; `{{version}}` becomes [`version`] so its links name the current assets.
const INDEX_TEMPLATE: &str = include_str!("assets/index.html");

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

static INDEX: LazyLock<Asset> = LazyLock::new(|| Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: Bytes::from(INDEX_TEMPLATE.replace("{{version}}", version())),
});

pub(super) fn version() -> &'static str {
    &VERSION
}

pub(super) fn index() -> &'static Asset {
    &INDEX
}

pub(super) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// Every file the view serves, the page included (for tests).
#[cfg(test)]
pub(super) fn all() -> impl Iterator<Item = &'static Asset> {
    std::iter::once(index()).chain(ASSETS.iter())
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
