"""Strict, single-pass validation of Yjs v1 updates before they reach Yrs.

Yrs decodes nested values recursively (a deep enough update crashes the process), wraps clocks and
lengths at 2^32 and reads several encodings differently from Yjs. So every update is read here first,
in one iterative pass over its bytes, against the checklist in ``yjs-update-format.md`` (section 6,
rows 1-20). What the pass learns (client blocks, and per struct its ID, length and references) is
returned for the per-room checks in :mod:`crdtpad.sync.structure`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

from crdtpad.errors import UpdateRejected

ID = tuple[int, int]  # (client, clock)

MAX_CLIENT = 2**53 - 1  # Yrs keeps only 53 bits of a client id; JS loses precision above
MAX_CLOCK = 2**32 - 1  # Yrs stores clocks as u32: every clock and exclusive end must fit
_U32_BYTES = 5  # varUint bytes enough for any u32
_U53_BYTES = 8  # varUint bytes enough for any 53-bit id

_GC = 0x00
_SKIP = 0x0A
_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20
# ref 2 (JSON) is misread by Yrs, 9 (Doc) brings subdocuments; 11-31 are aliased by Yrs.
_CONTENT_REFS = frozenset({1, 3, 4, 5, 6, 7, 8})
# 5 (XmlHook) carries a name Yrs does not read; 7, 9, 15 are Yrs-only.
_TYPE_REFS = frozenset({0, 1, 2, 3, 4, 6})
_TYPE_XML_ELEMENT = 3

_ANY_ARRAY = 117
_ANY_OBJECT = 118


@dataclass(frozen=True, slots=True)
class UpdateLimits:
    """Bounds a single update must respect."""

    max_bytes: int = 2 * 1024 * 1024
    max_clients: int = 10_000
    max_structs: int = 1_000_000
    max_delete_ranges: int = 1_000_000
    max_depth: int = 64
    max_key_bytes: int = 1024
    max_root_name_bytes: int = 256
    max_xml_name_bytes: int = 256


# The per-struct records are NamedTuples rather than frozen dataclasses: a snapshot can hold hundreds
# of thousands of structs and a frozen dataclass costs about three times as much to build.


class Block(NamedTuple):
    """One client block: structs of ``client`` covering clocks [start, end)."""

    client: int
    start: int
    end: int


class ItemRef(NamedTuple):
    """One Item struct (not GC or Skip), as far as the room's structure tracker needs it."""

    client: int
    clock: int
    length: int
    origin: ID | None
    right_origin: ID | None
    parent: str | ID | None  # root type name, parent type item id, or None (inherited from an origin)
    is_type: bool  # content ref 7

    @property
    def end(self) -> int:
        """The exclusive end clock."""
        return self.clock + self.length


class GcRange(NamedTuple):
    """A GC struct (a collected range, known) or a Skip struct (a hole, not known)."""

    client: int
    clock: int
    length: int
    skip: bool

    @property
    def end(self) -> int:
        """The exclusive end clock."""
        return self.clock + self.length


@dataclass(frozen=True, slots=True)
class UpdateShape:
    """What validation learnt of an update."""

    blocks: tuple[Block, ...]
    structs: tuple[ItemRef | GcRange, ...]  # wire order
    delete_ranges: int  # number of ranges in the delete set

    @property
    def empty(self) -> bool:
        """True for an update that changes nothing (``00 00`` and the like)."""
        return not self.structs and self.delete_ranges == 0


def validate_update(data: bytes, limits: UpdateLimits) -> UpdateShape:
    """Check ``data`` against the v1 grammar and ``limits``; raise UpdateRejected(kind=...) if it fails."""
    buf = data if type(data) is bytes else bytes(data)
    end = len(buf)
    if end > limits.max_bytes:
        raise UpdateRejected(
            f"The update has {end} bytes, over the limit of {limits.max_bytes}.", "too_large"
        )
    try:
        return _validate(buf, limits)
    except IndexError:
        # Single-byte reads index the buffer without a bounds check; running off the end lands here.
        raise UpdateRejected("The update ends in the middle of a value.", "truncated", end) from None


