"""Native tests of every rule of the reference plugin (no wasm, no gateway): the
harness encodes the test spans as the gateway would for the plugin's needs, runs
`process`, and applies the edits with the gateway's checks."""

import pytest

from app import Reference
from spangate_plugin import AttributeSelection, ConfigError, Json, SpanFields, StatusCode
from spangate_plugin.testing import ProcessorHarness, TestSpan

MS = 1_000_000
T0 = 1_764_000_000_000_000_000


def harness(config: str = "") -> ProcessorHarness[Reference]:
    return ProcessorHarness(Reference, config)


def span(span_id: int, name: str = "op", millis: float = 1) -> TestSpan:
    return TestSpan(7, span_id).named(name).service("shop").times(T0, T0 + int(millis * MS))


# --- config ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "  ", "{}"])
def test_every_key_is_optional(text: str) -> None:
    config = harness(text).plugin.config
    assert (config.mask_keys, config.slow_ms, config.drop_name) == ([], 1000, "")


def test_needs_declare_exactly_what_is_read() -> None:
    needs = harness('{"mask_keys": ["user.email", "card"]}').needs
    assert (needs.name, needs.version) == ("reference", "1.0.0")
    assert needs.fields == (
        SpanFields.NAME | SpanFields.SERVICE_NAME | SpanFields.TIMES | SpanFields.STATUS
    )
    assert needs.span_attributes == AttributeSelection.keys(["user.email", "card"])
    assert needs.resource_attributes.is_none and needs.event_attributes.is_none
    assert needs.link_attributes.is_none
    # No mask keys: still a (empty) key selection, which allows adding attributes.
    assert harness().needs.span_attributes == AttributeSelection.keys([])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"mask_key": []}', "mask_key: unknown key"),
        ('{"mask_keys": "user.email"}', 'mask_keys: invalid type: string "user.email", expected a list'),
        ('{"mask_keys": ["a", 3]}', "mask_keys[1]: invalid type: integer `3`, expected a string"),
        ('{"slow_ms": "1s"}', 'slow_ms: invalid type: string "1s", expected an integer'),
        ('{"slow_ms": -1}', "slow_ms: invalid value: integer `-1`, expected a number in 0..="),
        ('{"slow_ms": 1.5}', "slow_ms: invalid type: floating point `1.5`, expected an integer"),
        ('{"slow_ms": true}', "slow_ms: invalid type: boolean `true`, expected an integer"),
        ('{"drop_name": null}', "drop_name: invalid type: null, expected a string"),
        ("[]", "config: invalid type: a list, expected an object"),
        ("{", "config is not valid JSON"),
    ],
)
def test_bad_config_is_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        harness(text)
    assert str(refused.value).startswith(message), str(refused.value)


# --- drop -----------------------------------------------------------------------


def test_a_span_named_drop_name_is_dropped_and_nothing_else_happens_to_it() -> None:
    h = harness('{"drop_name": "GET /healthz", "mask_keys": ["k"], "slow_ms": 0}')
    healthz = (
        span(1, "GET /healthz", millis=5000).with_status(StatusCode.ERROR).attr("k", "secret")
    )
    edits = list(h.edits([healthz, span(2, "GET /cart")]))
    assert [e.describe() for e in edits if e.target == 0] == ["drop-span span 0"]
    out = h.process([healthz, span(2, "GET /cart")])
    assert [s.span_id for s in out] == [2]


def test_drop_name_matches_exactly() -> None:
    out = harness('{"drop_name": "GET /healthz"}').process(
        [span(1, "GET /healthz/deep"), span(2, "get /healthz"), span(3, "GET /healthz")]
    )
    assert [s.span_id for s in out] == [1, 2]


def test_an_empty_drop_name_drops_nothing_not_even_unnamed_spans() -> None:
    out = harness('{"drop_name": ""}').process([span(1, ""), span(2, "x")])
    assert [s.span_id for s in out] == [1, 2]


# --- masking --------------------------------------------------------------------


def test_string_values_of_mask_keys_are_masked_with_their_utf8_length() -> None:
    h = harness('{"mask_keys": ["user.email", "card"]}')
    (out,) = h.process(
        [
            span(1)
            .attr("user.email", "ada@example.com")
            .attr("card", "4111 1111")
            .attr("note", "not masked")
        ]
    )
    assert out.attributes == [
        ("user.email", "<masked:15>"),
        ("card", "<masked:9>"),
        ("note", "not masked"),
    ]


@pytest.mark.parametrize(
    ("value", "masked"),
    [("", "<masked:0>"), ("é", "<masked:2>"), ("日本", "<masked:6>"), ("🙂x", "<masked:5>")],
)
def test_the_length_is_in_utf8_bytes(value: str, masked: str) -> None:
    (out,) = harness('{"mask_keys": ["k"]}').process([span(1).attr("k", value)])
    assert out.attributes == [("k", masked)]


