//! The built-in trace view (`GET /` on the query port), in headless Chromium driven over
//! WebDriver against the real gateway: a TraceQL query typed with autocompletion, the
//! results, the waterfall and a span's details, the services graph and RED table from
//! both of their sources, the theme switch, a 10,000-span trace rendered row by row as
//! it scrolls, and the view behind the query port's basic auth. Screenshots are kept
//! under `$CARGO_TARGET_DIR/test-artefacts/trace-view/`. Also, without a browser, what
//! the port serves at `/` and under `/ui/` through the real binary.

use std::path::PathBuf;

use serde_json::json;
use spangate_integration_tests::browser::{Browser, artefact_dir};
use spangate_integration_tests::harness::free_port;
use spangate_integration_tests::query::url_encode;
use spangate_integration_tests::trace_view::{shop, wide_trace};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};

const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";
/// `viewer:s3cret`, the user of the basic-auth tests.
const VIEWER: &str = "Basic dmlld2VyOnMzY3JldA==";
/// span-metrics with a service-graph `wait` of an hour: a root span left unpaired for
/// `wait` becomes an edge from the virtual `user` node, which the expected graphs leave
/// out; the default 10 s is within reach of a slow test run.
const SPAN_METRICS: &str =
    "pipeline:\n  - plugin: builtin:span-metrics\n    config: { service_graphs: { wait: 1h } }\n";

fn screenshot(browser: &Browser, name: &str) -> PathBuf {
    let path = artefact_dir("trace-view").join(format!("{name}.png"));
    browser.screenshot(&path);
    println!("screenshot: {}", path.display());
    path
}

/// The shop stored and searchable; returns it.
fn seeded(gateway: &TestGateway) -> spangate_integration_tests::trace_view::Shop {
    let shop = shop(ids::now_nanos() - 5_000_000_000);
    gateway.export_http_ok(&shop.request);
    gateway.wait_for_spans(&hex::encode(&shop.checkout), 5);
    gateway.wait_for_spans(&hex::encode(&shop.settlement), 2);
    shop
}

/// A script's answer as a list of strings.
fn strings(browser: &Browser, script: &str) -> Vec<String> {
    let value = browser.execute(script, vec![]);
    value
        .as_array()
        .unwrap_or_else(|| panic!("{script} gave {value}"))
        .iter()
        .map(|item| item.as_str().unwrap_or_default().to_owned())
        .collect()
}

const WATERFALL_ROWS: &str = "return [...document.querySelectorAll('.wf-row:not([hidden])')]\
     .sort((a, b) => new DOMMatrix(getComputedStyle(a).transform).f - new DOMMatrix(getComputedStyle(b).transform).f)\
     .map(r => r.querySelector('.wf-service').textContent + ' ' + r.querySelector('.wf-name').textContent)";

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