def _validate(buf: bytes, limits: UpdateLimits) -> UpdateShape:
    end = len(buf)
    structs: list[ItemRef | GcRange] = []
    blocks: list[Block] = []
    append = structs.append
    content_refs = _CONTENT_REFS

    n_blocks, pos = _count(buf, 0, 3, "client blocks")
    if n_blocks > limits.max_clients:
        raise UpdateRejected(
            f"The update has {n_blocks} client blocks, over the limit of {limits.max_clients}.",
            "too_large",
            0,
        )
    seen: set[int] = set()
    known: dict[bytes, tuple[bytes, int]] = {}
    total_structs = 0
    for _ in range(n_blocks):
        block_at = pos
        n_structs, pos = _count(buf, pos, 2, "structs")
        if n_structs == 0:
            # No encoder writes an empty block; Yjs and Yrs disagree on what a later duplicate means.
            raise UpdateRejected("A client block has no structs.", "zero_length", block_at)
        total_structs += n_structs
        if total_structs > limits.max_structs:
            raise UpdateRejected(
                f"The update has more than {limits.max_structs} structs.", "too_large", block_at
            )
        own_at = pos
        client, pos = _client(buf, pos)
        own = buf[own_at:pos]
        if len(own) >= 4:
            known[own[:4]] = (own, client)
        if client in seen:
            raise UpdateRejected(f"Client {client} has two struct blocks.", "duplicate_client", block_at)
        seen.add(client)
        clock, pos = _clock(buf, pos)
        start = clock
        for _ in range(n_structs):
            at = pos
            info = buf[pos]
            pos += 1
            if info == _GC or info == _SKIP:
                b = buf[pos]
                if b < 0x80:
                    length = b
                    pos += 1
                else:
                    length, pos = _uint(buf, pos, _U32_BYTES)
                append(GcRange(client, clock, length, info == _SKIP))
            else:
                ref = info & 0x1F
                if ref not in content_refs:
                    if ref == _GC or ref == _SKIP:
                        raise UpdateRejected(
                            f"Info byte 0x{info:02x} marks a GC or Skip struct with item flags.", "info", at
                        )
                    raise UpdateRejected(f"Content ref {ref} is not accepted.", "content_ref", at)
                origin: ID | None = None
                right_origin: ID | None = None
                parent: str | ID | None = None
                if info & _HAS_ORIGIN:
                    origin, pos = _ref_id(buf, pos, client, own, clock, known)
                if info & _HAS_RIGHT_ORIGIN:
                    right_origin, pos = _ref_id(buf, pos, client, own, clock, known)
                if not info & 0xC0:
                    # Parent info is present only when neither origin is: otherwise it is inherited.
                    kind_byte = buf[pos]
                    if kind_byte == 1:
                        parent, pos = _string(buf, pos + 1, limits.max_root_name_bytes, "root type name")
                    elif kind_byte == 0:
                        parent, pos = _ref_id(buf, pos + 1, client, own, clock, known)
                    else:
                        raise UpdateRejected(
                            f"Parent info {kind_byte} is neither 0 (parent id) nor 1 (root name).",
                            "parent_info",
                            pos,
                        )
                    if info & _HAS_PARENT_SUB:
                        _, pos = _string(buf, pos, limits.max_key_bytes, "map key")
                is_type = False
                if ref == 4:  # String: the clock advances by UTF-16 code units
                    length_at = pos
                    b = buf[pos]
                    if b < 0x80:
                        n = b
                        pos += 1
                    else:
                        n, pos = _uint(buf, pos, _U32_BYTES)
                    stop = pos + n
                    if stop > end:
                        raise UpdateRejected(
                            f"A string of {n} bytes runs past the end of the update.", "truncated", length_at
                        )
                    try:
                        text = buf[pos:stop].decode()
                    except UnicodeDecodeError as exc:
                        raise UpdateRejected(
                            "A string is not valid UTF-8.", "utf8", pos + exc.start
                        ) from None
                    length = len(text)
                    if length != n:  # not ASCII: astral characters count twice
                        length = len(text.encode("utf-16-le")) >> 1
                    pos = stop
                elif ref == 8:  # Any
                    length, pos = _count(buf, pos, 1, "Any values")
                    pos = _skip_any(buf, pos, length, limits.max_depth)
                elif ref == 1:  # Deleted
                    length, pos = _uint(buf, pos, _U32_BYTES)
                elif ref == 7:  # Type
                    type_ref = buf[pos]
                    if type_ref not in _TYPE_REFS:
                        raise UpdateRejected(f"Type ref {type_ref} is not accepted.", "type_ref", pos)
                    pos += 1
                    if type_ref == _TYPE_XML_ELEMENT:
                        _, pos = _string(buf, pos, limits.max_xml_name_bytes, "XML element name")
                    is_type = True
                    length = 1
                elif ref == 6:  # Format
                    _, pos = _string(buf, pos, limits.max_key_bytes, "format key")
                    pos = _json(buf, pos, limits.max_depth)
                    length = 1
                elif ref == 5:  # Embed
                    pos = _json(buf, pos, limits.max_depth)
                    length = 1
                else:  # 3, Binary
                    n, pos = _length(buf, pos, "binary")
                    pos += n
                    length = 1
                append(ItemRef(client, clock, length, origin, right_origin, parent, is_type))
            if length == 0:
                raise UpdateRejected(
                    f"The struct at clock {clock} of client {client} has length 0.", "zero_length", at
                )
            clock += length
            if clock > MAX_CLOCK:
                raise UpdateRejected(
                    f"Client {client}'s structs end at clock {clock}, above 2^32-1.", "clock", at
                )
        blocks.append(Block(client, start, clock))

    # The delete set.
    ds_at = pos
    n_clients, pos = _count(buf, pos, 2, "delete-set clients")
    if n_clients > limits.max_clients:
        raise UpdateRejected(
            f"The delete set has {n_clients} clients, over the limit of {limits.max_clients}.",
            "too_large",
            ds_at,
        )
    seen.clear()
    total_ranges = 0
    for _ in range(n_clients):
        at = pos
        client, pos = _client(buf, pos)
        if client in seen:
            raise UpdateRejected(f"Client {client} appears twice in the delete set.", "duplicate_client", at)
        seen.add(client)
        n_ranges, pos = _count(buf, pos, 2, "delete ranges")
        total_ranges += n_ranges
        if total_ranges > limits.max_delete_ranges:
            raise UpdateRejected(
                f"The delete set has more than {limits.max_delete_ranges} ranges.", "too_large", at
            )
        previous_end = 0
        for _ in range(n_ranges):
            at = pos
            start, pos = _clock(buf, pos)
            length, pos = _clock(buf, pos)
            if length == 0:
                raise UpdateRejected(
                    f"Delete range at clock {start} of client {client} is empty.", "delete_range", at
                )
            if start < previous_end:
                raise UpdateRejected(
                    f"Delete range at clock {start} of client {client} starts before the previous one ends"
                    f" ({previous_end}).",
                    "delete_range",
                    at,
                )
            previous_end = start + length
            if previous_end > MAX_CLOCK:
                raise UpdateRejected(
                    f"Delete range of client {client} ends at clock {previous_end}, above 2^32-1.",
                    "clock",
                    at,
                )
    if pos != end:
        raise UpdateRejected(f"{end - pos} bytes follow the delete set.", "trailing_bytes", pos)
    return UpdateShape(tuple(blocks), tuple(structs), total_ranges)


