"""A processor's edits applied to test spans, with the host's checks: every edit must
address a row, span or event of the batch the plugin was given and a field it
declared (attribute edits, adding included, need that kind of attribute selected),
and no row may be both set and removed. Any bad edit fails the whole answer (nothing
is applied), as in the host.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

from .. import abi
from ..edits import EditRecord, Edits, EditValue, decode_records
from ..needs import AttributeSelection, Needs, SpanFields
from .encode import Encoding, encode
from .span import TestSpan

EditsLike = Union[Edits, Tuple[bytes, bytes], Sequence[EditRecord]]
"""An :class:`Edits`, an answer's ``(records, strings)`` buffers, or decoded records."""


class EditError(ValueError):
    """An answer the host would refuse; the message names the edit, e.g.
    ``edit 0 (set-name span 3): out of range: the batch has 3 spans``."""


_TABLES = {
    abi.OP_SET_SPAN_ATTRIBUTE: ("span", False),
    abi.OP_REMOVE_SPAN_ATTRIBUTE: ("span", True),
    abi.OP_SET_RESOURCE_ATTRIBUTE: ("resource", False),
    abi.OP_REMOVE_RESOURCE_ATTRIBUTE: ("resource", True),
    abi.OP_SET_EVENT_ATTRIBUTE: ("event", False),
    abi.OP_REMOVE_EVENT_ATTRIBUTE: ("event", True),
    abi.OP_SET_LINK_ATTRIBUTE: ("link", False),
    abi.OP_REMOVE_LINK_ATTRIBUTE: ("link", True),
}


def _records(edits: EditsLike) -> List[EditRecord]:
    try:
        if isinstance(edits, Edits):
            return list(edits)
        if isinstance(edits, tuple) and len(edits) == 2 and isinstance(edits[0], (bytes, bytearray)):
            return list(decode_records(bytes(edits[0]), bytes(edits[1])))
        return list(edits)
    except ValueError as error:
        raise EditError(f"malformed edits: {error}") from None


def apply_edits(spans: Sequence[TestSpan], needs: Needs, edits: EditsLike) -> List[TestSpan]:
    """The spans after ``edits`` (dropped spans removed); raises :class:`EditError`
    for the first edit the host would refuse."""
    encoding = encode(spans, needs)
    records = _records(edits)
    _check_set_and_removed(records)
    for position, record in enumerate(records):
        problem = _check(encoding, len(spans), needs, record)
        if problem is not None:
            raise EditError(f"edit {position} ({record.describe()}): {problem}")
    return _apply(encoding, spans, records)


def _check_set_and_removed(records: List[EditRecord]) -> None:
    removed = {
        (_TABLES[r.op][0], r.target) for r in records if r.op in _TABLES and _TABLES[r.op][1]
    }
    for position, record in enumerate(records):
        target = _TABLES.get(record.op)
        if target is not None and not target[1] and (target[0], record.target) in removed:
            raise EditError(
                f"edit {position} ({record.describe()}): {target[0]} attribute row "
                f"{record.target} is both set and removed"
            )


def _check(encoding: Encoding, span_count: int, needs: Needs, record: EditRecord) -> Optional[str]:
    def in_range(index: int, count: int, what: str) -> Optional[str]:
        return None if index < count else f"out of range: the batch has {count} {what}"

    def declared(flag: SpanFields, name: str) -> Optional[str]:
        return None if needs.fields & flag else f"field `{name}` was not declared in needs"

    def selected(selection: AttributeSelection, noun: str) -> Optional[str]:
        return f"no {noun} attributes were declared in needs" if selection.is_none else None

    op = record.op
    target = record.target
    if op in (abi.OP_SET_SPAN_ATTRIBUTE, abi.OP_REMOVE_SPAN_ATTRIBUTE):
        return selected(needs.span_attributes, "span") or in_range(
            target, len(encoding.span_rows), "span attribute rows"
        )
    if op in (abi.OP_SET_RESOURCE_ATTRIBUTE, abi.OP_REMOVE_RESOURCE_ATTRIBUTE):
        return selected(needs.resource_attributes, "resource") or in_range(
            target, len(encoding.resource_rows), "resource attribute rows"
        )
    if op in (abi.OP_SET_EVENT_ATTRIBUTE, abi.OP_REMOVE_EVENT_ATTRIBUTE):
        return selected(needs.event_attributes, "event") or in_range(
            target, len(encoding.event_rows), "event attribute rows"
        )
    if op in (abi.OP_SET_LINK_ATTRIBUTE, abi.OP_REMOVE_LINK_ATTRIBUTE):
        return selected(needs.link_attributes, "link") or in_range(
            target, len(encoding.link_rows), "link attribute rows"
        )
    if op == abi.OP_ADD_SPAN_ATTRIBUTE:
        # As in the host: adding needs some span-attribute selection (a plugin that
        # adds `slow` can select just `keys(["slow"])`).
        problem = selected(needs.span_attributes, "span") or in_range(target, span_count, "spans")
        if problem is None and not record.key:
            problem = "empty attribute key"
        return problem
    if op == abi.OP_SET_NAME:
        return declared(SpanFields.NAME, "name") or in_range(target, span_count, "spans")
    if op == abi.OP_SET_STATUS_MESSAGE:
        return declared(SpanFields.STATUS_MESSAGE, "status-message") or in_range(
            target, span_count, "spans"
        )
    if op == abi.OP_SET_EVENT_NAME:
        return declared(SpanFields.EVENT_NAMES, "event-names") or in_range(
            target, len(encoding.events), "events"
        )
    if op == abi.OP_DROP_SPAN:
        return in_range(target, span_count, "spans")
    return f"unknown op {op}"