fn theme(browser: &Browser) -> (String, String) {
    let value = browser.execute(
        "return [document.documentElement.dataset.theme || '', getComputedStyle(document.body).backgroundColor]",
        vec![],
    );
    (
        value[0].as_str().unwrap_or_default().to_owned(),
        value[1].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn a_typed_query_finds_the_trace_whose_waterfall_and_span_details_show() {
    let gateway = TestGateway::start_with(GatewayOptions {
        extra_yaml: SPAN_METRICS.to_owned(),
        ..GatewayOptions::default()
    });
    let shop = seeded(&gateway);
    let browser = Browser::start(1400, 900);
    browser.goto(&format!(
        "{}/#/search?q={}",
        gateway.query_url(),
        url_encode("{}")
    ));

    // Every trace of the last hour: the two roots.
    browser.wait_until("both traces listed", || {
        let services = sorted(browser.texts(".result-row .root-service"));
        (services == ["billing", "frontend"]).then_some(())
    });
    screenshot(&browser, "01-all-traces");

    // Type a query with the suggestions: a tag name, then one of its values.
    let query = browser.wait_for("#query");
    query.clear();
    query.send_keys("{ resource.serv");
    browser.wait_until("the tag suggested", || {
        let shown = browser.texts("#suggestions li");
        shown
            .iter()
            .any(|text| text.starts_with("resource.service.name"))
            .then_some(())
    });
    screenshot(&browser, "02-tag-suggestions");
    query.send_keys(TAB);
    assert_eq!(query.property("value"), json!("{ resource.service.name"));
    query.send_keys(" = \"fr");
    browser.wait_until("the value suggested", || {
        let shown = browser.texts("#suggestions li");
        (shown.len() == 1 && shown[0].starts_with("frontend")).then_some(())
    });
    query.send_keys(TAB);
    query.send_keys("}");
    assert_eq!(
        query.property("value"),
        json!("{ resource.service.name = \"frontend\" }")
    );
    query.send_keys(ENTER);
    browser.wait_until("only the checkout trace", || {
        let rows = browser.find_all(".result-row");
        (rows.len() == 1 && browser.texts(".result-row .root-service") == ["frontend"])
            .then_some(())
    });
    assert_eq!(browser.texts(".result-row .root-name"), ["GET /checkout"]);
    // The frontend's three spans matched; the duration is the root's 120 ms.
    assert_eq!(browser.texts(".result-row .matched"), ["3"]);
    assert_eq!(browser.texts(".result-row .duration"), ["120ms"]);
    screenshot(&browser, "03-results");

    // The waterfall: parents before children, children by start time.
    browser.wait_for(".result-row").click();
    browser.wait_until("the waterfall", || {
        (strings(&browser, WATERFALL_ROWS).len() == 5).then_some(())
    });
    assert_eq!(
        strings(&browser, WATERFALL_ROWS),
        [
            "frontend GET /checkout",
            "frontend call cart",
            "cart GetCart",
            "frontend call payment",
            "payment Charge",
        ]
    );
    assert_eq!(browser.wait_for("#trace-span-count").text(), "5 spans");
    assert_eq!(browser.texts("#trace-id"), [hex::encode(&shop.checkout)]);
    let failed = strings(
        &browser,
        "return [...document.querySelectorAll('.wf-row.error .wf-name')].map(n => n.textContent)",
    );
    assert_eq!(sorted(failed), ["Charge", "GET /checkout", "call payment"]);

    // The failed charge's details.
    let charge = browser
        .find_all(".wf-row")
        .into_iter()
        .find(|row| row.text().contains("Charge"))
        .expect("a Charge row");
    charge.click();
    let overview = browser.wait_for("#span-details .span-overview").text();
    for expected in ["payment", "server", "error: card declined", "63.0ms"] {
        assert!(overview.contains(expected), "{expected:?} in {overview}");
    }
    let attributes = browser.wait_for("#span-details .span-attributes").text();
    assert!(
        attributes.contains("payment.provider") && attributes.contains("globex"),
        "{attributes}"
    );
    let events = browser.wait_for("#span-details .span-events").text();
    for expected in [
        "exception",
        "+100ms",
        "exception.message",
        "card declined by issuer",
    ] {
        assert!(events.contains(expected), "{expected:?} in {events}");
    }
    let links = browser.wait_for("#span-details .span-links").text();
    for expected in [
        hex::encode(&shop.settlement),
        hex::encode(&shop.settlement_root),
        "retried at settlement".to_owned(),
    ] {
        assert!(links.contains(&expected), "{expected:?} in {links}");
    }
    let resource = browser.wait_for("#span-details .span-resource").text();
    assert!(
        resource.contains("service.name") && resource.contains("payment"),
        "{resource}"
    );
    let scope = browser.wait_for("#span-details .span-scope").text();
    assert!(scope.contains("shop.instrumentation 2.1.0"), "{scope}");
    screenshot(&browser, "04-trace-and-span");

    // The link leads to the linked trace.
    browser.wait_for("#span-details .span-links a").click();
    browser.wait_until("the linked trace", || {
        (browser.texts("#trace-title") == ["billing: nightly settlement"]).then_some(())
    });
    assert_eq!(
        strings(&browser, WATERFALL_ROWS),
        ["billing nightly settlement", "billing sum ledger"]
    );

    // The theme: the system's (light in headless Chromium), then dark by the toggle,
    // kept across a reload, and back.
    let (picked, light) = theme(&browser);
    assert_eq!(
        (picked.as_str(), light.as_str()),
        ("", "rgb(247, 248, 250)")
    );
    browser.wait_for("#theme-toggle").click();
    let (picked, dark) = theme(&browser);
    assert_eq!(
        (picked.as_str(), dark.as_str()),
        ("dark", "rgb(17, 19, 24)")
    );
    browser.execute("location.reload()", vec![]);
    browser.wait_for("#trace-title");
    assert_eq!(theme(&browser).0, "dark");
    screenshot(&browser, "05-dark-theme");
    browser.wait_for("#theme-toggle").click();
    assert_eq!(theme(&browser), ("light".to_owned(), light));

    // Services from the span-metrics series on /metrics.
    browser.goto(&format!("{}/#/services", gateway.query_url()));
    let (source, text) = services_source(&browser);
    assert_eq!(source, "span-metrics");
    assert!(text.contains("traces_spanmetrics_calls_total"), "{text}");
    assert_services(&browser, &["billing", "cart", "frontend", "payment"]);
    assert_eq!(red_cell(&browser, "frontend", "calls"), "3");
    assert_eq!(red_cell(&browser, "payment", "calls"), "1");
    // The rate needs a second read of /metrics, which follows on its own; nothing was
    // sent in between, so it is zero.
    browser.wait_until("the frontend's rate", || {
        (red_cell(&browser, "frontend", "rate") == "0/s").then_some(())
    });
    screenshot(&browser, "06-services-span-metrics");
}

/// The graph's nodes are `services`, with the checkout's two calls as edges, and the
/// RED table shows the error shares: 2 of frontend's 3 spans, payment's only span.
fn assert_services(browser: &Browser, services: &[&str]) {
    browser.wait_until("the service graph", || {
        let nodes = sorted(strings(
            browser,
            "return [...document.querySelectorAll('.graph-node')].map(n => n.dataset.service)",
        ));
        (nodes == services).then_some(())
    });
    let edges = sorted(strings(
        browser,
        "return [...document.querySelectorAll('.graph-edge')].map(e => e.dataset.client + ' -> ' + e.dataset.server)",
    ));
    assert_eq!(edges, ["frontend -> cart", "frontend -> payment"]);
    assert_eq!(red_cell(browser, "frontend", "errors"), "66.7%");
    assert_eq!(red_cell(browser, "payment", "errors"), "100%");
    assert_eq!(red_cell(browser, "cart", "errors"), "0%");
}

/// A RED table cell's text, read in one script: the page redraws the table on each read
/// of `/metrics`, so an element found in one call may be gone by the next.
fn red_cell(browser: &Browser, service: &str, column: &str) -> String {
    let script = format!(
        "const cell = document.querySelector('#red-table tr[data-service=\"{service}\"] .{column}'); \
         return cell ? cell.textContent : null;"
    );
    browser.wait_until(&format!("the {column} of {service}"), || {
        browser.execute(&script, vec![]).as_str().map(str::to_owned)
    })
}

/// The Services page's source paragraph: its `data-source` and its text, read at once.
fn services_source(browser: &Browser) -> (String, String) {
    let script = "const p = document.querySelector('#services-source'); \
                  return p ? [p.dataset.source, p.textContent] : null;";
    browser.wait_until("the services source", || {
        let value = browser.execute(script, vec![]);
        Some((value[0].as_str()?.to_owned(), value[1].as_str()?.to_owned()))
    })
}

#[test]
fn without_span_metrics_the_services_come_from_traceql_metrics() {
    let gateway = TestGateway::start();
    seeded(&gateway);
    let browser = Browser::start(1400, 900);
    browser.goto(&format!("{}/#/services", gateway.query_url()));
    let (source, text) = services_source(&browser);
    assert_eq!(source, "traceql");
    assert!(
        text.contains("{} | rate() by (resource.service.name)"),
        "{text}"
    );
    assert_services(&browser, &["billing", "cart", "frontend", "payment"]);
    screenshot(&browser, "07-services-traceql");
}

#[test]
fn a_trace_of_ten_thousand_spans_keeps_only_the_rows_in_view() {
    let gateway = TestGateway::start();
    let (requests, trace_id, last) = wide_trace(ids::now_nanos() - 10_000_000_000, 10_000);
    for request in &requests {
        gateway.export_http_ok(request);
    }
    let id = hex::encode(&trace_id);
    gateway.wait_for_spans(&id, 10_000);
    let browser = Browser::start(1400, 900);
    browser.goto(&format!("{}/#/trace/{id}", gateway.query_url()));
    browser.wait_until("the wide trace", || {
        (browser.texts("#trace-span-count") == ["10000 spans"]).then_some(())
    });
    let first_rows = strings(&browser, WATERFALL_ROWS);
    assert_eq!(
        first_rows[..3],
        ["edge wide root", "orders batch 0", "edge item 0"]
    );
    let in_dom = || browser.find_all(".wf-row").len();
    assert!(
        in_dom() < 100,
        "{} rows in the DOM for 10,000 spans",
        in_dom()
    );
    screenshot(&browser, "08-wide-trace-top");

    // Scrolled to the end: the last span's row exists, and the pool did not grow.
    browser.execute(
        "const s = document.querySelector('.wf-scroll'); s.scrollTop = s.scrollHeight",
        vec![],
    );
    browser.wait_until("the last row", || {
        strings(&browser, WATERFALL_ROWS)
            .last()
            .is_some_and(|row| row.ends_with(&format!(" {last}")))
            .then_some(())
    });
    assert!(
        in_dom() < 100,
        "{} rows in the DOM after scrolling",
        in_dom()
    );
    screenshot(&browser, "09-wide-trace-bottom");

    // Collapsing the root leaves one row.
    browser.execute("document.querySelector('.wf-scroll').scrollTop = 0", vec![]);
    browser.wait_until("the top again", || {
        (strings(&browser, WATERFALL_ROWS)
            .first()
            .map(String::as_str)
            == Some("edge wide root"))
        .then_some(())
    });
    browser.execute(
        "[...document.querySelectorAll('.wf-row')].find(r => r.textContent.includes('wide root'))\
             .querySelector('.wf-toggle').click()",
        vec![],
    );
    browser.wait_until("only the root", || {
        (strings(&browser, WATERFALL_ROWS) == ["edge wide root"]).then_some(())
    });
}

#[test]
fn the_view_works_behind_basic_auth_and_says_when_storage_is_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users");
    std::fs::write(&users, "viewer:s3cret\n").expect("write the users file");
    let gateway = TestGateway::start_with(GatewayOptions {
        query_extra: format!("auth: {{ basic_auth_file: \"{}\" }}\n", users.display()),
        ..GatewayOptions::default()
    });
    let shop = shop(ids::now_nanos() - 5_000_000_000);
    gateway.export_http_ok(&shop.request);
    let browser = Browser::start(1400, 900);
    let path = format!("/api/v2/traces/{}", hex::encode(&shop.checkout));
    browser.wait_until("the trace stored", || {
        (gateway.get_with(&path, &[("authorization", VIEWER)]).status == 200).then_some(())
    });
    // The credentials typed into the URL are what the browser then sends with the view's
    // own requests.
    let url = gateway
        .query_url()
        .replace("http://", "http://viewer:s3cret@");
    browser.goto(&format!(
        "{url}/#/search?q={}",
        url_encode("{ status = error }")
    ));
    browser.wait_until("the failed checkout", || {
        (browser.texts(".result-row .root-service") == ["frontend"]).then_some(())
    });
    screenshot(&browser, "10-behind-basic-auth");

    let storage_off = TestGateway::start_with(GatewayOptions {
        storage_extra: "enabled: false",
        // Storage off needs somewhere to forward to; nothing listens there.
        extra_yaml: format!(
            "exporters:\n  - name: nowhere\n    protocol: http\n    endpoint: \"http://127.0.0.1:{}\"\n",
            free_port()
        ),
        ..GatewayOptions::default()
    });
    browser.goto(&format!(
        "{}/#/search?q={}",
        storage_off.query_url(),
        url_encode("{}")
    ));
    browser.wait_until("the storage-off message", || {
        let banner = browser.wait_for("#error");
        banner.text().contains("storage is off").then_some(())
    });
    screenshot(&browser, "11-storage-off");
}

#[test]
fn with_multi_tenancy_the_tenant_typed_into_the_view_is_the_one_read() {
    // A tenant label of its own: the Services page must keep the typed tenant's
    // span-metrics series by the label the gateway names, not by a fixed `tenant`.
    let gateway = TestGateway::start_with(GatewayOptions {
        extra_yaml: format!("multitenancy:\n  enabled: true\n  tenant_label: org\n{SPAN_METRICS}"),
        ..GatewayOptions::default()
    });
    // The same services in another tenant: counted with the shop's, frontend would
    // show 6 calls instead of 3.
    let rival = shop(ids::now_nanos() - 5_000_000_000);
    let shop = shop(ids::now_nanos() - 5_000_000_000);
    gateway
        .grpc()
        .export_with(&shop.request, false, &[("x-scope-orgid", "team-shop")])
        .expect("export as team-shop");
    gateway
        .grpc()
        .export_with(&rival.request, false, &[("x-scope-orgid", "team-rival")])
        .expect("export as team-rival");
    let path = format!("/api/v2/traces/{}", hex::encode(&shop.checkout));
    let browser = Browser::start(1400, 900);
    browser.wait_until("the trace stored", || {
        let answer = gateway.get_with(&path, &[("x-scope-orgid", "team-shop")]);
        (answer.status == 200 && answer.text().contains("GetCart")).then_some(())
    });
    browser.goto(&format!(
        "{}/#/search?q={}",
        gateway.query_url(),
        url_encode("{}")
    ));
    // No tenant yet: the API's 401, with a hint where to type one.
    browser.wait_until("the missing-tenant hint", || {
        let banner = browser.wait_for("#error").text();
        (banner.contains("no org id") && banner.contains("enter a tenant")).then_some(())
    });
    screenshot(&browser, "12-no-tenant");
    // Another tenant sees nothing; the shop's tenant sees both traces.
    let tenant = browser.wait_for("#tenant");
    tenant.send_keys("team-nobody\u{E007}");
    browser.wait_until("an empty answer", || {
        let summary = browser.texts("#results-summary");
        (summary.len() == 1 && summary[0].contains("nothing matched")).then_some(())
    });
    tenant.clear();
    tenant.send_keys("team-shop\u{E007}");
    browser.wait_until("the shop's traces", || {
        (sorted(browser.texts(".result-row .root-service")) == ["billing", "frontend"])
            .then_some(())
    });
    // The tenant is kept for the next visit.
    browser.execute("location.reload()", vec![]);
    browser.wait_until("the shop's traces again", || {
        (browser.find_all(".result-row").len() == 2).then_some(())
    });
    assert_eq!(
        browser.wait_for("#tenant").property("value"),
        json!("team-shop")
    );
    // Services: only the shop's series, found by the `org` label.
    browser.goto(&format!("{}/#/services", gateway.query_url()));
    assert_eq!(services_source(&browser).0, "span-metrics");
    assert_services(&browser, &["billing", "cart", "frontend", "payment"]);
    assert_eq!(red_cell(&browser, "frontend", "calls"), "3");
    assert_eq!(red_cell(&browser, "payment", "calls"), "1");
}

#[test]
fn the_port_serves_the_page_and_its_assets_with_their_types_and_caching() {
    let gateway = TestGateway::start();
    let page = gateway.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.headers["cache-control"], "no-cache");
    let html = page.text();
    let scripts: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.ends_with(".js"))
        .collect();
    assert!(!scripts.is_empty(), "{html}");
    for script in scripts {
        let asset = gateway.get_with(script, &[("accept-encoding", "gzip")]);
        assert_eq!(asset.status, 200, "{script}");
        assert_eq!(
            asset.content_type.as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            asset.headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    let etag = page.headers["etag"]
        .to_str()
        .expect("ascii etag")
        .to_owned();
    assert_eq!(
        gateway.get_with("/", &[("if-none-match", &etag)]).status,
        304
    );
    // Unknown paths stay Go's 404.
    let missing = gateway.get("/nothing-here");
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "404 page not found\n")
    );

    // Behind basic auth, the page needs the credentials like every API route.
    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users");
    std::fs::write(&users, "viewer:s3cret\n").expect("write the users file");
    let guarded = TestGateway::start_with(GatewayOptions {
        query_extra: format!("auth: {{ basic_auth_file: \"{}\" }}\n", users.display()),
        ..GatewayOptions::default()
    });
    assert_eq!(guarded.get("/").status, 401);
    let basic = "Basic dmlld2VyOnMzY3JldA=="; // viewer:s3cret
    assert_eq!(
        guarded.get_with("/", &[("authorization", basic)]).status,
        200
    );
}
