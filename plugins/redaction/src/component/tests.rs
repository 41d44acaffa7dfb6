//! The glue through the SDK's native harness: spans in, edits applied as the host applies
//! them, spans out.

use spangate_plugin_sdk::abi::StrRef;
use spangate_plugin_sdk::testing::{ProcessorHarness, TestSpan, TestValue, apply_edits, to_batch};
use spangate_plugin_sdk::{
    AttributeSelection, AttributeValue, Edit, SpanFields, StatusCode as WitStatusCode,
};

use super::*;

type Harness = ProcessorHarness<RedactionPlugin>;

fn harness(config: &str) -> Harness {
    Harness::new(config).unwrap_or_else(|error| panic!("{config}: {error}"))
}

fn refusal(config: &str) -> String {
    match Harness::new(config) {
        Ok(_) => panic!("accepted: {config}"),
        Err(message) => message,
    }
}

/// The canary: an email no output may contain.
const CANARY: &str = "canary.secret@example.com";

const CONFIG: &str = r#"{
    "blocked_keys": ["password", "*.secret"],
    "value_patterns": ["email", "credit_card"]
}"#;

fn value<'a>(attributes: &'a [(String, TestValue)], key: &str) -> Option<&'a TestValue> {
    attributes
        .iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, value)| value)
}

fn str_value(text: &str) -> TestValue {
    TestValue::Str(text.to_owned())
}

#[test]
fn bad_config_is_refused_with_the_key_path() {
    assert!(
        refusal(r#"{"blocked_keys": ["/[/"]}"#).starts_with("blocked_keys[0]: "),
        "{}",
        refusal(r#"{"blocked_keys": ["/[/"]}"#)
    );
    assert_eq!(
        refusal(r#"{"value_patterns": ["email"], "action": "hash"}"#),
        r#"hash_key: required when action is "hash""#
    );
    assert_eq!(
        refusal("{}"),
        "config: redacts nothing: set blocked_keys, allowed_keys or value_patterns"
    );
}

#[test]
fn needs_follow_the_config() {
    let needs = harness(CONFIG).needs().clone();
    assert_eq!(needs.name, "redaction");
    assert_eq!(needs.fields, SpanFields::NAME | SpanFields::STATUS_MESSAGE);
    assert_eq!(needs.span_attributes, AttributeSelection::All);
    assert_eq!(needs.resource_attributes, AttributeSelection::All);
    assert_eq!(needs.event_attributes, AttributeSelection::All);
    assert_eq!(needs.link_attributes, AttributeSelection::All);

    // Keys only: names and messages cannot change, so they are not read.
    let keys_only = harness(r#"{"blocked_keys": ["password"]}"#).needs().clone();
    assert_eq!(keys_only.fields, SpanFields::empty());

    // Places turned off are not read; span attributes still deliver the count.
    let narrow = harness(
        r#"{"value_patterns": ["email"], "apply_to": {"span_attributes": false,
            "resource_attributes": false, "link_attributes": false, "span_name": false}}"#,
    )
    .needs()
    .clone();
    assert_eq!(narrow.fields, SpanFields::STATUS_MESSAGE);
    assert_eq!(
        narrow.span_attributes,
        AttributeSelection::Keys(vec!["redaction.count".into()])
    );
    assert_eq!(narrow.resource_attributes, AttributeSelection::None);
    assert_eq!(narrow.event_attributes, AttributeSelection::All);
    assert_eq!(narrow.link_attributes, AttributeSelection::None);

    let uncounted = harness(
        r#"{"value_patterns": ["email"], "count_attribute": null,
            "apply_to": {"span_attributes": false}}"#,
    )
    .needs()
    .clone();
    assert_eq!(uncounted.span_attributes, AttributeSelection::None);
}

fn canary_span() -> TestSpan {
    TestSpan::new(1, 1)
        .service("checkout")
        .named(&format!("GET /users/{CANARY}"))
        .status(WitStatusCode::Error, &format!("no such user {CANARY}"))
        .attr("http.route", "/users/{id}")
        .attr("user.email", CANARY)
        .attr("password", "hunter2")
        .attr("retries", 3i64)
        .resource_attr("owner", CANARY)
        .resource_attr("host.name", "node-1")
        .event(
            "exception",
            [("exception.message", format!("bad login {CANARY}"))],
        )
        .link([("peer", CANARY)])
}

#[test]
fn canary_is_redacted_everywhere_and_counted() {
    let mut harness = harness(CONFIG);
    let out = harness.process(&[canary_span()]).unwrap();
    let span = &out[0];
    let debug = format!("{out:?}");
    assert!(!debug.contains(CANARY), "canary leaked: {debug}");
    assert!(!debug.contains("hunter2"), "blocked value leaked: {debug}");
    assert_eq!(span.name, "GET /users/***");
    assert_eq!(span.status_message, "no such user ***");
    assert_eq!(
        value(&span.attributes, "user.email"),
        Some(&str_value("***"))
    );
    assert_eq!(value(&span.attributes, "password"), Some(&str_value("***")));
    assert_eq!(
        value(&span.attributes, "http.route"),
        Some(&str_value("/users/{id}"))
    );
    assert_eq!(value(&span.attributes, "retries"), Some(&TestValue::Int(3)));
    assert_eq!(
        value(&span.resource_attributes, "owner"),
        Some(&str_value("***"))
    );
    assert_eq!(
        value(&span.resource_attributes, "host.name"),
        Some(&str_value("node-1"))
    );
    assert_eq!(
        value(&span.events[0].attributes, "exception.message"),
        Some(&str_value("bad login ***"))
    );
    assert_eq!(span.events[0].name, "exception");
    assert_eq!(
        value(&span.links[0].attributes, "peer"),
        Some(&str_value("***"))
    );
    // name, status message, user.email, password, owner, event, link.
    assert_eq!(
        value(&span.attributes, "redaction.count"),
        Some(&TestValue::Int(7))
    );
    // A second pass finds nothing: no edits at all.
    assert!(harness.edits(&out).unwrap().is_empty());
}

#[test]
fn remove_and_hash_actions() {
    let mut remove = harness(
        r#"{"blocked_keys": ["password"], "value_patterns": ["email"], "action": "remove",
            "count_attribute": "pii.count"}"#,
    );
    let out = remove.process(&[canary_span()]).unwrap();
    assert_eq!(value(&out[0].attributes, "password"), None);
    assert_eq!(
        value(&out[0].attributes, "user.email"),
        Some(&str_value("***"))
    );
    assert_eq!(
        value(&out[0].attributes, "pii.count"),
        Some(&TestValue::Int(7))
    );

    let hash_config = r#"{"blocked_keys": ["password", "pin"], "value_patterns": ["email"],
        "action": "hash", "hash_key": "component-test-key-0123456789"}"#;
    let mut hash = harness(hash_config);
    let out = hash
        .process(&[
            canary_span().attr("pin", 1234i64),
            TestSpan::new(2, 2).attr("pin", "1234"),
        ])
        .unwrap();
    let Some(TestValue::Str(hashed_email)) = value(&out[0].attributes, "user.email") else {
        panic!("{out:?}");
    };
    assert!(hashed_email.starts_with("h:") && hashed_email.len() == 18);
    // Scalars hash as their text, whatever their type: the int and the string pin join.
    assert_eq!(
        value(&out[0].attributes, "pin"),
        value(&out[1].attributes, "pin")
    );
    assert!(hash.edits(&out).unwrap().is_empty(), "hashes are stable");
}

