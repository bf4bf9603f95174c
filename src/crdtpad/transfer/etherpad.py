"""Import of an Etherpad ``.etherpad`` file (a JSON object of Etherpad database records, one pad).

What is read: the pad record ``pad:<id>`` (its head text ``atext`` and attribute ``pool``), the
chat records ``pad:<id>:chat:<n>``, the ``globalAuthor:<id>`` records of the pad's authors, and
the pad's history as far as the file holds whole texts (below). Other pad sub-records are
ignored, as are keys of other kinds (``pad2readonly:``, ``sessionstorage:``, plugin data...);
records of any other pad are refused, and so is a file with several pads or none.

The head text is decoded strictly: the attribute string may hold only ``+`` ops
(``*a*b|L+N``, numbers in base 36), their lengths (UTF-16 code units, as JavaScript counts)
must add up to the text's, each op's newline count must match its text, every attribute number
must exist in the pool, and the text must end with a newline. Kept: ``bold``, ``italic``,
``underline``, ``strikethrough`` (as strike), a ``url``/``link`` attribute with an http, https or
mailto URL (as link), and on each line's ``*`` marker (``lmkr``, removed from the text)
``list`` = ``bulletN``/``numberN`` (bullet/ordered, nesting flattened) and ``heading`` =
``h1``-``h6`` (header 1-3, deeper levels as 3) or ``code`` (code-block). Dropped: ``indent``
lists, list ``start`` numbers, alignment, fonts, colours, ``insertorder`` and plugin attributes.

History: every revision record ``pad:<id>:revs:<n>`` must have a whole number at most the pad's
``head``. Etherpad keeps a whole text (``meta.atext``, and since 1.8 ``meta.pool``) only on key
revisions, every 100th (revision 0 included); the changesets between them are replayed only up
to saved revisions (below), so the history has one step per key revision and saved revision,
not Etherpad's every keystroke. Each key revision with
a ``meta.atext`` below the head becomes an :class:`EtherpadRevision`: its text decoded exactly as
the head's (same decoder, pool checks and limits; its own ``meta.pool`` if it has one, else the
pad's, whose numbering only grows) and its ``meta.timestamp`` (milliseconds, required). Only
revision 0 and the ``MAX_HISTORY`` most recent key revisions are read; older ones, and any
``atext`` on a revision that is not a key revision, are not looked at. When there is history,
the head itself ends it (its time from ``pad:<id>:revs:<head>`` when the file has it). A bad
record among those read refuses the whole file, naming the record.

Saved revisions (Etherpad's star, the pad record's ``savedRevisions``: ``revNum``, ``label``,
``timestamp``; the ``MAX_SAVED`` most recent; entries naming no revision up to the head are
ignored, being bookmarks rather than content) are rebuilt exactly: from the key revision before
each, its changesets are applied one by one (``easysync``), then the text is decoded like any
other. Each becomes a revision named ``Etherpad r<N> ★ <label>`` (plain text, at most
``MAX_LABEL_CHARS``; ``Revision <N>`` without one), with its revision record's time. A saved
key revision or head is that revision, labelled. A saved revision that cannot be rebuilt exactly
(no whole text on its key revision, a revision record missing, or ``MAX_REPLAY_WORK`` spent for
the file) is left out rather than shown with another text; a changeset that does not apply
refuses the file, naming its record.

Authorship: every author of the text writes their runs as their own Yjs client (a random client
id per author), so the editor's authorship colours follow Etherpad's; the ``authors`` map gets
``String(client id) -> {name, color}`` from the author's ``globalAuthor`` record (``colorId``
as Etherpad's palette index or a ``#rgb``/``#rrggbb`` string, else a palette colour; names
plain text, at most 40 characters). Unattributed text gets a client of its own with no entry. A
pathological interleaving (over ``MAX_CATCH_UP`` relayed updates, e.g. hundreds of authors
alternating word by word) is written by one client, without authorship; the history shares one
more such budget. Chat records become messages of the ``chat`` array ``{id, author, color, text,
at}`` in their order. A history revision is a document of its own (text and ``authors``, no
chat), with client ids of its own: it never shares an item id with the pad or another revision.

Everything is built in fresh Docs; the caller's Doc gets its update only when all checks passed.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pycrdt

from crdtpad.transfer import ImportRejected, Limits, easysync
from crdtpad.transfer.delta import (
    AUTHORS_FIELD,
    BOLD,
    CHAT_FIELD,
    CODE_BLOCK,
    CODE_BLOCK_VALUE,
    HEADER,
    ITALIC,
    LINK,
    LIST,
    STRIKE,
    SUPPORTED_ATTRIBUTES,
    TEXT_FIELD,
    UNDERLINE,
    check_limits,
    clean_text,
    normalise,
    safe_link,
)

MAX_KEYS = 200_000  # object keys in the whole file
MAX_POOL_ENTRIES = 20_000
MAX_ATTRIBUTE_CHARS = 4096  # an attribute name or value in the pool
MAX_AUTHORS = 1000  # distinct authors of the text (one Yjs client each)
MAX_CATCH_UP = 500_000  # author updates relayed between author Docs (see _write); ~4 s of work
MAX_CHAT_MESSAGES = 100_000
MAX_CHAT_CHARS = 10_000
MAX_NAME_CHARS = 40  # as the editor records names
MAX_RECORD_NUMBER = 999_999_999  # a revision or chat number
MAX_BASE36_DIGITS = 7  # 36**7 > 78e9: more than any text an import can hold
KEY_REVISION_EVERY = 100  # Etherpad keeps a whole text on every 100th revision
MAX_HISTORY = 100  # key revisions imported besides revision 0: the most recent ones
MAX_SAVED = 100  # saved ("starred") revisions imported: the most recent ones
MAX_LABEL_CHARS = 80
MAX_REPLAY_WORK = 2_000_000  # segments and ops touched replaying changesets (~2 s), whole file
MAX_TIMESTAMP = 253_402_300_799_999  # milliseconds: the last one of the year 9999

# Etherpad's author colour palette (AuthorManager.getColorPalette), indexed by colorId.
PALETTE = (
    "#ffc7c7", "#fff1c7", "#e3ffc7", "#c7ffd5", "#c7ffff", "#c7d5ff", "#e3c7ff", "#ffc7f1",
    "#ffa8a8", "#ffe699", "#cfff9e", "#99ffb3", "#a3ffff", "#99b3ff", "#cc99ff", "#ff99e5",
    "#e7b1b1", "#e9dcaf", "#cde9af", "#bfedcc", "#b1e7e7", "#c3cdee", "#d2b8ea", "#eec3e6",
    "#e9cece", "#e7e0ca", "#d3e5c7", "#bce1c5", "#c1e2e2", "#c1c9e2", "#cfc1e2", "#e0bdd9",
    "#baded3", "#a0f8eb", "#b1e7e0", "#c3c8e4", "#cec5e2", "#b1d5e7", "#cda8f0", "#f0f0a8",
    "#f2f2a6", "#f5a8eb", "#c5f9a9", "#ececbb", "#e7c4bc", "#daf0b2", "#b0a0fd", "#bce2e7",
    "#cce2bb", "#ec9afe", "#edabbd", "#aeaeea", "#c4e7b1", "#d722bb", "#f3a5e7", "#ffa8a8",
    "#d8c0c5", "#eaaedd", "#adc6eb", "#bedad1", "#dee9af", "#e9afc2", "#f8d2a0", "#b3b3e6",
)  # fmt: skip

_INLINE_FLAGS = {"bold": BOLD, "italic": ITALIC, "underline": UNDERLINE, "strikethrough": STRIKE}
_LINK_NAMES = ("url", "link")
_LIST_VALUE = re.compile(r"(bullet|number)([1-9][0-9]?)")
_HEADING_VALUE = re.compile(r"h([1-6])")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")
_OP = re.compile(r"((?:\*[0-9a-z]+)*)(?:\|([0-9a-z]+))?\+([0-9a-z]+)")
_POOL_REF = re.compile(r"\*([0-9a-z]+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")

Run = tuple[str, dict[str, Any], str]  # text, delta attributes, author id ("" for none)
AuthorInfo = Callable[[str], tuple[str, str]]  # an Etherpad author id -> (name, colour)


@dataclass(frozen=True, slots=True)
class EtherpadRevision:
    """A revision of the Etherpad pad, as a crdtpad revision: the whole document at that point."""

    number: int | None  # Etherpad's revision number (None: the head of a pad record without one)
    created_at: int | None  # unix ms, from meta.timestamp; None if the file does not say
    update: bytes  # a Yjs update holding the whole document (text and authors)
    label: str | None = None  # set: an Etherpad saved ("starred") revision, with its label

    @property
    def name(self) -> str:
        """The name it is kept under: named revisions are never dropped by retention."""
        name = f"Etherpad r{self.number}" if self.number is not None else "Etherpad (head)"
        return name if self.label is None else f"{name} ★ {self.label}"


def _show(value: str) -> str:
    """A key or value for a message: quoted, at most 64 characters."""
    return repr(value[:64] + ("..." if len(value) > 64 else ""))


# -- JSON ------------------------------------------------------------------------------------------


class _TooManyKeys(Exception):
    pass


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _parse(data: str, limits: Limits) -> dict[str, Any]:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", data)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limits.max_depth:
                raise ImportRejected(
                    f"The Etherpad file nests objects and arrays deeper than {limits.max_depth} levels."
                )
        else:
            depth -= 1
    keys = 0

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal keys
        keys += len(items)
        if keys > MAX_KEYS:
            raise _TooManyKeys
        out = dict(items)
        if len(out) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    raise _DuplicateKey(key)
                seen.add(key)
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(data, object_pairs_hook=pairs, parse_constant=constant)
    except _TooManyKeys:
        raise ImportRejected(f"The Etherpad file has more than {MAX_KEYS} keys.") from None
    except _DuplicateKey as error:
        raise ImportRejected(f"The Etherpad file repeats the key {_show(error.key)} in one object.") from None
    except RecursionError:
        raise ImportRejected("The Etherpad file nests objects and arrays too deeply.") from None
    except ValueError as error:  # JSONDecodeError, an over-long integer, NaN/Infinity
        raise ImportRejected(f"The Etherpad file is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(value, dict):
        raise ImportRejected("The Etherpad file is not a JSON object of database records.")
    return value


# -- records ---------------------------------------------------------------------------------------


def _record_number(key: str, kind: str, head: int | None) -> int:
    number = key.rsplit(":", 1)[1]
    if not _NUMBER.fullmatch(number):
        raise ImportRejected(
            f"The record key {_show(key)} has a {kind} number that is not a whole number from 0 to "
            f"{MAX_RECORD_NUMBER}."
        )
    value = int(number)
    if head is not None and value > head:
        raise ImportRejected(f"The record key {_show(key)} has a {kind} number past the pad's last ({head}).")
    return value


def _head(pad: dict[str, Any], name: str) -> int | None:
    value = pad.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= MAX_RECORD_NUMBER:
        raise ImportRejected(f"The pad record's {name} is not a whole number from -1 to {MAX_RECORD_NUMBER}.")
    return value


def _find_pad(records: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pads = sorted(key[4:] for key in records if key.startswith("pad:") and ":" not in key[4:])
    if not pads:
        raise ImportRejected("The Etherpad file has no pad record (a key 'pad:<id>').")
    if len(pads) > 1:
        raise ImportRejected(
            f"The Etherpad file holds {len(pads)} pads ({_show(pads[0])}, {_show(pads[1])}...); "
            "export and import one pad at a time."
        )
    pad_id = pads[0]
    if not pad_id:
        raise ImportRejected("The Etherpad file's pad record 'pad:' has an empty pad id.")
    for key in records:
        if key.startswith("pad:") and key[4:].split(":", 1)[0] != pad_id:
            raise ImportRejected(
                f"The Etherpad file has the record {_show(key)} of another pad than {_show(pad_id)}."
            )
    pad = records["pad:" + pad_id]
    if not isinstance(pad, dict):
        raise ImportRejected(f"The pad record {_show('pad:' + pad_id)} is not an object.")
    return pad_id, pad


def _pool(
    holder: dict[str, Any], where: str = "The pad record", field: str = "pool"
) -> dict[int, tuple[str, str]]:
    pool = holder.get("pool")
    table = pool.get("numToAttrib") if isinstance(pool, dict) else None
    if not isinstance(table, dict):
        raise ImportRejected(f"{where} has no attribute pool ({field}.numToAttrib).")
    if len(table) > MAX_POOL_ENTRIES:
        raise ImportRejected(
            f"The attribute pool has {len(table)} entries, over the limit of {MAX_POOL_ENTRIES}."
        )
    entries: dict[int, tuple[str, str]] = {}
    for number, entry in table.items():
        if not _NUMBER.fullmatch(number):
            raise ImportRejected(f"The attribute pool has the entry number {_show(number)}, not a number.")
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not all(isinstance(part, str) and len(part) <= MAX_ATTRIBUTE_CHARS for part in entry)
        ):
            raise ImportRejected(
                f"The attribute pool entry {number} is not a [name, value] pair of strings of at most "
                f"{MAX_ATTRIBUTE_CHARS} characters."
            )
        entries[int(number)] = (entry[0], entry[1])
    return entries


# -- the attribute string --------------------------------------------------------------------------


def _base36(digits: str, what: str) -> int:
    if len(digits) > MAX_BASE36_DIGITS:
        raise ImportRejected(f"The attribute string has an absurd {what} ({_show(digits)}).")
    return int(digits, 36)


def _ops(text: str, attribs: str, pool: dict[int, tuple[str, str]]) -> Iterator[tuple[str, frozenset[int]]]:
    """The atext as (text, pool numbers) runs, checked against the text op by op."""
    units = text.encode("utf-16-le", "surrogatepass")
    total = len(units) // 2
    unit = 0  # in UTF-16 code units, as Etherpad counts
    pos = 0
    while pos < len(attribs):
        op = _OP.match(attribs, pos)
        if op is None:
            raise ImportRejected(
                f"The attribute string has {_show(attribs[pos : pos + 16])} at position {pos}, not an "
                "insert op (*attributes|newlines+length in base 36)."
            )
        pos = op.end()
        numbers = frozenset(_base36(n, "attribute number") for n in _POOL_REF.findall(op.group(1)))
        for number in numbers:
            if number not in pool:
                raise ImportRejected(
                    f"The attribute string uses the attribute number {number}, which the pool does not have."
                )
        newlines = _base36(op.group(2), "newline count") if op.group(2) is not None else 0
        length = _base36(op.group(3), "length")
        if length == 0:
            raise ImportRejected(f"The attribute string has an op of length 0 at position {op.start()}.")
        if unit + length > total:
            raise ImportRejected(
                f"The attribute string covers more than the text's {total} characters (UTF-16 units)."
            )
        chunk = units[2 * unit : 2 * (unit + length)].decode("utf-16-le", "surrogatepass")
        after = int.from_bytes(units[2 * (unit + length) : 2 * (unit + length) + 2], "little")
        if "\ud800" <= chunk[-1] <= "\udbff" and 0xDC00 <= after <= 0xDFFF:
            raise ImportRejected(
                f"The attribute string splits a character in two at UTF-16 position {unit + length}."
            )
        count = chunk.count("\n")
        if count != newlines or (newlines and chunk[-1] != "\n"):
            raise ImportRejected(
                f"The attribute string says {newlines} line(s) for the op at position {op.start()}, but "
                f"its text has {count} newline(s)"
                + ("." if count != newlines else " and does not end with one.")
            )
        unit += length
        yield chunk, numbers
    if unit != total:
        raise ImportRejected(
            f"The attribute string covers {unit} of the text's {total} characters (UTF-16 units)."
        )


class _Style:
    """What one set of pool attributes means for crdtpad."""

    __slots__ = ("author", "inline", "line", "marker")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.inline: dict[str, Any] = {}
        self.line: dict[str, Any] = {}
        self.author = ""
        self.marker = False
        for name, value in pairs:
            if name in _INLINE_FLAGS and value == "true":
                self.inline[_INLINE_FLAGS[name]] = True
            elif name in _LINK_NAMES:
                href = safe_link(value)
                if href is not None:
                    self.inline[LINK] = href
            elif name == "author":
                self.author = value
            elif name == "lmkr" and value:
                self.marker = True
            elif name == "heading":
                level = _HEADING_VALUE.fullmatch(value)
                if level is not None:
                    self.line.setdefault(HEADER, min(int(level.group(1)), 3))
                elif value == "code":
                    self.line[CODE_BLOCK] = CODE_BLOCK_VALUE
            elif name == "list":
                kind = _LIST_VALUE.fullmatch(value)
                if kind is not None:
                    self.line.setdefault(LIST, "bullet" if kind.group(1) == "bullet" else "ordered")
        if CODE_BLOCK in self.line:  # one line format, in delta.py's order of precedence
            self.line = {CODE_BLOCK: CODE_BLOCK_VALUE}
        elif HEADER in self.line:
            self.line = {HEADER: self.line[HEADER]}


def _runs(text: str, attribs: str, pool: dict[int, tuple[str, str]]) -> list[Run]:
    """The pad text as merged runs of (text, delta attributes, author); line formats on each "\\n"."""
    styles: dict[frozenset[int], _Style] = {}
    out: list[Run] = []
    line: dict[str, Any] = {}
    line_start = True

    def add(piece: str, attrs: dict[str, Any], author: str) -> None:
        if out and out[-1][1] == attrs and out[-1][2] == author:
            out[-1] = (out[-1][0] + piece, attrs, author)
        else:
            out.append((piece, attrs, author))

    for chunk, numbers in _ops(text, attribs, pool):
        style = styles.get(numbers)
        if style is None:
            style = styles[numbers] = _Style([pool[n] for n in sorted(numbers)])
        if style.marker and line_start and chunk[0] == "*":
            line = style.line
            chunk = chunk[1:]
        pieces = chunk.split("\n")
        for i, piece in enumerate(pieces):
            piece = clean_text(piece)
            if piece:
                add(piece, {} if CODE_BLOCK in line else style.inline, style.author)
                line_start = False
            if i < len(pieces) - 1:
                add("\n", line, style.author)
                line = {}
                line_start = True
    return out


# -- authors and chat ------------------------------------------------------------------------------


def _author_info(records: dict[str, Any], author: str, index: int) -> tuple[str, str]:
    """The (name, colour) of an Etherpad author id from its globalAuthor record, if any."""
    record = records.get("globalAuthor:" + author)
    name = ""
    color = PALETTE[index % len(PALETTE)]
    if isinstance(record, dict):
        raw = record.get("name")
        if isinstance(raw, str):
            name = clean_text(raw).replace("\n", " ").replace("\t", " ").strip()[:MAX_NAME_CHARS]
        color_id = record.get("colorId")
        if isinstance(color_id, int) and not isinstance(color_id, bool) and 0 <= color_id < len(PALETTE):
            color = PALETTE[color_id]
        elif isinstance(color_id, str) and _COLOR.fullmatch(color_id):
            color = color_id.lower()
    return name, color


def _chat(records: dict[str, Any], pad_id: str, head: int | None, author_info: Any) -> list[dict[str, Any]]:
    prefix = f"pad:{pad_id}:chat:"
    numbered: list[tuple[int, str, Any]] = []
    for key, value in records.items():
        if key.startswith(prefix):
            numbered.append((_record_number(key, "chat message", head), key, value))
            if len(numbered) > MAX_CHAT_MESSAGES:
                raise ImportRejected(f"The chat has over {MAX_CHAT_MESSAGES} messages.")
    messages: list[dict[str, Any]] = []
    for _, key, record in sorted(numbered):
        if not isinstance(record, dict):
            raise ImportRejected(f"The chat record {_show(key)} is not an object.")
        text = record.get("text")
        if not isinstance(text, str):
            raise ImportRejected(f"The chat record {_show(key)} has no text.")
        if len(text) > MAX_CHAT_CHARS:
            raise ImportRejected(
                f"The chat record {_show(key)} has {len(text)} characters, over the limit of "
                f"{MAX_CHAT_CHARS}."
            )
        at = record.get("time", 0)
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
            raise ImportRejected(f"The chat record {_show(key)} has a time that is not a number.")
        author = record.get("authorId", record.get("userId"))
        name, color = author_info(author if isinstance(author, str) else "")
        if not name:
            fallback = record.get("displayName", record.get("userName"))
            if isinstance(fallback, str):
                name = clean_text(fallback).replace("\n", " ").strip()[:MAX_NAME_CHARS]
        messages.append(
            {
                "id": str(uuid.uuid4()),
                "author": name or "Anonymous",
                "color": color,
                "text": clean_text(text),
                "at": int(at),
            }
        )
    return messages


# -- building the Doc ------------------------------------------------------------------------------


def _client_ids(count: int) -> list[int]:
    ids: set[int] = set()
    while len(ids) < count:
        ids.add(secrets.randbits(32) or 1)
    return list(ids)


def _catch_up_cost(runs: list[Run]) -> int:
    """How many logged updates :func:`_write` relays to writers: per author change, the number of
    changes since that author last wrote (round-robin among A authors costs A per change)."""
    cost = groups = 0
    last: dict[str, int] = {}
    previous: str | None = None
    for _, _, author in reversed(runs):
        if author != previous:
            cost += groups - last.get(author, 0)
            groups += 1
            last[author] = groups
            previous = author
    return cost


def _write(fresh: pycrdt.Doc[Any], runs: list[Run], writers: dict[str, pycrdt.Doc[Any]]) -> None:
    """Insert the runs back to front at offset 0, each by its author's Doc, then merge into ``fresh``.

    Each writer's transactions are logged as incremental updates (an observer), and a writer catches
    up on the log entries it has not seen, in one transaction, before it writes: asking Yrs for a
    diff against a state vector walks the whole store, and merging many updates is quadratic too.
    """
    log: list[bytes] = []
    seen = dict.fromkeys(writers, 0)
    catching_up = False

    def record(event: Any) -> None:
        if not catching_up:
            log.append(event.update)

    subscriptions = [(writer, writer.observe(record)) for writer in writers.values()]
    try:
        i = len(runs)
        while i > 0:
            author = runs[i - 1][2]
            j = i
            while j > 0 and runs[j - 1][2] == author:
                j -= 1
            writer = writers[author]
            missing = log[seen[author] :]
            if missing:
                catching_up = True
                with writer.transaction():  # one commit for all (merge_updates is slower)
                    for update in missing:
                        writer.apply_update(update)
                catching_up = False
            text = writer.get(TEXT_FIELD, type=pycrdt.Text)
            with writer.transaction():
                for piece, attrs, _ in reversed(runs[j:i]):
                    text.insert(0, piece, {name: attrs.get(name) for name in SUPPORTED_ATTRIBUTES})
            seen[author] = len(log)
            i = j
        if runs:  # the last writer catches up and hands the whole text over
            last = writers[runs[0][2]]
            catching_up = True
            with last.transaction():
                for update in log[seen[runs[0][2]] :]:
                    last.apply_update(update)
            fresh.apply_update(last.get_update())
    finally:
        for writer, subscription in subscriptions:
            writer.unobserve(subscription)
    fresh.get(TEXT_FIELD, type=pycrdt.Text)


def _text_runs(
    atext: Any, pool: Callable[[], dict[int, tuple[str, str]]], limits: Limits, where: str, field: str
) -> list[Run]:
    """An Etherpad atext ``{text, attribs}`` as checked runs (the pool is read after the text)."""
    if not isinstance(atext, dict) or not isinstance(atext.get("text"), str):
        raise ImportRejected(f"{where} has no text ({field}.text).")
    text: str = atext["text"]
    attribs = atext.get("attribs")
    if not isinstance(attribs, str):
        raise ImportRejected(f"{where} has no attribute string ({field}.attribs).")
    if len(text) > 2 * limits.max_chars + 1:  # a first bound; line markers are not counted below
        raise ImportRejected(
            f"The imported text has {len(text)} characters, over the limit of {limits.max_chars}."
        )
    if not text.endswith("\n"):
        raise ImportRejected("The pad text does not end with a newline, as every Etherpad text does.")
    runs = _runs(text, attribs, pool())
    check_limits(normalise((piece, attrs) for piece, attrs, _ in runs), limits)
    if len(runs) > limits.max_runs:
        raise ImportRejected(
            f"The imported text has {len(runs)} runs by author and format, over the limit of "
            f"{limits.max_runs}."
        )
    return runs


def _authored(runs: list[Run], budget: int) -> tuple[list[Run], list[str], int]:
    """The runs, their authors ("" for none) and what writing them costs: by author if that
    costs at most ``budget`` relayed updates, else all by one client (no authorship)."""
    cost = _catch_up_cost(runs)
    if cost > budget:
        runs, cost = [(piece, attrs, "") for piece, attrs, _ in runs], 0
    authors = sorted({author for _, _, author in runs})
    if len(authors) > MAX_AUTHORS:
        raise ImportRejected(f"The pad text has {len(authors)} authors, over the limit of {MAX_AUTHORS}.")
    return runs, authors, cost


def _document(
    runs: list[Run], authors: list[str], info: AuthorInfo, messages: list[dict[str, Any]] | None
) -> pycrdt.Doc[Any]:
    """A fresh Doc holding the runs (each author's by a client of its own), the ``authors`` map
    and, if given, the chat."""
    ids = _client_ids(len(authors) + 1)
    fresh: pycrdt.Doc[Any] = pycrdt.Doc(client_id=ids[-1])
    writers: dict[str, pycrdt.Doc[Any]] = {
        author: pycrdt.Doc(client_id=client) for author, client in zip(authors, ids, strict=False)
    }
    _write(fresh, runs, writers)
    with fresh.transaction():
        if messages is not None:
            fresh.get(CHAT_FIELD, type=pycrdt.Array).extend(messages)
        table = fresh.get(AUTHORS_FIELD, type=pycrdt.Map)
        for author, writer in writers.items():
            if not author:
                continue  # unattributed text: a client of its own, without a name or colour
            name, color = info(author)
            table[str(writer.client_id)] = {"name": name, "color": color}
    return fresh


# -- history ---------------------------------------------------------------------------------------


def _revision_meta(records: dict[str, Any], key: str) -> dict[str, Any] | None:
    record = records[key]
    if not isinstance(record, dict):
        raise ImportRejected(f"The revision record {_show(key)} is not an object.")
    meta = record.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise ImportRejected(f"The revision record {_show(key)} has a meta that is not an object.")
    return meta


def _timestamp(meta: dict[str, Any] | None, key: str) -> int | None:
    at = meta.get("timestamp") if meta is not None else None
    if at is None:
        return None
    if (
        isinstance(at, bool)
        or not isinstance(at, int | float)
        or not math.isfinite(at)
        or not 0 <= at <= MAX_TIMESTAMP
    ):
        raise ImportRejected(
            f"The revision record {_show(key)} has a meta.timestamp that is not a time in milliseconds "
            "from 1970 to 9999."
        )
    return int(at)


def _key_revisions(numbered: list[tuple[int, str]], head: int | None) -> list[tuple[int, str]]:
    """The key revisions below the head that are read: revision 0 and the most recent ones."""
    keys = sorted(
        (number, key)
        for number, key in numbered
        if number % KEY_REVISION_EVERY == 0 and (head is None or number < head)
    )
    chosen = keys[-MAX_HISTORY:]
    if len(keys) > MAX_HISTORY and keys[0][0] == 0:
        chosen.insert(0, keys[0])
    return chosen


History = list[tuple[int, int, list[Run], list[str], str | None]]  # number, time, runs, authors, label


@dataclass(frozen=True, slots=True)
class SavedRevision:
    """An Etherpad saved ("starred") revision: its number, label and when it was saved."""

    number: int
    label: str
    at: int | None


def saved_revisions(pad: dict[str, Any], head: int | None) -> list[SavedRevision]:
    """The pad record's ``savedRevisions``: the most recent ``MAX_SAVED``, by number. They are
    bookmarks, not content: an entry that names no revision up to the head is ignored rather
    than refusing the pad (a migration would lose it for a star)."""
    listed = pad.get("savedRevisions")
    found: dict[int, SavedRevision] = {}
    for entry in listed if isinstance(listed, list) else ():
        number = entry.get("revNum") if isinstance(entry, dict) else None
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            continue
        if head is not None and number > head:
            continue
        label = entry.get("label")
        text = clean_text(label)[:MAX_LABEL_CHARS].strip() if isinstance(label, str) else ""
        at = entry.get("timestamp")
        valid = isinstance(at, int) and not isinstance(at, bool) and 0 <= at <= MAX_TIMESTAMP
        found[number] = SavedRevision(number, text or f"Revision {number}", at if valid else None)
    return [found[n] for n in sorted(found)[-MAX_SAVED:]]


class _Replay:
    """Texts at saved revisions, rebuilt from the key revision before each by applying the
    changesets after it; one bound on the work for the whole file."""

    def __init__(
        self, records: dict[str, Any], prefix: str, pool: Callable[[], dict[int, tuple[str, str]]]
    ) -> None:
        self._records, self._prefix, self._pool = records, prefix, pool
        self._at: tuple[int, easysync.ATText] | None = None  # the last text rebuilt, reused forward
        self.work = 0

    def atext(self, number: int) -> dict[str, str] | None:
        """The atext at revision ``number``; None when it cannot be rebuilt exactly (no whole text
        on its key revision, a revision record missing, or the work bound reached)."""
        if self.work >= MAX_REPLAY_WORK:
            return None
        key_number = number - number % KEY_REVISION_EVERY
        if self._at is not None and key_number <= self._at[0] <= number:
            done, state = self._at
        else:
            key = f"{self._prefix}{key_number}"
            meta = _revision_meta(self._records, key) if key in self._records else None
            atext = meta.get("atext") if meta is not None else None
            if not isinstance(atext, dict):
                return None
            text, attribs = atext.get("text"), atext.get("attribs")
            if not isinstance(text, str) or not isinstance(attribs, str):
                raise ImportRejected(
                    f"The revision record {_show(key)} has a meta.atext without text and attribs."
                )
            try:
                state = easysync.ATText.parse(text, attribs, self._pool())
            except easysync.ChangesetError as error:
                raise ImportRejected(f"The revision record {_show(key)} is refused: {error}.") from None
            done = key_number
        for n in range(done + 1, number + 1):
            key = f"{self._prefix}{n}"
            record = self._records.get(key)
            if record is None:
                return None
            changeset = record.get("changeset") if isinstance(record, dict) else None
            if not isinstance(changeset, str):
                raise ImportRejected(f"The revision record {_show(key)} has no changeset.")
            try:
                state = state.apply(changeset, self._pool())
            except easysync.ChangesetError as error:
                raise ImportRejected(
                    f"The revision record {_show(key)} is refused: its changeset does not apply: {error}."
                ) from None
            if self.work + state.work > MAX_REPLAY_WORK:
                self.work += state.work  # spent all the same: later ones find the bound reached
                return None
        self.work += state.work + len(state.segments)  # and writing it out
        state.work = 0
        self._at = (number, state)
        text, attribs = state.atext()
        return {"text": text, "attribs": attribs}


def _history(
    records: dict[str, Any],
    numbered: list[tuple[int, str]],
    head: int | None,
    pad_pool: Callable[[], dict[int, tuple[str, str]]],
    limits: Limits,
    saved: list[SavedRevision],
    prefix: str,
) -> History:
    """The key revisions with a text and the saved revisions below the head that can be
    rebuilt, decoded as strictly as the head, oldest first."""
    found: History = []
    budget = MAX_CATCH_UP  # one budget for the whole history, as much as the head has
    labels = {s.number: s.label for s in saved}

    def add(
        number: int, key: str, atext: Any, pool: Callable[[], dict[int, tuple[str, str]]], at: int
    ) -> None:
        nonlocal budget
        try:
            runs = _text_runs(atext, pool, limits, "It", "meta.atext")
            runs, authors, cost = _authored(runs, budget)
        except ImportRejected as error:
            reason = str(error)
            raise ImportRejected(
                f"The revision record {_show(key)} is refused: {reason[:1].lower()}{reason[1:]}"
            ) from None
        budget -= cost
        found.append((number, at, runs, authors, labels.get(number)))

    for number, key in _key_revisions(numbered, head):
        meta = _revision_meta(records, key)
        if meta is None or "atext" not in meta:
            continue  # no whole text here: nothing to show without replaying changesets
        at = _timestamp(meta, key)
        if at is None:
            raise ImportRejected(f"The revision record {_show(key)} has no time (meta.timestamp).")
        pool = pad_pool if "pool" not in meta else partial(_pool, meta, "Its meta", "meta.pool")
        add(number, key, meta["atext"], pool, at)
    have = {entry[0] for entry in found}
    replay = _Replay(records, prefix, pad_pool)
    for s in saved:
        if s.number in have or s.number == head:
            continue  # a key revision (labelled above) or the head (labelled by the caller)
        atext = replay.atext(s.number)
        if atext is None:
            continue  # cannot be rebuilt exactly: left out rather than shown wrong
        key = f"{prefix}{s.number}"
        at = _timestamp(_revision_meta(records, key), key) if key in records else None
        add(s.number, key, atext, pad_pool, at if at is not None else s.at or 0)
    found.sort(key=lambda entry: entry[0])
    return found


# -- the file --------------------------------------------------------------------------------------


def import_etherpad(doc: pycrdt.Doc[Any], data: str | bytes, limits: Limits) -> list[EtherpadRevision]:
    """Fill the empty ``doc`` from the ``.etherpad`` file ``data``; the pad's history, oldest
    first and ending with the head (none if the file has no key revision with a text). See the
    module docstring."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRejected("The Etherpad file is not UTF-8 text.") from None
    if not isinstance(data, str):
        raise ImportRejected("The Etherpad file must be text.")
    limits.check_input(len(data.encode("utf-8", "surrogatepass")), "Etherpad")
    records = _parse(data, limits)
    pad_id, pad = _find_pad(records)
    head = _head(pad, "head")
    chat_head = _head(pad, "chatHead")
    prefix = f"pad:{pad_id}:revs:"
    numbered = [(_record_number(key, "revision", head), key) for key in records if key.startswith(prefix)]

    pools: list[dict[int, tuple[str, str]]] = []

    def pad_pool() -> dict[int, tuple[str, str]]:
        if not pools:
            pools.append(_pool(pad))
        return pools[0]

    runs = _text_runs(pad.get("atext"), pad_pool, limits, "The pad record", "atext")
    # Pathological interleaving of many authors: one client writes it all (no authorship).
    runs, authors, _ = _authored(runs, MAX_CATCH_UP)
    infos: dict[str, tuple[str, str]] = {}

    def info(author: str) -> tuple[str, str]:
        if author not in infos:
            infos[author] = _author_info(records, author, len(infos))
        return infos[author]

    for author in authors:
        if author:
            info(author)
    messages = _chat(records, pad_id, chat_head, info)
    saved = saved_revisions(pad, head)
    history = _history(records, numbered, head, pad_pool, limits, saved, prefix)
    head_label = next((s.label for s in saved if s.number == head), None)
    head_key, head_at = f"{prefix}{head}", None
    if (history or head_label) and head is not None and head_key in records:
        head_at = _timestamp(_revision_meta(records, head_key), head_key)

    fresh = _document(runs, authors, info, messages)
    revisions = [
        EtherpadRevision(number, at, _document(past, past_authors, info, None).get_update(), label)
        for number, at, past, past_authors, label in history
    ]
    if revisions or head_label is not None:
        revisions.append(EtherpadRevision(head, head_at, fresh.get_update(), head_label))
    if len(doc.get(TEXT_FIELD, type=pycrdt.Text)):
        raise ValueError("import_etherpad needs an empty Doc: build into a fresh Doc and merge.")
    doc.apply_update(fresh.get_update())
    return revisions


__all__ = [
    "KEY_REVISION_EVERY",
    "MAX_HISTORY",
    "EtherpadRevision",
    "SavedRevision",
    "import_etherpad",
    "saved_revisions",
]