def _uint(buf: bytes, pos: int, max_bytes: int) -> tuple[int, int]:
    """Read a varUint of at most ``max_bytes`` (5 or 8) bytes; return (value, position after it)."""
    # Unrolled: a loop costs twice as much, and Yrs client ids take 7-8 bytes in every ID.
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    value = b & 0x7F
    b = buf[pos + 1]
    if b < 0x80:
        if b:
            return value | b << 7, pos + 2
        raise _overlong(pos)
    value |= (b & 0x7F) << 7
    b = buf[pos + 2]
    if b < 0x80:
        if b:
            return value | b << 14, pos + 3
        raise _overlong(pos)
    value |= (b & 0x7F) << 14
    b = buf[pos + 3]
    if b < 0x80:
        if b:
            return value | b << 21, pos + 4
        raise _overlong(pos)
    value |= (b & 0x7F) << 21
    b = buf[pos + 4]
    if b < 0x80:
        if b:
            return value | b << 28, pos + 5
        raise _overlong(pos)
    if max_bytes > 5:
        value |= (b & 0x7F) << 28
        b = buf[pos + 5]
        if b < 0x80:
            if b:
                return value | b << 35, pos + 6
            raise _overlong(pos)
        value |= (b & 0x7F) << 35
        b = buf[pos + 6]
        if b < 0x80:
            if b:
                return value | b << 42, pos + 7
            raise _overlong(pos)
        value |= (b & 0x7F) << 42
        b = buf[pos + 7]
        if b < 0x80:
            if b:
                return value | b << 49, pos + 8
            raise _overlong(pos)
    buf[pos + max_bytes]  # past the end of the buffer this is truncation, not an over-long varint
    raise UpdateRejected(f"A varUint is longer than {max_bytes} bytes.", "varint", pos)


def _overlong(pos: int) -> UpdateRejected:
    # Writers never emit a final zero group; it only serves to hide bytes.
    return UpdateRejected("A varUint has an overlong encoding.", "varint", pos)


