"""The whole pad as one Yjs v1 update, and back.

Import checks, before anything touches the caller's Doc: the bytes pass the sync validator
(:func:`crdtpad.sync.validate.validate_update`, bounded by ``Limits.max_input_bytes``); the update
applies cleanly to a fresh Doc and is complete (no struct waits for one it does not hold); its
root types are only ``content`` (Text), ``chat`` (Array) and ``authors`` (Map); the text holds only
strings with the editor's attributes and values (see :mod:`crdtpad.transfer.delta`), within
``max_chars``; chat messages and authors are flat records of short scalar values, colours
``#rgb``/``#rrggbb``. Only then is the update applied to the caller's empty Doc.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pycrdt

from crdtpad.errors import UpdateRejected
from crdtpad.sync.validate import ItemRef, UpdateLimits, validate_update
from crdtpad.transfer import ImportRejected, Limits
from crdtpad.transfer.delta import (
    AUTHORS_FIELD,
    CHAT_FIELD,
    CODE_BLOCK,
    HEADER,
    HEADER_LEVELS,
    INLINE_FLAGS,
    LINK,
    LIST,
    LIST_KINDS,
    TEXT_FIELD,
    safe_link,
)

ROOT_TYPES = {TEXT_FIELD: "Text", CHAT_FIELD: "Array", AUTHORS_FIELD: "Map"}
MAX_RECORD_STRING_CHARS = 10_000  # a chat message, an author name
MAX_RECORD_KEYS = 16
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


def export_yjs(doc: pycrdt.Doc[Any]) -> bytes:
    """The whole doc (text, chat, authors, and their history as Yjs keeps it) as one v1 update."""
    return doc.get_update()


def _state(vector: bytes) -> dict[int, int]:
    """Decode a v1 state vector (count, then client and clock varUints)."""
    pos = 0

    def uint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = vector[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    count = uint()
    state: dict[int, int] = {}
    for _ in range(count):
        client = uint()
        state[client] = uint()
    return state


def _check_text(text: pycrdt.Text, limits: Limits) -> None:
    chars = 0
    for insert, attrs in text.diff():
        if not isinstance(insert, str):
            raise ImportRejected("The pad text holds an embedded object; only text is accepted.")
        chars += len(insert)
        for name, value in (attrs or {}).items():
            if name in INLINE_FLAGS:
                ok = value is True
            elif name == LINK:
                ok = safe_link(value) == value
            elif name == HEADER:
                ok = isinstance(value, int | float) and not isinstance(value, bool) and value in HEADER_LEVELS
            elif name == LIST:
                ok = value in LIST_KINDS
            elif name == CODE_BLOCK:
                ok = value is True or (isinstance(value, str) and 0 < len(value) <= 64)
            else:
                raise ImportRejected(f"The pad text has the unsupported format {name[:64]!r}.")
            if not ok:
                raise ImportRejected(f"The pad text has an invalid value for the format {name!r}.")
    if chars > limits.max_chars:
        raise ImportRejected(f"The pad text has {chars} characters, over the limit of {limits.max_chars}.")


def _check_record(record: object, what: str) -> None:
    if isinstance(record, pycrdt.Map):
        record = dict(record.items())  # nested shared types stay objects, and are refused below
    if not isinstance(record, Mapping):
        raise ImportRejected(f"An entry of {what} is not a record.")
    if len(record) > MAX_RECORD_KEYS:
        raise ImportRejected(f"An entry of {what} has more than {MAX_RECORD_KEYS} fields.")
    for key, value in record.items():
        if isinstance(value, str):
            if len(value) > MAX_RECORD_STRING_CHARS:
                raise ImportRejected(
                    f"The field {str(key)[:64]!r} of an entry of {what} is over "
                    f"{MAX_RECORD_STRING_CHARS} characters."
                )
        elif value is not None and not isinstance(value, bool | int | float):
            raise ImportRejected(f"The field {str(key)[:64]!r} of an entry of {what} is not a plain value.")
        if key == "color" and not (isinstance(value, str) and _COLOR.fullmatch(value)):
            raise ImportRejected(f"An entry of {what} has a colour that is not #rgb or #rrggbb.")


def import_yjs(doc: pycrdt.Doc[Any], update: bytes, limits: Limits) -> None:
    """Apply the Yjs v1 ``update`` (a whole pad) to the empty ``doc``, once it passed every check."""
    if not isinstance(update, bytes | bytearray | memoryview):
        raise ImportRejected("The Yjs file must be bytes.")
    update = bytes(update)
    limits.check_input(len(update), "Yjs")
    try:
        shape = validate_update(update, UpdateLimits(max_bytes=limits.max_input_bytes))
    except UpdateRejected as error:
        raise ImportRejected(f"The file is not a valid Yjs update: {error}") from None
    roots = {s.parent for s in shape.structs if isinstance(s, ItemRef) and isinstance(s.parent, str)}
    unknown = sorted(roots - ROOT_TYPES.keys())
    if unknown:
        raise ImportRejected(
            f"The update has the root type {unknown[0][:64]!r}; only content, chat and authors are accepted."
        )
    fresh: pycrdt.Doc[Any] = pycrdt.Doc()
    try:
        fresh.apply_update(update)
        state = _state(fresh.get_state())
    except Exception as error:  # Yrs refusing what the validator let through
        raise ImportRejected(f"The Yjs update does not apply: {error}") from None
    for block in shape.blocks:
        if state.get(block.client, 0) < block.end:
            raise ImportRejected("The Yjs update depends on changes it does not hold; export the whole pad.")
    extra = sorted(set(fresh.keys()) - ROOT_TYPES.keys())
    if extra:
        raise ImportRejected(
            f"The update has the root type {extra[0][:64]!r}; only content, chat and authors are accepted."
        )
    _check_text(fresh.get(TEXT_FIELD, type=pycrdt.Text), limits)
    chat = fresh.get(CHAT_FIELD, type=pycrdt.Array)
    if len(chat) > limits.max_runs:
        raise ImportRejected(f"The chat has {len(chat)} messages, over the limit of {limits.max_runs}.")
    for message in chat:
        _check_record(message, "the chat")
    authors = fresh.get(AUTHORS_FIELD, type=pycrdt.Map)
    if len(authors) > limits.max_runs:
        raise ImportRejected(f"The pad has {len(authors)} authors, over the limit of {limits.max_runs}.")
    for author in authors.values():
        _check_record(author, "the authors")
    if len(doc.get(TEXT_FIELD, type=pycrdt.Text)):
        raise ValueError("import_yjs needs an empty Doc: build into a fresh Doc and merge.")
    doc.apply_update(update)
