//! Property tests of the public API: no input panics, no generated secret survives, and
//! redaction is idempotent.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use proptest::prelude::*;
use spangate_plugin_redaction::{AttributeVerdict, Redactor, Span, Value};

const ALL_BUILTINS: &str = r#"["credit_card", "email", "bearer_token", "ipv4", "ipv6",
    {"name": "employee", "regex": "EMP-[0-9]{4,8}"}, {"name": "greedy", "regex": "sec(ret)+"}]"#;

fn masking() -> Redactor {
    Redactor::from_json(&format!(
        r#"{{"value_patterns": {ALL_BUILTINS}, "blocked_keys": ["password", "*.token"]}}"#
    ))
    .unwrap()
}

fn hashing() -> Redactor {
    Redactor::from_json(&format!(
        r#"{{"value_patterns": {ALL_BUILTINS}, "blocked_keys": ["/^(?i)pass/"], "action": "hash",
            "hash_key": "property-test-key-0123456789"}}"#
    ))
    .unwrap()
}

fn luhn_check_digit(body: &[u8]) -> u8 {
    // The digit that makes body + digit pass: double every second digit from the right of
    // the final number, i.e. starting with the last digit of the body.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let value = u32::from(digit);
            if position % 2 == 0 {
                let doubled = value * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                value
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn card_number() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(0u8..10, 12..19),
        prop::sample::select(vec!["", " ", "-"]),
    )
        .prop_map(|(mut digits, separator)| {
            let check = luhn_check_digit(&digits);
            digits.push(check);
            let text: String = digits
                .iter()
                .map(|digit| char::from(b'0' + digit))
                .collect();
            let groups: Vec<&str> = text
                .as_bytes()
                .chunks(4)
                .map(|chunk| std::str::from_utf8(chunk).unwrap())
                .collect();
            groups.join(separator)
        })
}

fn email() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._+-]{0,10}@[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}\\.[a-z]{2,5}"
}

fn bearer_token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_~+/-]{8,40}"
}

fn jwt() -> impl Strategy<Value = String> {
    "eyJ[A-Za-z0-9_-]{10,30}\\.[A-Za-z0-9_-]{2,30}\\.[A-Za-z0-9_-]{0,30}"
}

fn ipv4() -> impl Strategy<Value = String> {
    any::<[u8; 4]>().prop_map(|octets| std::net::Ipv4Addr::from(octets).to_string())
}

fn ipv6() -> impl Strategy<Value = String> {
    prop::array::uniform8(prop_oneof![Just(0u16), any::<u16>()])
        .prop_map(|groups| std::net::Ipv6Addr::from(groups).to_string())
        // Documented heuristic: without a decimal digit an address needs three groups.
        .prop_filter("plausible ipv6", |text| {
            text.bytes().any(|byte| byte.is_ascii_digit())
                || text.split(':').filter(|group| !group.is_empty()).count() >= 3
        })
}

/// A secret and the text it is embedded as (bearer tokens need their scheme).
fn secret() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        card_number().prop_map(|card| (card.clone(), card)),
        email().prop_map(|email| (email.clone(), email)),
        bearer_token().prop_map(|token| (token.clone(), format!("Bearer {token}"))),
        jwt().prop_map(|jwt| (jwt.clone(), jwt)),
        ipv4().prop_map(|ip| (ip.clone(), ip)),
        ipv6().prop_map(|ip| (ip.clone(), ip)),
        "EMP-[0-9]{4,8}".prop_map(|id| (id.clone(), id)),
    ]
}

fn filler() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,24}", "\\PC{0,12}", "[0-9 .:@-]{0,16}"]
}

fn arbitrary_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        filler().prop_map(Value::Str),
        secret().prop_map(|(_, text)| Value::Str(text)),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Double),
        any::<bool>().prop_map(Value::Bool),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z.]{1,8}|password|a.token", inner), 0..4)
                .prop_map(Value::KvList),
        ]
    })
}

