"""The componentize-py glue, run natively against the real generated bindings:
`componentize-py bindings` writes the `wit_world` package the component would see
(pure Python), and the glue module is pointed at it as if it ran inside a component.
Skipped when componentize-py is not installed (scripts/toolchain-python.sh)."""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import spangate_plugin as sp
from spangate_plugin import (
    AttributeSelection,
    ConfigError,
    Decisions,
    Edits,
    Needs,
    PluginError,
    SamplerNeeds,
    SpanBatch,
    SpanFields,
    TailSettings,
    component,
    decode_records,
    host,
    parse_config,
)
from spangate_plugin.testing import TestSpan, encode

WIT = Path(__file__).resolve().parents[3] / "wit"


def _componentize_py() -> str:
    found = shutil.which("componentize-py")
    if found:
        return found
    cache = os.environ.get("SPANGATE_CACHE") or os.path.expanduser("~/.cache/spangate")
    candidate = Path(cache) / "toolchains" / "python" / "bin" / "componentize-py"
    return str(candidate) if candidate.exists() else ""


class FakeHost:
    def __init__(self) -> None:
        self.lines: List[Tuple[Any, str]] = []

    def log(self, level: Any, message: str) -> None:
        self.lines.append((level, message))

    def now_unix_nanos(self) -> int:
        return 7


@pytest.fixture(scope="module")
def bindings(tmp_path_factory):
    tool = _componentize_py()
    if not tool or not WIT.is_dir():
        pytest.skip("componentize-py (scripts/toolchain-python.sh) or wit/ not found")
    out = tmp_path_factory.mktemp("bindings")
    subprocess.run(
        [tool, "-d", str(WIT), "-w", "processor-plugin", "bindings", str(out)],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(out))
    try:
        types = importlib.import_module("wit_world.imports.types")
        err = importlib.import_module("componentize_py_types").Err
        yield types, err
    finally:
        sys.path.remove(str(out))
        for name in list(sys.modules):
            if name.startswith(("wit_world", "componentize_py")):
                del sys.modules[name]


@pytest.fixture
def wasm_like(bindings, monkeypatch):
    """The glue and host modules as inside a component."""
    types, err = bindings
    fake = FakeHost()
    monkeypatch.setattr(component, "_types", types)
    monkeypatch.setattr(component, "_Err", err)
    monkeypatch.setattr(host, "_wit_host", fake)
    monkeypatch.setattr(host, "_wit_levels", tuple(types.LogLevel))
    return types, err, fake


class Plugin(sp.Processor):
    def __init__(self, config: str) -> None:
        super().__init__(config)
        self.mode = parse_config(config, Mode).mode

    def needs(self) -> Needs:
        return Needs(
            "glue",
            "2.0",
            fields=SpanFields.NAME | SpanFields.TIMES,
            span_attributes=AttributeSelection.keys(["k"]),
            resource_attributes=AttributeSelection.ALL_STRINGS,
            event_attributes=AttributeSelection.ALL,
        )

    def process(self, batch: SpanBatch, edits: Edits) -> None:
        sp.host.info(f"now {sp.now_unix_nanos()}")
        for span in batch:
            if self.mode == "raise":
                raise ValueError("boom")
            if self.mode == "refuse":
                raise PluginError("refused")
            if self.mode == "undeclared":
                span.status
            edits.set_name(span.index, span.name + "!")


from dataclasses import dataclass  # noqa: E402


@dataclass
class Mode:
    mode: str = "ok"


def _batch(types: Any, spans: List[TestSpan], needs: Needs) -> Any:
    encoding = encode(spans, needs)
    return types.SpanBatch(encoding.length, encoding.columns, encoding.strings)


