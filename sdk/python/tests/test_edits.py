import math
import struct

import pytest

from spangate_plugin import EditRecord, Edits, Json, abi, decode_records


def test_records_are_24_bytes_as_the_layout_says() -> None:
    edits = Edits()
    edits.set_span_attribute(7, "é!")
    edits.add_span_attribute(2, "ref.slow", True)
    edits.set_resource_attribute(1, -5)
    edits.set_link_attribute(3, 0.5)
    edits.drop_span(9)
    records = edits.records
    assert len(records) == 5 * 24 and len(edits) == 5
    assert edits.strings == "é!".encode() + b"ref.slow"
    assert records[0:24] == struct.pack("<BBxxIQQ", 1, 0, 7, 0, 0 | 3 << 32)
    assert records[24:48] == struct.pack("<BBxxIQQ", 3, 3, 2, 3 | 8 << 32, 1)
    assert records[48:72] == struct.pack("<BBxxIQq", 4, 1, 1, 0, -5)
    assert records[72:96] == struct.pack("<BBxxIQd", 8, 2, 3, 0, 0.5)
    assert records[96:120] == struct.pack("<BBxxIQQ", 13, 0, 9, 0, 0)
    assert all(records[i + 2 : i + 4] == b"\0\0" for i in range(0, 120, 24))


def test_every_op_decodes_back() -> None:
    edits = Edits()
    edits.set_span_attribute(0, "a")
    edits.remove_span_attribute(1)
    edits.add_span_attribute(2, "k", 3)
    edits.set_resource_attribute(3, False)
    edits.remove_resource_attribute(4)
    edits.set_event_attribute(5, 1.25)
    edits.remove_event_attribute(6)
    edits.set_link_attribute(7, "l")
    edits.remove_link_attribute(8)
    edits.set_name(9, "n")
    edits.set_status_message(10, "m")
    edits.set_event_name(11, "e")
    edits.drop_span(12)
    assert list(edits) == [
        EditRecord(1, 0, None, "a"),
        EditRecord(2, 1, None, None),
        EditRecord(3, 2, "k", 3),
        EditRecord(4, 3, None, False),
        EditRecord(5, 4, None, None),
        EditRecord(6, 5, None, 1.25),
        EditRecord(7, 6, None, None),
        EditRecord(8, 7, None, "l"),
        EditRecord(9, 8, None, None),
        EditRecord(10, 9, None, "n"),
        EditRecord(11, 10, None, "m"),
        EditRecord(12, 11, None, "e"),
        EditRecord(13, 12, None, None),
    ]
    assert [r.op for r in edits] == list(range(1, 14))
    assert "set-event-name event 11" in repr(edits)


def test_value_kinds_follow_python_types() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    edits = Edits()
    for value in (True, 1, 1.0, "1", Level.HIGH, math.inf, (1 << 63) - 1, -(1 << 63)):
        edits.set_span_attribute(0, value)  # type: ignore[arg-type]
    kinds = [edits.records[i * 24 + 1] for i in range(len(edits))]
    assert kinds == [3, 1, 2, 0, 1, 2, 1, 1]
    assert [r.value for r in edits][4:] == [3, math.inf, (1 << 63) - 1, -(1 << 63)]


def test_bad_values_and_targets_are_refused_naming_the_op() -> None:
    edits = Edits()
    with pytest.raises(ValueError, match="integer 9223372036854775808 does not fit in an i64"):
        edits.set_span_attribute(0, 1 << 63)
    with pytest.raises(ValueError, match="drop-span: target -1 is not a u32 index"):
        edits.drop_span(-1)
    with pytest.raises(TypeError, match="cannot write JSON values"):
        edits.set_span_attribute(0, Json("[]"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot write a list"):
        edits.set_span_attribute(0, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="set_name: expected a str"):
        edits.set_name(0, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty attribute key"):
        edits.add_span_attribute(0, "", 1)
    assert len(edits) == 0 and edits.records == b""


def test_the_buffer_grows_and_clear_keeps_nothing() -> None:
    edits = Edits()
    for span in range(1000):
        edits.add_span_attribute(span, "k", span)
    assert len(edits) == 1000 and len(edits.records) == 24_000
    assert list(edits)[999] == EditRecord(3, 999, "k", 999)
    edits.clear()
    assert len(edits) == 0 and not edits and edits.strings == b""
    edits.set_name(1, "x")
    assert list(edits) == [EditRecord(10, 1, None, "x")]


def test_decoding_refuses_malformed_answers() -> None:
    with pytest.raises(ValueError, match="not a multiple of 24"):
        list(decode_records(bytes(25), b""))
    with pytest.raises(ValueError, match="outside the strings"):
        list(decode_records(struct.pack("<BBxxIQQ", 10, 0, 0, 0, 5 << 32), b"abc"))
    with pytest.raises(ValueError, match="unknown value kind 7"):
        list(decode_records(struct.pack("<BBxxIQQ", 1, 7, 0, 0, 0), b""))
    assert abi.OP_NAMES[abi.OP_SET_EVENT_NAME] == "set-event-name"
