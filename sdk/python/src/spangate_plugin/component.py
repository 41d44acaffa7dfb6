"""The componentize-py glue: the classes componentize-py calls, wrapping a plugin class.

componentize-py looks in the app module for a class named after each exported
interface (``Processor``, ``Sampler``, ``Metrics``) whose methods take and return the
generated WIT types. ``export_processor(MyPlugin)`` builds that class, so a plugin's
``app.py`` ends with one registration line::

    Processor = export_processor(MyPlugin)

The generated ``wit_world`` bindings exist only while componentize-py builds the
component, so this module imports them only there (``sys.platform == "wasi"``):
natively the same app module imports fine and is tested with
:mod:`spangate_plugin.testing`.

Batches: the glue reads them as the gateway sends them, without the strict needs check
of the native harness (an undeclared field reads as its default, as in the Rust SDK):
the harness is where a forgotten declaration is caught.

Failures: a :class:`~spangate_plugin.PluginError` (``ConfigError`` included) becomes
``err(message)``. Any other exception is logged with its traceback at error level
through ``host.log``, then the call returns ``err("<where>: <Type>: <message>")``;
the gateway applies the plugin's ``on_error`` policy to the batch either way.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Callable, List, NoReturn, Optional, Type, Union

from . import host
from .batch import SpanBatch
from .edits import Edits
from .errors import PluginError
from .needs import AttributeSelection, Needs, SamplerNeeds
from .plugin import Counter, Decisions, Gauge, Histogram, MetricPoint, Metrics, Processor, Sampler

_LOG_LIMIT = 4000

if host.IN_WASM:  # pragma: no cover - only inside a component
    from componentize_py_types import Err as _Err  # type: ignore[import-not-found]
    from wit_world.imports import types as _types  # type: ignore[import-not-found]

    # Format one traceback now, while componentize-py builds the component: whatever
    # the traceback module imports lazily is then part of the snapshot (a component
    # cannot import later).
    try:
        {}.missing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as _warm:
        traceback.format_exception(_warm)
else:
    _types = None

    class _Err(Exception):  # type: ignore[no-redef]
        """Natively: what the glue raises for ``err(value)``."""

        def __init__(self, value: str) -> None:
            super().__init__(value)
            self.value = value


def _describe(error: BaseException) -> str:
    try:
        text = "".join(traceback.format_exception(error))
    except Exception:  # pragma: no cover - formatting must not hide the error
        text = f"{type(error).__name__}: {error}"
    text = text.rstrip()
    if len(text) > _LOG_LIMIT:
        text = "…" + text[-_LOG_LIMIT:]
    return text


def _fail(where: str, error: BaseException) -> NoReturn:
    """Turns an exception from plugin code into the call's ``err``."""
    if isinstance(error, _Err):
        raise error
    if isinstance(error, PluginError):
        raise _Err(str(error)) from None
    try:
        host.log(host.LogLevel.ERROR, f"{where} raised an exception:\n{_describe(error)}")
    except Exception:  # pragma: no cover - logging must not hide the error
        pass
    raise _Err(f"{where}: {type(error).__name__}: {error}") from None


def _selection(selection: AttributeSelection) -> Any:
    kind = selection.kind
    if kind == "keys":
        return _types.AttributeSelection_Keys(list(selection.names))
    if kind == "all-strings":
        return _types.AttributeSelection_AllStrings()
    if kind == "all":
        return _types.AttributeSelection_All()
    return _types.AttributeSelection_None_()


def wit_needs(needs: Needs) -> Any:
    """A :class:`Needs` as the generated WIT record."""
    if not isinstance(needs, Needs):
        raise TypeError(f"needs() must return a Needs, got {type(needs).__name__}")
    return _types.Needs(
        needs.name,
        needs.version,
        _types.SpanFields(int(needs.fields)),
        _selection(needs.span_attributes),
        _selection(needs.resource_attributes),
        _selection(needs.event_attributes),
        _selection(needs.link_attributes),
    )


def sampler_needs(declared: Union[SamplerNeeds, Needs]) -> SamplerNeeds:
    """A sampler's ``needs()`` answer as :class:`SamplerNeeds`."""
    if isinstance(declared, Needs):
        return SamplerNeeds(declared, None)
    if isinstance(declared, SamplerNeeds):
        return declared
    raise TypeError(f"needs() must return SamplerNeeds or Needs, got {type(declared).__name__}")


class _State:
    """The plugin instance and its needs, shared by every glue object (componentize-py
    may create the exported class more than once)."""

    def __init__(self) -> None:
        self.plugin: Any = None
        self.needs: Optional[Needs] = None
        self.edits = Edits()

    def ready(self) -> Any:
        if self.plugin is None:
            raise _Err("not initialised")
        return self.plugin

    def start(self, plugin_class: type, config: str) -> Any:
        """``init`` of a processor or metrics plugin: creates the plugin from its config
        and returns its needs as WIT (a failure becomes the call's error)."""
        try:
            plugin = plugin_class(config)
            needs = plugin.needs()
            answer = wit_needs(needs)
        except BaseException as error:
            _fail("init", error)
        self.plugin = plugin
        self.needs = needs
        return answer