def test_init_answers_the_wit_needs(wasm_like) -> None:
    types, _, _ = wasm_like
    exported = component.export_processor(Plugin)
    assert exported.__name__ == "Processor" and exported.plugin_class is Plugin
    needs = exported().init("")
    assert isinstance(needs, types.Needs)
    assert (needs.name, needs.version) == ("glue", "2.0")
    assert needs.fields == types.SpanFields.NAME | types.SpanFields.TIMES
    assert needs.span_attributes == types.AttributeSelection_Keys(["k"])
    assert needs.resource_attributes == types.AttributeSelection_AllStrings()
    assert needs.event_attributes == types.AttributeSelection_All()
    assert needs.link_attributes == types.AttributeSelection_None_()
    every = component.wit_needs(Needs("x", "y", fields=SpanFields(2047)))
    assert every.fields == types.SpanFields(2047)
    assert all(flag in every.fields for flag in types.SpanFields)


def test_process_answers_edit_buffers_and_state_is_shared(wasm_like) -> None:
    types, _, fake = wasm_like
    exported = component.export_processor(Plugin)
    exported().init("")
    needs = Plugin("").needs()
    # componentize-py may create the class again per call: the state is shared.
    answer = exported().process(_batch(types, [TestSpan(1, 1).named("a")], needs))
    assert isinstance(answer, types.Edits)
    assert [r.describe() for r in decode_records(answer.records, answer.strings)] == [
        "set-name span 0"
    ]
    assert fake.lines == [(types.LogLevel.INFO, "now 7")]
    again = exported().process(_batch(types, [TestSpan(1, 1).named("b")], needs))
    assert list(decode_records(again.records, again.strings))[0].value == "b!"


def test_an_exception_is_logged_with_its_traceback_then_the_call_fails(wasm_like) -> None:
    types, err, fake = wasm_like
    exported = component.export_processor(Plugin)
    exported().init('{"mode": "raise"}')
    with pytest.raises(err) as failed:
        exported().process(_batch(types, [TestSpan(1, 1)], Plugin("").needs()))
    assert failed.value.value == "process: ValueError: boom"
    level, message = fake.lines[-1]
    assert level == types.LogLevel.ERROR
    assert message.startswith("process raised an exception:\nTraceback (most recent call last):")
    assert 'in process\n    raise ValueError("boom")' in message
    assert message.endswith("ValueError: boom")


def test_inside_the_component_undeclared_fields_read_as_defaults(wasm_like) -> None:
    # As in the Rust SDK: the strict check is the native harness's; in the gateway an
    # undeclared column arrives empty and reads as its default.
    types, err, fake = wasm_like
    exported = component.export_processor(Plugin)
    exported().init('{"mode": "undeclared"}')
    answer = exported().process(_batch(types, [TestSpan(1, 1).named("a")], Plugin("").needs()))
    assert [r.value for r in decode_records(answer.records, answer.strings)] == ["a!"]


def test_plugin_errors_fail_the_call_without_a_traceback(wasm_like) -> None:
    types, err, fake = wasm_like
    exported = component.export_processor(Plugin)
    exported().init('{"mode": "refuse"}')
    with pytest.raises(err) as failed:
        exported().process(_batch(types, [TestSpan(1, 1)], Plugin("").needs()))
    assert failed.value.value == "refused"
    assert [level for level, _ in fake.lines] == [types.LogLevel.INFO]


def test_init_failures_and_calls_before_init(wasm_like) -> None:
    types, err, fake = wasm_like
    exported = component.export_processor(Plugin)
    with pytest.raises(err) as failed:
        exported().process(types.SpanBatch(0, bytes(288), b""))
    assert failed.value.value == "not initialised"
    with pytest.raises(err) as failed:
        exported().init('{"mode": 1}')
    assert failed.value.value == "mode: invalid type: integer `1`, expected a string"
    assert fake.lines == []

    class Broken(Plugin):
        def needs(self) -> Needs:
            raise KeyError("oops")

    with pytest.raises(err) as failed:
        component.export_processor(Broken)().init("")
    assert failed.value.value == "init: KeyError: 'oops'"
    assert fake.lines[0][1].startswith("init raised an exception:\nTraceback")