def _client(buf: bytes, pos: int) -> tuple[int, int]:
    value, after = _uint(buf, pos, _U53_BYTES)
    if value > MAX_CLIENT:
        raise UpdateRejected(f"Client id {value} is above 2^53-1.", "client_id", pos)
    return value, after


def _clock(buf: bytes, pos: int) -> tuple[int, int]:
    value, after = _uint(buf, pos, _U32_BYTES)
    if value > MAX_CLOCK:
        raise UpdateRejected(f"Clock {value} is above 2^32-1.", "clock", pos)
    return value, after


def _ref_id(
    buf: bytes, pos: int, client: int, own: bytes, clock: int, known: dict[bytes, tuple[bytes, int]]
) -> tuple[ID, int]:
    """Read an origin or parent ID; it must name something created before the item itself."""
    at = pos
    ref_client = buf[pos]
    if ref_client < 0x80:
        pos += 1
    elif buf.startswith(own, pos):
        # Most references name the block's own client: comparing its encoding beats decoding 8 bytes.
        ref_client = client
        pos += len(own)
    else:
        # Next most often, the client of another block of the update (a snapshot): look it up by the
        # first bytes of its encoding, then compare the whole encoding.
        hit = known.get(buf[pos : pos + 4])
        if hit is not None and buf.startswith(hit[0], pos):
            ref_client = hit[1]
            pos += len(hit[0])
        else:
            ref_client, pos = _uint(buf, pos, _U53_BYTES)
            if ref_client > MAX_CLIENT:
                raise UpdateRejected(f"Client id {ref_client} is above 2^53-1.", "client_id", at)
    ref_clock = buf[pos]
    if ref_clock < 0x80:
        pos += 1
    else:
        clock_at = pos
        ref_clock, pos = _uint(buf, pos, _U32_BYTES)
        if ref_clock > MAX_CLOCK:
            raise UpdateRejected(f"Clock {ref_clock} is above 2^32-1.", "clock", clock_at)
    if ref_client == client and ref_clock >= clock:
        raise UpdateRejected(
            f"The item at clock {clock} of client {client} references clock {ref_clock} of its own client.",
            "self_reference",
            at,
        )
    return (ref_client, ref_clock), pos


def _count(buf: bytes, pos: int, min_bytes_each: int, what: str) -> tuple[int, int]:
    """Read an element count and check that the bytes left could hold that many elements."""
    n, after = _uint(buf, pos, _U32_BYTES)
    if n * min_bytes_each > len(buf) - after:
        raise UpdateRejected(f"A count of {n} {what} exceeds the bytes left.", "count", pos)
    return n, after