def _apply(encoding: Encoding, spans: Sequence[TestSpan], records: List[EditRecord]) -> List[TestSpan]:
    """Values first (addressed by the original positions), then removals, then
    additions (so positions stay valid), then drops."""
    out = [span.copy() for span in spans]
    removed_span: Set[Tuple[int, int]] = set()
    removed_resource: Set[Tuple[int, int]] = set()
    removed_event: Set[Tuple[int, int, int]] = set()
    removed_link: Set[Tuple[int, int, int]] = set()
    added: List[Tuple[int, str, Optional[EditValue]]] = []
    dropped: Set[int] = set()

    for record in records:
        op = record.op
        target = record.target
        value = record.value
        if op == abi.OP_SET_SPAN_ATTRIBUTE:
            span, index = encoding.span_rows[target]
            out[span].attributes[index] = (out[span].attributes[index][0], value)  # type: ignore[assignment]
        elif op == abi.OP_REMOVE_SPAN_ATTRIBUTE:
            removed_span.add(encoding.span_rows[target])
        elif op == abi.OP_SET_RESOURCE_ATTRIBUTE:
            resource, index = encoding.resource_rows[target]
            for span in encoding.resource_spans[resource]:
                key = out[span].resource_attributes[index][0]
                out[span].resource_attributes[index] = (key, value)  # type: ignore[assignment]
        elif op == abi.OP_REMOVE_RESOURCE_ATTRIBUTE:
            resource, index = encoding.resource_rows[target]
            for span in encoding.resource_spans[resource]:
                removed_resource.add((span, index))
        elif op == abi.OP_SET_EVENT_ATTRIBUTE:
            event, index = encoding.event_rows[target]
            span, event_index = encoding.events[event]
            attributes = out[span].events[event_index].attributes
            attributes[index] = (attributes[index][0], value)  # type: ignore[assignment]
        elif op == abi.OP_REMOVE_EVENT_ATTRIBUTE:
            event, index = encoding.event_rows[target]
            span, event_index = encoding.events[event]
            removed_event.add((span, event_index, index))
        elif op == abi.OP_SET_LINK_ATTRIBUTE:
            link, index = encoding.link_rows[target]
            span, link_index = encoding.links[link]
            attributes = out[span].links[link_index].attributes
            attributes[index] = (attributes[index][0], value)  # type: ignore[assignment]
        elif op == abi.OP_REMOVE_LINK_ATTRIBUTE:
            link, index = encoding.link_rows[target]
            span, link_index = encoding.links[link]
            removed_link.add((span, link_index, index))
        elif op == abi.OP_ADD_SPAN_ATTRIBUTE:
            added.append((target, record.key or "", value))
        elif op == abi.OP_SET_NAME:
            out[target].name = str(value)
        elif op == abi.OP_SET_STATUS_MESSAGE:
            out[target].status_message = str(value)
        elif op == abi.OP_SET_EVENT_NAME:
            span, event_index = encoding.events[target]
            out[span].events[event_index].name = str(value)
        elif op == abi.OP_DROP_SPAN:
            dropped.add(target)

    for span_index, edited in enumerate(out):
        edited.attributes = [
            a for i, a in enumerate(edited.attributes) if (span_index, i) not in removed_span
        ]
        edited.resource_attributes = [
            a
            for i, a in enumerate(edited.resource_attributes)
            if (span_index, i) not in removed_resource
        ]
        for event_index, edited_event in enumerate(edited.events):
            edited_event.attributes = [
                a
                for i, a in enumerate(edited_event.attributes)
                if (span_index, event_index, i) not in removed_event
            ]
        for link_index, edited_link in enumerate(edited.links):
            edited_link.attributes = [
                a
                for i, a in enumerate(edited_link.attributes)
                if (span_index, link_index, i) not in removed_link
            ]
    # An added key the span already has replaces its value, as in the host.
    for span_index, key, value in added:
        attributes = out[span_index].attributes
        for position, (existing, _) in enumerate(attributes):
            if existing == key:
                attributes[position] = (key, value)  # type: ignore[assignment]
                break
        else:
            attributes.append((key, value))  # type: ignore[arg-type]
    return [span for index, span in enumerate(out) if index not in dropped]


def apply_decisions(spans: Sequence[TestSpan], verdicts: Sequence[int]) -> List[TestSpan]:
    """The spans a head sampler's verdicts keep (0 drops), as the host applies them."""
    if len(verdicts) != len(spans):
        raise EditError(f"{len(verdicts)} decisions for a batch of {len(spans)} spans")
    return [span.copy() for span, verdict in zip(spans, verdicts) if verdict != 0]


__all__ = ["EditError", "EditsLike", "apply_decisions", "apply_edits"]
