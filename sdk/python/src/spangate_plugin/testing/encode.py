"""Test spans to the batch the host would send, by the host's layout rules
(``wit/README.md``, "Batch layout"):

- only declared columns are filled;
- service names are a dictionary (``services`` + ``service``);
- spans with equal service name and resource attributes share a resource; the
  ``resource`` column is sent when resource attributes are declared;
- attribute keys are a dictionary per table; a row exists per selected attribute
  (``keys``: those keys, any value; ``all-strings``: string values; ``all``:
  everything, non-scalars as JSON text);
- ``event-offsets`` are sent when event names or event attributes are declared,
  ``link-offsets`` when link attributes are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .. import abi
from ..batch import Json, SpanBatch, Value
from ..needs import AttributeSelection, Needs, SpanFields
from .span import TestSpan, id_bytes


@dataclass
class Encoding:
    """A batch plus where each of its rows and indexes came from, so edits can be
    mapped back onto the test spans."""

    length: int
    columns: bytes
    strings: bytes
    span_rows: List[Tuple[int, int]] = field(default_factory=list)
    """Per span-attribute row: (span, index in its ``attributes``)."""
    resource_spans: List[List[int]] = field(default_factory=list)
    """Per resource: the spans that share it."""
    resource_rows: List[Tuple[int, int]] = field(default_factory=list)
    """Per resource-attribute row: (resource, index in ``resource_attributes``)."""
    events: List[Tuple[int, int]] = field(default_factory=list)
    """Per global event: (span, index in its ``events``), when events were sent."""
    event_rows: List[Tuple[int, int]] = field(default_factory=list)
    """Per event-attribute row: (global event, index in the event's attributes)."""
    links: List[Tuple[int, int]] = field(default_factory=list)
    """Per global link: (span, index in its ``links``), when links were sent."""
    link_rows: List[Tuple[int, int]] = field(default_factory=list)
    """Per link-attribute row: (global link, index in the link's attributes)."""

    def batch(self, needs: Optional[Needs]) -> SpanBatch:
        return SpanBatch(self.length, self.columns, self.strings, needs)


def to_batch(spans: Sequence[TestSpan], needs: Needs) -> SpanBatch:
    """The batch the host would send for ``spans`` to a plugin with ``needs``; reading
    an undeclared field from it raises ``UndeclaredError``."""
    return encode(spans, needs).batch(needs)


class _Table:
    """Builds one attribute table into a :class:`abi.BatchBuilder`."""

    def __init__(self, builder: abi.BatchBuilder, base: int) -> None:
        self.builder = builder
        self.base = base
        self.key_ids: Dict[str, int] = {}
        self.rows = 0
        builder.push_u32(base + abi.OWNER_OFFSETS, 0)

    def push_owner(
        self, attributes: List[Tuple[str, Value]], selection: AttributeSelection
    ) -> List[int]:
        """Adds the next owner's selected attributes as rows; returns their indexes in
        ``attributes``."""
        builder = self.builder
        base = self.base
        selected = []
        for index, (key, value) in enumerate(attributes):
            is_string = isinstance(value, str)
            if not selection.selects(key, is_string):
                continue
            selected.append(index)
            key_id = self.key_ids.get(key)
            if key_id is None:
                key_id = len(self.key_ids)
                self.key_ids[key] = key_id
                builder.push_str(base + abi.KEYS, key)
            builder.push_u32(base + abi.KEY, key_id)
            kind, word = value_word(builder, value)
            builder.push_u8(base + abi.VALUE_KIND, kind)
            builder.push_u64(base + abi.VALUE, word)
            self.rows += 1
        builder.push_u32(base + abi.OWNER_OFFSETS, self.rows)
        return selected


def value_word(builder: abi.BatchBuilder, value: Value) -> Tuple[int, int]:
    """The value kind and the 8-byte value word of an attribute value (strings are
    appended to the builder's arena)."""
    if isinstance(value, Json):
        return abi.KIND_JSON, builder.push_string(value.text)
    if isinstance(value, str):
        return abi.KIND_STR, builder.push_string(value)
    if isinstance(value, bool):
        return abi.KIND_BOOL, int(value)
    if isinstance(value, int):
        if not -(1 << 63) <= value < 1 << 63:
            raise ValueError(f"attribute value {value} does not fit in an i64")
        return abi.KIND_INT, value & 0xFFFF_FFFF_FFFF_FFFF
    if isinstance(value, float):
        return abi.KIND_DOUBLE, struct.unpack("<Q", struct.pack("<d", value))[0]
    raise TypeError(f"unsupported test attribute value {value!r}")


def _same_attributes(a: List[Tuple[str, Value]], b: List[Tuple[str, Value]]) -> bool:
    """Equal lists, doubles compared by their bits (a NaN equals itself; 0.0 and -0.0
    differ), as the Rust harness and the host group resources."""
    if len(a) != len(b):
        return False
    for (a_key, a_value), (b_key, b_value) in zip(a, b):
        if a_key != b_key or type(a_value) is not type(b_value):
            return False
        if isinstance(a_value, float):
            if struct.pack("<d", a_value) != struct.pack("<d", b_value):
                return False
        elif a_value != b_value:
            return False
    return True


def encode(spans: Sequence[TestSpan], needs: Needs) -> Encoding:
    """Encodes ``spans`` for ``needs``; see the module documentation for the rules."""
    fields = needs.fields
    builder = abi.BatchBuilder()

    def has(flag: SpanFields) -> bool:
        return bool(fields & flag)

    for span in spans:
        if has(SpanFields.TRACE_ID):
            builder.push_id(abi.TRACE_ID, id_bytes(span.trace_id, 16))
        if has(SpanFields.SPAN_ID):
            builder.push_id(abi.SPAN_ID, id_bytes(span.span_id, 8))
        if has(SpanFields.PARENT_SPAN_ID):
            builder.push_id(abi.PARENT_SPAN_ID, id_bytes(span.parent_span_id, 8))
        if has(SpanFields.NAME):
            builder.push_str(abi.NAME, span.name)
        if has(SpanFields.KIND):
            builder.push_u8(abi.KIND, int(span.kind))
        if has(SpanFields.STATUS):
            builder.push_u8(abi.STATUS, int(span.status))
        if has(SpanFields.TIMES):
            builder.push_u64(abi.START, span.start_unix_nanos)
            builder.push_u64(abi.END, span.end_unix_nanos)
        if has(SpanFields.STATUS_MESSAGE):
            builder.push_str(abi.STATUS_MESSAGE, span.status_message)
        if has(SpanFields.SIZE):
            builder.push_u32(abi.SIZE, span.estimated_size())

    if has(SpanFields.SERVICE_NAME):
        services: Dict[str, int] = {}
        for span in spans:
            index = services.get(span.service_name)
            if index is None:
                index = len(services)
                services[span.service_name] = index
                builder.push_str(abi.SERVICES, span.service_name)
            builder.push_u32(abi.SERVICE, index)

    encoding = Encoding(len(spans), b"", b"")

    if not needs.span_attributes.is_none:
        table = _Table(builder, abi.SPAN_ATTRIBUTES)
        for span_index, span in enumerate(spans):
            for attribute in table.push_owner(span.attributes, needs.span_attributes):
                encoding.span_rows.append((span_index, attribute))

    if not needs.resource_attributes.is_none:
        resources: List[TestSpan] = []
        for span_index, span in enumerate(spans):
            for resource, first in enumerate(resources):
                if first.service_name == span.service_name and _same_attributes(
                    first.resource_attributes, span.resource_attributes
                ):
                    break
            else:
                resources.append(span)
                encoding.resource_spans.append([])
                resource = len(resources) - 1
            encoding.resource_spans[resource].append(span_index)
            builder.push_u32(abi.RESOURCE, resource)
        table = _Table(builder, abi.RESOURCE_ATTRIBUTES)
        for resource, first in enumerate(resources):
            for attribute in table.push_owner(
                first.resource_attributes, needs.resource_attributes
            ):
                encoding.resource_rows.append((resource, attribute))

    names_declared = has(SpanFields.EVENT_NAMES)
    event_attributes = not needs.event_attributes.is_none
    if names_declared or event_attributes:
        event_table = _Table(builder, abi.EVENT_ATTRIBUTES) if event_attributes else None
        builder.push_u32(abi.EVENT_OFFSETS, 0)
        for span_index, span in enumerate(spans):
            for event_index, event in enumerate(span.events):
                event_global = len(encoding.events)
                encoding.events.append((span_index, event_index))
                if names_declared:
                    builder.push_str(abi.EVENT_NAMES, event.name)
                if event_table is not None:
                    for attribute in event_table.push_owner(event.attributes, needs.event_attributes):
                        encoding.event_rows.append((event_global, attribute))
            builder.push_u32(abi.EVENT_OFFSETS, len(encoding.events))

    if not needs.link_attributes.is_none:
        table = _Table(builder, abi.LINK_ATTRIBUTES)
        builder.push_u32(abi.LINK_OFFSETS, 0)
        for span_index, span in enumerate(spans):
            for link_index, link in enumerate(span.links):
                link_global = len(encoding.links)
                encoding.links.append((span_index, link_index))
                for attribute in table.push_owner(link.attributes, needs.link_attributes):
                    encoding.link_rows.append((link_global, attribute))
            builder.push_u32(abi.LINK_OFFSETS, len(encoding.links))

    encoding.columns = builder.write_columns()
    encoding.strings = bytes(builder.strings)
    return encoding
