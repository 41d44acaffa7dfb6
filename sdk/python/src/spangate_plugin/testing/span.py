"""Spans as tests write them: whole, with builder methods that return a changed copy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, List, Mapping, Tuple, Union

from ..batch import Json, SpanKind, StatusCode, Value

Pairs = Union[Mapping[str, Value], Iterable[Tuple[str, Value]]]
"""Attributes as a dict or a list of ``(key, value)`` pairs (a list may repeat keys)."""


def _pairs(attributes: Pairs) -> List[Tuple[str, Value]]:
    items = attributes.items() if isinstance(attributes, Mapping) else attributes
    return [(str(key), value) for key, value in items]


@dataclass
class TestEvent:
    name: str = ""
    attributes: List[Tuple[str, Value]] = field(default_factory=list)

    __test__ = False  # not a pytest test class


@dataclass
class TestLink:
    attributes: List[Tuple[str, Value]] = field(default_factory=list)

    __test__ = False


@dataclass
class TestSpan:
    """A span with everything a plugin could ask for.

    ``TestSpan(1, 2).named("GET /").service("shop").times(0, 5_000_000).attr("k", "v")``

    Ids are integers (``trace_id`` a u128, span ids u64), encoded big-endian as the
    wire bytes; ``bytes`` of the right length are taken as they are.
    """

    __test__ = False

    trace_id: Union[int, bytes] = 0
    span_id: Union[int, bytes] = 0
    parent_span_id: Union[int, bytes] = 0
    """0 for a root span."""
    service_name: str = ""
    name: str = ""
    kind: SpanKind = SpanKind.UNSPECIFIED
    start_unix_nanos: int = 0
    end_unix_nanos: int = 0
    status: StatusCode = StatusCode.UNSET
    status_message: str = ""
    attributes: List[Tuple[str, Value]] = field(default_factory=list)
    resource_attributes: List[Tuple[str, Value]] = field(default_factory=list)
    events: List[TestEvent] = field(default_factory=list)
    links: List[TestLink] = field(default_factory=list)

    def copy(self) -> "TestSpan":
        """A deep enough copy: lists and events are new, values are immutable."""
        return dataclasses.replace(
            self,
            attributes=list(self.attributes),
            resource_attributes=list(self.resource_attributes),
            events=[TestEvent(e.name, list(e.attributes)) for e in self.events],
            links=[TestLink(list(link.attributes)) for link in self.links],
        )

    def named(self, name: str) -> "TestSpan":
        return dataclasses.replace(self.copy(), name=name)

    def service(self, service_name: str) -> "TestSpan":
        return dataclasses.replace(self.copy(), service_name=service_name)

    def with_kind(self, kind: SpanKind) -> "TestSpan":
        return dataclasses.replace(self.copy(), kind=kind)

    def times(self, start_unix_nanos: int, end_unix_nanos: int) -> "TestSpan":
        return dataclasses.replace(
            self.copy(), start_unix_nanos=start_unix_nanos, end_unix_nanos=end_unix_nanos
        )

    def with_status(self, status: StatusCode, message: str = "") -> "TestSpan":
        return dataclasses.replace(self.copy(), status=status, status_message=message)

    def parent(self, parent_span_id: Union[int, bytes]) -> "TestSpan":
        return dataclasses.replace(self.copy(), parent_span_id=parent_span_id)

    def attr(self, key: str, value: Value) -> "TestSpan":
        copy = self.copy()
        copy.attributes.append((key, value))
        return copy

    def attrs(self, attributes: Pairs) -> "TestSpan":
        copy = self.copy()
        copy.attributes.extend(_pairs(attributes))
        return copy

    def resource_attr(self, key: str, value: Value) -> "TestSpan":
        copy = self.copy()
        copy.resource_attributes.append((key, value))
        return copy

    def event(self, name: str, attributes: Pairs = ()) -> "TestSpan":
        copy = self.copy()
        copy.events.append(TestEvent(name, _pairs(attributes)))
        return copy

    def link(self, attributes: Pairs = ()) -> "TestSpan":
        copy = self.copy()
        copy.links.append(TestLink(_pairs(attributes)))
        return copy

    def attribute(self, key: str) -> Union[Value, None]:
        """The value of the first span attribute named ``key`` (for assertions)."""
        for existing, value in self.attributes:
            if existing == key:
                return value
        return None

    def estimated_size(self) -> int:
        """A deterministic stand-in for the host's encoded size (the host sends the
        span's protobuf size; tests only need it stable and growing with the content).
        Same formula as the Rust SDK's ``TestSpan::estimated_size``."""

        def value_size(value: Value) -> int:
            if isinstance(value, Json):
                return len(value.text.encode()) + 2
            if isinstance(value, str):
                return len(value.encode()) + 2
            if isinstance(value, bool):
                return 2
            return 9

        def attributes_size(attributes: List[Tuple[str, Value]]) -> int:
            return sum(len(key.encode()) + value_size(value) + 4 for key, value in attributes)

        fixed = 16 + 8 + 8 + 2 + 8 + 8 + 2 + 8
        events = sum(12 + len(e.name.encode()) + attributes_size(e.attributes) for e in self.events)
        links = sum(28 + attributes_size(link.attributes) for link in self.links)
        total = (
            fixed
            + len(self.name.encode())
            + len(self.status_message.encode())
            + attributes_size(self.attributes)
            + events
            + links
        )
        return min(total, 0xFFFF_FFFF)


def id_bytes(ident: Union[int, bytes], width: int) -> bytes:
    """An id as wire bytes: an int big-endian in ``width`` bytes, bytes as they are."""
    if isinstance(ident, (bytes, bytearray)):
        return bytes(ident)
    return int(ident).to_bytes(width, "big")
