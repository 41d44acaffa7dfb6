import struct

import pytest

from spangate_plugin import abi


def test_widths_and_names_cover_every_column() -> None:
    assert abi.COUNT == 36 and abi.DIRECTORY_BYTES == 288
    assert len(abi.WIDTHS) == len(abi.NAMES) == 36
    assert set(abi.WIDTHS) == {1, 4, 8, 16}
    assert abi.NAMES[abi.LINK_ATTRIBUTES + abi.KEYS] == "link-attributes.keys"
    assert abi.NAMES[abi.SERVICES] == "services"
    assert abi.WIDTHS[abi.RESOURCE_ATTRIBUTES + abi.VALUE_KIND] == 1
    assert abi.EDIT_RECORD.size == abi.EDIT_RECORD_BYTES == 24


def test_an_empty_batch_is_a_directory_of_zeros() -> None:
    columns = abi.BatchBuilder().write_columns()
    assert columns == bytes(288)
    assert abi.read_directory(columns) == [(0, 0)] * 36


def test_columns_are_laid_out_in_order_at_multiples_of_eight() -> None:
    builder = abi.BatchBuilder()
    builder.push_u8(abi.KIND, 3)
    builder.push_u64(abi.START, 5)
    builder.push_str(abi.NAME, "héllo")
    builder.push_id(abi.SPAN_ID, b"\1\2\3")
    builder.push_id(abi.TRACE_ID, bytes(range(20)))
    columns = builder.write_columns()
    directory = abi.read_directory(columns)
    assert [c for c in range(36) if directory[c][1]] == [0, 1, 4, 5, 7]
    offsets = [directory[c][0] for c in (0, 1, 4, 5, 7)]
    assert offsets == sorted(offsets) and all(o % 8 == 0 for o in offsets)
    assert offsets[0] == 288
    assert columns[offsets[0] : offsets[0] + 16] == bytes(range(16))
    assert columns[offsets[1] : offsets[1] + 8] == b"\1\2\3" + bytes(5)
    reference = struct.unpack_from("<Q", columns, offsets[2])[0]
    assert reference == abi.str_ref(0, 6)
    assert builder.strings == "héllo".encode()
    assert columns[offsets[3]] == 3
    assert len(columns) % 8 == 0


def test_short_out_of_range_and_misaligned_directories_are_refused() -> None:
    with pytest.raises(abi.LayoutError, match="10 bytes, shorter than its 288-byte directory"):
        abi.read_directory(bytes(10))
    buffer = bytearray(288 + 16)
    struct.pack_into("<II", buffer, abi.START * 8, 288, 3)
    with pytest.raises(abi.LayoutError, match=r"column 7 \(start\) claims 3 elements"):
        abi.read_directory(bytes(buffer))
    struct.pack_into("<II", buffer, abi.START * 8, 292, 1)
    with pytest.raises(abi.LayoutError, match="not a multiple of 8"):
        abi.read_directory(bytes(buffer))