def export_processor(plugin_class: Type[Processor]) -> type:
    """The class componentize-py needs for the ``processor`` export; assign it to the
    name ``Processor`` in the app module."""
    state = _State()
    _check_class(plugin_class, Processor, "export_processor")

    class ProcessorExport:
        def init(self, config: str) -> Any:
            return state.start(plugin_class, config)

        def process(self, batch: Any) -> Any:
            plugin = state.ready()
            edits = state.edits
            edits.clear()
            try:
                view = SpanBatch(batch.len, batch.columns, batch.strings)
                plugin.process(view, edits)
                return _types.Edits(edits.records, edits.strings)
            except BaseException as error:
                _fail("process", error)

    ProcessorExport.__name__ = ProcessorExport.__qualname__ = "Processor"
    ProcessorExport.plugin_class = plugin_class  # type: ignore[attr-defined]
    return ProcessorExport


def export_sampler(plugin_class: Type[Sampler]) -> type:
    """The class componentize-py needs for the ``sampler`` export; assign it to the
    name ``Sampler`` in the app module."""
    state = _State()
    _check_class(plugin_class, Sampler, "export_sampler")

    def decide(method: Callable[[SpanBatch, Decisions], None], batch: Any, where: str) -> Any:
        try:
            view = SpanBatch(batch.len, batch.columns, batch.strings)
            decisions = Decisions()
            method(view, decisions)
            return _types.Decisions(decisions.verdicts, decisions.policies)
        except BaseException as error:
            _fail(where, error)

    class SamplerExport:
        def init(self, config: str) -> Any:
            try:
                plugin = plugin_class(config)
                declared = sampler_needs(plugin.needs())
                tail = declared.tail
                answer = _types.SamplerNeeds(
                    wit_needs(declared.needs),
                    None
                    if tail is None
                    else _types.TailSettings(
                        tail.decision_wait_millis, tail.max_traces, tail.max_spans_per_trace
                    ),
                )
            except BaseException as error:
                _fail("init", error)
            state.plugin = plugin
            state.needs = declared.needs
            return answer

        def sample_head(self, batch: Any) -> Any:
            return decide(state.ready().sample_head, batch, "sample_head")

        def sample_tail(self, batch: Any) -> Any:
            return decide(state.ready().sample_tail, batch, "sample_tail")

    SamplerExport.__name__ = SamplerExport.__qualname__ = "Sampler"
    SamplerExport.plugin_class = plugin_class  # type: ignore[attr-defined]
    return SamplerExport


def wit_metric_point(point: MetricPoint) -> Any:
    """A :class:`MetricPoint` as the generated WIT record."""
    value = point.value
    if isinstance(value, Counter):
        wit_value = _types.MetricValue_Counter(float(value.value))
    elif isinstance(value, Gauge):
        wit_value = _types.MetricValue_Gauge(float(value.value))
    elif isinstance(value, Histogram):
        wit_value = _types.MetricValue_Histogram(
            _types.HistogramValue(
                [float(bound) for bound in value.upper_bounds],
                [int(count) for count in value.bucket_counts],
                float(value.sum),
                int(value.count),
            )
        )
    else:
        raise TypeError(f"metric {point.name!r}: unknown value {value!r}")
    exemplar = None
    if point.exemplar is not None:
        trace_id = bytes(point.exemplar.trace_id).rjust(16, b"\0")[-16:]
        span_id = bytes(point.exemplar.span_id).rjust(8, b"\0")[-8:]
        exemplar = _types.Exemplar(
            int.from_bytes(trace_id[:8], "big"),
            int.from_bytes(trace_id[8:], "big"),
            int.from_bytes(span_id, "big"),
            float(point.exemplar.value),
            int(point.exemplar.time_unix_nanos),
        )
    return _types.MetricPoint(
        point.name, point.help, [(k, v) for k, v in point.labels], wit_value, exemplar
    )


def export_metrics(plugin_class: Type[Metrics]) -> type:
    """The class componentize-py needs for the ``metrics`` export; assign it to the
    name ``Metrics`` in the app module."""
    state = _State()
    _check_class(plugin_class, Metrics, "export_metrics")

    class MetricsExport:
        def init(self, config: str) -> Any:
            return state.start(plugin_class, config)

        def observe(self, batch: Any) -> None:
            plugin = state.ready()
            try:
                plugin.observe(SpanBatch(batch.len, batch.columns, batch.strings))
            except BaseException as error:
                _fail("observe", error)

        def collect(self, now_unix_nanos: int) -> List[Any]:
            # `collect` cannot fail in the WIT: a failure is logged and reports nothing.
            plugin = state.plugin
            if plugin is None:
                return []
            try:
                return [wit_metric_point(point) for point in plugin.collect(now_unix_nanos)]
            except BaseException as error:
                host.log(host.LogLevel.ERROR, f"collect raised an exception:\n{_describe(error)}")
                return []

    MetricsExport.__name__ = MetricsExport.__qualname__ = "Metrics"
    MetricsExport.plugin_class = plugin_class  # type: ignore[attr-defined]
    return MetricsExport


def _check_class(plugin_class: Any, base: type, what: str) -> None:
    if not (isinstance(plugin_class, type) and issubclass(plugin_class, base)):
        raise TypeError(f"{what} takes a subclass of spangate_plugin.{base.__name__}")
