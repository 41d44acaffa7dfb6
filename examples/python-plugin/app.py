"""The reference plugin, in Python: the same behaviour as the Rust, JS and C ones.

Per span, in batch order:
- if ``drop_name`` is set and the span's name equals it, the span is dropped;
- otherwise (1) each attribute in ``mask_keys`` with a string value becomes
  ``<masked:N>`` (N: the value's length in UTF-8 bytes); (2) a span lasting at least
  ``slow_ms`` gets ``ref.slow = true`` and ``ref.duration_ms = <whole milliseconds>``;
  (3) an error span is renamed ``<service>: <name>`` (``unknown`` for no service).
"""

from dataclasses import dataclass, field
from typing import List

import spangate_plugin as sp
from spangate_plugin import (
    U64,
    AttributeSelection,
    Edits,
    Needs,
    SpanBatch,
    SpanFields,
    StatusCode,
    parse_config,
)

NANOS_PER_MILLI = 1_000_000


@dataclass
class Config:
    """The ``config:`` of the plugin's pipeline entry; every key is optional."""

    mask_keys: List[str] = field(default_factory=list)
    """Span attributes whose string values are masked."""
    slow_ms: U64 = 1000
    """Spans lasting at least this many milliseconds are tagged slow."""
    drop_name: str = ""
    """Spans with exactly this name are dropped ("" drops nothing)."""


class Reference(sp.Processor):
    def __init__(self, config: str) -> None:
        self.config = parse_config(config, Config)  # ConfigError names the bad key
        self.mask_keys = frozenset(self.config.mask_keys)
        self.slow_nanos = self.config.slow_ms * NANOS_PER_MILLI

    def needs(self) -> Needs:
        return Needs(
            "reference",
            "1.0.0",
            fields=SpanFields.NAME | SpanFields.SERVICE_NAME | SpanFields.TIMES | SpanFields.STATUS,
            # The masked keys are the only attributes read; even with none, the selection
            # (an empty key list) is what allows adding `ref.slow` and `ref.duration_ms`.
            span_attributes=AttributeSelection.keys(self.config.mask_keys),
        )

    def process(self, batch: SpanBatch, edits: Edits) -> None:
        drop_name = self.config.drop_name
        mask_keys = self.mask_keys
        slow_nanos = self.slow_nanos
        for span in batch:
            index = span.index
            name = span.name
            if drop_name and name == drop_name:
                edits.drop_span(index)
                continue
            for row, key, value in span.attributes:
                if key in mask_keys and isinstance(value, str):
                    edits.set_span_attribute(row, f"<masked:{len(value.encode('utf-8'))}>")
            duration = span.duration_nanos  # end before start counts as 0
            if duration >= slow_nanos:
                edits.add_span_attribute(index, "ref.slow", True)
                edits.add_span_attribute(index, "ref.duration_ms", duration // NANOS_PER_MILLI)
            if span.status == StatusCode.ERROR:
                edits.set_name(index, f"{span.service_name or 'unknown'}: {name}")


# The registration: componentize-py calls this class for the `processor` export.
Processor = sp.export_processor(Reference)
