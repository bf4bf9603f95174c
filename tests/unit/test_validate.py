"""Tests of the strict Yjs v1 update validator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, merge_updates

from crdtpad.errors import UpdateRejected
from crdtpad.sync.protocol import read_state_vector
from crdtpad.sync.validate import (
    MAX_CLIENT,
    MAX_CLOCK,
    Block,
    GcRange,
    ItemRef,
    UpdateLimits,
    UpdateShape,
    validate_update,
)

LIMITS = UpdateLimits()


# -- a tiny v1 encoder for hand-built updates --


def uv(n: int) -> bytes:
    """varUint."""
    out = bytearray()
    while n >= 0x80:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def vs(value: str | bytes) -> bytes:
    """varString (or varUint8Array)."""
    raw = value.encode() if isinstance(value, str) else value
    return uv(len(raw)) + raw


def block(client: int, clock: int, *structs: bytes, count: int | None = None) -> bytes:
    return uv(len(structs) if count is None else count) + uv(client) + uv(clock) + b"".join(structs)


def update(*blocks: bytes, deletes: bytes = b"\x00") -> bytes:
    return uv(len(blocks)) + b"".join(blocks) + deletes


def ds(*clients: tuple[int, list[tuple[int, int]]]) -> bytes:
    out = uv(len(clients))
    for client, ranges in clients:
        out += uv(client) + uv(len(ranges)) + b"".join(uv(c) + uv(n) for c, n in ranges)
    return out


def root_string(text: str, root: str = "t") -> bytes:
    """A String item at the start of root text ``root``."""
    return b"\x04\x01" + vs(root) + vs(text)


def root_item(ref: int, content: bytes, root: str = "t") -> bytes:
    return bytes([ref, 1]) + vs(root) + content


def nested_any(depth: int) -> bytes:
    """An update whose one Any value nests ``depth`` arrays (the SIGSEGV payload of the reference)."""
    return bytes.fromhex("010109000801016101") + b"\x75\x01" * depth + b"\x7e\x00"


def rejected(data: bytes, limits: UpdateLimits = LIMITS) -> UpdateRejected:
    with pytest.raises(UpdateRejected) as info:
        validate_update(data, limits)
    return info.value


def state_vector(doc: Doc[Any]) -> dict[int, int]:
    return read_state_vector(doc.get_state())


def assert_round_trip(data: bytes, build: Callable[[Doc[Any]], object]) -> UpdateShape:
    """``data`` validates, ends where a fresh doc's state vector does, and re-encodes to the same shape."""
    shape = validate_update(data, LIMITS)
    fresh: Doc[Any] = Doc()
    build(fresh)
    fresh.apply_update(data)
    assert {b.client: b.end for b in shape.blocks} == state_vector(fresh)
    again = validate_update(fresh.get_update(), LIMITS)
    assert again == shape
    return shape


# -- the worked examples of the reference, byte for byte --

