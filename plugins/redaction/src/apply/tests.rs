//! Unit tests of the redactor: one behaviour per test, on small hand-built spans.

use super::*;
use crate::model::{Event, Link, attribute};

const HASH_KEY: &str = "unit-test-hash-key-0123456789";

fn redactor(json: &str) -> Redactor {
    Redactor::from_json(json).unwrap_or_else(|error| panic!("config {json}: {error}"))
}

fn all_patterns() -> Redactor {
    redactor(r#"{"value_patterns": ["credit_card", "email", "bearer_token", "ipv4", "ipv6"]}"#)
}

fn attributes(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect()
}

#[test]
fn check_key_in_block_mode() {
    let redactor = redactor(
        r#"{"blocked_keys": ["password", "*.secret", "/^(?i)x-api-key$/"], "action": "remove"}"#,
    );
    assert_eq!(redactor.check_key("password"), Some(Action::Remove));
    assert_eq!(redactor.check_key("db.secret"), Some(Action::Remove));
    assert_eq!(redactor.check_key("X-Api-Key"), Some(Action::Remove));
    assert_eq!(redactor.check_key("http.method"), None);
}

#[test]
fn check_key_in_allow_mode() {
    let redactor = redactor(r#"{"allowed_keys": ["http.method", "service.*"]}"#);
    assert_eq!(redactor.check_key("http.method"), None);
    assert_eq!(redactor.check_key("service.name"), None);
    assert_eq!(redactor.check_key("user.email"), Some(Action::Mask));
    assert_eq!(
        redactor.check_key("redaction.count"),
        None,
        "the count attribute is always allowed"
    );
}

#[test]
fn redact_text_masks_every_kind() {
    let redactor = all_patterns();
    assert_eq!(redactor.redact_text("plain text, nothing here"), None);
    assert_eq!(
        redactor
            .redact_text("user jane@example.com paid with 4111 1111 1111 1111")
            .as_deref(),
        Some("user *** paid with ***")
    );
    assert_eq!(
        redactor
            .redact_text("Authorization: Bearer abc123def456")
            .as_deref(),
        Some("Authorization: Bearer ***")
    );
    assert_eq!(
        redactor
            .redact_text("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature")
            .as_deref(),
        Some("token ***")
    );
    assert_eq!(
        redactor
            .redact_text("from 192.168.1.20 and fe80::1")
            .as_deref(),
        Some("from *** and ***")
    );
}

#[test]
fn redact_text_counts_each_secret_once() {
    let redactor = all_patterns();
    let redacted = redactor
        .redact_text_counted("a@b.io, c@d.io and Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x")
        .unwrap();
    // The bearer token and the JWT are the same range: one redaction.
    assert_eq!(redacted.redactions, 3);
    assert_eq!(redacted.text, "***, *** and Bearer ***");
}

#[test]
fn luhn_failing_numbers_are_left_alone() {
    let redactor = all_patterns();
    assert_eq!(redactor.redact_text("order 1234567890123"), None);
    assert_eq!(redactor.redact_text("order 4111 1111 1111 1112"), None);
}

#[test]
fn substring_remove_becomes_mask_and_custom_patterns_apply() {
    let redactor = redactor(
        r#"{"value_patterns": [{"name": "employee", "regex": "EMP-\\d{6}"}], "action": "remove", "mask_text": "[gone]"}"#,
    );
    assert_eq!(
        redactor.redact_text("by EMP-123456").as_deref(),
        Some("by [gone]")
    );
}

#[test]
fn hashed_substrings_are_joinable_and_stable() {
    let redactor = redactor(&format!(
        r#"{{"value_patterns": ["email"], "action": "hash", "hash_key": "{HASH_KEY}"}}"#
    ));
    let first = redactor.redact_text("login jane@example.com").unwrap();
    let second = redactor.redact_text("logout jane@example.com").unwrap();
    let hash_of_first = first.strip_prefix("login ").unwrap();
    assert!(hash::is_hash_token(hash_of_first), "{first}");
    assert_eq!(Some(hash_of_first), second.strip_prefix("logout "));
    assert_eq!(
        redactor.redact_text(&first),
        None,
        "a second pass leaves hashes alone"
    );
}

#[test]
fn attribute_verdicts() {
    let redactor = redactor(r#"{"blocked_keys": ["password"], "value_patterns": ["email"]}"#);
    assert_eq!(
        redactor.redact_attribute("http.method", &"GET".into()),
        AttributeVerdict::Keep
    );
    assert_eq!(
        redactor.redact_attribute("password", &"hunter2".into()),
        AttributeVerdict::Replace {
            value: "***".into(),
            redactions: 1
        }
    );
    assert_eq!(
        redactor.redact_attribute("password", &"***".into()),
        AttributeVerdict::Keep,
        "already masked"
    );
    assert_eq!(
        redactor.redact_attribute("user", &"jane@example.com".into()),
        AttributeVerdict::Replace {
            value: "***".into(),
            redactions: 1
        }
    );
    let remover =
        Redactor::from_json(r#"{"blocked_keys": ["password"], "action": "remove"}"#).unwrap();
    assert_eq!(
        remover.redact_attribute("password", &Value::Int(1)),
        AttributeVerdict::Remove
    );
}

#[test]
fn non_string_values_are_untouched_unless_the_key_is_blocked() {
    let redactor = redactor(r#"{"blocked_keys": ["pin"], "value_patterns": ["credit_card"]}"#);
    assert_eq!(
        redactor.redact_attribute("amount", &Value::Int(4111111111111111)),
        AttributeVerdict::Keep
    );
    assert_eq!(
        redactor.redact_attribute("ratio", &Value::Double(0.5)),
        AttributeVerdict::Keep
    );
    assert_eq!(
        redactor.redact_attribute("flag", &Value::Bool(true)),
        AttributeVerdict::Keep
    );
    assert_eq!(
        redactor.redact_attribute("pin", &Value::Int(1234)),
        AttributeVerdict::Replace {
            value: "***".into(),
            redactions: 1
        }
    );
}

#[test]
fn blocked_values_hash_by_value() {
    let redactor = redactor(&format!(
        r#"{{"blocked_keys": ["user.id"], "action": "hash", "hash_key": "{HASH_KEY}"}}"#
    ));
    let AttributeVerdict::Replace {
        value: hashed_int, ..
    } = redactor.redact_attribute("user.id", &Value::Int(42))
    else {
        panic!("int under a blocked key must be hashed");
    };
    let AttributeVerdict::Replace {
        value: hashed_str, ..
    } = redactor.redact_attribute("user.id", &"42".into())
    else {
        panic!("string under a blocked key must be hashed");
    };
    assert_eq!(
        hashed_int, hashed_str,
        "the same id typed differently stays joinable"
    );
    assert_eq!(
        redactor.redact_attribute("user.id", &hashed_int),
        AttributeVerdict::Keep,
        "already hashed"
    );
}

#[test]
fn utf8_bytes_are_scanned_and_other_bytes_are_not() {
    let redactor = all_patterns();
    assert_eq!(
        redactor.redact_attribute("body", &Value::Bytes(b"to a@b.io".to_vec())),
        AttributeVerdict::Replace {
            value: Value::Bytes(b"to ***".to_vec()),
            redactions: 1
        }
    );
    assert_eq!(
        redactor.redact_attribute(
            "blob",
            &Value::Bytes(vec![0xff, b'a', b'@', b'b', b'.', b'i', b'o'])
        ),
        AttributeVerdict::Keep
    );
}

#[test]
fn nested_arrays_and_kvlists_are_walked() {
    let redactor = redactor(
        r#"{"blocked_keys": ["authorization"], "value_patterns": ["email"], "action": "remove"}"#,
    );
    let value = Value::KvList(attributes(&[
        ("authorization", "Basic dXNlcjpwYXNz".into()),
        (
            "to",
            Value::Array(vec![
                "ok".into(),
                Value::Array(vec!["x@y.io".into(), Value::Int(3)]),
            ]),
        ),
        ("count", Value::Int(2)),
    ]));
    let expected = Value::KvList(attributes(&[
        (
            "to",
            Value::Array(vec![
                "ok".into(),
                Value::Array(vec!["***".into(), Value::Int(3)]),
            ]),
        ),
        ("count", Value::Int(2)),
    ]));
    assert_eq!(
        redactor.redact_attribute("headers", &value),
        AttributeVerdict::Replace {
            value: expected,
            redactions: 2
        }
    );
    let clean = Value::Array(vec![
        "a".into(),
        Value::KvList(attributes(&[("k", "v".into())])),
    ]);
    assert_eq!(
        redactor.redact_attribute("clean", &clean),
        AttributeVerdict::Keep
    );
}

#[test]
fn allow_mode_keeps_nested_keys_of_allowed_attributes() {
    let redactor = redactor(
        r#"{"allowed_keys": ["http.headers"], "value_patterns": ["email"], "action": "remove"}"#,
    );
    let headers = Value::KvList(attributes(&[
        ("from", "a@b.io".into()),
        ("accept", "*/*".into()),
    ]));
    let expected = Value::KvList(attributes(&[
        ("from", "***".into()),
        ("accept", "*/*".into()),
    ]));
    assert_eq!(
        redactor.redact_attribute("http.headers", &headers),
        AttributeVerdict::Replace {
            value: expected,
            redactions: 1
        }
    );
    assert_eq!(
        redactor.redact_attribute("user.name", &"jane".into()),
        AttributeVerdict::Remove
    );
}

fn sample_span() -> Span {
    Span {
        name: "GET /users/jane@example.com".into(),
        status_message: "card 4111-1111-1111-1111 declined".into(),
        attributes: attributes(&[
            ("http.method", "GET".into()),
            ("password", "hunter2".into()),
            ("client.address", "10.0.0.7".into()),
        ]),
        events: vec![Event {
            name: "exception".into(),
            attributes: attributes(&[("exception.message", "no user bob@example.org".into())]),
        }],
        links: vec![Link {
            attributes: attributes(&[("peer.secret", "s3cr3t".into())]),
        }],
        resource_attributes: attributes(&[
            ("service.name", "api".into()),
            ("host.ip", "::1".into()),
        ]),
    }
}

#[test]
fn redact_span_everywhere_and_counts() {
    let redactor = redactor(
        r#"{"blocked_keys": ["password", "*.secret"], "value_patterns": ["credit_card", "email", "ipv4", "ipv6"], "action": "remove"}"#,
    );
    let mut span = sample_span();
    let count = redactor.redact_span(&mut span);
    assert_eq!(count, 7);
    assert_eq!(span.name, "GET /users/***");
    assert_eq!(span.status_message, "card *** declined");
    assert_eq!(
        span.attributes,
        attributes(&[
            ("http.method", "GET".into()),
            ("client.address", "***".into()),
            ("redaction.count", Value::Int(7)),
        ])
    );
    assert_eq!(
        span.events[0].attributes,
        attributes(&[("exception.message", "no user ***".into())])
    );
    assert!(span.links[0].attributes.is_empty());
    assert_eq!(
        span.resource_attributes,
        attributes(&[("service.name", "api".into()), ("host.ip", "***".into())])
    );

    // Idempotent: a second pass changes nothing and records nothing more.
    let after_first_pass = span.clone();
    assert_eq!(redactor.redact_span(&mut span), 0);
    assert_eq!(span, after_first_pass);
}

#[test]
fn clean_span_is_untouched_and_uncounted() {
    let redactor = all_patterns();
    let mut span = Span {
        name: "GET /health".into(),
        attributes: attributes(&[("http.status_code", Value::Int(200))]),
        ..Span::default()
    };
    let before = span.clone();
    assert_eq!(redactor.redact_span(&mut span), 0);
    assert_eq!(span, before);
}

#[test]
fn apply_to_turns_places_off() {
    let redactor = redactor(
        r#"{"value_patterns": ["email", "credit_card", "ipv4", "ipv6"], "blocked_keys": ["password", "*.secret"],
            "apply_to": {"span_name": false, "status_message": false, "resource_attributes": false,
                         "event_attributes": false, "link_attributes": false}}"#,
    );
    let mut span = sample_span();
    let original = span.clone();
    assert_eq!(redactor.redact_span(&mut span), 2);
    assert_eq!(span.name, original.name);
    assert_eq!(span.status_message, original.status_message);
    assert_eq!(span.events, original.events);
    assert_eq!(span.links, original.links);
    assert_eq!(span.resource_attributes, original.resource_attributes);
    assert_eq!(
        attribute(&span.attributes, "redaction.count"),
        Some(&Value::Int(2))
    );
}

#[test]
fn names_and_messages_are_never_removed() {
    let redactor = redactor(r#"{"value_patterns": ["email"], "action": "remove"}"#);
    let mut span = Span {
        name: "a@b.io".into(),
        status_message: "a@b.io".into(),
        ..Span::default()
    };
    assert_eq!(redactor.redact_span(&mut span), 2);
    assert_eq!(
        (span.name.as_str(), span.status_message.as_str()),
        ("***", "***")
    );
}

#[test]
fn count_adds_to_an_earlier_count_and_can_be_turned_off() {
    let redactor = redactor(r#"{"blocked_keys": ["password"], "count_attribute": "x.redacted"}"#);
    let mut span = Span {
        attributes: attributes(&[("x.redacted", Value::Int(2)), ("password", "p".into())]),
        ..Span::default()
    };
    assert_eq!(redactor.redact_span(&mut span), 1);
    assert_eq!(
        attribute(&span.attributes, "x.redacted"),
        Some(&Value::Int(3))
    );

    let silent =
        Redactor::from_json(r#"{"blocked_keys": ["password"], "count_attribute": null}"#).unwrap();
    let mut span = Span {
        attributes: attributes(&[("password", "p".into())]),
        ..Span::default()
    };
    assert_eq!(silent.redact_span(&mut span), 1);
    assert_eq!(span.attributes, attributes(&[("password", "***".into())]));
}

#[test]
fn allow_list_mode_on_a_span() {
    let redactor =
        redactor(r#"{"allowed_keys": ["http.method", "service.name"], "action": "remove"}"#);
    let mut span = sample_span();
    let count = redactor.redact_span(&mut span);
    // password, client.address, exception.message, peer.secret, host.ip.
    assert_eq!(count, 5);
    assert_eq!(
        span.attributes,
        attributes(&[
            ("http.method", "GET".into()),
            ("redaction.count", Value::Int(5))
        ])
    );
    assert!(span.events[0].attributes.is_empty());
    assert_eq!(
        span.resource_attributes,
        attributes(&[("service.name", "api".into())])
    );
    assert_eq!(
        span.name, "GET /users/jane@example.com",
        "no value patterns configured"
    );
    assert_eq!(
        redactor.redact_span(&mut span),
        0,
        "second pass keeps the count attribute"
    );
}

#[test]
fn merge_ranges_merges_overlaps_and_touches() {
    assert_eq!(
        merge_ranges(vec![5..8, 0..2, 1..3, 8..9, 10..11]),
        vec![0..3, 5..9, 10..11]
    );
    assert!(merge_ranges(Vec::new()).is_empty());
}

#[test]
fn redact_scalar_agrees_with_redact_attribute() {
    let configs = [
        r#"{"blocked_keys": ["password", "pin"], "value_patterns": ["email"]}"#,
        r#"{"blocked_keys": ["password", "pin"], "value_patterns": ["email"], "action": "remove"}"#,
        r#"{"blocked_keys": ["password", "pin"], "value_patterns": ["email"], "action": "hash", "hash_key": "0123456789abcdef0123"}"#,
        r#"{"allowed_keys": ["http.*"], "value_patterns": ["email"]}"#,
    ];
    let hash_of_42 = redactor(configs[2]).redact_scalar("pin", ScalarRef::Int(42));
    let scalars = [
        ("password", ScalarRef::Str("hunter2")),
        ("password", ScalarRef::Str("***")),
        ("pin", ScalarRef::Int(42)),
        ("pin", ScalarRef::Double(4.2)),
        ("pin", ScalarRef::Bool(true)),
        ("http.url", ScalarRef::Str("mail jane@example.com now")),
        ("http.url", ScalarRef::Str("nothing here")),
        ("http.status", ScalarRef::Int(200)),
        ("user", ScalarRef::Str("jane@example.com")),
        ("user", ScalarRef::Double(1.5)),
    ];
    let mut redacted = 0;
    for config in configs {
        let redactor = redactor(config);
        for (key, scalar) in scalars {
            let expected = redactor.redact_attribute(key, &scalar.to_value());
            redacted += usize::from(expected != AttributeVerdict::Keep);
            assert_eq!(
                redactor.redact_scalar(key, scalar),
                expected,
                "{config} {key} {scalar:?}"
            );
        }
    }
    assert!(redacted >= 20, "the cases exercise redaction: {redacted}");
    // Hashes of scalars are their text's hash, whatever the type.
    let hash_of_text = redactor(configs[2]).redact_scalar("pin", ScalarRef::Str("42"));
    assert!(matches!(
        &hash_of_42,
        AttributeVerdict::Replace { value: Value::Str(hash), redactions: 1 } if hash.starts_with("h:")
    ));
    assert_eq!(hash_of_42, hash_of_text);
}
