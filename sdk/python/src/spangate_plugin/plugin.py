"""The three plugin kinds, one base class each, and the answers of samplers and
metrics plugins.

A plugin class is constructed once per instance with the config text (raise
:class:`~spangate_plugin.ConfigError` to refuse it), asked for its needs once, then
called one batch at a time; it may keep state between calls (the host re-creates the
instance after a failure, so keep only state you can lose).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from .batch import SpanBatch
from .edits import Edits
from .errors import PluginError
from .needs import Needs, SamplerNeeds


class Processor(abc.ABC):
    """Edits spans (``processor-plugin`` world).

    Example::

        class DropHealthChecks(Processor):
            def needs(self) -> Needs:
                return Needs("drop-health-checks", "0.1.0", fields=SpanFields.NAME)

            def process(self, batch: SpanBatch, edits: Edits) -> None:
                for span in batch:
                    if span.name == "GET /healthz":
                        edits.drop_span(span.index)

        Processor = export_processor(DropHealthChecks)   # in app.py: the registration
    """

    def __init__(self, config: str) -> None:
        """Receives the plugin's config as JSON text (``""`` when there is none)."""
        self.config_text = config

    @abc.abstractmethod
    def needs(self) -> Needs:
        """What the plugin reads; called once, right after construction."""

    @abc.abstractmethod
    def process(self, batch: SpanBatch, edits: Edits) -> None:
        """Reads ``batch`` and records edits; raise to fail the call."""


class Decisions:
    """A sampler's answer: one verdict per span (head) or per trace (tail), in order.

    ``keep(policy)`` keeps (tail sampling records ``sampling.policy`` = policy on the
    trace's spans; head policies are not recorded), ``drop()`` drops."""

    __slots__ = ("verdicts", "policies", "_policy_verdicts")

    def __init__(self) -> None:
        self.verdicts: List[int] = []
        """0 drops; i > 0 keeps with ``policies[i - 1]``."""
        self.policies: List[str] = []
        self._policy_verdicts: Dict[str, int] = {}

    def keep(self, policy: str = "") -> None:
        verdict = self._policy_verdicts.get(policy)
        if verdict is None:
            self.policies.append(policy)
            verdict = len(self.policies)
            if verdict > 0xFFFF:
                raise PluginError("more than 65535 distinct sampling policies in one answer")
            self._policy_verdicts[policy] = verdict
        self.verdicts.append(verdict)

    def drop(self) -> None:
        self.verdicts.append(0)

    def decide(self, keep: bool, policy: str = "") -> None:
        """``keep(policy)`` if ``keep`` else ``drop()``."""
        if keep:
            self.keep(policy)
        else:
            self.verdicts.append(0)

    def __len__(self) -> int:
        return len(self.verdicts)

    def kept(self, index: int) -> Optional[str]:
        """The policy that kept decision ``index``, or ``None`` if it drops."""
        verdict = self.verdicts[index]
        return None if verdict == 0 else self.policies[verdict - 1]

    def __repr__(self) -> str:
        return f"Decisions({[self.kept(i) for i in range(len(self))]!r})"


class Sampler(abc.ABC):
    """Keeps or drops spans (head) and traces (tail) (``sampler-plugin`` world)."""

    def __init__(self, config: str) -> None:
        self.config_text = config

    @abc.abstractmethod
    def needs(self) -> Union[SamplerNeeds, Needs]:
        """Its needs, and tail settings if it tail-samples (a plain :class:`Needs`
        means head sampling only)."""

    @abc.abstractmethod
    def sample_head(self, batch: SpanBatch, decisions: Decisions) -> None:
        """One decision per span of ``batch``, in order."""

    def sample_tail(self, batch: SpanBatch, decisions: Decisions) -> None:
        """One decision per distinct trace id (``batch.trace_ids_in_order()``); the
        batch holds whole traces. Called only when ``needs`` has tail settings."""
        raise PluginError("this sampler does not tail-sample")


@dataclass
class Counter:
    value: float


@dataclass
class Gauge:
    value: float


@dataclass
class Histogram:
    """Cumulative bucket counts for the upper bounds of the series, plus sum and count."""

    upper_bounds: List[float]
    bucket_counts: List[int]
    sum: float
    count: int


MetricValue = Union[Counter, Gauge, Histogram]


@dataclass
class Exemplar:
    trace_id: bytes
    """16 bytes, as on the wire."""
    span_id: bytes
    """8 bytes, as on the wire."""
    value: float
    time_unix_nanos: int


@dataclass
class MetricPoint:
    """One series' current value, as ``collect`` reports it."""

    name: str
    value: MetricValue
    labels: List[Tuple[str, str]] = field(default_factory=list)
    help: str = ""
    exemplar: Optional[Exemplar] = None


class Metrics(abc.ABC):
    """Observes every span (before sampling) and reports metric points
    (``metrics-plugin`` world)."""

    def __init__(self, config: str) -> None:
        self.config_text = config

    @abc.abstractmethod
    def needs(self) -> Needs:
        """What the plugin reads."""

    @abc.abstractmethod
    def observe(self, batch: SpanBatch) -> None:
        """Accumulates ``batch``."""

    @abc.abstractmethod
    def collect(self, now_unix_nanos: int) -> List[MetricPoint]:
        """The current value of every series (called on each scrape and export)."""
