use spangate_plugin_abi::column;

use super::*;
use crate::batch::{AttributeKind, SpanBatch, TraceId, Value};
use crate::bindings::types::{MetricPoint, MetricValue, Needs, SamplerNeeds, TailSettings};
use crate::decisions::{self, Decision};
use crate::edits::{AttributeValue, Edit, Edits};
use crate::host;
use crate::{
    AttributeSelection, LogLevel, Metrics, Processor, Sampler, SpanFields, SpanKind, StatusCode,
};

fn every_field() -> Needs {
    Needs::new("test", "0")
        .fields(SpanFields::all())
        .span_attributes(AttributeSelection::All)
        .resource_attributes(AttributeSelection::All)
        .event_attributes(AttributeSelection::All)
        .link_attributes(AttributeSelection::All)
}

fn sample_spans() -> Vec<TestSpan> {
    vec![
        TestSpan::new(0xabc << 64 | 1, 10)
            .service("cart")
            .named("GET /cart")
            .kind(SpanKind::Server)
            .times(1_000, 4_000)
            .status(StatusCode::Error, "boom")
            .attr("http.method", "GET")
            .attr("retries", 2i64)
            .attr("ratio", 0.5)
            .attr("cached", true)
            .attr("tags", TestValue::Json("[\"a\"]".into()))
            .resource_attr("host.name", "web-1")
            .event("exception", [("exception.type", "Timeout")])
            .event("retry", Vec::<(String, TestValue)>::new())
            .link([("link.kind", "follows")]),
        TestSpan::new(0xabc << 64 | 1, 11)
            .parent(10)
            .service("db")
            .named("SELECT")
            .times(2_000, 3_000)
            .attr("db.system", "postgres")
            .resource_attr("host.name", "db-1"),
        TestSpan::new(7, 12)
            .service("cart")
            .named("GET /cart")
            .resource_attr("host.name", "web-1")
            .attr("http.method", "POST"),
    ]
}

#[test]
fn every_declared_field_reads_back_through_the_views() {
    let spans = sample_spans();
    let batch = to_batch(&spans, &every_field());
    assert_eq!(batch.len(), 3);
    for (span, test) in batch.spans().zip(&spans) {
        assert_eq!(span.trace_id(), TraceId(test.trace_id));
        assert_eq!(span.span_id(), test.span_id);
        assert_eq!(span.parent_span_id().unwrap_or(0), test.parent_span_id);
        assert_eq!(span.service_name(), test.service_name);
        assert_eq!(span.name(), test.name);
        assert_eq!(span.kind(), test.kind);
        assert_eq!(span.start_unix_nanos(), test.start_unix_nanos);
        assert_eq!(span.end_unix_nanos(), test.end_unix_nanos);
        assert_eq!(span.status(), test.status);
        assert_eq!(span.status_message(), test.status_message);
        assert_eq!(span.size(), test.estimated_size());
        assert_eq!(read_attributes(span.attributes()), test.attributes);
        assert_eq!(
            read_attributes(span.resource_attributes()),
            test.resource_attributes
        );
        let events: Vec<TestEvent> = span
            .events()
            .map(|event| TestEvent {
                name: event.name.to_owned(),
                attributes: read_attributes(event.attributes),
            })
            .collect();
        assert_eq!(events, test.events);
        let links: Vec<TestLink> = span
            .links()
            .map(|link| TestLink {
                attributes: read_attributes(link.attributes),
            })
            .collect();
        assert_eq!(links, test.links);
    }
}

fn read_attributes(attributes: crate::batch::Attributes<'_>) -> Vec<(String, TestValue)> {
    attributes
        .map(|attribute| {
            let value = match attribute.value {
                Value::Str(text) => TestValue::Str(text.to_owned()),
                Value::Int(number) => TestValue::Int(number),
                Value::Double(number) => TestValue::Double(number),
                Value::Bool(flag) => TestValue::Bool(flag),
                Value::Json(text) => TestValue::Json(text.to_owned()),
            };
            (attribute.key.to_owned(), value)
        })
        .collect()
}

