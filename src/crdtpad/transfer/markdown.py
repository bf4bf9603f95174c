"""Markdown (CommonMark + ``~~strikethrough~~``) to and from the pad's delta.

Export, one Markdown block per pad line: ``#``-``###`` headings, ``-`` and ``1.`` list items,
fenced code blocks for runs of code-block lines, and a paragraph for every other line. Blocks are
separated by one blank line (none between items of one list); each empty pad line adds one more
blank line, so the import, which counts the blank lines between blocks, gets the lines back.
Inline: ``**bold**``, ``*italic*``, ``~~strike~~``, `` `code` ``, ``[text](href)``. Underline has no
Markdown syntax and is dropped. Plain text is escaped so it stays text: backslash before Markdown
metacharacters, a character reference for whitespace at either end of a line (Markdown strips
it), escapes for what would start a block at a line's start.

Import parses with markdown-it-py, raw HTML off (``<b>`` stays text), links kept only for http,
https and mailto (others stay plain text, brackets included), images as their alt text. Soft line
breaks become spaces, hard breaks new lines; quotes and nested lists are flattened to their lines,
the innermost list giving the kind; headings 4-6 become level 3; thematic breaks are dropped.

What cannot round-trip by nature: emphasis delimiters only work at word boundaries Markdown
recognises ("flanking" rules), so a bold/italic/strike span that starts or ends with whitespace
or punctuation next to a letter outside it may come back as plain text with literal delimiters.
"""

from __future__ import annotations

import re
from typing import Any

import pycrdt
from markdown_it import MarkdownIt
from markdown_it.token import Token

from crdtpad.transfer import ImportRejected, Limits
from crdtpad.transfer.delta import (
    BOLD,
    CODE,
    CODE_BLOCK,
    CODE_BLOCK_VALUE,
    HEADER,
    ITALIC,
    LINK,
    LIST,
    STRIKE,
    Line,
    Op,
    check_limits,
    clean_text,
    from_lines,
    normalise,
    normalise_newlines,
    read_delta,
    safe_link,
    to_lines,
    write_delta,
)

# -- export ----------------------------------------------------------------------------------------

_ALWAYS_ESCAPED = frozenset("\\`*_[]<>&~#")
_LINE_START_ESCAPED = frozenset("-+=")
_ORDERED_MARKER = re.compile(r"[0-9]+(?=[.)])")
_BACKTICKS = re.compile(r"`+")
_HREF_ESCAPED = frozenset("\\()<>&")
_DELIMITERS = {BOLD: "**", ITALIC: "*", STRIKE: "~~"}
_MARK_ORDER = {LINK: 0, BOLD: 1, ITALIC: 2, STRIKE: 3}

Mark = tuple[str, str]  # (attribute, href or "")


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _ALWAYS_ESCAPED else c for c in text)


