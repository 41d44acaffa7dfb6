"""The native test harness: run plugin logic under plain CPython (pytest), no wasm.

The harness encodes :class:`TestSpan`\\ s into the same buffers the host sends (only
the declared columns), calls the plugin class, decodes its answer and applies it back
to the test spans with the host's checks::

    from spangate_plugin.testing import ProcessorHarness, TestSpan

    def test_health_checks_are_dropped():
        harness = ProcessorHarness(DropHealthChecks, "{}")
        out = harness.process([TestSpan(1, 1).named("GET /healthz"),
                               TestSpan(1, 2).named("GET /cart")])
        assert [span.name for span in out] == ["GET /cart"]

Reading a field the plugin did not declare raises ``UndeclaredError`` naming it; an
edit the host would refuse raises :class:`EditError` naming the edit. Natively
``host.log`` goes to a buffer (:func:`take_logs`) and ``host.now_unix_nanos`` can be
pinned (:func:`set_now`).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from .. import host as _host
from ..host import LogLevel
from .apply import EditError, apply_decisions, apply_edits
from .encode import Encoding, encode, to_batch
from .harness import Decision, MetricsHarness, ProcessorHarness, SamplerHarness
from .span import TestEvent, TestLink, TestSpan


def take_logs() -> List[Tuple[LogLevel, str]]:
    """The ``(level, message)`` lines logged natively since the last call."""
    logs = list(_host._native_logs)
    _host._native_logs.clear()
    return logs


def set_now(now_unix_nanos: Optional[int]) -> None:
    """Pins ``host.now_unix_nanos()`` natively (``None``: the system clock again)."""
    _host._native_now = now_unix_nanos


__all__ = [
    "Decision",
    "EditError",
    "Encoding",
    "MetricsHarness",
    "ProcessorHarness",
    "SamplerHarness",
    "TestEvent",
    "TestLink",
    "TestSpan",
    "apply_decisions",
    "apply_edits",
    "encode",
    "set_now",
    "take_logs",
    "to_batch",
]
