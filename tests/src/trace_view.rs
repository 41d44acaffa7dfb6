//! Datasets the trace view is shown with, in its browser test and its bench: a small
//! shop (three services calling each other, errors, events, a link to a second trace)
//! and one wide trace of many spans.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{
    Span, Status, span::Event, span::Link, span::SpanKind, status::StatusCode,
};

use crate::fixtures::{av_int, kv, kv_str, request, resource, resource_spans, scope, span};
use crate::ids;

/// The shop's traces, as the test looks for them.
pub struct Shop {
    pub request: ExportTraceServiceRequest,
    /// `frontend: GET /checkout` → `cart: GetCart`, `payment: Charge` (failed).
    pub checkout: Vec<u8>,
    /// `billing: nightly settlement`, linked from the failed charge.
    pub settlement: Vec<u8>,
    pub settlement_root: Vec<u8>,
}

fn error(message: &str) -> Option<Status> {
    Some(Status {
        message: message.to_owned(),
        code: StatusCode::Error as i32,
    })
}

const MS: u64 = 1_000_000;

/// The shop's spans, starting at `base` (unix nanoseconds).
pub fn shop(base: u64) -> Shop {
    // A leading zero byte: search answers drop leading zeros as Tempo's do, and the view
    // must still show and open the full id.
    let mut checkout = ids::trace_id();
    checkout[0] = 0;
    let settlement = ids::trace_id();
    let [
        root,
        call_cart,
        get_cart,
        call_payment,
        charge,
        settle,
        ledger,
    ] = std::array::from_fn(|_| ids::span_id());
    let root_span = Span {
        attributes: vec![
            kv_str("http.request.method", "GET"),
            kv("http.response.status_code", av_int(502)),
            kv_str("url.path", "/checkout"),
        ],
        status: error("payment declined"),
        ..span(
            &checkout,
            &root,
            None,
            "GET /checkout",
            SpanKind::Server,
            base,
            base + 120 * MS,
        )
    };
    let call_cart_span = span(
        &checkout,
        &call_cart,
        Some(&root),
        "call cart",
        SpanKind::Client,
        base + 5 * MS,
        base + 35 * MS,
    );
    let call_payment_span = Span {
        status: error("payment declined"),
        ..span(
            &checkout,
            &call_payment,
            Some(&root),
            "call payment",
            SpanKind::Client,
            base + 40 * MS,
            base + 110 * MS,
        )
    };
    let get_cart_span = Span {
        attributes: vec![kv_str("cart.id", "cart-42"), kv("cart.items", av_int(3))],
        events: vec![Event {
            time_unix_nano: base + 8 * MS,
            name: "cache miss".to_owned(),
            attributes: vec![kv_str("cache.key", "cart:42")],
            dropped_attributes_count: 0,
        }],
        ..span(
            &checkout,
            &get_cart,
            Some(&call_cart),
            "GetCart",
            SpanKind::Server,
            base + 6 * MS,
            base + 33 * MS,
        )
    };
    let charge_span = Span {
        attributes: vec![kv_str("payment.provider", "globex")],
        events: vec![Event {
            time_unix_nano: base + 100 * MS,
            name: "exception".to_owned(),
            attributes: vec![
                kv_str("exception.type", "CardDeclined"),
                kv_str("exception.message", "card declined by issuer"),
            ],
            dropped_attributes_count: 0,
        }],
        links: vec![Link {
            trace_id: settlement.clone(),
            span_id: settle.clone(),
            attributes: vec![kv_str("link.reason", "retried at settlement")],
            ..Default::default()
        }],
        status: error("card declined"),
        ..span(
            &checkout,
            &charge,
            Some(&call_payment),
            "Charge",
            SpanKind::Server,
            base + 42 * MS,
            base + 105 * MS,
        )
    };
    let settle_span = span(
        &settlement,
        &settle,
        None,
        "nightly settlement",
        SpanKind::Internal,
        base + 200 * MS,
        base + 260 * MS,
    );
    let ledger_span = span(
        &settlement,
        &ledger,
        Some(&settle),
        "sum ledger",
        SpanKind::Internal,
        base + 210 * MS,
        base + 250 * MS,
    );
    let tests_scope = scope("shop.instrumentation", "2.1.0");
    let request = request(vec![
        resource_spans(
            resource(
                "frontend",
                vec![
                    kv_str("deployment.environment", "view-test"),
                    kv_str("service.version", "1.4.2"),
                ],
            ),
            tests_scope.clone(),
            vec![root_span, call_cart_span, call_payment_span],
        ),
        resource_spans(
            resource("cart", vec![]),
            tests_scope.clone(),
            vec![get_cart_span],
        ),
        resource_spans(
            resource("payment", vec![]),
            tests_scope.clone(),
            vec![charge_span],
        ),
        resource_spans(
            resource("billing", vec![]),
            tests_scope,
            vec![settle_span, ledger_span],
        ),
    ]);
    Shop {
        request,
        checkout,
        settlement,
        settlement_root: settle,
    }
}

