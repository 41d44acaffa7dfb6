"""A processor's answer: edit records of 24 bytes each, written with
``struct.pack_into`` into a growing ``bytearray``, plus a string arena for their
string values (layout: ``wit/README.md``, "Edit records").

Attribute edits address a row (``Attribute.row``), span edits a span index
(``SpanView.index``), ``set_event_name`` a global event index (``EventView.index``).
The host checks every edit and applies the answer whole or not at all: sets replace
values, removals go first, then adds (an added key that exists has its value
replaced), and a row may not be both set and removed.
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple, Optional, Union

from . import abi
from .batch import Json, Value

_RECORD_U64 = struct.Struct("<BBxxIQQ")
_RECORD_I64 = struct.Struct("<BBxxIQq")
_RECORD_F64 = struct.Struct("<BBxxIQd")
_INT_MIN = -(1 << 63)
_INT_MAX = (1 << 63) - 1

EditValue = Union[str, int, float, bool]
"""What an edit can write: a string, an ``int`` (i64), a ``float`` or a ``bool``."""


class EditRecord(NamedTuple):
    """One edit, decoded (for tests and debugging): ``key`` and ``value`` are Python
    values (``key`` is ``None`` except for ``add-span-attribute``; ``value`` is
    ``None`` for removals and drops)."""

    op: int
    target: int
    key: Optional[str]
    value: Optional[EditValue]

    @property
    def op_name(self) -> str:
        return abi.OP_NAMES.get(self.op, f"op {self.op}")

    def describe(self) -> str:
        """As error messages show it, e.g. ``set-name span 3``."""
        op = self.op
        if op == abi.OP_ADD_SPAN_ATTRIBUTE:
            return f"add-span-attribute span {self.target} key {self.key!r}"
        if op in (abi.OP_SET_NAME, abi.OP_SET_STATUS_MESSAGE, abi.OP_DROP_SPAN):
            return f"{self.op_name} span {self.target}"
        if op == abi.OP_SET_EVENT_NAME:
            return f"set-event-name event {self.target}"
        return f"{self.op_name} row {self.target}"


class Edits:
    """The edits a processor returns for one batch.

    Example::

        for span in batch:
            for attribute in span.attributes:
                edits.set_span_attribute(attribute.row, "<masked>")
            if span.duration_nanos > 10**9:
                edits.add_span_attribute(span.index, "slow", True)
    """

    __slots__ = ("_records", "_used", "_strings")

    def __init__(self) -> None:
        self._records = bytearray(abi.EDIT_RECORD_BYTES * 32)
        self._used = 0
        self._strings = bytearray()

    # --- encoding --------------------------------------------------------------

    def _string(self, text: str) -> int:
        data = text.encode("utf-8")
        strings = self._strings
        reference = len(strings) | len(data) << 32
        strings += data
        return reference

    def _push(self, op: int, target: int, key: int, value: object) -> None:
        records = self._records
        used = self._used
        if used + abi.EDIT_RECORD_BYTES > len(records):
            records.extend(bytes(len(records)))
        kind = type(value)
        try:
            if value is None:
                _RECORD_U64.pack_into(records, used, op, 0, target, key, 0)
            elif kind is str:
                _RECORD_U64.pack_into(
                    records, used, op, abi.KIND_STR, target, key, self._string(value)  # type: ignore[arg-type]
                )
            elif kind is bool:
                _RECORD_U64.pack_into(records, used, op, abi.KIND_BOOL, target, key, int(value))  # type: ignore[call-overload]
            elif kind is int:
                _RECORD_I64.pack_into(records, used, op, abi.KIND_INT, target, key, value)
            elif kind is float:
                _RECORD_F64.pack_into(records, used, op, abi.KIND_DOUBLE, target, key, value)
            else:
                self._push_other(op, target, key, value)
                return
        except struct.error as error:
            raise ValueError(_describe_bad(op, target, value, error)) from None
        self._used = used + abi.EDIT_RECORD_BYTES

    def _push_other(self, op: int, target: int, key: int, value: object) -> None:
        """Subclasses of the value types (``IntEnum``, ``str`` enums, numpy-like
        scalars are not accepted)."""
        if isinstance(value, bool):
            self._push(op, target, key, bool(value))
        elif isinstance(value, int):
            self._push(op, target, key, int(value))
        elif isinstance(value, float):
            self._push(op, target, key, float(value))
        elif isinstance(value, str):
            self._push(op, target, key, str(value))
        elif isinstance(value, Json):
            raise TypeError(
                f"{abi.OP_NAMES[op]}: edits cannot write JSON values (arrays, maps, bytes); "
                "write a string, int, float or bool"
            )
        else:
            raise TypeError(
                f"{abi.OP_NAMES[op]}: cannot write a {type(value).__name__}; "
                "write a string, int, float or bool"
            )

    # --- span attributes -------------------------------------------------------

    def set_span_attribute(self, row: int, value: EditValue) -> None:
        """Replaces the value of span attribute ``row``."""
        self._push(abi.OP_SET_SPAN_ATTRIBUTE, row, 0, value)

    def remove_span_attribute(self, row: int) -> None:
        self._push(abi.OP_REMOVE_SPAN_ATTRIBUTE, row, 0, None)

    def add_span_attribute(self, span: int, key: str, value: EditValue) -> None:
        """Adds ``key`` = ``value`` to span ``span`` (replacing the value if the span
        already has the key). Needs some span attribute selection."""
        if not key:
            raise ValueError("add_span_attribute: empty attribute key")
        self._push(abi.OP_ADD_SPAN_ATTRIBUTE, span, self._string(key), value)

    # --- other attributes ------------------------------------------------------

    def set_resource_attribute(self, row: int, value: EditValue) -> None:
        """Replaces resource attribute ``row`` (for every span of that resource)."""
        self._push(abi.OP_SET_RESOURCE_ATTRIBUTE, row, 0, value)

    def remove_resource_attribute(self, row: int) -> None:
        self._push(abi.OP_REMOVE_RESOURCE_ATTRIBUTE, row, 0, None)

    def set_event_attribute(self, row: int, value: EditValue) -> None:
        self._push(abi.OP_SET_EVENT_ATTRIBUTE, row, 0, value)

    def remove_event_attribute(self, row: int) -> None:
        self._push(abi.OP_REMOVE_EVENT_ATTRIBUTE, row, 0, None)

    def set_link_attribute(self, row: int, value: EditValue) -> None:
        self._push(abi.OP_SET_LINK_ATTRIBUTE, row, 0, value)

    def remove_link_attribute(self, row: int) -> None:
        self._push(abi.OP_REMOVE_LINK_ATTRIBUTE, row, 0, None)

    # --- span fields -----------------------------------------------------------

    def set_name(self, span: int, name: str) -> None:
        """Renames span ``span`` (needs ``SpanFields.NAME``)."""
        self._push(abi.OP_SET_NAME, span, 0, _text("set_name", name))

    def set_status_message(self, span: int, message: str) -> None:
        """Needs ``SpanFields.STATUS_MESSAGE``."""
        self._push(abi.OP_SET_STATUS_MESSAGE, span, 0, _text("set_status_message", message))

    def set_event_name(self, event: int, name: str) -> None:
        """Renames the event with global index ``event`` (``EventView.index``; needs
        ``SpanFields.EVENT_NAMES``)."""
        self._push(abi.OP_SET_EVENT_NAME, event, 0, _text("set_event_name", name))

    def drop_span(self, span: int) -> None:
        """Drops span ``span`` from the batch."""
        self._push(abi.OP_DROP_SPAN, span, 0, None)

    # --- the answer ------------------------------------------------------------

    def __len__(self) -> int:
        return self._used // abi.EDIT_RECORD_BYTES

    def __bool__(self) -> bool:
        return self._used > 0

    @property
    def records(self) -> bytes:
        """The records buffer (``edits.records`` of the WIT answer)."""
        return bytes(memoryview(self._records)[: self._used])

    @property
    def strings(self) -> bytes:
        """The string arena (``edits.strings`` of the WIT answer)."""
        return bytes(self._strings)

    def clear(self) -> None:
        """Forgets every edit, keeping the buffers."""
        self._used = 0
        del self._strings[:]

    def __iter__(self) -> Iterator[EditRecord]:
        """The edits, decoded (see :func:`decode_records`)."""
        return decode_records(self.records, bytes(self._strings))

    def __repr__(self) -> str:
        return f"Edits({[record.describe() for record in self]!r})"


def _text(what: str, text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what}: expected a str, got {type(text).__name__}")
    return text


def _describe_bad(op: int, target: int, value: object, error: Exception) -> str:
    if not isinstance(target, int) or not 0 <= target <= 0xFFFF_FFFF:
        return f"{abi.OP_NAMES[op]}: target {target!r} is not a u32 index"
    if isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
        return f"{abi.OP_NAMES[op]}: integer {value} does not fit in an i64"
    return f"{abi.OP_NAMES[op]}: {error}"


def decode_records(records: bytes, strings: bytes) -> Iterator[EditRecord]:
    """Decodes an ``edits`` answer (``records``, ``strings``) into
    :class:`EditRecord`\\ s. Raises ``ValueError`` for a ragged buffer, an unknown value
    kind or a reference outside ``strings``."""
    if len(records) % abi.EDIT_RECORD_BYTES:
        raise ValueError(
            f"the edit records are {len(records)} bytes, not a multiple of "
            f"{abi.EDIT_RECORD_BYTES}"
        )

    def text(reference: int) -> str:
        offset = reference & 0xFFFF_FFFF
        end = offset + (reference >> 32)
        if end > len(strings):
            raise ValueError(f"string reference {offset}+{end - offset} outside the strings")
        return strings[offset:end].decode("utf-8")

    for position in range(0, len(records), abi.EDIT_RECORD_BYTES):
        op, kind, target, key, word = _RECORD_U64.unpack_from(records, position)
        key_text = text(key) if op == abi.OP_ADD_SPAN_ATTRIBUTE else None
        value: Optional[EditValue]
        if op in _VALUELESS:
            value = None
        elif kind == abi.KIND_STR:
            value = text(word)
        elif kind == abi.KIND_INT:
            value = _RECORD_I64.unpack_from(records, position)[4]
        elif kind == abi.KIND_DOUBLE:
            value = _RECORD_F64.unpack_from(records, position)[4]
        elif kind == abi.KIND_BOOL:
            value = word != 0
        else:
            raise ValueError(f"edit {position // abi.EDIT_RECORD_BYTES}: unknown value kind {kind}")
        yield EditRecord(op, target, key_text, value)


_VALUELESS = frozenset(
    {
        abi.OP_REMOVE_SPAN_ATTRIBUTE,
        abi.OP_REMOVE_RESOURCE_ATTRIBUTE,
        abi.OP_REMOVE_EVENT_ATTRIBUTE,
        abi.OP_REMOVE_LINK_ATTRIBUTE,
        abi.OP_DROP_SPAN,
    }
)

__all__ = ["EditRecord", "EditValue", "Edits", "Value", "decode_records"]