EXAMPLES = {
    "insert a": "01 01 01 00 04 01 01 74 01 61 00",
    "append bc": "01 01 01 01 84 01 00 02 62 63 00",
    "bold hi": "01 03 02 00 06 01 01 74 04 62 6f 6c 64 04 74 72 75 65 84 02 00 02 68 69"
    " 86 02 02 04 62 6f 6c 64 04 6e 75 6c 6c 00",
    "map nested any": "01 01 03 00 28 01 01 6d 01 6b 01 76 01 01 78 75 08 7d 01 7c 40 20 00 00 77 01 73"
    " 7e 78 7d 43 7c 53 80 00 00 7a 00 00 00 00 00 00 00 0a 00",
    "array any and binary": "01 02 04 00 08 01 01 61 05 7d 01 77 03 74 77 6f 79 7b 3f f1 99 99 99 99 99 9a 7e"
    " 83 04 04 02 01 02 00",
    "delete": "00 01 05 01 01 01",
    "map overwrite": "01 01 03 01 a8 03 00 01 7d 02 01 03 01 00 01",
    "nested array": "01 02 06 00 27 01 01 6d 03 73 75 62 00 08 00 06 00 01 77 01 78 00",
    "xml": "01 04 08 00 07 01 01 78 03 01 70 28 00 08 00 05 63 6c 61 73 73 01 77 01 63 07 00 08 00 06"
    " 04 00 08 02 02 68 69 00",
    "empty": "00 00",
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_reference_examples_validate(name: str) -> None:
    validate_update(bytes.fromhex(EXAMPLES[name]), LIMITS)


def test_shape_of_formatted_insert() -> None:
    shape = validate_update(bytes.fromhex(EXAMPLES["bold hi"]), LIMITS)
    assert shape.blocks == (Block(2, 0, 4),)
    assert shape.structs == (
        ItemRef(2, 0, 1, None, None, "t", False),
        ItemRef(2, 1, 2, (2, 0), None, None, False),
        ItemRef(2, 3, 1, (2, 2), None, None, False),
    )
    assert not shape.empty


def test_shape_of_xml_tree_names_parent_items_and_types() -> None:
    shape = validate_update(bytes.fromhex(EXAMPLES["xml"]), LIMITS)
    assert [(s.clock, s.parent, s.is_type) for s in shape.structs if isinstance(s, ItemRef)] == [
        (0, "x", True),
        (1, (8, 0), False),
        (2, (8, 0), True),
        (3, (8, 2), False),
    ]


def test_empty_update_is_empty() -> None:
    shape = validate_update(b"\x00\x00", LIMITS)
    assert shape.empty
    assert shape.blocks == () and shape.structs == ()


def test_pure_delete_is_not_empty() -> None:
    shape = validate_update(bytes.fromhex(EXAMPLES["delete"]), LIMITS)
    assert not shape.empty
    assert shape.delete_ranges == 1


def test_string_length_counts_utf16_units() -> None:
    shape = validate_update(update(block(1, 0, root_string("é😀"))), LIMITS)
    assert shape.blocks == (Block(1, 0, 3),)


def test_gc_and_skip_ranges_are_reported() -> None:
    shape = validate_update(update(block(7, 0, b"\x00\x03", b"\x0a\x02", root_string("ab"))), LIMITS)
    assert shape.structs == (
        GcRange(7, 0, 3, False),
        GcRange(7, 3, 2, True),
        ItemRef(7, 5, 2, None, None, "t", False),
    )
    assert shape.blocks == (Block(7, 0, 7),)


def test_accepts_limits_exactly() -> None:
    top = MAX_CLOCK - 1
    validate_update(update(block(MAX_CLIENT, top, root_string("a"))), LIMITS)
    validate_update(update(deletes=ds((MAX_CLIENT, [(0, 1), (1, MAX_CLOCK - 1)]))), LIMITS)
    validate_update(nested_any(LIMITS.max_depth), LIMITS)


def test_accepts_a_bom_and_astral_characters_in_strings() -> None:
    validate_update(update(block(1, 0, root_string("\ufeffa😀"))), LIMITS)


def test_accepts_a_memoryview() -> None:
    validate_update(memoryview(bytes.fromhex(EXAMPLES["insert a"])), LIMITS)  # type: ignore[arg-type]


# -- updates generated by pycrdt --


def test_text_edits_validate_and_round_trip() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text += "hello world"
    text.insert(5, ",")
    del text[0:2]
    text.format(0, 3, {"bold": True})
    text.insert(3, "italic", {"italic": True, "color": {"r": 1, "g": [0.5, None]}})
    text.insert_embed(1, {"image": "https://x/y.png"})
    text.insert(len(text), "é😀 end")
    for data in updates:
        validate_update(data, LIMITS)
    assert_round_trip(doc.get_update(), lambda d: d.get("t", type=Text))


def test_array_and_map_values_validate_and_round_trip() -> None:
    doc: Doc[Any] = Doc()
    array = doc.get("a", type=Array)
    map_ = doc.get("m", type=Map)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    array.extend([1, 2.5, "s", None, True, False, b"\x00\xff", 2**40, -3, {"x": [1, {"y": {}}]}, []])
    map_["k"] = {"nested": [[[["deep"]]]], "n": 1e300}
    map_["k"] = "overwritten"
    map_["bytes"] = b"bin"
    del array[1:3]
    for data in updates:
        validate_update(data, LIMITS)
    assert_round_trip(doc.get_update(), lambda d: (d.get("a", type=Array), d.get("m", type=Map)))


def test_nested_shared_types_validate_and_round_trip() -> None:
    doc: Doc[Any] = Doc()
    root = doc.get("m", type=Map)
    root["list"] = Array([Map({"t": Text("x")}), Array([Array([1])])])
    root["text"] = Text("hello")
    inner = root["list"]
    inner.append(Map({"a": 1}))
    shape = assert_round_trip(doc.get_update(), lambda d: d.get("m", type=Map))
    assert any(isinstance(s, ItemRef) and s.is_type and isinstance(s.parent, tuple) for s in shape.structs)


def test_xml_validates_and_round_trips() -> None:
    doc: Doc[Any] = Doc()
    fragment = doc.get("x", type=XmlFragment)
    fragment.children.append(XmlElement("p", {"class": "c"}, [XmlText("hi")]))
    fragment.children.append(XmlText("tail"))
    element = fragment.children[0]
    assert isinstance(element, XmlElement)
    element.attributes["id"] = "p1"
    element.children.append(XmlElement("b", contents=[XmlText("bold")]))
    assert_round_trip(doc.get_update(), lambda d: d.get("x", type=XmlFragment))


def test_merged_updates_validate() -> None:
    docs: list[Doc[Any]] = [Doc() for _ in range(4)]
    updates: list[bytes] = []
    for i, doc in enumerate(docs):
        text = doc.get("t", type=Text)
        for j in range(20):
            state = doc.get_state()
            text.insert(0, f"{i}-{j} ")
            updates.append(doc.get_update(state))
        if i:
            doc.apply_update(docs[i - 1].get_update())
            state = doc.get_state()
            del text[0:3]
            updates.append(doc.get_update(state))
    merged = merge_updates(*updates)
    shape = validate_update(merged, LIMITS)
    assert len(shape.blocks) == 4


def test_merge_with_a_gap_carries_a_skip() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    updates = []
    for chunk in ("ab", "cd", "ef"):
        state = doc.get_state()
        text += chunk
        updates.append(doc.get_update(state))
    shape = validate_update(merge_updates(updates[0], updates[2]), LIMITS)
    assert [type(s).__name__ for s in shape.structs] == ["ItemRef", "GcRange", "ItemRef"]
    assert shape.structs[1] == GcRange(doc.client_id, 2, 2, True)


def test_deleted_type_and_its_collected_children_validate() -> None:
    doc: Doc[Any] = Doc()
    root = doc.get("m", type=Map)
    root["gone"] = Array([Array([1, 2]), "x"])
    del root["gone"]
    shape = validate_update(doc.get_update(), LIMITS)
    assert shape.structs == (
        ItemRef(doc.client_id, 0, 1, None, None, "m", False),  # the type item, now Deleted content
        GcRange(doc.client_id, 1, 4, False),  # its children, collected
    )
    assert shape.delete_ranges == 1


# -- malformed updates, one per checklist row --

GOOD = update(block(1, 0, root_string("a")))

MALFORMED: dict[str, tuple[bytes, str]] = {
    # 1 size is in its own test; 2 varints
    "varint of 12 bytes": (b"\xff" * 11 + b"\x01" + b"\x00", "varint"),
    "client id varint of 9 bytes": (
        b"\x01\x01" + b"\x81" * 8 + b"\x01" + b"\x00\x04\x01\x01t\x01a\x00",
        "varint",
    ),
    "overlong block count": (b"\x80\x00\x00", "varint"),
    "overlong clock": (b"\x01\x01\x01\x80\x00" + root_string("a") + b"\x00", "varint"),
    "overlong string length": (b"\x01\x01\x01\x00\x04\x01\x01t\x81\x00a\x00", "varint"),
    # 3 client ids
    "client id 2^53": (update(block(2**53, 0, root_string("a"))), "client_id"),
    "delete-set client id 2^53": (update(deletes=ds((2**53, [(0, 1)]))), "client_id"),
    "origin client id 2^53": (update(block(1, 0, b"\x84" + uv(2**53) + b"\x00" + vs("a"))), "client_id"),
    # 4 clocks
    "first clock 2^32": (update(block(1, 2**32, root_string("a"))), "clock"),
    "clock + len passing 2^32": (update(block(1, 2**32 - 2, root_string("abcde"))), "clock"),
    "gc passing 2^32": (update(block(1, 2**32 - 3, b"\x00" + uv(5))), "clock"),
    "origin clock 2^32": (update(block(1, 0, b"\x84\x02" + uv(2**32) + vs("a"))), "clock"),
    "delete range end passing 2^32": (update(deletes=ds((1, [(2**32 - 2, 2)]))), "clock"),
    "deleted content length 2^32": (update(block(1, 0, root_item(1, uv(2**32)))), "clock"),
    # 5 counts against the bytes left
    "block count larger than remaining": (b"\x64\x01\x01\x00\x04\x01\x01t\x01a\x00", "count"),
    "struct count larger than remaining": (update(block(1, 0, root_string("a"), count=50)), "count"),
    "Any count larger than remaining": (update(block(1, 0, root_item(8, uv(1000) + b"\x7e"))), "count"),
    "Any array count larger than remaining": (
        update(block(1, 0, root_item(8, b"\x01\x75" + uv(2**31)))),
        "count",
    ),
    "Any object count larger than remaining": (
        update(block(1, 0, root_item(8, b"\x01\x76\x05\x01k\x7e"))),
        "count",
    ),
    "delete range count larger than remaining": (b"\x00\x01\x01\x10\x00\x01", "count"),
    "delete client count larger than remaining": (b"\x00\x10\x01\x01\x00\x01", "count"),
    # 6 policy caps are in their own test; 7 byte lengths
    "string longer than remaining": (b"\x01\x01\x01\x00\x04\x01\x01t\x05ab\x00", "truncated"),
    "binary longer than remaining": (update(block(1, 0, root_item(3, uv(2**32 + 1) + b"x"))), "truncated"),
    "root name over 256 bytes": (update(block(1, 0, root_string("a", root="r" * 257))), "too_large"),
    "map key over 1 KiB": (
        update(block(1, 0, b"\x28\x01" + vs("m") + vs("k" * 1025) + b"\x01\x7e")),
        "too_large",
    ),
    # 8 UTF-8
    "invalid UTF-8 in a string": (update(block(1, 0, b"\x04\x01\x01t" + vs(b"\xff\xfe"))), "utf8"),
    "surrogate in a string": (update(block(1, 0, b"\x04\x01\x01t" + vs(b"\xed\xa0\x80"))), "utf8"),
    "invalid UTF-8 in a root name": (update(block(1, 0, b"\x04\x01" + vs(b"\xc3") + vs("a"))), "utf8"),
    "invalid UTF-8 in an Any string": (update(block(1, 0, root_item(8, b"\x01\x77" + vs(b"\x80")))), "utf8"),
    "invalid UTF-8 in an Any key": (
        update(block(1, 0, root_item(8, b"\x01\x76\x01" + vs(b"\xff") + b"\x7e"))),
        "utf8",
    ),
    # 9 info byte
    "info 0x80": (update(block(1, 0, b"\x80\x01")), "info"),
    "info 0x4a": (update(block(1, 0, b"\x4a\x01")), "info"),
    "info 0x20 without content": (update(block(1, 0, b"\x20\x01")), "info"),
    # 10 content refs
    "content ref 2 (JSON)": (update(block(1, 0, root_item(2, b"\x01" + vs("1")))), "content_ref"),
    "content ref 9 (Doc)": (update(block(1, 0, root_item(9, vs("g") + b"\x76\x00"))), "content_ref"),
    "content ref 20": (update(block(1, 0, root_item(20, vs("a")))), "content_ref"),
    "content ref 11": (update(block(1, 0, root_item(11, vs("a")))), "content_ref"),
    # 11 type refs
    "type ref 5 (XmlHook)": (update(block(1, 0, root_item(7, b"\x05" + vs("h")))), "type_ref"),
    "type ref 7": (update(block(1, 0, root_item(7, b"\x07"))), "type_ref"),
    "type ref two bytes": (update(block(1, 0, root_item(7, b"\x80\x01"))), "type_ref"),
    "xml element without a name": (update(block(1, 0, root_item(7, b"\x03"))), "truncated"),
    # 12 parent info
    "parent info 2": (update(block(1, 0, b"\x04\x02\x01t" + vs("a"))), "parent_info"),
    "parent info as overlong varint": (update(block(1, 0, b"\x04\x81\x00\x01t" + vs("a"))), "parent_info"),
    # 13 causality
    "origin is the item itself": (update(block(1, 5, b"\x84\x01\x05" + vs("a"))), "self_reference"),
    "right origin later in the same client": (
        update(block(1, 5, b"\x44\x01\x09" + vs("a"))),
        "self_reference",
    ),
    "parent is the item itself": (update(block(1, 0, b"\x08\x00\x01\x00\x01\x7e")), "self_reference"),
    "second struct references itself": (
        update(block(1, 0, root_string("ab"), b"\x84\x01\x02" + vs("c"))),
        "self_reference",
    ),
    # 14 zero length
    "empty string": (update(block(1, 0, root_string(""))), "zero_length"),
    "empty Any": (update(block(1, 0, root_item(8, b"\x00"))), "zero_length"),
    "deleted length 0": (update(block(1, 0, root_item(1, b"\x00"))), "zero_length"),
    "gc length 0": (update(block(1, 0, b"\x00\x00")), "zero_length"),
    "skip length 0": (update(block(1, 0, b"\x0a\x00")), "zero_length"),
    "block with no structs": (update(block(1, 0, count=0)), "zero_length"),
    # 15 Any depth
    "Any arrays 65 deep": (nested_any(65), "any_depth"),
    "Any objects 65 deep": (
        update(block(1, 0, root_item(8, b"\x01" + b"\x76\x01\x01k" * 65 + b"\x7e"))),
        "any_depth",
    ),
    "Any tag 0": (update(block(1, 0, root_item(8, b"\x01\x00"))), "any_tag"),
    "Any tag 115": (update(block(1, 0, root_item(8, b"\x01\x73"))), "any_tag"),
    "Any tag 128": (update(block(1, 0, root_item(8, b"\x01\x80"))), "any_tag"),
    "Any tag 255": (update(block(1, 0, root_item(8, b"\x01\xff"))), "any_tag"),
    "Any varint of 9 bytes": (
        update(block(1, 0, root_item(8, b"\x01\x7d" + b"\x80" * 8 + b"\x01"))),
        "varint",
    ),
    "Any varint above 2^53": (
        update(block(1, 0, root_item(8, b"\x01\x7d" + b"\xbf" + b"\xff" * 6 + b"\x7f"))),
        "varint",
    ),
    "Any varint overlong": (update(block(1, 0, root_item(8, b"\x01\x7d\x81\x00"))), "varint"),
    "Any float64 truncated": (update(block(1, 0, root_item(8, b"\x01\x7b\x00\x00"))), "truncated"),
    # 16 JSON text
    "JSON NaN": (update(block(1, 0, root_item(5, vs("NaN")))), "json"),
    "JSON Infinity in an object": (update(block(1, 0, root_item(5, vs('{"a": -Infinity}')))), "json"),
    "JSON nested 100 deep": (update(block(1, 0, root_item(5, vs("[" * 100 + "]" * 100)))), "json"),
    "JSON nested 65 deep": (update(block(1, 0, root_item(5, vs('{"a":' * 65 + "1" + "}" * 65)))), "json"),
    "JSON trailing garbage": (update(block(1, 0, root_item(5, vs("{} x")))), "json"),
    "JSON undefined": (update(block(1, 0, b"\x06\x01\x01t" + vs("bold") + vs("undefined"))), "json"),
    "JSON lone surrogate escape": (update(block(1, 0, root_item(5, vs('"\\ud800"')))), "json"),
    "JSON lone low surrogate escape": (update(block(1, 0, root_item(5, vs('"x\\udc00"')))), "json"),
    "JSON number out of range": (update(block(1, 0, root_item(5, vs("1e400")))), "json"),
    "JSON invalid UTF-8": (update(block(1, 0, root_item(5, vs(b'"\xff"')))), "utf8"),
    # 18 duplicates
    "duplicate client blocks": (
        update(block(2, 0, root_string("a")), block(2, 1, root_string("b"))),
        "duplicate_client",
    ),
    "duplicate delete-set clients": (update(deletes=ds((1, [(0, 1)]), (1, [(5, 1)]))), "duplicate_client"),
    # 19 delete ranges
    "unsorted delete ranges": (update(deletes=ds((1, [(5, 1), (0, 1)]))), "delete_range"),
    "overlapping delete ranges": (update(deletes=ds((1, [(0, 5), (4, 1)]))), "delete_range"),
    "empty delete range": (update(deletes=ds((1, [(0, 0)]))), "delete_range"),
    # 20 end of input
    "trailing bytes": (GOOD + b"\x00", "trailing_bytes"),
    "two updates concatenated": (GOOD + GOOD, "trailing_bytes"),
    "truncated string": (GOOD[:-3], "truncated"),
    "truncated before the delete set": (GOOD[:-1], "truncated"),
    "truncated varint": (GOOD[:-1] + b"\x81", "truncated"),
    "nothing at all": (b"", "truncated"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_update_is_rejected(name: str) -> None:
    data, kind = MALFORMED[name]
    error = rejected(data)
    assert error.kind == kind, str(error)
    assert str(error).endswith(")") and "(at byte " in str(error)


def test_json_that_is_fine_is_accepted() -> None:
    for text in ['{"a": "\\ud83d\\ude00 [[[[{{{{"}', '"\\\\ud800"', "null", '[{"x": [1, 2.5e10, true]}]']:
        validate_update(update(block(1, 0, root_item(5, vs(text)))), LIMITS)


def test_update_over_max_bytes_is_rejected() -> None:
    assert rejected(GOOD, UpdateLimits(max_bytes=len(GOOD) - 1)).kind == "too_large"
    validate_update(GOOD, UpdateLimits(max_bytes=len(GOOD)))


def test_policy_caps_are_enforced() -> None:
    two_blocks = update(block(2, 0, root_string("a")), block(1, 0, root_string("b")))
    assert rejected(two_blocks, UpdateLimits(max_clients=1)).kind == "too_large"
    assert rejected(two_blocks, UpdateLimits(max_structs=1)).kind == "too_large"
    two_ranges = update(deletes=ds((1, [(0, 1)]), (2, [(0, 1)])))
    assert rejected(two_ranges, UpdateLimits(max_delete_ranges=1)).kind == "too_large"
    assert rejected(two_ranges, UpdateLimits(max_clients=1)).kind == "too_large"


def test_26000_deep_any_is_rejected_quickly() -> None:
    data = nested_any(26_000)
    assert 50_000 < len(data) < 54_000
    started = time.process_time()
    error = rejected(data)
    elapsed = time.process_time() - started
    assert error.kind == "any_depth"
    # Quickly, measured without the clock: it stops at the 65th level, in the first few hundred
    # bytes of 52 KB, having read nothing past them. (And within a generous CPU-time bound.)
    assert error.offset is not None and error.offset < 1_000, error.offset
    assert elapsed < 1.0


def test_deep_json_in_a_long_text_is_rejected_quickly() -> None:
    text = '["' + "x" * 500_000 + '",' + "[" * 10_000 + "]" * 10_000 + "]"
    started = time.process_time()
    assert rejected(update(block(1, 0, root_item(5, vs(text))))).kind == "json"
    assert time.process_time() - started < 0.5


def test_brackets_inside_json_strings_do_not_count() -> None:
    text = '{"a": "' + "[{" * 200 + '\\"' + "[" * 10 + '"}'
    validate_update(update(block(1, 0, root_item(5, vs(text)))), LIMITS)


# -- property tests --

ASCII = st.text(alphabet="abcdefgh \n", min_size=1, max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5) | st.binary(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 1000), ASCII),
        st.tuples(st.just("delete"), st.integers(0, 1000), st.integers(1, 4)),
        st.tuples(st.just("format"), st.integers(0, 1000), st.integers(1, 4)),
        st.tuples(st.just("push"), VALUES, st.none()),
        st.tuples(st.just("set"), st.sampled_from("abc"), VALUES),
        st.tuples(st.just("nest"), st.sampled_from("xyz"), st.none()),
        st.tuples(st.just("unset"), st.sampled_from("abcxyz"), st.none()),
    ),
    max_size=25,
)


