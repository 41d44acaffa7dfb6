import math

import pytest

from spangate_plugin import (
    AttributeSelection,
    Json,
    Needs,
    SpanBatch,
    SpanFields,
    SpanKind,
    StatusCode,
    UndeclaredError,
    abi,
)
from spangate_plugin.testing import TestSpan, encode, to_batch

ALL_FIELDS = SpanFields(sum(int(f) for f in SpanFields))
EVERYTHING = Needs(
    "t",
    "1",
    fields=ALL_FIELDS,
    span_attributes=AttributeSelection.ALL,
    resource_attributes=AttributeSelection.ALL,
    event_attributes=AttributeSelection.ALL,
    link_attributes=AttributeSelection.ALL,
)

FULL = (
    TestSpan(0x0102030405060708090A0B0C0D0E0F10, 0x1112131415161718)
    .parent(0x2122232425262728)
    .service("shop")
    .named("GET /cart")
    .with_kind(SpanKind.SERVER)
    .times(1_000, 5_000)
    .with_status(StatusCode.ERROR, "boom")
    .attr("s", "é")
    .attr("i", -(1 << 63))
    .attr("d", 2.5)
    .attr("b", True)
    .attr("j", Json('{"a":1}'))
    .resource_attr("service.name", "shop")
    .event("retry", {"attempt": 2})
    .event("gave up")
    .link([("peer", "x")])
)


def test_every_field_reads_back() -> None:
    other = TestSpan(0xFF, 2).service("db").named("select").times(10, 3)
    batch = to_batch([FULL, other], EVERYTHING)
    assert len(batch) == 2
    span, second = list(batch)
    assert span.index == 0 and second.index == 1
    assert span.trace_id == bytes(range(1, 17))
    assert span.trace_id.hex() == "0102030405060708090a0b0c0d0e0f10"
    assert span.span_id == bytes(range(0x11, 0x19))
    assert span.parent_span_id == bytes(range(0x21, 0x29))
    assert second.parent_span_id is None
    assert (span.service_name, second.service_name) == ("shop", "db")
    assert (span.name, second.name) == ("GET /cart", "select")
    assert span.kind is SpanKind.SERVER and second.kind is SpanKind.UNSPECIFIED
    assert (span.start_unix_nanos, span.end_unix_nanos, span.duration_nanos) == (1000, 5000, 4000)
    assert second.duration_nanos == 0  # end before start
    assert span.status is StatusCode.ERROR and span.status_message == "boom"
    assert span.size == FULL.estimated_size()
    assert list(span.attributes) == [
        (0, "s", "é"),
        (1, "i", -(1 << 63)),
        (2, "d", 2.5),
        (3, "b", True),
        (4, "j", Json('{"a":1}')),
    ]
    assert list(second.attributes) == []
    assert span.attributes.get("d") == 2.5 and span.attributes.get("zz") is None
    assert span.attributes.get_str("s") == "é" and span.attributes.get_str("j") is None
    assert "b" in span.attributes and span.attributes.find("b").row == 3
    assert span.attributes.to_dict()["i"] == -(1 << 63)
    assert list(span.resource_attributes) == [(0, "service.name", "shop")]
    assert span.resource_index == 0 and second.resource_index == 1
    events = span.events
    assert [(e.index, e.name) for e in events] == [(0, "retry"), (1, "gave up")]
    assert list(events[0].attributes) == [(0, "attempt", 2)]
    assert list(events[1].attributes) == []
    assert second.events == []
    (link,) = span.links
    assert link.index == 0 and list(link.attributes) == [(0, "peer", "x")]
    assert batch.trace_ids_in_order() == [FULL.trace_id.to_bytes(16, "big"), (0xFF).to_bytes(16, "big")]


def test_only_declared_columns_are_sent() -> None:
    needs = Needs("t", "1", fields=SpanFields.NAME)
    batch = to_batch([FULL], needs)
    present = [c for c in range(abi.COUNT) if batch.count(c)]
    assert present == [abi.NAME]


@pytest.mark.parametrize(
    ("read", "field"),
    [
        (lambda s: s.trace_id, "trace-id"),
        (lambda s: s.span_id, "span-id"),
        (lambda s: s.parent_span_id, "parent-span-id"),
        (lambda s: s.service_name, "service-name"),
        (lambda s: s.kind, "kind"),
        (lambda s: s.start_unix_nanos, "times"),
        (lambda s: s.end_unix_nanos, "times"),
        (lambda s: s.duration_nanos, "times"),
        (lambda s: s.status, "status"),
        (lambda s: s.status_message, "status-message"),
        (lambda s: s.size, "size"),
    ],
)
def test_reading_an_undeclared_field_names_it(read, field: str) -> None:
    (span,) = to_batch([FULL], Needs("t", "1", fields=SpanFields.NAME))
    with pytest.raises(UndeclaredError, match=f"span field `{field}` was not declared"):
        read(span)
    assert span.name == "GET /cart"


