"""The byte layout of ``spangate:plugin@0.2.0`` (``wit/plugin.wit``).

This module mirrors the Rust crate ``sdk/abi`` (the authority) and ``wit/README.md``
("Batch layout", "Edit records", "Decisions"): column numbers, element widths, value
kinds and edit operations. Everything is little-endian. A *string reference* is 8
bytes: a ``u32`` byte offset into the string arena, then a ``u32`` byte length (read as
one ``u64``: ``offset | length << 32``).

Plugin code rarely needs this module: :class:`spangate_plugin.SpanBatch` and
:class:`spangate_plugin.Edits` read and write these buffers. It is public for
column-wise code (:meth:`spangate_plugin.SpanBatch.column`) and for tests.
"""

from __future__ import annotations

import struct
from typing import Final, List, Tuple

WIT_VERSION: Final = "0.2.0"
"""The version of the WIT package whose layout this is."""

# --- columns (directory positions) -------------------------------------------------

TRACE_ID: Final = 0
"""16 bytes per span: the trace id as on the wire."""
SPAN_ID: Final = 1
"""8 bytes per span: the span id as on the wire."""
PARENT_SPAN_ID: Final = 2
"""8 bytes per span: the parent span id, zeros for a root span."""
SERVICE: Final = 3
"""``u32`` per span: index into :data:`SERVICES`."""
NAME: Final = 4
"""String reference per span."""
KIND: Final = 5
"""``u8`` per span: the WIT ``span-kind`` case index."""
STATUS: Final = 6
"""``u8`` per span: the WIT ``status-code`` case index."""
START: Final = 7
"""``u64`` per span, Unix nanoseconds."""
END: Final = 8
"""``u64`` per span, Unix nanoseconds."""
STATUS_MESSAGE: Final = 9
"""String reference per span."""
SIZE: Final = 10
"""``u32`` per span: the span's encoded size in bytes."""
RESOURCE: Final = 11
"""``u32`` per span: its resource, the owner index in the resource attribute table."""
EVENT_OFFSETS: Final = 12
"""``u32``, spans + 1 entries: span i's events are ``[i]..[i + 1]`` (global indexes)."""
EVENT_NAMES: Final = 13
"""String reference per event."""
LINK_OFFSETS: Final = 14
"""``u32``, spans + 1 entries: span i's links are ``[i]..[i + 1]``."""
SERVICES: Final = 15
"""String reference per distinct service name of the batch."""

ATTRIBUTE_TABLES: Final = 16
"""First column of the four attribute tables (span, resource, event, link)."""
TABLE_COLUMNS: Final = 5
"""Columns per attribute table."""
SPAN_ATTRIBUTES: Final = ATTRIBUTE_TABLES
RESOURCE_ATTRIBUTES: Final = ATTRIBUTE_TABLES + TABLE_COLUMNS
EVENT_ATTRIBUTES: Final = ATTRIBUTE_TABLES + 2 * TABLE_COLUMNS
LINK_ATTRIBUTES: Final = ATTRIBUTE_TABLES + 3 * TABLE_COLUMNS

# Offsets within an attribute table.
OWNER_OFFSETS: Final = 0
"""``u32``, owners + 1 entries: owner o's rows are ``[o]..[o + 1]``."""
KEY: Final = 1
"""``u32`` per row: index into the table's :data:`KEYS`."""
VALUE_KIND: Final = 2
"""``u8`` per row: the WIT ``value-kind`` case index."""
VALUE: Final = 3
"""8 bytes per row: string reference, ``i64``, ``f64`` bits or 0 / 1."""
KEYS: Final = 4
"""String reference per distinct key of the table."""

COUNT: Final = ATTRIBUTE_TABLES + 4 * TABLE_COLUMNS
"""Columns in the directory (36)."""
DIRECTORY_BYTES: Final = COUNT * 8
"""Bytes of the directory: an ``(offset: u32, count: u32)`` pair per column."""

WIDTHS: Final[Tuple[int, ...]] = (16, 8, 8, 4, 8, 1, 1, 8, 8, 8, 4, 4, 4, 8, 4, 8) + (
    4,
    4,
    1,
    8,
    8,
) * 4
"""Element width in bytes of each column."""

NAMES: Final[Tuple[str, ...]] = (
    "trace-id",
    "span-id",
    "parent-span-id",
    "service",
    "name",
    "kind",
    "status",
    "start",
    "end",
    "status-message",
    "size",
    "resource",
    "event-offsets",
    "event-names",
    "link-offsets",
    "services",
) + tuple(
    f"{table}-attributes.{column}"
    for table in ("span", "resource", "event", "link")
    for column in ("owner-offsets", "key", "value-kind", "value", "keys")
)
"""Column names as the documentation spells them (for error messages)."""

# --- value kinds -------------------------------------------------------------------

KIND_STR: Final = 0
KIND_INT: Final = 1
KIND_DOUBLE: Final = 2
KIND_BOOL: Final = 3
KIND_JSON: Final = 4
"""Non-scalar values (arrays, maps, bytes) as JSON text; never an edit's value."""

# --- edit records ------------------------------------------------------------------

EDIT_RECORD_BYTES: Final = 24
"""Size of one edit record."""

