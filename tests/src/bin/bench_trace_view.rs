//! The trace view's speed in headless Chromium (scripts/bench-trace-view.sh runs it):
//! first paint of `GET /` (the Paint Timing API), time to show a seeded trace of
//! `--spans` spans (the view's own `performance` marks: fetch, parse, render), and the
//! frame times while its waterfall scrolls. Prints a Markdown table; asserts nothing.
//!
//! Usage: bench_trace_view [--spans N] [--runs N]   (SPANGATE_BIN: the gateway to run)

use std::time::Duration;

use serde_json::Value;
use spangate_integration_tests::browser::Browser;
use spangate_integration_tests::trace_view::wide_trace;
use spangate_integration_tests::{TestGateway, ids};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// (median, max) of `values`, in the order given.
fn summary(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[values.len() - 1])
}

const PAINTS: &str = "const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));\
     const nav = performance.getEntriesByType('navigation')[0];\
     return paint['first-contentful-paint'] === undefined ? null :\
       [paint['first-paint'], paint['first-contentful-paint'], nav.responseEnd, nav.domContentLoadedEventEnd]";

const TRACE_MARKS: &str = "const m = n => performance.getEntriesByName(n)[0]?.startTime;\
     return m('trace-rendered') === undefined ? null :\
       [m('trace-fetched') - m('trace-fetch-start'), m('trace-parsed') - m('trace-fetched'),\
        m('trace-rendered') - m('trace-parsed'), m('trace-rendered') - m('trace-fetch-start'), m('trace-rendered')]";

/// Scrolls the waterfall by `step` px per frame for `frames` frames; answers each frame's
/// time since the previous one (ms).
const SCROLL: &str = "const [frames, step, done] = arguments; const s = document.querySelector('.wf-scroll');\
     const times = []; let last = performance.now(); let n = 0;\
     function tick(now) { times.push(now - last); last = now; s.scrollTop += step;\
       if (++n < frames) requestAnimationFrame(tick); else done(times); }\
     requestAnimationFrame(tick);";

fn main() {
    let spans = arg("--spans", 10_000);
    let runs = arg("--runs", 10).max(1);
    let gateway = TestGateway::start();
    let (requests, trace_id, _) = wide_trace(ids::now_nanos() - 10_000_000_000, spans);
    for request in &requests {
        gateway.export_http_ok(request);
    }
    let id = hex::encode(&trace_id);
    gateway.wait_for_spans(&id, spans);
    let browser = Browser::start(1400, 900);
    let base = gateway.query_url();

    // The floor: a one-line page in the same browser (which also starts its renderer,
    // so the cold run below measures the cache, not the browser's start).
    let mut floor = Vec::new();
    for run in 0..runs {
        browser.goto(&format!("data:text/html,<h1>paint {run}</h1>"));
        let entry = browser.wait_until("paint timings", || {
            let value = browser.execute(PAINTS, vec![]);
            (!value.is_null()).then_some(value)
        });
        floor.push(number(&entry[1]));
    }

    // First paint: run 0 with an empty cache, the rest with the assets cached.
    let mut fcp = Vec::new();
    let mut cold = None;
    for run in 0..runs {
        browser.goto(&format!("{base}/?run={run}"));
        let entry = browser.wait_until("paint timings", || {
            let value = browser.execute(PAINTS, vec![]);
            (!value.is_null()).then_some(value)
        });
        let values: Vec<f64> = (0..4).map(|i| number(&entry[i])).collect();
        if run == 0 {
            cold = Some(values);
        } else {
            fcp.push(values[1]);
        }
    }

    // The trace: a full page load of #/trace/<id> each run.
    let mut totals = Vec::new();
    let mut parts = Vec::new();
    for run in 0..runs {
        browser.goto(&format!("{base}/?trace-run={run}#/trace/{id}"));
        let marks = browser.wait_until("the trace rendered", || {
            let value = browser.execute(TRACE_MARKS, vec![]);
            (!value.is_null()).then_some(value)
        });
        let values: Vec<f64> = (0..5).map(|i| number(&marks[i])).collect();
        totals.push(values[3]);
        parts.push(values);
    }
    let rows = browser.find_all(".wf-row").len();

    // Scrolling: 300 frames, 3 rows a frame, then 300 frames of 40 rows (fast flings).
    std::thread::sleep(Duration::from_millis(200));
    let scroll = |step: u32| -> Vec<f64> {
        let answer = browser.execute_async(SCROLL, vec![300.into(), step.into()]);
        answer
            .as_array()
            .expect("frame times")
            .iter()
            .skip(1)
            .map(number)
            .collect()
    };
    let mut slow = scroll(3 * 26);
    let mut fast = scroll(40 * 26);

    let (fcp_median, fcp_max) = summary(&mut fcp.clone());
    let cold = cold.expect("a first run");
    let (total_median, total_max) = summary(&mut totals);
    let median_part = |i: usize| summary(&mut parts.iter().map(|p| p[i]).collect::<Vec<_>>()).0;
    let frame = |times: &mut Vec<f64>| {
        let over = times.iter().filter(|t| **t > 50.0).count();
        let (median, max) = summary(times);
        let p95 = times[times.len() * 95 / 100];
        format!("median {median:.1} ms, p95 {p95:.1} ms, max {max:.1} ms, {over} frames over 50 ms")
    };
    let (floor_median, floor_max) = summary(&mut floor);
    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| reference: a one-line `data:` page ({runs} loads): first contentful paint | median {floor_median:.0} ms, max {floor_max:.0} ms |"
    );
    println!(
        "| `GET /`, empty cache: first paint / first contentful paint / response end / DOMContentLoaded | {:.0} / {:.0} / {:.0} / {:.0} ms |",
        cold[0], cold[1], cold[2], cold[3]
    );
    if !fcp.is_empty() {
        println!(
            "| `GET /`, assets cached ({} loads): first contentful paint | median {fcp_median:.0} ms, max {fcp_max:.0} ms |",
            fcp.len()
        );
    }
    println!(
        "| {spans}-span trace, {runs} page loads: fetch + parse + render (median) | {:.0} + {:.0} + {:.0} ms |",
        median_part(0),
        median_part(1),
        median_part(2)
    );
    println!(
        "| {spans}-span trace: request to rendered rows | median {total_median:.0} ms, max {total_max:.0} ms |"
    );
    println!(
        "| {spans}-span trace: from navigation start to rendered rows (median) | {:.0} ms |",
        median_part(4)
    );
    println!("| waterfall rows in the DOM for {spans} spans | {rows} |");
    println!(
        "| scrolling 3 rows a frame, 300 frames | {} |",
        frame(&mut slow)
    );
    println!(
        "| scrolling 40 rows a frame, 300 frames | {} |",
        frame(&mut fast)
    );
}