/// Services of the wide trace, in turn.
const WIDE_SERVICES: [&str; 5] = ["edge", "orders", "stock", "pricing", "ledger"];
/// Spans per request, so every request stays far below the receivers' 4 MiB limit.
const SPANS_PER_REQUEST: usize = 2_000;

/// One trace of `spans` spans starting at `base`: a root, 99 children, and under them
/// the rest spread evenly (depth 3), over five services; the requests that carry it,
/// its id, and the name of the span the waterfall shows last.
pub fn wide_trace(base: u64, spans: usize) -> (Vec<ExportTraceServiceRequest>, Vec<u8>, String) {
    assert!(
        spans >= 101,
        "a wide trace has a root and 99 children at least"
    );
    let trace_id = ids::trace_id();
    let root = ids::span_id();
    let children: Vec<Vec<u8>> = (0..99).map(|_| ids::span_id()).collect();
    let mut all = vec![(
        0,
        span(
            &trace_id,
            &root,
            None,
            "wide root",
            SpanKind::Server,
            base,
            base + 2_000 * MS,
        ),
    )];
    for (i, child) in children.iter().enumerate() {
        let start = base + i as u64 * 20 * MS;
        all.push((
            1 + i % 4,
            span(
                &trace_id,
                child,
                Some(&root),
                &format!("batch {i}"),
                SpanKind::Client,
                start,
                start + 19 * MS,
            ),
        ));
    }
    let leaves = spans - all.len();
    let mut last_name = String::new();
    for i in 0..leaves {
        // Leaf i goes under child i * 99 / leaves: children in order, each one's leaves together.
        let parent = i * children.len() / leaves;
        // Inside the parent's 20 ms slot and increasing with i: leaf `leaves - 1` is last.
        let start = base + i as u64 * children.len() as u64 * 20 * MS / leaves as u64;
        let name = format!("item {i}");
        let status = (i % 97 == 0).then(|| error("item unavailable")).flatten();
        let leaf = Span {
            attributes: vec![kv("item.index", av_int(i as i64))],
            status,
            ..span(
                &trace_id,
                &ids::span_id(),
                Some(&children[parent]),
                &name,
                SpanKind::Internal,
                start,
                start + 90_000,
            )
        };
        last_name = name;
        all.push((i % WIDE_SERVICES.len(), leaf));
    }
    let requests = all
        .chunks(SPANS_PER_REQUEST)
        .map(|chunk| {
            let by_service = WIDE_SERVICES.iter().enumerate().map(|(index, service)| {
                let spans = chunk
                    .iter()
                    .filter(|(s, _)| *s == index)
                    .map(|(_, span)| span.clone())
                    .collect();
                resource_spans(resource(service, vec![]), scope("wide", "1"), spans)
            });
            request(
                by_service
                    .filter(|rs| !rs.scope_spans[0].spans.is_empty())
                    .collect(),
            )
        })
        .collect();
    (requests, trace_id, last_name)
}
