"""The batch a plugin reads: two byte buffers (columns and a string arena) read span
by span through views, without copying whole columns.

Each column is a ``memoryview`` cast to its element type (``u32``, ``u64``, ...) over
the ``columns`` bytes the host sent; a :class:`SpanView` is a batch reference plus an
index, and its properties read one element each. Strings are decoded when read
(service names and attribute keys, which are dictionaries, once per batch).
"""

from __future__ import annotations

import array
import enum
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import abi
from .needs import FIELD_NAMES, AttributeSelection, Needs, SpanFields, UndeclaredError

_LITTLE_ENDIAN = sys.byteorder == "little"


class SpanKind(enum.IntEnum):
    """The WIT ``span-kind`` cases; values are OTLP's."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(enum.IntEnum):
    """The WIT ``status-code`` cases."""

    UNSET = 0
    OK = 1
    ERROR = 2


_KINDS = tuple(SpanKind)
_STATUSES = tuple(StatusCode)


@dataclass(frozen=True)
class Json:
    """A non-scalar attribute value (array, map, bytes) as the host sends it: JSON text
    (bytes as a base64 string). Sent only under ``AttributeSelection.ALL`` or when the
    key is named in ``AttributeSelection.keys``. Edits cannot write it."""

    text: str


Value = Union[str, int, float, bool, Json]
"""An attribute value: ``str``, ``int`` (i64), ``float``, ``bool`` or :class:`Json`."""


class Attribute(NamedTuple):
    """One attribute row. ``row`` is what attribute edits address
    (``edits.set_span_attribute(attribute.row, ...)``)."""

    row: int
    key: str
    value: Value


def _typed(buffer: memoryview, offset: int, count: int, width: int, fmt: str) -> Sequence[Any]:
    """``count`` little-endian elements of ``width`` bytes at ``offset``, as a sequence
    of ``fmt`` (a ``struct`` format letter) without copying on little-endian machines."""
    raw = buffer[offset : offset + count * width]
    if _LITTLE_ENDIAN:
        return raw.cast(fmt)  # type: ignore[call-overload]
    values = array.array(fmt)
    values.frombytes(raw)
    values.byteswap()
    return values


_EMPTY: Sequence[Any] = ()


class _Table:
    """One attribute table (five columns) of a batch."""

    __slots__ = ("batch", "owners", "key", "kind", "words", "ints", "doubles", "keys", "rows")

    def __init__(self, batch: "SpanBatch", base: int) -> None:
        self.batch = batch
        self.owners = batch._u32(base + abi.OWNER_OFFSETS)
        self.key = batch._u32(base + abi.KEY)
        self.kind = batch._u8(base + abi.VALUE_KIND)
        self.words = batch._u32_pairs(base + abi.VALUE)
        self.ints = batch._typed(base + abi.VALUE, "q")
        self.doubles = batch._typed(base + abi.VALUE, "d")
        self.keys: List[str] = batch._texts(base + abi.KEYS)
        self.rows = len(self.key)

    def bounds(self, owner: int) -> Tuple[int, int]:
        owners = self.owners
        if owner + 1 >= len(owners):
            return (0, 0)
        start = owners[owner]
        end = owners[owner + 1]
        if end < start or end > self.rows:
            return (0, 0)
        return (start, end)

    def key_of(self, row: int) -> str:
        index = self.key[row]
        keys = self.keys
        return keys[index] if index < len(keys) else ""

    def value(self, row: int) -> Value:
        kind = self.kind[row]
        if kind == abi.KIND_STR:
            words = self.words
            return self.batch.text(words[2 * row], words[2 * row + 1])
        if kind == abi.KIND_INT:
            return self.ints[row]
        if kind == abi.KIND_DOUBLE:
            return self.doubles[row]
        if kind == abi.KIND_BOOL:
            return self.ints[row] != 0
        words = self.words
        return Json(self.batch.text(words[2 * row], words[2 * row + 1]))


class Attributes:
    """The selected attributes of one owner (span, resource, event or link), in row
    order. Iterating yields :class:`Attribute` ``(row, key, value)``."""

    __slots__ = ("_table", "_start", "_end", "_selection", "_what")

    def __init__(
        self,
        table: Optional[_Table],
        start: int,
        end: int,
        selection: Optional[AttributeSelection],
        what: str,
    ) -> None:
        self._table = table
        self._start = start
        self._end = end
        self._selection = selection
        self._what = what

    def __len__(self) -> int:
        return self._end - self._start

    def __bool__(self) -> bool:
        return self._end > self._start

    def __iter__(self) -> Iterator[Attribute]:
        table = self._table
        if table is None:
            return
        key_of = table.key_of
        value = table.value
        for row in range(self._start, self._end):
            yield Attribute(row, key_of(row), value(row))

    def __repr__(self) -> str:
        return f"Attributes({list(self)!r})"

    @property
    def rows(self) -> range:
        """The rows of this owner (global indexes in its table)."""
        return range(self._start, self._end)

    def _check_key(self, key: str) -> None:
        selection = self._selection
        if selection is not None and selection.kind == "keys" and key not in selection.names:
            raise UndeclaredError(
                f"{self._what} attribute `{key}` is not among the keys declared in needs "
                f"({list(selection.names)!r}); the host sends only those"
            )

    def find(self, key: str) -> Optional[Attribute]:
        """The first attribute named ``key``, with its row, or ``None``."""
        self._check_key(key)
        table = self._table
        if table is None:
            return None
        for row in range(self._start, self._end):
            if table.key_of(row) == key:
                return Attribute(row, key, table.value(row))
        return None

    def get(self, key: str, default: Optional[Value] = None) -> Optional[Value]:
        """The value of the first attribute named ``key``, or ``default``."""
        found = self.find(key)
        return default if found is None else found.value

    def get_str(self, key: str) -> Optional[str]:
        """The value of ``key`` if it is a string (not :class:`Json`)."""
        value = self.get(key)
        return value if isinstance(value, str) else None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.find(key) is not None

    def to_dict(self) -> Dict[str, Value]:
        """Key to value; the first row of a key wins."""
        out: Dict[str, Value] = {}
        for _, key, value in self:
            out.setdefault(key, value)
        return out


class EventView:
    """An event of a span. ``index`` is its global index in the batch: what
    ``edits.set_event_name`` addresses."""

    __slots__ = ("_batch", "index")

    def __init__(self, batch: "SpanBatch", index: int) -> None:
        self._batch = batch
        self.index = index

    @property
    def name(self) -> str:
        """The event's name (needs ``SpanFields.EVENT_NAMES``)."""
        batch = self._batch
        refs = batch._event_names
        if refs is None:
            return batch._absent(SpanFields.EVENT_NAMES, "")
        return batch.text(refs[2 * self.index], refs[2 * self.index + 1])

    @property
    def attributes(self) -> Attributes:
        """The event's selected attributes (needs ``Needs.event_attributes``)."""
        return self._batch._owner_attributes(3, self.index)

    def __repr__(self) -> str:
        return f"EventView(index={self.index})"


