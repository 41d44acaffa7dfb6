from typing import List

import pytest

import spangate_plugin as sp
from spangate_plugin import (
    AttributeSelection,
    Counter,
    Decisions,
    Edits,
    LogLevel,
    MetricPoint,
    Needs,
    SamplerNeeds,
    SpanBatch,
    SpanFields,
    TailSettings,
    UndeclaredError,
)
from spangate_plugin.testing import (
    EditError,
    MetricsHarness,
    ProcessorHarness,
    SamplerHarness,
    TestSpan,
    apply_decisions,
    apply_edits,
    set_now,
    take_logs,
)

EVERY_ATTRIBUTE = Needs(
    "t",
    "1",
    fields=SpanFields.NAME | SpanFields.STATUS_MESSAGE | SpanFields.EVENT_NAMES,
    span_attributes=AttributeSelection.ALL,
    resource_attributes=AttributeSelection.ALL,
    event_attributes=AttributeSelection.ALL,
    link_attributes=AttributeSelection.ALL,
)

SPANS = [
    TestSpan(1, 1)
    .named("a")
    .attr("x", 1)
    .attr("y", "two")
    .resource_attr("r", "shared")
    .event("e0", {"ek": 1})
    .link({"lk": "l"}),
    TestSpan(1, 2).named("b").attr("z", True).resource_attr("r", "shared").event("e1"),
    TestSpan(1, 3).named("c"),
]


def edits(build) -> Edits:
    out = Edits()
    build(out)
    return out


def test_edits_are_applied_like_the_host() -> None:
    def build(e: Edits) -> None:
        e.set_span_attribute(0, "one")
        e.remove_span_attribute(1)
        e.add_span_attribute(0, "y", "re-added")  # removal first, then the add appends
        e.add_span_attribute(1, "z", False)  # an existing key's value is replaced
        e.set_resource_attribute(0, "changed")  # both spans share the resource
        e.set_event_attribute(0, 2)
        e.set_event_name(1, "renamed")
        e.remove_link_attribute(0)
        e.set_name(2, "C")
        e.set_status_message(2, "msg")
        e.drop_span(1)

    a, c = apply_edits(SPANS, EVERY_ATTRIBUTE, edits(build))
    assert a.attributes == [("x", "one"), ("y", "re-added")]
    assert a.resource_attributes == [("r", "changed")]
    assert a.events[0].attributes == [("ek", 2)]
    assert a.links[0].attributes == []
    assert (c.name, c.status_message) == ("C", "msg")
    # The inputs are untouched.
    assert SPANS[0].attributes == [("x", 1), ("y", "two")]


def test_a_resource_edit_reaches_every_span_of_the_resource() -> None:
    out = apply_edits(SPANS, EVERY_ATTRIBUTE, edits(lambda e: e.remove_resource_attribute(0)))
    assert [s.resource_attributes for s in out] == [[], [], []]
    out = apply_edits(SPANS, EVERY_ATTRIBUTE, edits(lambda e: e.set_event_name(1, "x")))
    assert [e.name for e in out[1].events] == ["x"]


@pytest.mark.parametrize(
    ("build", "needs", "message"),
    [
        (lambda e: e.set_name(3, "x"), EVERY_ATTRIBUTE, "edit 0 (set-name span 3): out of range: the batch has 3 spans"),
        (lambda e: e.set_span_attribute(3, 1), EVERY_ATTRIBUTE, "edit 0 (set-span-attribute row 3): out of range: the batch has 3 span attribute rows"),
        (lambda e: e.set_resource_attribute(1, 1), EVERY_ATTRIBUTE, "out of range: the batch has 1 resource attribute rows"),
        (lambda e: e.set_event_name(2, "x"), EVERY_ATTRIBUTE, "out of range: the batch has 2 events"),
        (lambda e: e.remove_link_attribute(1), EVERY_ATTRIBUTE, "out of range: the batch has 1 link attribute rows"),
        (lambda e: e.set_status_message(0, "x"), Needs("t", "1"), "field `status-message` was not declared in needs"),
        (lambda e: e.set_name(0, "x"), Needs("t", "1"), "field `name` was not declared in needs"),
        (lambda e: e.set_event_name(0, "x"), Needs("t", "1"), "field `event-names` was not declared"),
        (lambda e: e.add_span_attribute(0, "k", 1), Needs("t", "1"), "no span attributes were declared in needs"),
        (lambda e: e.set_event_attribute(0, 1), Needs("t", "1"), "no event attributes were declared"),
        (lambda e: (e.drop_span(0), e.drop_span(3)), Needs("t", "1"), "edit 1 (drop-span span 3): out of range"),
        (lambda e: (e.set_span_attribute(0, 1), e.remove_span_attribute(0)), EVERY_ATTRIBUTE, "edit 0 (set-span-attribute row 0): span attribute row 0 is both set and removed"),
    ],
)
def test_edits_the_host_refuses_fail_whole(build, needs: Needs, message: str) -> None:
    with pytest.raises(EditError) as refused:
        apply_edits(SPANS, needs, edits(build))
    assert message in str(refused.value)