def _code_span(text: str) -> str:
    runs = [len(m.group()) for m in _BACKTICKS.finditer(text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " " and bool(text.strip()))
    if pad:
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _marks(attrs: dict[str, Any]) -> set[Mark]:
    marks = {(name, "") for name in (BOLD, ITALIC, STRIKE) if attrs.get(name)}
    if LINK in attrs:
        marks.add((LINK, attrs[LINK]))
    return marks


def _opener(mark: Mark) -> str:
    return "[" if mark[0] == LINK else _DELIMITERS[mark[0]]


def _closer(mark: Mark) -> str:
    if mark[0] == LINK:
        href = "".join("\\" + c if c in _HREF_ESCAPED else c for c in mark[1])
        return f"]({href})"
    return _DELIMITERS[mark[0]]


def _inline(runs: list[Op]) -> str:
    """One line's runs as Markdown inline content."""
    if not runs:
        return ""
    first_text, first_attrs = runs[0]
    last_text, last_attrs = runs[-1]
    edge_start = not first_attrs.get(CODE) and first_text[0].isspace()
    edge_end = not last_attrs.get(CODE) and last_text[-1].isspace()
    marks = [_marks(attrs) for _, attrs in runs]
    out: list[str] = []
    stack: list[Mark] = []
    for i, (text, attrs) in enumerate(runs):
        want = marks[i]
        keep = 0
        while keep < len(stack) and stack[keep] in want:
            keep += 1
        out.extend(_closer(mark) for mark in reversed(stack[keep:]))
        del stack[keep:]

        def lasts(mark: Mark, start: int = i) -> int:
            end = start
            while end < len(runs) and mark in marks[end]:
                end += 1
            return end

        for mark in sorted(want - set(stack), key=lambda m: (-lasts(m), _MARK_ORDER[m[0]])):
            out.append(_opener(mark))
            stack.append(mark)
        if attrs.get(CODE):
            out.append(_code_span(text))
            continue
        body = text
        head = tail = ""
        if i == 0 and edge_start:
            head, body = f"&#{ord(body[0])};", body[1:]
        if i == len(runs) - 1 and edge_end and body:
            body, tail = body[:-1], f"&#{ord(body[-1])};"
        escaped = _escape(body)
        if i == 0 and not head and not out:
            if escaped[:1] in _LINE_START_ESCAPED:
                escaped = "\\" + escaped
            else:
                number = _ORDERED_MARKER.match(escaped)
                if number is not None:
                    escaped = f"{escaped[: number.end()]}\\{escaped[number.end() :]}"
        out.append(head + escaped + tail)
    out.extend(_closer(mark) for mark in reversed(stack))
    return "".join(out)


def _kind(attrs: dict[str, Any]) -> str:
    if CODE_BLOCK in attrs:
        return CODE_BLOCK
    if HEADER in attrs:
        return f"{HEADER}{attrs[HEADER]}"
    if LIST in attrs:
        return f"{LIST}:{attrs[LIST]}"
    return ""


def export_markdown(doc: pycrdt.Doc[Any]) -> str:
    """The pad as CommonMark (with ``~~strike~~``), ending with a newline; see the module docstring."""
    lines = to_lines(read_delta(doc))
    out: list[str] = []
    gap = 0  # empty plain lines since the last block
    previous = None  # kind of the last block
    number = 0
    i = 0
    while i < len(lines):
        runs, attrs = lines[i]
        kind = _kind(attrs)
        if not kind and not runs:
            gap += 1
            i += 1
            continue
        same_list = previous is not None and previous == kind and kind.startswith(LIST)
        base = 0 if previous is None or same_list else 1
        out.extend([""] * (gap + base))
        gap = 0
        if kind == CODE_BLOCK:
            block: list[str] = []
            while i < len(lines) and CODE_BLOCK in lines[i][1]:
                block.append("".join(text for text, _ in lines[i][0]))
                i += 1
            runs_of_ticks = [len(m.group()) for line in block for m in _BACKTICKS.finditer(line)]
            fence = "`" * max(3, max(runs_of_ticks, default=0) + 1)
            out.append(fence)
            out.extend(block)
            out.append(fence)
            previous = kind
            continue
        content = _inline(runs)
        if kind.startswith(HEADER):
            marker = "#" * attrs[HEADER]
        elif kind == f"{LIST}:ordered":
            number = number + 1 if same_list else 1
            marker = f"{number}."
        elif kind.startswith(LIST):
            marker = "-"
        else:
            marker = ""
        out.append(f"{marker} {content}" if marker and content else marker or content)
        previous = kind
        i += 1
    out.extend([""] * gap)
    return "".join(line + "\n" for line in out)


# -- import ----------------------------------------------------------------------------------------


def _parser(limits: Limits) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": limits.max_depth + 2})
    md.enable("strikethrough")
    md.validateLink = lambda url: safe_link(url) is not None  # type: ignore[method-assign]
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    return md


def _deepest(tokens: list[Token]) -> int:
    depth = 0
    for token in tokens:
        depth = max(depth, token.level)
        if token.children:
            depth = max(depth, token.level + 1 + max(child.level for child in token.children))
    return depth


class _Inline:
    """Turns one inline token's children into lines of runs (hard breaks start new lines)."""

    def __init__(self) -> None:
        self.lines: list[list[Op]] = [[]]
        self.counts: dict[str, int] = {BOLD: 0, ITALIC: 0, STRIKE: 0}
        self.links: list[str] = []

    def attrs(self, code: bool = False) -> dict[str, Any]:
        attrs: dict[str, Any] = {name: True for name, count in self.counts.items() if count > 0}
        if self.links:
            attrs[LINK] = self.links[-1]
        if code:
            attrs[CODE] = True
        return attrs

    def add(self, text: str, code: bool = False) -> None:
        if text:
            self.lines[-1].append((clean_text(text), self.attrs(code)))

    def feed(self, children: list[Token]) -> list[list[Op]]:
        toggles = {"strong": BOLD, "em": ITALIC, "s": STRIKE}
        for token in children:
            kind, _, edge = token.type.rpartition("_")
            if kind in toggles and edge in ("open", "close"):
                self.counts[toggles[kind]] += 1 if edge == "open" else -1
            elif token.type == "link_open":
                href = safe_link(token.attrGet("href"))
                self.links.append(href if href is not None else "")
            elif token.type == "link_close":
                if self.links:
                    self.links.pop()
            elif token.type == "code_inline":
                self.add(token.content, code=True)
            elif token.type == "softbreak":
                self.add(" ")
            elif token.type == "hardbreak":
                self.lines.append([])
            else:  # text, image (its alt text), anything else as its text
                self.add(token.content)
        for line in self.lines:
            for j, (text, attrs) in enumerate(line):
                if attrs.get(LINK) == "":
                    line[j] = (text, {name: value for name, value in attrs.items() if name != LINK})
        return self.lines


def _source_lines(md: str) -> int:
    return md.count("\n") + (0 if md.endswith("\n") or not md else 1)


def import_markdown(doc: pycrdt.Doc[Any], md: str, limits: Limits) -> None:
    """Write the Markdown ``md`` into the empty ``doc``; see the module docstring for the mapping."""
    if not isinstance(md, str):
        raise ImportRejected("The Markdown file must be decoded text.")
    limits.check_input(len(md.encode("utf-8", "surrogatepass")), "Markdown")
    source = normalise_newlines(md)
    tokens = _parser(limits).parse(source)
    if _deepest(tokens) > limits.max_depth:
        raise ImportRejected(f"The Markdown is nested more than {limits.max_depth} levels deep.")

    lines: list[Line] = []
    previous_end = 0
    previous_kind: str | None = None
    lists: list[str] = []

    def block(start: int, end: int, kind: str, new: list[Line]) -> None:
        nonlocal previous_end, previous_kind
        same_list = previous_kind is not None and previous_kind == kind and kind.startswith(LIST)
        base = 0 if previous_kind is None or same_list else 1
        lines.extend(([], {}) for _ in range(max(0, start - previous_end - base)))
        lines.extend(new)
        previous_end = max(previous_end, end)
        previous_kind = kind

    for i, token in enumerate(tokens):
        start, end = token.map if token.map else (previous_end, previous_end)
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append("bullet" if token.type == "bullet_list_open" else "ordered")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "list_item_open" and tokens[i + 1].type == "list_item_close":
            # An empty item is one source line (its map may take in the blank lines after it).
            block(start, start + 1, f"{LIST}:{lists[-1]}", [([], {LIST: lists[-1]})])
        elif token.type in ("paragraph_open", "heading_open"):
            inline = tokens[i + 1]
            runs = _Inline().feed(inline.children or [])
            if token.type == "heading_open":
                attrs: dict[str, Any] = {HEADER: min(int(token.tag[1:]), 3)}
            elif lists:
                attrs = {LIST: lists[-1]}
            else:
                attrs = {}
            block(start, end, _kind(attrs), [(line, attrs) for line in runs])
        elif token.type in ("fence", "code_block"):
            content = clean_text(token.content)
            code = content.split("\n")
            if code and code[-1] == "":
                code.pop()
            code_attrs = {CODE_BLOCK: CODE_BLOCK_VALUE}
            block(start, end, CODE_BLOCK, [([(c, {})] if c else [], code_attrs) for c in code])
        elif token.type == "hr":
            block(start, end, "hr", [])
    total = _source_lines(source)
    lines.extend(([], {}) for _ in range(max(0, total - previous_end)))
    ops = normalise(from_lines(lines))
    check_limits(ops, limits)
    write_delta(doc, ops)