class LinkView:
    """A link of a span; ``index`` is its global index in the batch."""

    __slots__ = ("_batch", "index")

    def __init__(self, batch: "SpanBatch", index: int) -> None:
        self._batch = batch
        self.index = index

    @property
    def attributes(self) -> Attributes:
        """The link's selected attributes (needs ``Needs.link_attributes``)."""
        return self._batch._owner_attributes(4, self.index)

    def __repr__(self) -> str:
        return f"LinkView(index={self.index})"


class SpanView:
    """One span of a batch: the batch and an index, read column by column.

    ``index`` is what span edits address (``edits.set_name(span.index, ...)``,
    ``edits.drop_span(span.index)``). In the native harness, reading a field the plugin
    did not declare in its needs raises :class:`~spangate_plugin.UndeclaredError`
    naming the field; in the component it reads as its default.
    """

    __slots__ = ("_batch", "index")

    def __init__(self, batch: "SpanBatch", index: int) -> None:
        self._batch = batch
        self.index = index

    def __repr__(self) -> str:
        return f"SpanView(index={self.index})"

    def _id(self, column: int, field: SpanFields) -> bytes:
        batch = self._batch
        offset, count = batch._ranges[column]
        if count == 0:
            return batch._absent(field, bytes(abi.WIDTHS[column]))
        width = abi.WIDTHS[column]
        start = offset + self.index * width
        return bytes(batch._buffer[start : start + width])

    @property
    def trace_id(self) -> bytes:
        """The 16-byte trace id as on the wire (``.hex()`` for the usual text)."""
        return self._id(abi.TRACE_ID, SpanFields.TRACE_ID)

    @property
    def span_id(self) -> bytes:
        """The 8-byte span id as on the wire."""
        return self._id(abi.SPAN_ID, SpanFields.SPAN_ID)

    @property
    def parent_span_id(self) -> Optional[bytes]:
        """The parent's 8-byte span id; ``None`` for a root span."""
        parent = self._id(abi.PARENT_SPAN_ID, SpanFields.PARENT_SPAN_ID)
        return parent if any(parent) else None

    @property
    def service_name(self) -> str:
        """The span's service name (``""`` when the resource has none)."""
        batch = self._batch
        services = batch._service
        if services is None:
            return batch._absent(SpanFields.SERVICE_NAME, "")
        index = services[self.index]
        names = batch._services
        return names[index] if index < len(names) else ""

    @property
    def name(self) -> str:
        batch = self._batch
        refs = batch._names
        if refs is None:
            return batch._absent(SpanFields.NAME, "")
        i = 2 * self.index
        return batch.text(refs[i], refs[i + 1])

    @property
    def kind(self) -> SpanKind:
        batch = self._batch
        kinds = batch._kinds
        if kinds is None:
            return batch._absent(SpanFields.KIND, SpanKind.UNSPECIFIED)
        value = kinds[self.index]
        return _KINDS[value] if value < len(_KINDS) else SpanKind.UNSPECIFIED

    @property
    def start_unix_nanos(self) -> int:
        batch = self._batch
        starts = batch._starts
        if starts is None:
            return batch._absent(SpanFields.TIMES, 0)
        return starts[self.index]

    @property
    def end_unix_nanos(self) -> int:
        batch = self._batch
        ends = batch._ends
        if ends is None:
            return batch._absent(SpanFields.TIMES, 0)
        return ends[self.index]

    @property
    def duration_nanos(self) -> int:
        """End minus start; 0 when the end is before the start."""
        batch = self._batch
        starts = batch._starts
        ends = batch._ends
        if starts is None or ends is None:
            return batch._absent(SpanFields.TIMES, 0)
        duration = ends[self.index] - starts[self.index]
        return duration if duration > 0 else 0

    @property
    def status(self) -> StatusCode:
        batch = self._batch
        statuses = batch._statuses
        if statuses is None:
            return batch._absent(SpanFields.STATUS, StatusCode.UNSET)
        value = statuses[self.index]
        return _STATUSES[value] if value < len(_STATUSES) else StatusCode.UNSET

    @property
    def status_message(self) -> str:
        batch = self._batch
        refs = batch._status_messages
        if refs is None:
            return batch._absent(SpanFields.STATUS_MESSAGE, "")
        i = 2 * self.index
        return batch.text(refs[i], refs[i + 1])

    @property
    def size(self) -> int:
        """The span's encoded size in bytes (the host's protobuf size)."""
        batch = self._batch
        sizes = batch._sizes
        if sizes is None:
            return batch._absent(SpanFields.SIZE, 0)
        return sizes[self.index]

    @property
    def attributes(self) -> Attributes:
        """The span's selected attributes (needs ``Needs.span_attributes``)."""
        return self._batch._owner_attributes(1, self.index)

    @property
    def resource_index(self) -> int:
        """The index of the span's resource (spans of one resource share it)."""
        batch = self._batch
        resources = batch._resources
        if resources is None:
            batch._check_selection(2)
            return 0
        return resources[self.index]

    @property
    def resource_attributes(self) -> Attributes:
        """The selected attributes of the span's resource, shared by the spans with the
        same :attr:`resource_index` (needs ``Needs.resource_attributes``)."""
        batch = self._batch
        resources = batch._resources
        if resources is None:
            return batch._owner_attributes(2, -1)
        return batch._owner_attributes(2, resources[self.index])

    @property
    def events(self) -> List[EventView]:
        """The span's events (needs ``SpanFields.EVENT_NAMES`` or event attributes)."""
        batch = self._batch
        offsets = batch._event_offsets
        if offsets is None:
            batch._check_events()
            return []
        start, end = _range(offsets, self.index)
        return [EventView(batch, index) for index in range(start, end)]

    @property
    def links(self) -> List[LinkView]:
        """The span's links (needs ``Needs.link_attributes``)."""
        batch = self._batch
        offsets = batch._link_offsets
        if offsets is None:
            batch._check_selection(4)
            return []
        start, end = _range(offsets, self.index)
        return [LinkView(batch, index) for index in range(start, end)]