def test_adding_needs_only_an_empty_key_selection() -> None:
    needs = Needs("t", "1", span_attributes=AttributeSelection.keys([]))
    (out,) = apply_edits(SPANS[2:], needs, edits(lambda e: e.add_span_attribute(0, "k", 1)))
    assert out.attributes == [("k", 1)]


def test_raw_buffers_and_records_are_accepted() -> None:
    answer = edits(lambda e: e.set_name(0, "x"))
    for form in (answer, (answer.records, answer.strings), list(answer)):
        assert apply_edits(SPANS, EVERY_ATTRIBUTE, form)[0].name == "x"
    with pytest.raises(EditError, match="malformed edits"):
        apply_edits(SPANS, EVERY_ATTRIBUTE, (bytes(23), b""))


class Renamer(sp.Processor):
    def needs(self) -> Needs:
        return Needs("renamer", "1", fields=SpanFields.NAME)

    def process(self, batch: SpanBatch, edits: Edits) -> None:
        sp.log(LogLevel.DEBUG, f"batch of {len(batch)} at {sp.now_unix_nanos()}")
        for span in batch:
            edits.set_name(span.index, span.name.upper())
            if span.name == "peek":
                span.kind


def test_the_processor_harness_runs_the_plugin() -> None:
    set_now(42)
    try:
        harness = ProcessorHarness(Renamer)
        assert [s.name for s in harness.process(SPANS)] == ["A", "B", "C"]
        assert take_logs() == [(LogLevel.DEBUG, "batch of 3 at 42")]
        assert take_logs() == []
        with pytest.raises(UndeclaredError, match="`kind`"):
            harness.process([TestSpan(1, 1).named("peek")])
    finally:
        set_now(None)
    assert sp.now_unix_nanos() > 1_600_000_000_000_000_000


class Head(sp.Sampler):
    def needs(self) -> SamplerNeeds:
        return SamplerNeeds(
            Needs("head", "1", fields=SpanFields.NAME | SpanFields.TRACE_ID),
            TailSettings(decision_wait_millis=1000),
        )

    def sample_head(self, batch: SpanBatch, decisions: Decisions) -> None:
        for span in batch:
            if span.name == "short":
                return
            decisions.decide(span.name != "noise", "default")

    def sample_tail(self, batch: SpanBatch, decisions: Decisions) -> None:
        for index, _ in enumerate(batch.trace_ids_in_order()):
            if index % 2:
                decisions.drop()
            else:
                decisions.keep("even")


def test_the_sampler_harness_checks_lengths() -> None:
    harness = SamplerHarness(Head)
    assert harness.sampler_needs.tail == TailSettings(1000)
    spans = [TestSpan(1, 1).named("a"), TestSpan(2, 2).named("noise"), TestSpan(1, 3).named("b")]
    assert harness.sample_head(spans) == ["default", None, "default"]
    with pytest.raises(EditError, match="sample_head returned 0 decisions for 1 spans"):
        harness.sample_head([TestSpan(1, 1).named("short")])
    assert harness.sample_tail(spans + [TestSpan(3, 4)]) == [(1, "even"), (2, None), (3, "even")]
    assert [s.span_id for s in apply_decisions(spans, [1, 0, 2])] == [1, 3]


def test_decisions_number_policies_in_first_use_order() -> None:
    decisions = Decisions()
    decisions.keep("b")
    decisions.drop()
    decisions.keep("a")
    decisions.keep("b")
    decisions.keep()
    assert decisions.verdicts == [1, 0, 2, 1, 3]
    assert decisions.policies == ["b", "a", ""]
    assert [decisions.kept(i) for i in range(5)] == ["b", None, "a", "b", ""]


class Count(sp.Metrics):
    def __init__(self, config: str) -> None:
        super().__init__(config)
        self.spans = 0

    def needs(self) -> Needs:
        return Needs("count", "1")

    def observe(self, batch: SpanBatch) -> None:
        self.spans += len(batch)

    def collect(self, now_unix_nanos: int) -> List[MetricPoint]:
        return [MetricPoint("spans_total", Counter(self.spans), [("k", "v")])]


def test_the_metrics_harness_observes_and_collects() -> None:
    harness = MetricsHarness(Count)
    harness.observe(SPANS)
    harness.observe(SPANS[:1])
    assert harness.collect() == [MetricPoint("spans_total", Counter(4), [("k", "v")])]


def test_needs_must_be_needs() -> None:
    class Wrong(Renamer):
        def needs(self):  # type: ignore[override]
            return {"name": "x"}

    with pytest.raises(TypeError, match="needs\\(\\) must return a Needs"):
        ProcessorHarness(Wrong)