def test_export_checks_the_class() -> None:
    with pytest.raises(TypeError, match="subclass of spangate_plugin.Processor"):
        component.export_processor(object)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="subclass of spangate_plugin.Sampler"):
        component.export_sampler(Plugin)  # type: ignore[arg-type]


class Sampler(sp.Sampler):
    def needs(self) -> SamplerNeeds:
        return SamplerNeeds(Needs("s", "1", fields=SpanFields.TRACE_ID), TailSettings(500, 10, 20))

    def sample_head(self, batch: SpanBatch, decisions: Decisions) -> None:
        for span in batch:
            decisions.decide(span.index % 2 == 0, "even")

    def sample_tail(self, batch: SpanBatch, decisions: Decisions) -> None:
        for _ in batch.trace_ids_in_order():
            decisions.keep("tail")


def test_sampler_glue(wasm_like) -> None:
    types, err, _ = wasm_like
    exported = component.export_sampler(Sampler)
    assert exported.__name__ == "Sampler"
    needs = exported().init("")
    assert needs.tail == types.TailSettings(500, 10, 20)
    assert needs.needs.fields == types.SpanFields.TRACE_ID
    spans = [TestSpan(1, 1), TestSpan(2, 2), TestSpan(1, 3)]
    batch = _batch(types, spans, Sampler("").needs().needs)
    assert exported().sample_head(batch) == types.Decisions([1, 0, 1], ["even"])
    assert exported().sample_tail(batch) == types.Decisions([1, 1], ["tail"])

    class HeadOnly(sp.Sampler):
        def needs(self) -> Needs:
            return Needs("h", "1")

        def sample_head(self, batch: SpanBatch, decisions: Decisions) -> None:
            pass

    head_only = component.export_sampler(HeadOnly)
    assert head_only().init("").tail is None
    with pytest.raises(err) as failed:
        head_only().sample_tail(types.SpanBatch(0, bytes(288), b""))
    assert failed.value.value == "this sampler does not tail-sample"


class Metrics(sp.Metrics):
    def needs(self) -> Needs:
        return Needs("m", "1", fields=SpanFields.NAME)

    def observe(self, batch: SpanBatch) -> None:
        for span in batch:
            if span.name == "bad":
                raise RuntimeError("bad span")

    def collect(self, now_unix_nanos: int) -> List[sp.MetricPoint]:
        if now_unix_nanos == 0:
            raise RuntimeError("no clock")
        exemplar = sp.Exemplar(bytes(range(16)), bytes(range(8)), 1.5, now_unix_nanos)
        return [
            sp.MetricPoint("c", sp.Counter(2), [("a", "b")], "help"),
            sp.MetricPoint("g", sp.Gauge(-1)),
            sp.MetricPoint("h", sp.Histogram([1, 5], [1, 3], 7.5, 4), exemplar=exemplar),
        ]


def test_metrics_glue(wasm_like) -> None:
    types, err, fake = wasm_like
    exported = component.export_metrics(Metrics)
    assert exported().collect(5) == []  # before init
    exported().init("")
    needs = Metrics("").needs()
    assert exported().observe(_batch(types, [TestSpan(1, 1).named("ok")], needs)) is None
    with pytest.raises(err, match="observe: RuntimeError: bad span"):
        exported().observe(_batch(types, [TestSpan(1, 1).named("bad")], needs))
    counter, gauge, histogram = exported().collect(9)
    assert counter == types.MetricPoint("c", "help", [("a", "b")], types.MetricValue_Counter(2.0), None)
    assert gauge.value == types.MetricValue_Gauge(-1.0)
    assert histogram.value == types.MetricValue_Histogram(types.HistogramValue([1.0, 5.0], [1, 3], 7.5, 4))
    assert histogram.exemplar == types.Exemplar(
        0x0001020304050607, 0x08090A0B0C0D0E0F, 0x0001020304050607, 1.5, 9
    )
    fake.lines.clear()
    assert exported().collect(0) == []
    assert fake.lines[0][1].startswith("collect raised an exception")
