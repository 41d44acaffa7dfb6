"""Spangate plugins in Python.

A plugin is a WebAssembly component built with componentize-py from an ``app.py``
that subclasses one of :class:`Processor`, :class:`Sampler` or :class:`Metrics` and
registers it in one line (``Processor = export_processor(MyPlugin)``). The SDK reads
the batch the host sends (columns in two byte buffers) through per-span views, writes
the answer (24-byte edit records, or decisions), checks config, and gives access to
the host's log and clock. :mod:`spangate_plugin.testing` runs the same plugin class
natively under pytest.

See ``sdk/python/README.md`` and ``wit/README.md`` (the contract).
"""

from __future__ import annotations

from . import abi, host
from .batch import (
    Attribute,
    Attributes,
    EventView,
    Json,
    LinkView,
    SpanBatch,
    SpanKind,
    SpanView,
    StatusCode,
    Value,
)
from .component import export_metrics, export_processor, export_sampler
from .config import NonNegativeInt, Range, U32, U64, parse_config
from .edits import EditRecord, Edits, EditValue, decode_records
from .errors import ConfigError, PluginError
from .host import LogLevel, log, now_unix_nanos
from .needs import AttributeSelection, Needs, SamplerNeeds, SpanFields, TailSettings, UndeclaredError
from .plugin import (
    Counter,
    Decisions,
    Exemplar,
    Gauge,
    Histogram,
    MetricPoint,
    Metrics,
    MetricValue,
    Processor,
    Sampler,
)

__version__ = "0.2.0"
"""The SDK version; it follows the WIT package (``spangate:plugin@0.2.0``)."""

__all__ = [
    "Attribute",
    "AttributeSelection",
    "Attributes",
    "ConfigError",
    "Counter",
    "Decisions",
    "EditRecord",
    "EditValue",
    "Edits",
    "EventView",
    "Exemplar",
    "Gauge",
    "Histogram",
    "Json",
    "LinkView",
    "LogLevel",
    "MetricPoint",
    "MetricValue",
    "Metrics",
    "Needs",
    "NonNegativeInt",
    "PluginError",
    "Processor",
    "Range",
    "Sampler",
    "SamplerNeeds",
    "SpanBatch",
    "SpanFields",
    "SpanKind",
    "SpanView",
    "StatusCode",
    "TailSettings",
    "U32",
    "U64",
    "UndeclaredError",
    "Value",
    "abi",
    "decode_records",
    "export_metrics",
    "export_processor",
    "export_sampler",
    "host",
    "log",
    "now_unix_nanos",
    "parse_config",
]
