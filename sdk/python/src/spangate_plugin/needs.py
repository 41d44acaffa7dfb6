"""What a plugin declares at ``init``: its name, version, and what it reads.

The host sends each batch with only the columns the plugin declared (see
``wit/README.md``, "The ABI decision"), so declaring little keeps calls cheap; an
undeclared column arrives empty and reads as its default. The native test harness
checks reads against the declaration: there, reading a span field or attribute kind
that was not declared raises :class:`UndeclaredError` naming it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Optional, Tuple


class SpanFields(enum.IntFlag):
    """Span fields a plugin may read (the WIT ``span-fields`` flags, same bits)."""

    NONE = 0
    TRACE_ID = 1 << 0
    SPAN_ID = 1 << 1
    PARENT_SPAN_ID = 1 << 2
    SERVICE_NAME = 1 << 3
    NAME = 1 << 4
    KIND = 1 << 5
    TIMES = 1 << 6
    """Start and end (and so the duration)."""
    STATUS = 1 << 7
    STATUS_MESSAGE = 1 << 8
    SIZE = 1 << 9
    """The span's encoded size in bytes."""
    EVENT_NAMES = 1 << 10
    """Event names (and the per-span event ranges)."""


FIELD_NAMES = {
    SpanFields.TRACE_ID: "trace-id",
    SpanFields.SPAN_ID: "span-id",
    SpanFields.PARENT_SPAN_ID: "parent-span-id",
    SpanFields.SERVICE_NAME: "service-name",
    SpanFields.NAME: "name",
    SpanFields.KIND: "kind",
    SpanFields.TIMES: "times",
    SpanFields.STATUS: "status",
    SpanFields.STATUS_MESSAGE: "status-message",
    SpanFields.SIZE: "size",
    SpanFields.EVENT_NAMES: "event-names",
}
"""The WIT name of each field, as error messages show it."""


class UndeclaredError(AttributeError):
    """Reading a span field or attribute kind the plugin did not declare in its
    :class:`Needs` (the host would have sent nothing for it)."""


@dataclass(frozen=True)
class AttributeSelection:
    """Which attributes of a kind (span, resource, event or link) a plugin reads.

    Use the constants and constructors: :data:`AttributeSelection.NONE`,
    ``AttributeSelection.keys(["http.route", "user.email"])``,
    :data:`AttributeSelection.ALL_STRINGS` (every attribute with a string value),
    :data:`AttributeSelection.ALL` (every attribute; arrays, maps and bytes as JSON text).
    """

    kind: str = "none"
    """``"none"``, ``"keys"``, ``"all-strings"`` or ``"all"``."""
    names: Tuple[str, ...] = ()
    """The keys, for ``"keys"``."""

    NONE: ClassVar["AttributeSelection"]
    """Nothing: no rows, no attribute edits of this kind."""
    ALL_STRINGS: ClassVar["AttributeSelection"]
    """Every attribute with a string value."""
    ALL: ClassVar["AttributeSelection"]
    """Every attribute; values that are not scalars arrive as JSON text."""

    def __post_init__(self) -> None:
        if self.kind not in ("none", "keys", "all-strings", "all"):
            raise ValueError(f"unknown attribute selection {self.kind!r}")

    @staticmethod
    def keys(keys: Iterable[str]) -> "AttributeSelection":
        """Only these keys (any value kind; non-scalars as JSON text). An empty list is
        a valid selection: no rows, but adding span attributes is allowed."""
        if isinstance(keys, str):
            raise TypeError("AttributeSelection.keys takes a list of keys, not one string")
        return AttributeSelection("keys", tuple(keys))

    @property
    def is_none(self) -> bool:
        return self.kind == "none"

    def selects(self, key: str, is_string: bool) -> bool:
        """Whether an attribute with this key (and a string value or not) is a row."""
        kind = self.kind
        if kind == "all":
            return True
        if kind == "all-strings":
            return is_string
        if kind == "keys":
            return key in self.names
        return False


AttributeSelection.NONE = AttributeSelection("none")
AttributeSelection.ALL_STRINGS = AttributeSelection("all-strings")
AttributeSelection.ALL = AttributeSelection("all")


@dataclass
class Needs:
    """What ``init`` returns: the plugin's name and version, and what it reads.

    Example::

        Needs("reference", "1.0.0",
              fields=SpanFields.NAME | SpanFields.TIMES,
              span_attributes=AttributeSelection.keys(["user.email"]))

    Adding span attributes needs some span attribute selection (``keys([...])`` with
    the added key, or even ``keys([])``, is enough).
    """

    name: str
    version: str
    fields: SpanFields = SpanFields.NONE
    span_attributes: AttributeSelection = field(default_factory=lambda: AttributeSelection.NONE)
    resource_attributes: AttributeSelection = field(
        default_factory=lambda: AttributeSelection.NONE
    )
    event_attributes: AttributeSelection = field(default_factory=lambda: AttributeSelection.NONE)
    link_attributes: AttributeSelection = field(default_factory=lambda: AttributeSelection.NONE)

    def __post_init__(self) -> None:
        self.fields = SpanFields(int(self.fields))


@dataclass
class TailSettings:
    """A tail sampler's settings: the host holds each trace for
    ``decision_wait_millis`` after its first span, then calls ``sample_tail``."""

    decision_wait_millis: int
    max_traces: int = 100_000
    """Pending traces the host holds at most; past it the oldest is decided early."""
    max_spans_per_trace: int = 10_000
    """Spans per pending trace the host holds at most; past it the trace is decided early."""


@dataclass
class SamplerNeeds:
    """What a sampler's ``init`` returns: its needs, and tail settings if it
    tail-samples (``None``: ``sample_tail`` is never called)."""

    needs: Needs
    tail: Optional[TailSettings] = None