#[test]
fn resources_are_redacted_once_and_counted_on_each_span() {
    let mut harness = harness(CONFIG);
    let spans: Vec<TestSpan> = (0..3)
        .map(|index| {
            TestSpan::new(1, index + 1)
                .service("checkout")
                .resource_attr("owner", CANARY)
        })
        .collect();
    let edits = harness.edits(&spans).unwrap();
    let resource_edits = edits
        .to_vec()
        .iter()
        .filter(|edit| matches!(edit, Edit::SetResourceAttribute(..)))
        .count();
    assert_eq!(resource_edits, 1, "{edits:?}");
    let out = apply_edits(&spans, harness.needs(), &edits).unwrap();
    for span in &out {
        assert_eq!(
            value(&span.resource_attributes, "owner"),
            Some(&str_value("***"))
        );
        assert_eq!(
            value(&span.attributes, "redaction.count"),
            Some(&TestValue::Int(1))
        );
    }
}

#[test]
fn count_adds_to_an_earlier_count() {
    let mut harness = harness(CONFIG);
    let out = harness
        .process(&[
            TestSpan::new(1, 1)
                .attr("redaction.count", 2i64)
                .attr("user.email", CANARY),
            TestSpan::new(1, 2)
                .attr("redaction.count", "junk")
                .attr("password", "x"),
            TestSpan::new(1, 3).attr("redaction.count", 5i64),
        ])
        .unwrap();
    assert_eq!(
        value(&out[0].attributes, "redaction.count"),
        Some(&TestValue::Int(3))
    );
    assert_eq!(
        value(&out[1].attributes, "redaction.count"),
        Some(&TestValue::Int(1))
    );
    assert_eq!(
        value(&out[2].attributes, "redaction.count"),
        Some(&TestValue::Int(5))
    );
    for span in &out {
        let counts = span
            .attributes
            .iter()
            .filter(|(key, _)| key == "redaction.count")
            .count();
        assert_eq!(counts, 1, "{span:?}");
    }

    // Span attributes off: the count is still read (by key) and added to.
    let mut narrow =
        self::harness(r#"{"value_patterns": ["email"], "apply_to": {"span_attributes": false}}"#);
    let out = narrow
        .process(&[TestSpan::new(1, 1)
            .named(CANARY)
            .attr("redaction.count", 4i64)
            .attr("user.email", CANARY)])
        .unwrap();
    assert_eq!(
        value(&out[0].attributes, "redaction.count"),
        Some(&TestValue::Int(5))
    );
    assert_eq!(
        value(&out[0].attributes, "user.email"),
        Some(&str_value(CANARY))
    );
}

#[test]
fn arrays_and_maps_are_redacted_inside_their_json() {
    let mut harness = harness(CONFIG);
    let spans = [TestSpan::new(1, 1)
        .attr(
            "emails",
            TestValue::Json(format!(r#"["ok", "{CANARY}", 3]"#)),
        )
        .attr(
            "headers",
            TestValue::Json(r#"{"x.secret": "s3cr3t", "accept": "text/html"}"#.to_owned()),
        )
        .attr("tags.secret", TestValue::Json(r#"["a", "b"]"#.to_owned()))
        .attr("clean", TestValue::Json(r#"["a", 1]"#.to_owned()))];
    let out = harness.process(&spans).unwrap();
    let attributes = &out[0].attributes;
    assert_eq!(
        value(attributes, "emails"),
        Some(&str_value(r#"["ok","***",3]"#))
    );
    assert_eq!(
        value(attributes, "headers"),
        Some(&str_value(r#"{"accept":"text/html","x.secret":"***"}"#))
    );
    assert_eq!(value(attributes, "tags.secret"), Some(&str_value("***")));
    assert_eq!(
        value(attributes, "clean"),
        Some(&TestValue::Json(r#"["a", 1]"#.to_owned()))
    );
    assert_eq!(
        value(attributes, "redaction.count"),
        Some(&TestValue::Int(3))
    );
}

#[test]
fn allow_list_condemns_every_other_key_of_any_type() {
    let mut harness = harness(r#"{"allowed_keys": ["http.*", "service.*"], "action": "remove"}"#);
    let out = harness
        .process(&[TestSpan::new(1, 1)
            .attr("http.route", "/a")
            .attr("user.id", 42i64)
            .attr("ratio", 0.5)
            .attr("flag", true)
            .resource_attr("service.version", "1")
            .resource_attr("k8s.pod.name", "pod-1")])
        .unwrap();
    let keys: Vec<&str> = out[0]
        .attributes
        .iter()
        .map(|(key, _)| key.as_str())
        .collect();
    assert_eq!(keys, ["http.route", "redaction.count"]);
    let resource_keys: Vec<&str> = out[0]
        .resource_attributes
        .iter()
        .map(|(key, _)| key.as_str())
        .collect();
    assert_eq!(resource_keys, ["service.version"]);
    assert_eq!(
        value(&out[0].attributes, "redaction.count"),
        Some(&TestValue::Int(4))
    );
}

#[test]
fn glue_matches_the_native_redactor() {
    let config = CONFIG;
    let redactor = Redactor::from_json(config).unwrap();
    let mut native = crate::model::Span {
        name: format!("GET /users/{CANARY}"),
        status_message: format!("no such user {CANARY}"),
        attributes: vec![
            ("http.route".into(), "/users/{id}".into()),
            ("user.email".into(), CANARY.into()),
            ("password".into(), "hunter2".into()),
            ("retries".into(), 3i64.into()),
        ],
        events: vec![crate::model::Event {
            name: "exception".into(),
            attributes: vec![(
                "exception.message".into(),
                format!("bad login {CANARY}").into(),
            )],
        }],
        links: vec![crate::model::Link {
            attributes: vec![("peer".into(), CANARY.into())],
        }],
        resource_attributes: vec![
            ("owner".into(), CANARY.into()),
            ("host.name".into(), "node-1".into()),
        ],
    };
    redactor.redact_span(&mut native);
    let out = harness(config).process(&[canary_span()]).unwrap();
    let to_test = |attributes: &[(String, Value)]| -> Vec<(String, TestValue)> {
        attributes
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::Str(text) => TestValue::Str(text.clone()),
                    Value::Int(number) => TestValue::Int(*number),
                    other => panic!("{other:?}"),
                };
                (key.clone(), value)
            })
            .collect()
    };
    assert_eq!(out[0].name, native.name);
    assert_eq!(out[0].status_message, native.status_message);
    assert_eq!(out[0].attributes, to_test(&native.attributes));
    assert_eq!(
        out[0].resource_attributes,
        to_test(&native.resource_attributes)
    );
    assert_eq!(
        out[0].events[0].attributes,
        to_test(&native.events[0].attributes)
    );
    assert_eq!(
        out[0].links[0].attributes,
        to_test(&native.links[0].attributes)
    );
}

#[test]
fn a_batch_reads_only_declared_columns() {
    // The batch the host would send for these needs carries no span name when names are
    // not redacted: the glue must not depend on it.
    let harness = harness(r#"{"blocked_keys": ["password"]}"#);
    let batch = to_batch(&[canary_span()], harness.needs());
    assert_eq!(batch.view().count(column::NAME), 0);
    let out = self::harness(r#"{"blocked_keys": ["password"]}"#)
        .process(&[canary_span()])
        .unwrap();
    assert_eq!(out[0].name, canary_span().name);
    assert_eq!(
        value(&out[0].attributes, "password"),
        Some(&str_value("***"))
    );
    assert_eq!(
        value(&out[0].attributes, "redaction.count"),
        Some(&TestValue::Int(1))
    );
}

/// `process` on a batch whose buffers were altered by `alter` (given the column buffer, the
/// byte range of the span attribute value column, and the string arena), with the SDK's
/// reading of each span attribute value; `CONFIG` redacts emails.
fn process_altered(
    spans: &[TestSpan],
    alter: impl FnOnce(&mut [u8], Range<usize>, &mut Vec<u8>),
) -> (Vec<Edit>, Vec<SdkValue<'static>>) {
    let (mut plugin, needs) = RedactionPlugin::init(CONFIG).unwrap();
    let mut raw = to_batch(spans, &needs).into_wit();
    let values = spangate_plugin_sdk::abi::BatchView::parse(&raw.columns, &raw.strings)
        .unwrap()
        .byte_range(column::SPAN_ATTRIBUTES + column::VALUE);
    alter(&mut raw.columns, values, &mut raw.strings);
    let batch = Box::leak(Box::new(SpanBatch::from_wit(raw).unwrap()));
    let mut edits = Edits::new();
    plugin.process(batch, &mut edits).unwrap();
    let seen = batch
        .span(0)
        .attributes()
        .map(|attribute| attribute.value)
        .collect();
    (edits.to_vec(), seen)
}

/// The string reference of value row `row` in the value column `values` of `columns`.
fn reference(columns: &mut [u8], values: &Range<usize>, row: usize) -> StrRef {
    let at = values.start + row * 8;
    StrRef::from_u64(u64::from_le_bytes(columns[at..at + 8].try_into().unwrap()))
}

fn set_reference(columns: &mut [u8], values: &Range<usize>, row: usize, reference: StrRef) {
    let at = values.start + row * 8;
    columns[at..at + 8].copy_from_slice(&reference.to_u64().to_le_bytes());
}

#[test]
fn a_string_that_is_not_utf8_reads_as_empty_and_the_others_are_redacted() {
    // The host never sends one; the glue reads span attribute strings straight from the arena
    // and must still see what the SDK sees: the bad string as "" (nothing to redact in it),
    // every other string as itself.
    let span = TestSpan::new(1, 1)
        .attr("a", "x")
        .attr("mail", CANARY)
        .attr("n", TestValue::Int(5));
    let (edits, seen) = process_altered(&[span], |columns, values, strings| {
        let bad = reference(columns, &values, 0);
        strings[bad.offset as usize] = 0xFF;
    });
    assert_eq!(
        seen,
        [SdkValue::Str(""), SdkValue::Str(CANARY), SdkValue::Int(5)]
    );
    assert_eq!(
        edits,
        [
            Edit::SetSpanAttribute(1, AttributeValue::Str("***".into())),
            Edit::AddSpanAttribute(0, "redaction.count".into(), AttributeValue::Int(1)),
        ]
    );
}

#[test]
fn strings_off_character_boundaries_or_outside_the_arena_read_as_empty() {
    // References that split "é" in the middle or point past the arena: the SDK reads them as
    // "", and the other rows normally.
    let span = TestSpan::new(1, 1)
        .attr("a", "é")
        .attr("b", "é")
        .attr("mail", CANARY);
    let (edits, seen) = process_altered(&[span], |columns, values, strings| {
        let split = reference(columns, &values, 0);
        assert_eq!(split.len, 2);
        set_reference(columns, &values, 0, StrRef { len: 1, ..split });
        let outside = StrRef {
            offset: strings.len() as u32,
            len: 1,
        };
        set_reference(columns, &values, 1, outside);
    });
    assert_eq!(
        seen,
        [SdkValue::Str(""), SdkValue::Str(""), SdkValue::Str(CANARY)]
    );
    assert!(
        edits.contains(&Edit::SetSpanAttribute(
            2,
            AttributeValue::Str("***".into())
        )),
        "{edits:?}"
    );
}