/// Element counts of the columns, by name, for the columns that are present.
fn present(batch: &SpanBatch) -> Vec<(&'static str, usize)> {
    let view = batch.view();
    (0..column::COUNT)
        .filter(|&c| view.count(c) > 0)
        .map(|c| (column::NAMES[c], view.count(c)))
        .collect()
}

#[test]
fn only_declared_columns_are_sent() {
    let needs = Needs::new("test", "0").fields(SpanFields::NAME);
    let batch = to_batch(&sample_spans(), &needs);
    assert_eq!(batch.as_wit().len, 3);
    assert_eq!(present(&batch), [("name", 3)]);
    assert_eq!(batch.span(0).name(), "GET /cart");
}

#[test]
fn every_declared_column_has_its_count() {
    let batch = to_batch(&sample_spans(), &every_field());
    assert_eq!(
        present(&batch),
        [
            ("trace-id", 3),
            ("span-id", 3),
            ("parent-span-id", 3),
            ("service", 3),
            ("name", 3),
            ("kind", 3),
            ("status", 3),
            ("start", 3),
            ("end", 3),
            ("status-message", 3),
            ("size", 3),
            ("resource", 3),
            ("event-offsets", 4),
            ("event-names", 2),
            ("link-offsets", 4),
            ("services", 2),
            ("span-attributes.owner-offsets", 4),
            ("span-attributes.key", 7),
            ("span-attributes.value-kind", 7),
            ("span-attributes.value", 7),
            ("span-attributes.keys", 6),
            // Spans 0 and 2 share their resource.
            ("resource-attributes.owner-offsets", 3),
            ("resource-attributes.key", 2),
            ("resource-attributes.value-kind", 2),
            ("resource-attributes.value", 2),
            ("resource-attributes.keys", 1),
            ("event-attributes.owner-offsets", 3),
            ("event-attributes.key", 1),
            ("event-attributes.value-kind", 1),
            ("event-attributes.value", 1),
            ("event-attributes.keys", 1),
            ("link-attributes.owner-offsets", 2),
            ("link-attributes.key", 1),
            ("link-attributes.value-kind", 1),
            ("link-attributes.value", 1),
            ("link-attributes.keys", 1),
        ]
    );
}

#[test]
fn services_and_keys_are_dictionaries_and_resources_are_shared() {
    let needs = Needs::new("test", "0")
        .fields(SpanFields::SERVICE_NAME)
        .span_attributes(AttributeSelection::All)
        .resource_attributes(AttributeSelection::All);
    let batch = to_batch(&sample_spans(), &needs);
    let view = batch.view();
    let u32s = |c: usize| -> Vec<u32> {
        (0..view.count(c))
            .map(|i| view.u32_at(c, i).unwrap())
            .collect()
    };
    assert_eq!(view.count(column::SERVICES), 2, "cart and db");
    assert_eq!(u32s(column::SERVICE), [0, 1, 0]);
    // Spans 0 and 2: same service and resource attributes, one resource.
    assert_eq!(u32s(column::RESOURCE), [0, 1, 0]);
    assert_eq!(
        u32s(column::RESOURCE_ATTRIBUTES + column::OWNER_OFFSETS),
        [0, 1, 2]
    );
    // "http.method" appears on two spans but once in the key dictionary.
    let span_keys = batch.attribute_table(AttributeKind::Span);
    assert_eq!(span_keys.key_count(), 6);
    assert_eq!(span_keys.key_index(0), span_keys.key_index(6));
}