def _range(offsets: Sequence[int], index: int) -> Tuple[int, int]:
    if index + 1 >= len(offsets):
        return (0, 0)
    start = offsets[index]
    end = offsets[index + 1]
    return (start, end) if start <= end else (0, 0)


_TABLE_NAMES = ("", "span", "resource", "event", "link")


class SpanBatch:
    """A batch as the host sent it: ``len`` spans, the ``columns`` buffer and the
    ``strings`` arena (layout: ``wit/README.md``, "Batch layout").

    ``needs`` is the plugin's declaration: with it (the native test harness passes it),
    reading an undeclared field raises :class:`~spangate_plugin.UndeclaredError` naming
    it; without it (inside the component, as in the gateway), absent columns read as
    defaults (``""``, 0, no attributes).

    Iterate it for :class:`SpanView`\\ s: ``for span in batch: ...``.
    """

    def __init__(
        self,
        length: int,
        columns: bytes,
        strings: bytes,
        needs: Optional[Needs] = None,
    ) -> None:
        self.len = length
        self.strings = bytes(strings)
        self.needs = needs
        self._strings_len = len(self.strings)
        self._buffer = memoryview(columns)
        self._ranges = abi.read_directory(columns)
        self._fields: Optional[int] = None if needs is None else int(needs.fields)
        self._tables: List[Optional[_Table]] = [None] * 5
        self._selections: Tuple[Optional[AttributeSelection], ...] = (
            (None,) * 5
            if needs is None
            else (
                None,
                needs.span_attributes,
                needs.resource_attributes,
                needs.event_attributes,
                needs.link_attributes,
            )
        )

        self._names = self._u32_pairs(abi.NAME, optional=True)
        self._status_messages = self._u32_pairs(abi.STATUS_MESSAGE, optional=True)
        self._kinds = self._u8(abi.KIND, optional=True)
        self._statuses = self._u8(abi.STATUS, optional=True)
        self._starts = self._typed(abi.START, "Q", optional=True)
        self._ends = self._typed(abi.END, "Q", optional=True)
        self._sizes = self._u32(abi.SIZE, optional=True)
        self._service = self._u32(abi.SERVICE, optional=True)
        self._services = self._texts(abi.SERVICES)
        self._resources = self._u32(abi.RESOURCE, optional=True)
        self._event_offsets = self._u32(abi.EVENT_OFFSETS, optional=True)
        self._event_names = self._u32_pairs(abi.EVENT_NAMES, optional=True)
        self._link_offsets = self._u32(abi.LINK_OFFSETS, optional=True)

    @classmethod
    def from_wit(cls, raw: Any, needs: Optional[Needs] = None) -> "SpanBatch":
        """From the generated ``span-batch`` record (``len``, ``columns``, ``strings``)."""
        return cls(raw.len, raw.columns, raw.strings, needs)

    # --- columns ---------------------------------------------------------------

    def _typed(self, column: int, fmt: str, optional: bool = False) -> Any:
        offset, count = self._ranges[column]
        if count == 0:
            return None if optional else _EMPTY
        width = abi.WIDTHS[column]
        return _typed(self._buffer, offset, count * width // _SIZES[fmt], _SIZES[fmt], fmt)

    def _u8(self, column: int, optional: bool = False) -> Any:
        return self._typed(column, "B", optional)

    def _u32(self, column: int, optional: bool = False) -> Any:
        return self._typed(column, "I", optional)

    def _u32_pairs(self, column: int, optional: bool = False) -> Any:
        """A column of 8-byte string references as ``u32``\\ s: offset at ``2i``,
        length at ``2i + 1``."""
        return self._typed(column, "I", optional)

    def _texts(self, column: int) -> List[str]:
        refs = self._u32_pairs(column)
        return [self.text(refs[i], refs[i + 1]) for i in range(0, len(refs), 2)]

    def column(self, column: int) -> memoryview:
        """The raw bytes of a column (``abi.NAME``, ...): for column-wise code."""
        offset, count = self._ranges[column]
        return self._buffer[offset : offset + count * abi.WIDTHS[column]]

    def typed_column(self, column: int, fmt: str) -> Sequence[Any]:
        """A column as a sequence of ``fmt`` elements (``"B"``, ``"I"``, ``"Q"``,
        ``"q"``, ``"d"``): e.g. ``batch.typed_column(abi.START, "Q")``. String-reference
        columns read as ``"I"`` give offset and length pairs."""
        return self._typed(column, fmt)

    def count(self, column: int) -> int:
        """Elements in a column (0 when absent)."""
        return self._ranges[column][1]

    def text(self, offset: int, length: int) -> str:
        """The UTF-8 text of ``length`` bytes at ``offset`` of the string arena (``""``
        when outside it)."""
        end = offset + length
        if end > self._strings_len:
            return ""
        return self.strings[offset:end].decode("utf-8", "replace")

    # --- declared or not -------------------------------------------------------

    def _absent(self, field: SpanFields, default: Any) -> Any:
        fields = self._fields
        if fields is not None and not fields & field:
            raise UndeclaredError(
                f"span field `{FIELD_NAMES[field]}` was not declared in needs: add "
                f"SpanFields.{field.name} to Needs.fields"
            )
        return default

    def _selection(self, table: int) -> Optional[AttributeSelection]:
        return self._selections[table]

    def _check_selection(self, table: int) -> None:
        selection = self._selection(table)
        if selection is not None and selection.kind == "none":
            name = _TABLE_NAMES[table]
            raise UndeclaredError(
                f"{name} attributes were not declared in needs: set Needs.{name}_attributes "
                f"(AttributeSelection.keys([...]), ALL_STRINGS or ALL)"
            )

    def _check_events(self) -> None:
        needs = self.needs
        if (
            needs is not None
            and not needs.fields & SpanFields.EVENT_NAMES
            and needs.event_attributes.kind == "none"
        ):
            raise UndeclaredError(
                "events were not declared in needs: add SpanFields.EVENT_NAMES to "
                "Needs.fields or set Needs.event_attributes"
            )

    def _table(self, table: int) -> _Table:
        found = self._tables[table]
        if found is None:
            found = _Table(self, abi.ATTRIBUTE_TABLES + (table - 1) * abi.TABLE_COLUMNS)
            self._tables[table] = found
        return found

    def _owner_attributes(self, table: int, owner: int) -> Attributes:
        found = self._tables[table]
        if found is None:
            self._check_selection(table)  # once: an undeclared table is never built
            found = self._table(table)
        start, end = found.bounds(owner) if owner >= 0 else (0, 0)
        return Attributes(found, start, end, self._selections[table], _TABLE_NAMES[table])

    # --- spans -----------------------------------------------------------------

    def __len__(self) -> int:
        return self.len

    def __iter__(self) -> Iterator[SpanView]:
        for index in range(self.len):
            yield SpanView(self, index)

    def span(self, index: int) -> SpanView:
        """The span at ``index`` (``IndexError`` past the end)."""
        if not 0 <= index < self.len:
            raise IndexError(f"span {index} out of range: the batch has {self.len} spans")
        return SpanView(self, index)

    def spans(self) -> Iterator[SpanView]:
        """The spans in batch order (same as iterating the batch)."""
        return iter(self)

    def trace_ids_in_order(self) -> List[bytes]:
        """Distinct trace ids in order of first appearance: the traces ``sample_tail``
        answers for, one decision each, in this order (needs ``SpanFields.TRACE_ID``)."""
        offset, count = self._ranges[abi.TRACE_ID]
        if count == 0:
            self._absent(SpanFields.TRACE_ID, None)
        buffer = self._buffer
        seen = set()
        ordered: List[bytes] = []
        for index in range(min(count, self.len)):
            start = offset + 16 * index
            trace_id = bytes(buffer[start : start + 16])
            if trace_id not in seen:
                seen.add(trace_id)
                ordered.append(trace_id)
        return ordered


_SIZES = {"B": 1, "I": 4, "Q": 8, "q": 8, "d": 8}
