use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::{ViewSettings, assets, routes};

async fn get(path: &str, headers: &[(header::HeaderName, &str)]) -> axum::response::Response {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    routes(&ViewSettings::default())
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible router")
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

fn header_of(response: &axum::response::Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii header")
}

/// Every `/ui/...` URL the page links to (`href="..."`, `src="..."`).
fn linked_assets(page: &str) -> Vec<String> {
    ["href=\"", "src=\""]
        .iter()
        .flat_map(|attribute| page.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.starts_with("/ui/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_page_is_html_revalidated_and_locked_to_this_origin() {
    let response = get("/", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
    assert!(header_of(&response, header::ETAG).starts_with('"'));
    let policy = header_of(&response, header::CONTENT_SECURITY_POLICY).to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(directive), "{policy} lacks {directive}");
    }
    let page = body_text(response).await;
    assert!(page.starts_with("<!doctype html>"));
    assert!(!page.contains("{{"), "every placeholder replaced");
    let version = assets::version();
    assert!(page.contains(&format!("/ui/{version}/app.js")));
    assert!(page.contains("--bg:"), "the stylesheet is inline");
}

/// The text between `open` and the next `close` in `page`.
fn between<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
    let start = page.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let length = page[start..]
        .find(close)
        .unwrap_or_else(|| panic!("no {close}"));
    &page[start..start + length]
}

#[tokio::test]
async fn the_policy_allows_exactly_the_inline_style_and_script_of_the_page() {
    let response = get("/", &[]).await;
    let policy = header_of(&response, header::CONTENT_SECURITY_POLICY).to_owned();
    let page = body_text(response).await;
    let hash = |text: &str| {
        let digest = Sha256::digest(text.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    };
    let style = between(&page, "<style>", "</style>");
    let script = between(&page, "<script>", "</script>");
    assert!(style.contains("prefers-color-scheme"), "{style}");
    assert!(script.contains("spangate.theme"), "{script}");
    assert!(
        policy.contains(&format!("style-src 'self' {}", hash(style))),
        "{policy}"
    );
    assert!(
        policy.contains(&format!("script-src 'self' {}", hash(script))),
        "{policy}"
    );
    assert_eq!(page.matches("<style>").count(), 1);
    assert_eq!(page.matches("<script>").count(), 1, "one inline script");
}

#[tokio::test]
async fn every_linked_asset_is_served_immutable_with_its_content_type() {
    let page = body_text(get("/", &[]).await).await;
    let linked = linked_assets(&page);
    assert!(linked.len() >= 10, "page links {linked:?}");
    for url in linked {
        let response = get(&url, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let expected = match url.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset type {other:?} in {url}"),
        };
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            expected,
            "{url}"
        );
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert_eq!(
            header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        assert!(!body_text(response).await.is_empty(), "{url}");
    }
}

#[tokio::test]
async fn every_served_file_is_linked_from_the_page_or_imported_by_a_script() {
    let page = body_text(get("/", &[]).await).await;
    let version = assets::version();
    for asset in assets::all().filter(|asset| asset.name != "index.html") {
        let url = format!("/ui/{version}/{}", asset.name);
        let imported = assets::all().any(|other| {
            std::str::from_utf8(&other.body)
                .expect("utf-8 asset")
                .contains(&format!("from \"./{}\"", asset.name))
        });
        assert!(
            page.contains(&url) || imported,
            "{} is served but nothing loads it",
            asset.name
        );
    }
}

#[tokio::test]
async fn script_imports_name_served_files() {
    for asset in assets::all() {
        let text = std::str::from_utf8(&asset.body).expect("utf-8 asset");
        for import in text.split("from \"").skip(1) {
            let target = import.split('"').next().unwrap_or("");
            let name = target
                .strip_prefix("./")
                .unwrap_or_else(|| panic!("{}: import {target} is not relative", asset.name));
            assert!(
                assets::find(name).is_some(),
                "{} imports {target}, which is not served",
                asset.name
            );
        }
    }
}

#[tokio::test]
async fn an_asset_of_another_version_is_served_but_revalidated() {
    let response = get("/ui/0123456789ab/app.js", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
}

#[tokio::test]
async fn a_matching_etag_answers_304_without_a_body() {
    for path in ["/".to_owned(), format!("/ui/{}/app.js", assets::version())] {
        let first = get(&path, &[]).await;
        let etag = header_of(&first, header::ETAG).to_owned();
        let again = get(&path, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(header_of(&again, header::ETAG), etag);
        assert!(body_text(again).await.is_empty());
        let other = get(&path, &[(header::IF_NONE_MATCH, "\"something-else\"")]).await;
        assert_eq!(other.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn an_unknown_asset_is_404() {
    let response = get(&format!("/ui/{}/missing.js", assets::version()), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// The only `http://` text allowed: the SVG namespace name, an identifier that is never
/// fetched (`xmlns` in the icon, `createElementNS` in the scripts).
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

#[test]
fn no_asset_refers_to_another_host() {
    for asset in assets::all() {
        let text = std::str::from_utf8(&asset.body).expect("utf-8 asset");
        let without_namespace = text.replace(SVG_NAMESPACE, "");
        for scheme in ["http://", "https://", "ws://", "wss://"] {
            assert!(
                !without_namespace.contains(scheme),
                "{} refers to {scheme}...",
                asset.name
            );
        }
        // Protocol-relative URLs (`//host/...`) in markup, styles and imports.
        for pattern in [
            "src=\"//",
            "href=\"//",
            "url(//",
            "url(\"//",
            "from \"//",
            "import(\"//",
        ] {
            assert!(
                !without_namespace.contains(pattern),
                "{} has a protocol-relative URL ({pattern})",
                asset.name
            );
        }
        assert!(
            !text.contains("@import"),
            "{} imports a stylesheet",
            asset.name
        );
    }
}

#[tokio::test]
async fn the_page_names_the_tenant_label_the_services_page_filters_by() {
    let page = |label: Option<&str>| {
        let settings = ViewSettings {
            tenant_label: label.map(str::to_owned),
        };
        async move {
            let response = routes(&settings)
                .oneshot(Request::get("/").body(Body::empty()).expect("request"))
                .await
                .expect("infallible router");
            body_text(response).await
        }
    };
    let meta = |label: &str| format!(r#"<meta name="spangate-tenant-label" content="{label}">"#);
    assert!(page(None).await.contains(&meta("")));
    assert!(page(Some("org")).await.contains(&meta("org")));
    // Config validation allows label names only; the page escapes anyway.
    assert!(
        page(Some(r#"a"<b&"#))
            .await
            .contains(&meta("a&quot;&lt;b&amp;"))
    );
    // Each page's ETag is its own.
    let etag = |body: &str| assets::index(Some(body)).etag();
    assert_ne!(etag("org"), etag("tenant"));
}