def test_reading_undeclared_attributes_and_events_names_them() -> None:
    (span,) = to_batch([FULL], Needs("t", "1"))
    for read, what in [
        (lambda: span.attributes, "span attributes"),
        (lambda: span.resource_attributes, "resource attributes"),
        (lambda: span.links, "link attributes"),
        (lambda: span.events, "events"),
    ]:
        with pytest.raises(UndeclaredError, match=what):
            read()
    (span,) = to_batch([FULL], Needs("t", "1", event_attributes=AttributeSelection.ALL))
    with pytest.raises(UndeclaredError, match="event-names"):
        span.events[0].name
    assert list(span.events[0].attributes) == [(0, "attempt", 2)]


def test_a_keys_selection_sends_those_keys_whatever_their_value() -> None:
    needs = Needs("t", "1", span_attributes=AttributeSelection.keys(["j", "i", "nope"]))
    (span,) = to_batch([FULL], needs)
    assert list(span.attributes) == [(0, "i", -(1 << 63)), (1, "j", Json('{"a":1}'))]
    assert span.attributes.get("nope") is None
    with pytest.raises(UndeclaredError, match="`s` is not among the keys declared"):
        span.attributes.get("s")


def test_all_strings_sends_only_string_values() -> None:
    needs = Needs("t", "1", span_attributes=AttributeSelection.ALL_STRINGS)
    (span,) = to_batch([FULL], needs)
    assert list(span.attributes) == [(0, "s", "é")]


def test_rows_are_global_across_spans_and_keys_are_a_dictionary() -> None:
    needs = Needs("t", "1", span_attributes=AttributeSelection.ALL)
    spans = [TestSpan(1, 1).attr("a", 1).attr("b", 2), TestSpan(1, 2).attr("b", 3).attr("a", 4)]
    batch = to_batch(spans, needs)
    assert [list(s.attributes) for s in batch] == [
        [(0, "a", 1), (1, "b", 2)],
        [(2, "b", 3), (3, "a", 4)],
    ]
    assert batch.count(abi.SPAN_ATTRIBUTES + abi.KEYS) == 2


def test_spans_share_a_resource_when_service_and_attributes_are_equal() -> None:
    needs = Needs("t", "1", resource_attributes=AttributeSelection.ALL)
    nan = TestSpan(1, 1).service("a").resource_attr("x", math.nan)
    spans = [
        nan,
        nan.named("again"),
        TestSpan(1, 3).service("b").resource_attr("x", math.nan),
        TestSpan(1, 4).service("a").resource_attr("x", 0.0),
        TestSpan(1, 5).service("a").resource_attr("x", -0.0),
    ]
    encoding = encode(spans, needs)
    assert encoding.resource_spans == [[0, 1], [2], [3], [4]]
    batch = encoding.batch(needs)
    assert [s.resource_index for s in batch] == [0, 0, 1, 2, 3]
    value = list(batch.span(1).resource_attributes)[0].value
    assert math.isnan(value)


def test_without_needs_absent_columns_read_as_defaults() -> None:
    encoding = encode([FULL], Needs("t", "1", fields=SpanFields.NAME))
    (span,) = SpanBatch(encoding.length, encoding.columns, encoding.strings)
    assert (span.name, span.service_name, span.kind, span.duration_nanos) == (
        "GET /cart",
        "",
        SpanKind.UNSPECIFIED,
        0,
    )
    assert list(span.attributes) == [] and span.events == [] and span.links == []
    assert span.trace_id == bytes(16) and span.parent_span_id is None


def test_column_access_for_column_wise_code() -> None:
    spans = [TestSpan(1, i).times(i, 10 * i) for i in range(1, 4)]
    batch = to_batch(spans, Needs("t", "1", fields=SpanFields.TIMES))
    assert list(batch.typed_column(abi.END, "Q")) == [10, 20, 30]
    assert len(batch.column(abi.START)) == 24
    with pytest.raises(IndexError):
        batch.span(3)


def test_a_reference_outside_the_arena_reads_as_empty() -> None:
    builder = abi.BatchBuilder()
    builder.push_u64(abi.NAME, abi.str_ref(2, 5))
    builder.strings += b"abc"
    (span,) = SpanBatch(1, builder.write_columns(), bytes(builder.strings))
    assert span.name == ""