def test_non_string_values_of_mask_keys_are_left_alone() -> None:
    h = harness('{"mask_keys": ["k"]}')
    spans = [
        span(1).attr("k", 42),
        span(2).attr("k", True),
        span(3).attr("k", 2.5),
        span(4).attr("k", Json('["a","b"]')),
    ]
    assert list(h.edits(spans)) == []
    assert [s.attributes for s in h.process(spans)] == [s.attributes for s in spans]


def test_every_row_of_a_repeated_key_is_masked() -> None:
    (out,) = harness('{"mask_keys": ["k"]}').process([span(1).attr("k", "ab").attr("k", "abc")])
    assert out.attributes == [("k", "<masked:2>"), ("k", "<masked:3>")]


def test_without_mask_keys_nothing_is_masked() -> None:
    (out,) = harness().process([span(1).attr("user.email", "ada@example.com")])
    assert out.attributes == [("user.email", "ada@example.com")]


# --- slow spans -----------------------------------------------------------------


def test_spans_at_or_past_slow_ms_get_ref_slow_and_whole_milliseconds() -> None:
    h = harness('{"slow_ms": 250}')
    fast, exact, slow = h.process(
        [
            TestSpan(7, 1).times(T0, T0 + 250 * MS - 1),
            TestSpan(7, 2).times(T0, T0 + 250 * MS),
            TestSpan(7, 3).times(T0, T0 + 1999 * MS + 999_999),
        ]
    )
    assert fast.attributes == []
    assert exact.attributes == [("ref.slow", True), ("ref.duration_ms", 250)]
    assert slow.attributes == [("ref.slow", True), ("ref.duration_ms", 1999)]


def test_the_default_threshold_is_one_second() -> None:
    under, at = harness().process([span(1, millis=999.999999), span(2, millis=1000)])
    assert under.attributes == []
    assert at.attributes == [("ref.slow", True), ("ref.duration_ms", 1000)]


def test_an_end_before_the_start_counts_as_zero() -> None:
    backwards = TestSpan(7, 1).times(T0, T0 - 5000 * MS)
    (out,) = harness('{"slow_ms": 1}').process([backwards])
    assert out.attributes == []
    (out,) = harness('{"slow_ms": 0}').process([backwards])
    assert out.attributes == [("ref.slow", True), ("ref.duration_ms", 0)]


def test_slow_ms_zero_tags_every_span() -> None:
    out = harness('{"slow_ms": 0}').process([span(1, millis=0), span(2, millis=0.5)])
    assert [s.attributes for s in out] == [
        [("ref.slow", True), ("ref.duration_ms", 0)],
        [("ref.slow", True), ("ref.duration_ms", 0)],
    ]


def test_existing_ref_attributes_are_replaced_not_duplicated() -> None:
    (out,) = harness('{"slow_ms": 1}').process(
        [span(1, millis=3).attr("ref.duration_ms", "old").attr("ref.slow", False).attr("x", 1)]
    )
    assert out.attributes == [("ref.duration_ms", 3), ("ref.slow", True), ("x", 1)]


# --- error spans ----------------------------------------------------------------


def test_error_spans_are_renamed_with_their_service() -> None:
    out = harness().process(
        [
            span(1, "charge").with_status(StatusCode.ERROR, "card declined"),
            span(2, "charge").service("").with_status(StatusCode.ERROR),
            span(3, "charge").with_status(StatusCode.OK),
            span(4, "charge"),
        ]
    )
    assert [s.name for s in out] == ["shop: charge", "unknown: charge", "charge", "charge"]


# --- all together ---------------------------------------------------------------


def test_rules_apply_in_order_per_span_in_batch_order() -> None:
    h = harness('{"mask_keys": ["user.email"], "slow_ms": 100, "drop_name": "GET /healthz"}')
    spans = [
        span(1, "GET /healthz"),
        span(2, "checkout", millis=150)
        .with_status(StatusCode.ERROR)
        .attr("user.email", "ada@example.com"),
        span(3, "list", millis=5).service("").attr("user.email", 7),
    ]
    assert [e.describe() for e in h.edits(spans)] == [
        "drop-span span 0",
        "set-span-attribute row 0",
        "add-span-attribute span 1 key 'ref.slow'",
        "add-span-attribute span 1 key 'ref.duration_ms'",
        "set-name span 1",
    ]
    checkout, listing = h.process(spans)
    assert checkout.name == "shop: checkout"
    assert checkout.attributes == [
        ("user.email", "<masked:15>"),
        ("ref.slow", True),
        ("ref.duration_ms", 150),
    ]
    assert listing == spans[2]


def test_an_empty_batch_has_no_edits() -> None:
    assert list(harness().edits([])) == []