#[test]
fn selections_filter_rows() {
    let spans = sample_spans();
    let keys_of = |selection: AttributeSelection| -> Vec<Vec<String>> {
        let needs = Needs::new("test", "0").span_attributes(selection);
        let batch = to_batch(&spans, &needs);
        // Through the table: the strict views refuse to read an undeclared selection.
        let table = batch.attribute_table(AttributeKind::Span);
        (0..spans.len() as u32)
            .map(|span| {
                table
                    .owner_attributes(span)
                    .map(|a| a.key.to_owned())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        keys_of(AttributeSelection::AllStrings),
        [vec!["http.method"], vec!["db.system"], vec!["http.method"]]
    );
    assert_eq!(
        keys_of(AttributeSelection::keys(["retries", "tags", "db.system"])),
        [vec!["retries", "tags"], vec!["db.system"], vec![]]
    );
    assert_eq!(keys_of(AttributeSelection::All)[0].len(), 5);
    assert_eq!(
        keys_of(AttributeSelection::None),
        [Vec::<String>::new(), vec![], vec![]]
    );
}

#[test]
fn event_offsets_come_with_event_attributes_even_without_names() {
    let needs = Needs::new("test", "0").event_attributes(AttributeSelection::All);
    let batch = to_batch(&sample_spans(), &needs);
    let view = batch.view();
    let offsets: Vec<u32> = (0..4)
        .map(|i| view.u32_at(column::EVENT_OFFSETS, i).unwrap())
        .collect();
    assert_eq!(offsets, [0, 2, 2, 2]);
    assert_eq!(view.count(column::EVENT_NAMES), 0);
    let events: Vec<(u32, &str, usize)> = batch
        .span(0)
        .events()
        .map(|event| (event.index, event.name, event.attributes.len()))
        .collect();
    assert_eq!(events, [(0, "", 1), (1, "", 0)]);
}

#[test]
fn an_empty_batch_has_only_its_leading_offsets() {
    let batch = to_batch(&[], &every_field());
    assert!(batch.is_empty());
    // Offsets columns hold their leading 0; nothing else has elements.
    assert_eq!(
        present(&batch),
        [
            ("event-offsets", 1),
            ("link-offsets", 1),
            ("span-attributes.owner-offsets", 1),
            ("resource-attributes.owner-offsets", 1),
            ("event-attributes.owner-offsets", 1),
            ("link-attributes.owner-offsets", 1),
        ]
    );
    assert_eq!(batch.spans().count(), 0);
}

#[test]
fn edits_apply_to_the_addressed_rows_and_spans() {
    let spans = sample_spans();
    let needs = every_field();
    let batch = to_batch(&spans, &needs);
    let row_of = |span: usize, key: &str| {
        batch
            .span(span)
            .attributes()
            .find(|a| a.key == key)
            .unwrap()
            .row
    };
    let mut edits = Edits::new();
    edits.set_span_attribute(row_of(0, "http.method"), AttributeValue::Str("PUT".into()));
    edits.remove_span_attribute(row_of(0, "retries"));
    edits.add_span_attribute(1, "added", 1);
    edits.add_span_attribute(batch.span(2), "http.method", "PATCH");
    let host_row = batch.span(0).resource_attributes().next().unwrap().row;
    edits.set_resource_attribute(host_row, "web-2");
    let event_row = batch
        .span(0)
        .events()
        .next()
        .unwrap()
        .attributes
        .next()
        .unwrap()
        .row;
    edits.set_event_attribute(event_row, "Refused");
    edits.set_event_name(1, "retried");
    let link_row = batch
        .span(0)
        .links()
        .next()
        .unwrap()
        .attributes
        .next()
        .unwrap()
        .row;
    edits.remove_link_attribute(link_row);
    edits.set_name(batch.span(0), "GET /basket");
    edits.set_status_message(0, "");
    edits.drop_span(1);

    let out = apply_edits(&spans, &needs, &edits).unwrap();
    assert_eq!(out.len(), 2, "span 1 dropped");
    let (first, third) = (&out[0], &out[1]);
    assert_eq!(first.name, "GET /basket");
    assert_eq!(first.status_message, "");
    assert_eq!(
        first.attributes[0],
        ("http.method".into(), TestValue::from("PUT"))
    );
    assert!(first.attributes.iter().all(|(key, _)| key != "retries"));
    assert_eq!(first.attributes.len(), 4);
    assert_eq!(first.events[0].attributes[0].1, TestValue::from("Refused"));
    assert_eq!(first.events[1].name, "retried");
    assert!(first.links[0].attributes.is_empty());
    // Span 2 shares span 0's resource, so it sees the resource edit too.
    assert_eq!(first.resource_attributes[0].1, TestValue::from("web-2"));
    assert_eq!(third.resource_attributes[0].1, TestValue::from("web-2"));
    // Adding an existing key replaces its value.
    assert_eq!(
        third.attributes,
        [("http.method".to_owned(), TestValue::from("PATCH"))]
    );
}

#[test]
fn bad_edits_are_refused_with_the_edit_named() {
    let spans = sample_spans();
    let names_only = Needs::new("test", "0").fields(SpanFields::NAME);
    let strings_only = Needs::new("test", "0").span_attributes(AttributeSelection::AllStrings);
    let every_field_needs = every_field();
    let cases: Vec<(&Needs, Vec<Edit>, &str)> = vec![
        (
            &names_only,
            vec![Edit::SetName(3, "x".into())],
            "edit 0 (set-name span 3): out of range: the batch has 3 spans",
        ),
        (
            &names_only,
            vec![Edit::DropSpan(0), Edit::DropSpan(9)],
            "edit 1 (drop-span span 9): out of range: the batch has 3 spans",
        ),
        (
            &names_only,
            vec![Edit::SetStatusMessage(0, "x".into())],
            "edit 0 (set-status-message span 0): field `status-message` was not declared in needs",
        ),
        (
            &names_only,
            vec![Edit::SetEventName(0, "x".into())],
            "edit 0 (set-event-name event 0): field `event-names` was not declared in needs",
        ),
        (
            &names_only,
            vec![Edit::RemoveSpanAttribute(0)],
            "edit 0 (remove-span-attribute row 0): no span attributes were declared in needs",
        ),
        (
            &names_only,
            vec![Edit::AddSpanAttribute(
                0,
                "k".into(),
                AttributeValue::Int(1),
            )],
            "edit 0 (add-span-attribute span 0 key \"k\"): no span attributes were declared in needs",
        ),
        (
            &strings_only,
            vec![Edit::SetSpanAttribute(3, AttributeValue::Int(1))],
            "edit 0 (set-span-attribute row 3): out of range: the batch has 3 span attribute rows",
        ),
        (
            &strings_only,
            vec![Edit::SetResourceAttribute(0, AttributeValue::Int(1))],
            "edit 0 (set-resource-attribute row 0): no resource attributes were declared in needs",
        ),
        (
            &strings_only,
            vec![Edit::RemoveEventAttribute(0)],
            "edit 0 (remove-event-attribute row 0): no event attributes were declared in needs",
        ),
        (
            &every_field_needs,
            vec![Edit::SetLinkAttribute(1, AttributeValue::Int(1))],
            "edit 0 (set-link-attribute row 1): out of range: the batch has 1 link attribute rows",
        ),
        (
            &every_field_needs,
            vec![Edit::SetEventName(2, "x".into())],
            "edit 0 (set-event-name event 2): out of range: the batch has 2 events",
        ),
        (
            &strings_only,
            vec![Edit::AddSpanAttribute(
                0,
                String::new(),
                AttributeValue::Int(1),
            )],
            "edit 0 (add-span-attribute span 0 key \"\"): empty attribute key",
        ),
        (
            &strings_only,
            vec![
                Edit::RemoveSpanAttribute(1),
                Edit::SetSpanAttribute(1, AttributeValue::Int(1)),
            ],
            "edit 1 (set-span-attribute row 1): span attribute row 1 is both set and removed",
        ),
    ];
    for (needs, edits, expected) in cases {
        assert_eq!(
            apply_edits(&spans, needs, &encoded(&edits)),
            Err(expected.to_owned())
        );
    }
    // The same row in different attribute tables is no conflict.
    let all = every_field();
    let edits = [
        Edit::RemoveSpanAttribute(0),
        Edit::SetResourceAttribute(0, AttributeValue::Int(1)),
    ];
    assert!(apply_edits(&spans, &all, &encoded(&edits)).is_ok());
    // Records that do not decode are refused before anything else.
    let ragged = Edits::from_wit(crate::bindings::types::Edits {
        records: vec![0; 30],
        strings: Vec::new(),
    });
    assert_eq!(
        apply_edits(&spans, &all, &ragged),
        Err("the edit records are 30 bytes, not a multiple of 24".to_owned())
    );
}

fn encoded(edits: &[Edit]) -> Edits {
    let mut encoded = Edits::new();
    for edit in edits {
        encoded.push_edit(edit);
    }
    encoded
}

#[test]
fn no_edits_give_the_spans_back_unchanged() {
    let spans = sample_spans();
    assert_eq!(
        apply_edits(&spans, &every_field(), &Edits::new()),
        Ok(spans)
    );
}

#[test]
fn spans_with_the_same_nan_resource_attribute_share_their_resource() {
    // NaN != NaN: compared with `==`, every span of this resource was a resource of its
    // own, unlike in the gateway (one resource per OTLP resource).
    let spans = vec![
        TestSpan::new(1, 1)
            .service("cart")
            .resource_attr("load", f64::NAN),
        TestSpan::new(1, 2)
            .service("cart")
            .resource_attr("load", f64::NAN),
        TestSpan::new(1, 3)
            .service("cart")
            .resource_attr("load", 0.5),
    ];
    let needs = Needs::new("test", "0").resource_attributes(AttributeSelection::All);
    let batch = to_batch(&spans, &needs);
    let resources: Vec<u32> = batch.spans().map(|span| span.resource_index()).collect();
    assert_eq!(resources, [0, 0, 1]);
    let out = apply_edits(
        &spans,
        &needs,
        &encoded(&[Edit::SetResourceAttribute(0, AttributeValue::Int(1))]),
    )
    .unwrap();
    let expected = [("load".to_owned(), TestValue::Int(1))];
    assert_eq!(out[0].resource_attributes, expected);
    assert_eq!(out[1].resource_attributes, expected);
    assert_eq!(out[2].resource_attributes, spans[2].resource_attributes);
}

/// Uppercases names, drops spans named "drop", fails on spans named "fail".
struct Upper;

impl Processor for Upper {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        if config == "refuse" {
            return Err("refused".into());
        }
        host::log(LogLevel::Info, "upper ready");
        Ok((Upper, Needs::new("upper", "1").fields(SpanFields::NAME)))
    }

    fn process(
        &mut self,
        batch: &crate::batch::SpanBatch,
        edits: &mut Edits,
    ) -> Result<(), String> {
        for span in batch.spans() {
            match span.name() {
                "fail" => return Err("asked to fail".into()),
                "drop" => edits.drop_span(span),
                name => edits.set_name(span, name.to_uppercase()),
            }
        }
        Ok(())
    }
}

#[test]
fn the_processor_harness_runs_init_process_and_apply() {
    assert_eq!(
        ProcessorHarness::<Upper>::new("refuse").err(),
        Some("refused".to_owned())
    );
    take_logs();
    let mut harness = ProcessorHarness::<Upper>::new("").unwrap();
    assert_eq!(take_logs(), [(LogLevel::Info, "upper ready".to_owned())]);
    assert_eq!(harness.needs().name, "upper");
    let out = harness
        .process(&[
            TestSpan::new(1, 1).named("a"),
            TestSpan::new(1, 2).named("drop"),
        ])
        .unwrap();
    assert_eq!(out, [TestSpan::new(1, 1).named("A")]);
    assert_eq!(
        harness.process(&[TestSpan::new(1, 1).named("fail")]),
        Err("asked to fail".into())
    );
    assert_eq!(
        harness
            .edits(&[TestSpan::new(1, 1).named("b")])
            .unwrap()
            .len(),
        1
    );
    let _: &mut Upper = harness.plugin();
}

/// Keeps even span ids; tail: drops trace 2, keeps the rest as "rest". `short` answers
/// one decision too few.
struct EvenSampler {
    short: bool,
}

impl Sampler for EvenSampler {
    fn init(config: &str) -> Result<(Self, SamplerNeeds), String> {
        let needs = Needs::new("even", "1").fields(SpanFields::SPAN_ID | SpanFields::TRACE_ID);
        let tail = Some(TailSettings {
            decision_wait_millis: 10,
            max_traces: 10,
            max_spans_per_trace: 10,
        });
        Ok((
            EvenSampler {
                short: config == "short",
            },
            SamplerNeeds { needs, tail },
        ))
    }

    fn sample_head(&mut self, batch: &crate::batch::SpanBatch) -> Result<Vec<Decision>, String> {
        let mut decisions: Vec<Decision> = batch
            .spans()
            .map(|span| {
                if span.span_id() % 2 == 0 {
                    Decision::Keep("even".into())
                } else {
                    Decision::Drop
                }
            })
            .collect();
        if self.short {
            decisions.pop();
        }
        Ok(decisions)
    }

    fn sample_tail(&mut self, batch: &crate::batch::SpanBatch) -> Result<Vec<Decision>, String> {
        let mut decisions: Vec<Decision> = crate::trace_ids_in_order(batch)
            .into_iter()
            .map(|trace_id| {
                if trace_id == TraceId(2) {
                    Decision::Drop
                } else {
                    Decision::Keep("rest".into())
                }
            })
            .collect();
        if self.short {
            decisions.pop();
        }
        Ok(decisions)
    }
}

/// Uses the default `sample_tail`.
struct HeadOnly;

impl Sampler for HeadOnly {
    fn init(_: &str) -> Result<(Self, SamplerNeeds), String> {
        let needs = Needs::new("head-only", "1").fields(SpanFields::TRACE_ID);
        Ok((HeadOnly, SamplerNeeds { needs, tail: None }))
    }

    fn sample_head(&mut self, batch: &crate::batch::SpanBatch) -> Result<Vec<Decision>, String> {
        Ok(vec![Decision::Drop; batch.len()])
    }
}

fn three_traces() -> Vec<TestSpan> {
    vec![
        TestSpan::new(3, 1),
        TestSpan::new(2, 2),
        TestSpan::new(3, 3),
        TestSpan::new(1, 4),
    ]
}

#[test]
fn the_sampler_harness_pairs_and_checks_decisions() {
    let mut harness = SamplerHarness::<EvenSampler>::new("").unwrap();
    assert!(harness.needs().tail.is_some());
    assert_eq!(
        harness.sample_head(&three_traces()).unwrap(),
        [
            Decision::Drop,
            Decision::Keep("even".into()),
            Decision::Drop,
            Decision::Keep("even".into())
        ]
    );
    assert_eq!(
        harness.sample_tail(&three_traces()).unwrap(),
        [
            (3, Decision::Keep("rest".into())),
            (2, Decision::Drop),
            (1, Decision::Keep("rest".into()))
        ]
    );
    let mut short = SamplerHarness::<EvenSampler>::new("short").unwrap();
    assert_eq!(
        short.sample_head(&three_traces()),
        Err("sample_head returned 3 decisions for 4 spans".into())
    );
    assert_eq!(
        short.sample_tail(&three_traces()),
        Err("sample_tail returned 2 decisions for 3 traces".into())
    );
    assert!(short.plugin().short);
}

#[test]
fn the_default_tail_keeps_every_trace_with_an_empty_policy() {
    let mut harness = SamplerHarness::<HeadOnly>::new("").unwrap();
    let keep = Decision::Keep(String::new());
    assert_eq!(
        harness.sample_tail(&three_traces()).unwrap(),
        [(3, keep.clone()), (2, keep.clone()), (1, keep)]
    );
}

/// Counts spans per service.
struct CountPerService {
    counts: std::collections::BTreeMap<String, f64>,
}

impl Metrics for CountPerService {
    fn init(_: &str) -> Result<(Self, Needs), String> {
        let needs = Needs::new("count", "1").fields(SpanFields::SERVICE_NAME);
        Ok((
            CountPerService {
                counts: Default::default(),
            },
            needs,
        ))
    }

    fn observe(&mut self, batch: &crate::batch::SpanBatch) -> Result<(), String> {
        for span in batch.spans() {
            *self
                .counts
                .entry(span.service_name().to_owned())
                .or_default() += 1.0;
        }
        Ok(())
    }

    fn collect(&mut self, _now_unix_nanos: u64) -> Vec<MetricPoint> {
        self.counts
            .iter()
            .map(|(service, count)| MetricPoint {
                name: "spans_total".into(),
                help: String::new(),
                labels: vec![("service".into(), service.clone())],
                value: MetricValue::Counter(*count),
                exemplar: None,
            })
            .collect()
    }
}

#[test]
fn the_metrics_harness_observes_and_collects() {
    let mut harness = MetricsHarness::<CountPerService>::new("").unwrap();
    assert_eq!(harness.needs().fields, SpanFields::SERVICE_NAME);
    harness.observe(&sample_spans()).unwrap();
    harness.observe(&sample_spans()[..1]).unwrap();
    let points = harness.collect(0);
    let values: Vec<(&str, &MetricValue)> = points
        .iter()
        .map(|point| (point.labels[0].1.as_str(), &point.value))
        .collect();
    assert_eq!(
        values,
        [
            ("cart", &MetricValue::Counter(3.0)),
            ("db", &MetricValue::Counter(1.0))
        ]
    );
    assert_eq!(harness.plugin().counts.len(), 2);
}

#[test]
fn the_native_clock_can_be_pinned() {
    set_now(Some(42));
    assert_eq!(host::now_unix_nanos(), 42);
    set_now(None);
    // 2020-01-01 in nanoseconds: the system clock is back.
    assert!(host::now_unix_nanos() > 1_577_836_800_000_000_000);
}

#[test]
fn logs_are_taken_once() {
    take_logs();
    host::log(LogLevel::Warn, "one");
    host::log(LogLevel::Error, "two");
    assert_eq!(
        take_logs(),
        [
            (LogLevel::Warn, "one".to_owned()),
            (LogLevel::Error, "two".to_owned())
        ]
    );
    assert_eq!(take_logs(), []);
}

/// The panic message of `read` on a strict batch of `sample_spans()` for `needs`.
fn undeclared_read(needs: &Needs, read: impl Fn(&SpanBatch)) -> String {
    let batch = to_batch(&sample_spans(), needs);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&batch)))
        .expect_err("the read should have panicked");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_default()
}