OP_SET_SPAN_ATTRIBUTE: Final = 1
OP_REMOVE_SPAN_ATTRIBUTE: Final = 2
OP_ADD_SPAN_ATTRIBUTE: Final = 3
OP_SET_RESOURCE_ATTRIBUTE: Final = 4
OP_REMOVE_RESOURCE_ATTRIBUTE: Final = 5
OP_SET_EVENT_ATTRIBUTE: Final = 6
OP_REMOVE_EVENT_ATTRIBUTE: Final = 7
OP_SET_LINK_ATTRIBUTE: Final = 8
OP_REMOVE_LINK_ATTRIBUTE: Final = 9
OP_SET_NAME: Final = 10
OP_SET_STATUS_MESSAGE: Final = 11
OP_SET_EVENT_NAME: Final = 12
OP_DROP_SPAN: Final = 13

OP_NAMES: Final = {
    OP_SET_SPAN_ATTRIBUTE: "set-span-attribute",
    OP_REMOVE_SPAN_ATTRIBUTE: "remove-span-attribute",
    OP_ADD_SPAN_ATTRIBUTE: "add-span-attribute",
    OP_SET_RESOURCE_ATTRIBUTE: "set-resource-attribute",
    OP_REMOVE_RESOURCE_ATTRIBUTE: "remove-resource-attribute",
    OP_SET_EVENT_ATTRIBUTE: "set-event-attribute",
    OP_REMOVE_EVENT_ATTRIBUTE: "remove-event-attribute",
    OP_SET_LINK_ATTRIBUTE: "set-link-attribute",
    OP_REMOVE_LINK_ATTRIBUTE: "remove-link-attribute",
    OP_SET_NAME: "set-name",
    OP_SET_STATUS_MESSAGE: "set-status-message",
    OP_SET_EVENT_NAME: "set-event-name",
    OP_DROP_SPAN: "drop-span",
}
"""The WIT-style name of each op, as error messages show it."""

EDIT_RECORD: Final = struct.Struct("<BBxxIQQ")
"""One edit record: op, value kind, 2 zero bytes, target, key reference, value bits."""
assert EDIT_RECORD.size == EDIT_RECORD_BYTES

_DIRECTORY = struct.Struct(f"<{2 * COUNT}I")


class LayoutError(ValueError):
    """A buffer that does not follow the layout."""


def str_ref(offset: int, length: int) -> int:
    """A string reference as one ``u64``."""
    return offset | length << 32


def read_directory(columns: bytes) -> List[Tuple[int, int]]:
    """The ``(offset, count)`` of every column, each range checked as the Rust
    ``BatchView::parse`` checks it (inside the buffer, offset a multiple of 8).
    Absent columns read as ``(0, 0)``."""
    if len(columns) < DIRECTORY_BYTES:
        raise LayoutError(
            f"the column buffer is {len(columns)} bytes, shorter than its "
            f"{DIRECTORY_BYTES}-byte directory"
        )
    words = _DIRECTORY.unpack_from(columns, 0)
    ranges: List[Tuple[int, int]] = []
    size = len(columns)
    for index in range(COUNT):
        offset = words[2 * index]
        count = words[2 * index + 1]
        if count == 0:
            ranges.append((0, 0))
            continue
        width = WIDTHS[index]
        if offset + count * width > size:
            raise LayoutError(
                f"column {index} ({NAMES[index]}) claims {count} elements of {width} bytes "
                f"at offset {offset}, outside the {size}-byte column buffer"
            )
        if offset % 8:
            raise LayoutError(
                f"column {index} ({NAMES[index]}) starts at offset {offset}, not a multiple of 8"
            )
        ranges.append((offset, count))
    return ranges


class BatchBuilder:
    """Builds a batch column by column, like the Rust ``BatchBuilder``: push elements to
    any column in any order, then :meth:`write_columns` lays out the directory and the
    columns (each starting at a multiple of 8). Used by the test harness."""

    def __init__(self) -> None:
        self.columns: List[bytearray] = [bytearray() for _ in range(COUNT)]
        self.strings = bytearray()

    def count(self, column: int) -> int:
        """Elements pushed to ``column`` so far."""
        return len(self.columns[column]) // WIDTHS[column]

    def push_u8(self, column: int, value: int) -> None:
        self.columns[column].append(value)

    def push_u32(self, column: int, value: int) -> None:
        self.columns[column] += value.to_bytes(4, "little")

    def push_u64(self, column: int, value: int) -> None:
        self.columns[column] += (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little")

    def push_f64(self, column: int, value: float) -> None:
        self.columns[column] += struct.pack("<d", value)

    def push_id(self, column: int, ident: bytes) -> None:
        """An id as on the wire, cut or zero-padded to the column's width."""
        width = WIDTHS[column]
        self.columns[column] += ident[:width].ljust(width, b"\0")

    def push_string(self, text: str) -> int:
        """Appends ``text`` to the arena; returns its reference as a ``u64``."""
        data = text.encode("utf-8")
        reference = str_ref(len(self.strings), len(data))
        self.strings += data
        return reference

    def push_str(self, column: int, text: str) -> None:
        """Appends ``text`` to the arena and pushes its reference to ``column``."""
        self.push_u64(column, self.push_string(text))

    def write_columns(self) -> bytes:
        """The column buffer: directory, then every non-empty column."""
        out = bytearray(DIRECTORY_BYTES)
        for index, data in enumerate(self.columns):
            count = len(data) // WIDTHS[index]
            if count == 0:
                continue
            struct.pack_into("<II", out, index * 8, len(out), count)
            out += data
            out += bytes(-len(out) % 8)
        return bytes(out)
