"""The pad's content as a normalised Quill delta, and the attribute schema every converter shares.

The web editor is Quill 2 bound to the Y.Text ``content`` with y-quill, so the text carries Quill's
formats as Y.Text attributes: inline ones on characters (bold, italic, underline, strike, code,
link) and line ones on the ``"\\n"`` that ends a line (header 1-3, list bullet/ordered,
code-block). :func:`read_delta` reads them back schema-checked, whatever a client wrote: unknown
attributes and bad values are dropped (a crafted value never reaches an export), inline formats
on a newline and line formats on other characters are dropped, code-block lines carry no inline
formats, control characters other than tab and newline are removed, and the text always ends
with a newline. :func:`write_delta` writes such a delta into an empty Doc.

Yrs makes an insert inherit the formatting around it: every insert here passes every supported
attribute explicitly (None for "not set"). (pycrdt counts Text offsets in UTF-8 bytes.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pycrdt

from crdtpad.transfer import ImportRejected, Limits

Op = tuple[str, dict[str, Any]]  # a run of text and its attributes ({} for none)
Line = tuple[list[Op], dict[str, Any]]  # a line's inline runs (no "\n") and its line attributes

# The pad's document layout, shared by the web editor, the room (sync/chat.py) and every converter.
TEXT_FIELD = "content"  # the Y.Text Quill edits through y-quill
CHAT_FIELD = "chat"  # the Y.Array of chat messages
AUTHORS_FIELD = "authors"  # the Y.Map of Yjs client id -> {name, color}

BOLD = "bold"
ITALIC = "italic"
UNDERLINE = "underline"
STRIKE = "strike"
CODE = "code"
LINK = "link"
HEADER = "header"
LIST = "list"
CODE_BLOCK = "code-block"

INLINE_FLAGS = (BOLD, ITALIC, UNDERLINE, STRIKE, CODE)  # value True
INLINE_ATTRIBUTES = (*INLINE_FLAGS, LINK)  # link: an href string
LINE_ATTRIBUTES = (CODE_BLOCK, HEADER, LIST)  # at most one per line, in this order of precedence
SUPPORTED_ATTRIBUTES = (*INLINE_ATTRIBUTES, *LINE_ATTRIBUTES)
HEADER_LEVELS = (1, 2, 3)
LIST_KINDS = ("bullet", "ordered")
CODE_BLOCK_VALUE = "plain"  # Quill 2 writes "plain" (or true, or a language): read as code, written "plain"

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_LINK_CHARS = 2048

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but \t and \n
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_BAD = re.compile(r"[\x00-\x20\x7f-\x9f]")


def clean_text(text: str) -> str:
    """``text`` without control characters other than tab and newline (\\r too), surrogates as U+FFFD."""
    text = _CONTROL.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def normalise_newlines(text: str) -> str:
    """CRLF and CR as LF, then :func:`clean_text`; a leading byte-order mark dropped."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return clean_text(text)


def safe_link(href: object) -> str | None:
    """The href normalised (trimmed, spaces as %20) if it is an absolute http, https or mailto URL."""
    if not isinstance(href, str):
        return None
    href = href.strip().replace(" ", "%20")
    if not href or len(href) > MAX_LINK_CHARS or _URL_BAD.search(href):
        return None
    scheme = _SCHEME.match(href)
    if scheme is None or scheme.group(1).lower() not in SAFE_LINK_SCHEMES:
        return None
    return href


def _inline_attrs(attrs: dict[str, Any] | None) -> dict[str, Any]:
    if not attrs:
        return {}
    out: dict[str, Any] = {}
    for name in INLINE_FLAGS:
        if attrs.get(name) is True:
            out[name] = True
    href = safe_link(attrs.get(LINK))
    if href is not None:
        out[LINK] = href
    return out