def _length(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    """Read a byte length and check that that many bytes follow."""
    n, after = _uint(buf, pos, _U32_BYTES)
    if n > len(buf) - after:
        raise UpdateRejected(f"A {what} of {n} bytes runs past the end of the update.", "truncated", pos)
    return n, after


def _string(buf: bytes, pos: int, max_bytes: int, what: str) -> tuple[str, int]:
    """Read a varString of at most ``max_bytes`` UTF-8 bytes."""
    n, start = _length(buf, pos, what)
    if n > max_bytes:
        raise UpdateRejected(f"A {what} of {n} bytes is over the limit of {max_bytes}.", "too_large", pos)
    stop = start + n
    try:
        return buf[start:stop].decode(), stop
    except UnicodeDecodeError as exc:
        raise UpdateRejected(f"A {what} is not valid UTF-8.", "utf8", start + exc.start) from None


def _skip_any(buf: bytes, pos: int, count: int, max_depth: int) -> int:
    """Step over ``count`` Any values without recursion; return the position after them."""
    # One entry per open container: values still to read, and whether keys precede them. The
    # bottom entry is the ContentAny list itself, which is not a nesting level.
    left = [count]
    keyed = [False]
    end = len(buf)
    while True:
        if left[-1] == 0:
            left.pop()
            keyed.pop()
            if not left:
                return pos
            continue
        left[-1] -= 1
        if keyed[-1]:
            pos = _skip_string(buf, pos, end, "Any object key")
        at = pos
        tag = buf[pos]
        pos += 1
        if tag == 127 or tag == 126 or tag == 121 or tag == 120:  # undefined, null, false, true
            continue
        if tag == 119:  # string
            pos = _skip_string(buf, pos, end, "Any string")
        elif tag == 124:  # float32
            pos += 4
        elif tag == 123 or tag == 122:  # float64, bigint
            pos += 8
        elif tag == 125:  # integer
            pos = _skip_varint(buf, pos)
        elif tag == _ANY_ARRAY or tag == _ANY_OBJECT:
            if len(left) > max_depth:
                raise UpdateRejected(
                    f"An Any value nests more than {max_depth} arrays or objects.", "any_depth", at
                )
            n, pos = _count(buf, pos, 1 if tag == _ANY_ARRAY else 2, "Any elements")
            left.append(n)
            keyed.append(tag == _ANY_OBJECT)
        elif tag == 116:  # Uint8Array
            n, pos = _length(buf, pos, "Any byte array")
            pos += n
        else:
            raise UpdateRejected(f"Any tag {tag} is not assigned.", "any_tag", at)
        if pos > end:
            raise UpdateRejected("An Any number runs past the end of the update.", "truncated", at)


def _skip_string(buf: bytes, pos: int, end: int, what: str) -> int:
    """Step over a varString of any size, checking its UTF-8."""
    n = buf[pos]
    if n < 0x80:
        start = pos + 1
    else:
        n, start = _uint(buf, pos, _U32_BYTES)
    stop = start + n
    if stop > end:
        raise UpdateRejected(f"A {what} of {n} bytes runs past the end of the update.", "truncated", pos)
    try:
        buf[start:stop].decode()
    except UnicodeDecodeError as exc:
        raise UpdateRejected(f"A {what} is not valid UTF-8.", "utf8", start + exc.start) from None
    return stop


def _skip_varint(buf: bytes, pos: int) -> int:
    """Step over a signed varInt (Any tag 125): sign-and-magnitude, magnitude at most 2^53-1."""
    start = pos
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return pos
    magnitude = b & 0x3F
    shift = 6
    stop = start + _U53_BYTES
    while pos < stop:
        b = buf[pos]
        pos += 1
        magnitude |= (b & 0x7F) << shift
        if b < 0x80:
            if b == 0:
                raise UpdateRejected("A varInt has an overlong encoding.", "varint", start)
            if magnitude > MAX_CLIENT:
                raise UpdateRejected(f"Integer {magnitude} is above 2^53-1 in magnitude.", "varint", start)
            return pos
        shift += 7
    buf[pos]  # truncation rather than an overlong varInt
    raise UpdateRejected(f"A varInt is longer than {_U53_BYTES} bytes.", "varint", start)


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# A valid surrogate pair escape, or a lone surrogate escape, or any other escape (so that an escaped
# backslash before "u" is not read as an escape).
_JSON_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|(?P<lone>\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
    r"|\\.",
    re.DOTALL,
)


class _JsonValueError(ValueError):
    pass


def _finite_number(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # serde_json (Yrs) refuses numbers out of f64 range; Python makes them inf
        raise _JsonValueError(f"number {text[:40]} is out of range")
    return value


def _no_constant(text: str) -> float:
    raise _JsonValueError(f"{text} is not JSON")


def json_problem(text: str, max_depth: int) -> tuple[str, int] | None:
    """What is wrong with ``text`` as strict JSON nested at most ``max_depth`` deep, and where; else None.

    Strict like JSON.parse and serde_json: no NaN or Infinity, no numbers out of f64 range, no lone
    surrogate escapes. The one JSON check of the sync path: update content and awareness states.
    """
    # Counting every bracket bounds the depth from above; only long texts need the exact scan.
    if text.count("[") + text.count("{") > max_depth:
        steps = map(_BRACKET_STEP.__getitem__, _JSON_BRACKET.findall(_JSON_STRING.sub("", text)))
        if max(accumulate(steps), default=0) > max_depth:
            return f"A JSON text nests more than {max_depth} levels.", 0
    if "\\u" in text:
        for match in _JSON_ESCAPE.finditer(text):
            if match.lastgroup == "lone":
                return f"A JSON text escapes a lone surrogate {match.group()}.", match.start()
    try:
        json.loads(text, parse_constant=_no_constant, parse_float=_finite_number, parse_int=_finite_number)
    except (ValueError, RecursionError) as exc:
        return f"A JSON text does not parse: {exc}.", 0
    return None


def _json(buf: bytes, pos: int, max_depth: int) -> int:
    """Read a varString of JSON text and check it with json_problem."""
    n, start = _length(buf, pos, "JSON text")
    stop = start + n
    try:
        text = buf[start:stop].decode()
    except UnicodeDecodeError as exc:
        raise UpdateRejected("A JSON text is not valid UTF-8.", "utf8", start + exc.start) from None
    problem = json_problem(text, max_depth)
    if problem is not None:
        raise UpdateRejected(problem[0], "json", start + problem[1])
    return stop