fn arbitrary_span() -> impl Strategy<Value = Span> {
    let attributes = || {
        prop::collection::vec(
            ("[a-z.]{1,10}|password|x.token|passcode", arbitrary_value()),
            0..5,
        )
    };
    (filler(), filler(), attributes(), attributes(), attributes()).prop_map(
        |(name, status_message, attributes, event_attributes, resource_attributes)| Span {
            name,
            status_message,
            attributes,
            events: vec![spangate_plugin_redaction::Event {
                name: "e".into(),
                attributes: event_attributes,
            }],
            links: Vec::new(),
            resource_attributes,
        },
    )
}

fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

proptest! {
    #[test]
    fn no_panic_on_any_text(text in "\\PC*|[ -~]*|[0-9 .:@-]*") {
        for redactor in [masking(), hashing()] {
            let _ = redactor.redact_text(&text);
            let _ = redactor.check_key(&text);
            let _ = redactor.redact_attribute(&text, &Value::Str(text.clone()));
        }
    }

    #[test]
    fn no_panic_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = masking().redact_attribute("body", &Value::Bytes(bytes));
    }

    #[test]
    fn embedded_secrets_never_survive(
        prefix in filler(),
        (secret, embedded) in secret(),
        suffix in filler(),
    ) {
        let text = format!("{prefix} {embedded} {suffix}");
        for redactor in [masking(), hashing()] {
            let output = redactor.redact_text(&text).unwrap_or_else(|| text.clone());
            // The filler may hold the secret's text in a form that is not a secret ("x::1").
            let allowed = occurrences(&prefix, &secret) + occurrences(&suffix, &secret);
            prop_assert!(
                occurrences(&output, &secret) <= allowed,
                "secret {secret:?} survives in {output:?}"
            );
        }
    }

    #[test]
    fn text_redaction_is_idempotent(
        parts in prop::collection::vec(prop_oneof![filler(), secret().prop_map(|(_, text)| text)], 0..5),
    ) {
        let text = parts.join(" ");
        for redactor in [masking(), hashing()] {
            if let Some(once) = redactor.redact_text(&text) {
                prop_assert_eq!(redactor.redact_text(&once), None, "second pass changed {:?}", once);
            }
        }
    }

    #[test]
    fn span_redaction_is_idempotent(span in arbitrary_span()) {
        for redactor in [masking(), hashing()] {
            let mut redacted = span.clone();
            let first = redactor.redact_span(&mut redacted);
            let after_first = redacted.clone();
            prop_assert_eq!(redactor.redact_span(&mut redacted), 0);
            prop_assert_eq!(&redacted, &after_first);
            prop_assert_eq!(first == 0, after_first == span, "count and change disagree");
        }
    }

    #[test]
    fn allow_mode_is_the_complement_of_block_mode(
        key in "[a-z.]{0,12}|password|db\\.secret|x-api-key|X-API-KEY",
    ) {
        let patterns = r#"["password", "*.secret", "/^(?i)x-api-key$/", "db.?tmt"]"#;
        let blocking = Redactor::from_json(&format!(r#"{{"blocked_keys": {patterns}}}"#)).unwrap();
        let allowing = Redactor::from_json(&format!(r#"{{"allowed_keys": {patterns}}}"#)).unwrap();
        prop_assert_ne!(blocking.check_key(&key).is_some(), allowing.check_key(&key).is_some());
    }

    #[test]
    fn keep_means_unchanged_values(key in "[a-z.]{1,8}", value in arbitrary_value()) {
        let redactor = masking();
        let mut attributes = vec![(key.clone(), value.clone())];
        let verdict = redactor.redact_attribute(&key, &value);
        let count = redactor.redact_attributes(spangate_plugin_redaction::AttributeScope::Span, &mut attributes);
        prop_assert_eq!(count, verdict.redactions());
        match verdict {
            AttributeVerdict::Keep => prop_assert_eq!(&attributes, &vec![(key, value)]),
            AttributeVerdict::Remove => prop_assert!(attributes.is_empty()),
            AttributeVerdict::Replace { value: new_value, .. } => {
                prop_assert_ne!(&new_value, &value);
                prop_assert_eq!(&attributes, &vec![(key, new_value)]);
            }
        }
    }
}