def _line_attrs(attrs: dict[str, Any] | None) -> dict[str, Any]:
    if not attrs:
        return {}
    code = attrs.get(CODE_BLOCK)
    if code is True or (isinstance(code, str) and code):
        return {CODE_BLOCK: CODE_BLOCK_VALUE}
    level = attrs.get(HEADER)
    if isinstance(level, int | float) and not isinstance(level, bool) and level in HEADER_LEVELS:
        return {HEADER: int(level)}
    kind = attrs.get(LIST)
    if kind in LIST_KINDS:
        return {LIST: kind}
    return {}


def normalise(ops: Iterable[tuple[object, dict[str, Any] | None]]) -> list[Op]:
    """The canonical form of a delta: see the module docstring. Non-string inserts are dropped."""
    lines: list[Line] = []
    runs: list[Op] = []
    for insert, attrs in ops:
        if not isinstance(insert, str):
            continue  # an embed: not supported
        text = clean_text(insert)
        inline: dict[str, Any] | None = None
        pieces = text.split("\n")
        for i, piece in enumerate(pieces):
            if piece:
                if inline is None:
                    inline = _inline_attrs(attrs)
                runs.append((piece, inline))
            if i < len(pieces) - 1:
                lines.append((runs, _line_attrs(attrs)))
                runs = []
    if runs:
        lines.append((runs, {}))
    if not lines:
        lines.append(([], {}))
    return from_lines(lines)


def from_lines(lines: Iterable[Line]) -> list[Op]:
    """A merged delta from lines (code-block lines lose their inline formats)."""
    out: list[Op] = []

    def add(text: str, attrs: dict[str, Any]) -> None:
        if out and out[-1][1] == attrs:
            out[-1] = (out[-1][0] + text, attrs)
        else:
            out.append((text, dict(attrs)))

    for runs, line_attrs in lines:
        code_block = CODE_BLOCK in line_attrs
        for text, attrs in runs:
            if text:
                add(text, {} if code_block else attrs)
        add("\n", line_attrs)
    return out


def to_lines(ops: Iterable[Op]) -> list[Line]:
    """The lines of a delta: inline attributes go to the text, line attributes to the line's end."""
    lines: list[Line] = []
    runs: list[Op] = []
    for text, attrs in ops:
        inline = {name: value for name, value in attrs.items() if name in INLINE_ATTRIBUTES}
        line = {name: value for name, value in attrs.items() if name in LINE_ATTRIBUTES}
        pieces = text.split("\n")
        for i, piece in enumerate(pieces):
            if piece:
                runs.append((piece, inline))
            if i < len(pieces) - 1:
                lines.append((runs, line))
                runs = []
    if runs:
        lines.append((runs, {}))
    return lines


def read_delta(doc: pycrdt.Doc[Any]) -> list[Op]:
    """The doc's ``content`` as a normalised delta, ending with "\\n" (one empty line for an empty pad)."""
    text = doc.get(TEXT_FIELD, type=pycrdt.Text)
    return normalise(text.diff())


def check_limits(ops: list[Op], limits: Limits) -> None:
    """Refuse a delta with more characters or runs than ``limits`` allow."""
    if len(ops) > limits.max_runs:
        raise ImportRejected(
            f"The imported text has {len(ops)} differently formatted runs, over the limit of "
            f"{limits.max_runs}."
        )
    chars = sum(len(text) for text, _ in ops)
    if chars > limits.max_chars:
        raise ImportRejected(
            f"The imported text has {chars} characters, over the limit of {limits.max_chars}."
        )


def write_delta(doc: pycrdt.Doc[Any], ops: Iterable[tuple[object, dict[str, Any] | None]]) -> None:
    """Write ``ops`` (normalised first) into the doc's empty ``content``, in one transaction."""
    text = doc.get(TEXT_FIELD, type=pycrdt.Text)
    if len(text):
        raise ValueError("write_delta needs an empty pad text: build into a fresh Doc and merge.")
    delta = normalise(ops)
    # Back to front at offset 0: Yrs walks the text to find an offset, so appending run after run
    # is quadratic (25k runs: 10 s); inserting at the start is constant (the update is ~1/3 larger).
    with doc.transaction():
        for run, attrs in reversed(delta):
            text.insert(0, run, {name: attrs.get(name) for name in SUPPORTED_ATTRIBUTES})
