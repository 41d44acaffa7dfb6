//! The built-in trace view on the query port: `GET /` answers one HTML page (its
//! stylesheet inline), and its scripts and icon are served under `/ui/<version>/`.
//! Every asset is compiled into the binary (`include_str!`), refers to nothing outside
//! this origin (the page's Content-Security-Policy allows only `'self'` and the page's
//! own two inline blocks, by hash), and needs no build step:
//! plain HTML, CSS and JavaScript modules. The page reads the same Tempo API as Grafana
//! (search, tags, trace by id, TraceQL metrics) and `/metrics`, from the browser, so it
//! sits behind the query port's auth layer like every other route.
//!
//! Caching: the page itself is `no-cache` (revalidated with its ETag, so a new binary is
//! seen at once); the assets' URLs carry a version computed from their contents, so they
//! are cached as immutable. An asset asked for under another version (a page loaded from
//! an older binary) is served as it is now, `no-cache`.

mod assets;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use assets::Asset;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// What the page is told of this gateway's config.
#[derive(Clone, Debug, Default)]
pub struct ViewSettings {
    /// With multi-tenancy on, `multitenancy.tenant_label`: the label naming the tenant on
    /// the metrics plugins' series, by which the Services page keeps the typed tenant's.
    pub tenant_label: Option<String>,
}

/// `GET /` and `GET /ui/{version}/{file}`; merged into the query port's router.
pub(crate) fn routes(settings: &ViewSettings) -> Router {
    let page = Arc::new(assets::index(settings.tenant_label.as_deref()));
    Router::new()
        .route(
            "/",
            get(move |headers: HeaderMap| async move { respond(&headers, &page, REVALIDATE) }),
        )
        .route("/ui/{version}/{file}", get(asset))
}

async fn asset(Path((version, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(asset) = assets::find(&file) else {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    };
    let cache = if version == assets::version() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    respond(&headers, asset, cache)
}

/// The asset, or 304 when the client's `If-None-Match` names its current ETag.
fn respond(headers: &HeaderMap, asset: &Asset, cache_control: &'static str) -> Response {
    let etag = asset.etag();
    let common = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(assets::content_security_policy()),
        ),
    ];
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if if_none_match(headers, &etag) {
        return (
            StatusCode::NOT_MODIFIED,
            common,
            [(header::ETAG, etag_value)],
        )
            .into_response();
    }
    (
        StatusCode::OK,
        common,
        [
            (header::ETAG, etag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
        ],
        asset.body.clone(),
    )
        .into_response()
}

/// Whether `If-None-Match` lists `etag` (or `*`), weak or strong.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[cfg(test)]
mod tests;
