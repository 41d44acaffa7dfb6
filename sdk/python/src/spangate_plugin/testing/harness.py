"""Harnesses: a plugin class driven like the host drives it, spans in, answers out."""

from __future__ import annotations

from typing import Generic, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from ..batch import SpanBatch
from ..component import sampler_needs
from ..edits import Edits
from ..needs import Needs, SamplerNeeds
from ..plugin import Decisions, MetricPoint, Metrics, Processor, Sampler
from .apply import EditError, apply_edits
from .encode import to_batch
from .span import TestSpan, id_bytes

P = TypeVar("P", bound=Processor)
S = TypeVar("S", bound=Sampler)
M = TypeVar("M", bound=Metrics)


def _needs(plugin: object) -> Needs:
    needs = plugin.needs()  # type: ignore[attr-defined]
    if not isinstance(needs, Needs):
        raise TypeError(f"needs() must return a Needs, got {type(needs).__name__}")
    return needs


class ProcessorHarness(Generic[P]):
    """Runs a :class:`~spangate_plugin.Processor`: constructs it with ``config`` (a
    ``ConfigError`` propagates), builds the batch for its needs, collects its edits and
    applies them with the host's checks.

    ``ProcessorHarness(MyPlugin, '{"slow_ms": 5}').process([TestSpan(1, 1), ...])``
    """

    def __init__(self, plugin_class: Type[P], config: str = "") -> None:
        self.plugin: P = plugin_class(config)
        self.needs: Needs = _needs(self.plugin)

    def batch(self, spans: Sequence[TestSpan]) -> SpanBatch:
        """The batch the plugin would get for ``spans``."""
        return to_batch(spans, self.needs)

    def edits(self, spans: Sequence[TestSpan]) -> Edits:
        """The plugin's raw edits for ``spans``, unapplied."""
        edits = Edits()
        self.plugin.process(self.batch(spans), edits)
        return edits

    def process(self, spans: Sequence[TestSpan]) -> List[TestSpan]:
        """The spans after the plugin's edits (dropped spans removed); exceptions from
        the plugin propagate, an edit the host would refuse raises ``EditError``."""
        return apply_edits(spans, self.needs, self.edits(spans))


Decision = Optional[str]
"""A decision as the sampler harness reports it: ``None`` drops, a string keeps (the
policy that kept it)."""


class SamplerHarness(Generic[S]):
    """Runs a :class:`~spangate_plugin.Sampler`, checking its answers have the length
    the host requires."""

    def __init__(self, plugin_class: Type[S], config: str = "") -> None:
        self.plugin: S = plugin_class(config)
        self.sampler_needs: SamplerNeeds = sampler_needs(self.plugin.needs())
        self.needs: Needs = self.sampler_needs.needs

    def sample_head(self, spans: Sequence[TestSpan]) -> List[Decision]:
        """One decision per span."""
        decisions = Decisions()
        self.plugin.sample_head(to_batch(spans, self.needs), decisions)
        if len(decisions) != len(spans):
            raise EditError(
                f"sample_head returned {len(decisions)} decisions for {len(spans)} spans"
            )
        return [decisions.kept(i) for i in range(len(decisions))]

    def sample_tail(self, spans: Sequence[TestSpan]) -> List[Tuple[Union[int, bytes], Decision]]:
        """One decision per distinct trace id, paired with it (as the test spans give
        it), in order of first appearance."""
        decisions = Decisions()
        self.plugin.sample_tail(to_batch(spans, self.needs), decisions)
        traces: List[Union[int, bytes]] = []
        seen = set()
        for span in spans:
            key = id_bytes(span.trace_id, 16)
            if key not in seen:
                seen.add(key)
                traces.append(span.trace_id)
        if len(decisions) != len(traces):
            raise EditError(
                f"sample_tail returned {len(decisions)} decisions for {len(traces)} traces"
            )
        return [(trace, decisions.kept(i)) for i, trace in enumerate(traces)]


class MetricsHarness(Generic[M]):
    """Runs a :class:`~spangate_plugin.Metrics` plugin."""

    def __init__(self, plugin_class: Type[M], config: str = "") -> None:
        self.plugin: M = plugin_class(config)
        self.needs: Needs = _needs(self.plugin)

    def observe(self, spans: Sequence[TestSpan]) -> None:
        self.plugin.observe(to_batch(spans, self.needs))

    def collect(self, now_unix_nanos: int = 0) -> List[MetricPoint]:
        return list(self.plugin.collect(now_unix_nanos))