#[test]
fn reading_an_undeclared_field_in_the_harness_names_the_flag_to_add() {
    let names = Needs::new("test", "0").fields(SpanFields::NAME);
    assert_eq!(
        undeclared_read(&names, |batch| {
            batch.span(0).status_message();
        }),
        "span.status_message() reads the span field `status-message`, which the plugin did \
         not declare: add SpanFields::STATUS_MESSAGE to its needs (Needs::fields)"
    );
    assert!(
        undeclared_read(&names, |batch| {
            batch.span(0).duration_nanos();
        })
        .contains("add SpanFields::TIMES")
    );
    assert!(
        undeclared_read(&names, |batch| {
            batch.span(0).attributes();
        })
        .starts_with("span.attributes() reads span attributes, which the plugin did not declare")
    );
    assert!(
        undeclared_read(&names, |batch| {
            batch.span(0).events();
        })
        .contains("add SpanFields::EVENT_NAMES or set Needs::event_attributes")
    );
    assert!(
        undeclared_read(&names, |batch| {
            batch.span(0).resource_index();
        })
        .contains("Needs::resource_attributes")
    );
    let keyed = Needs::new("test", "0").span_keys(["http.method"]);
    assert_eq!(
        undeclared_read(&keyed, |batch| {
            batch.span(0).attributes().get("retries");
        }),
        "Attributes::get looks up the span attribute `retries`, which the plugin did not \
         declare: add it to Needs::span_attributes (declared keys: [\"http.method\"])"
    );
    // What is declared reads normally.
    let batch = to_batch(&sample_spans(), &keyed);
    assert_eq!(
        batch.span(0).attributes().get_str("http.method"),
        Some("GET")
    );
    let batch = to_batch(&sample_spans(), &names);
    assert_eq!(batch.span(1).name(), "SELECT");
}

#[test]
fn head_decisions_apply_as_the_host_applies_them() {
    let spans = three_traces();
    let answer = decisions::encode(&[
        Decision::Drop,
        Decision::Keep("a".into()),
        Decision::Drop,
        Decision::Keep("b".into()),
    ])
    .unwrap();
    let out = apply_decisions(&spans, &answer).unwrap();
    assert_eq!(out, [spans[1].clone(), spans[3].clone()]);
    let short = decisions::encode(&[Decision::Drop]).unwrap();
    assert_eq!(
        apply_decisions(&spans, &short),
        Err("1 decisions for a batch of 4 spans".to_owned())
    );
    let unnamed = crate::bindings::types::Decisions {
        verdicts: vec![0, 1, 0, 0],
        policies: Vec::new(),
    };
    assert_eq!(
        apply_decisions(&spans, &unnamed),
        Err("verdict 1 is 1, but the answer lists 0 policies".to_owned())
    );
}