def apply_edit(doc: Doc[Any], edit: tuple[str, object, object]) -> None:
    """One random edit; indexes are taken modulo the current length."""
    op, a, b = edit
    text = doc.get("t", type=Text)
    array = doc.get("a", type=Array)
    map_ = doc.get("m", type=Map)
    if op == "insert":
        assert isinstance(a, int) and isinstance(b, str)
        text.insert(a % (len(text) + 1), b)
    elif op == "delete" and len(text):
        assert isinstance(a, int) and isinstance(b, int)
        start = a % len(text)
        del text[start : min(len(text), start + b)]
    elif op == "format" and len(text):
        assert isinstance(a, int) and isinstance(b, int)
        start = a % len(text)
        text.format(start, min(len(text), start + b), {"bold": True if b % 2 else None})
    elif op == "push":
        array.append(a)
    elif op == "set":
        assert isinstance(a, str)
        map_[a] = b
    elif op == "nest":
        assert isinstance(a, str)
        map_[a] = Map({"inner": Array([Text("n")])})
    elif op == "unset" and a in map_:
        assert isinstance(a, str)
        del map_[a]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS, st.booleans())
def test_updates_from_random_edits_validate(edits: list[tuple[str, object, object]], skip_gc: bool) -> None:
    doc: Doc[Any] = Doc(skip_gc=skip_gc)
    updates: list[bytes] = []
    for edit in edits:
        state = doc.get_state()
        apply_edit(doc, edit)
        updates.append(doc.get_update(state))
    for data in updates:
        validate_update(data, LIMITS)
    shape = validate_update(doc.get_update(), LIMITS)
    assert {b.client: b.end for b in shape.blocks} == state_vector(doc)
    if updates:
        validate_update(merge_updates(*updates), LIMITS)


def seed_updates() -> list[bytes]:
    updates = [bytes.fromhex(h) for h in EXAMPLES.values()]
    doc: Doc[Any] = Doc(client_id=2**53 - 7)
    apply_edit(doc, ("insert", 0, "hello"))
    apply_edit(doc, ("nest", "x", None))
    apply_edit(doc, ("push", {"a": [1, "b", None, b"c"]}, None))
    apply_edit(doc, ("format", 1, 3))
    apply_edit(doc, ("delete", 2, 2))
    updates.append(doc.get_update())
    return updates


SEEDS = seed_updates()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x75, 0x76, 0x0A]))
    return bytes(data)


def only_rejects(data: bytes) -> None:
    try:
        validate_update(data, LIMITS)
    except UpdateRejected:
        pass


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_validate_or_are_rejected(data: bytes) -> None:
    only_rejects(data)


@settings(max_examples=3000, deadline=None)
@given(mutated())
def test_mutated_updates_validate_or_are_rejected(data: bytes) -> None:
    only_rejects(data)
