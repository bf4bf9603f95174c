"""HTML to and from the pad's delta.

Export: a standalone UTF-8 document, one block per pad line (``<p>``, ``<h1>``-``<h3>``, ``<li>`` in
``<ul>``/``<ol>``, one ``<pre>`` per run of code-block lines; an empty line is ``<p><br></p>``),
inline ``<strong> <em> <u> <s> <code> <a>``. Every text and attribute value is escaped, links
are only http, https and mailto (they were schema-checked when read) with
``rel="noopener noreferrer"``; text blocks are styled ``white-space: pre-wrap`` so spaces show as
typed.

Import: the input's element nesting is bounded first (a cheap scan: a deep enough tree makes the
sanitiser quadratic), then nh3 keeps only the mapped tags (p, br, h1-h3, strong/b, em/i, u,
s/strike/del, code, pre, a[href], ul, ol, li), unwraps the others, and drops script, style,
title and the like with their content; html.parser then reads the sanitised tree into lines.
Whitespace runs that hold a newline become one space (none at either end of a line), other
spaces and tabs are kept; ``<br>`` ends a line except right before the end of its block; text in
``<pre>`` is kept verbatim, one line per newline (a final newline ends the block).
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from typing import Any

import nh3
import pycrdt

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
    UNDERLINE,
    Line,
    Op,
    check_limits,
    clean_text,
    from_lines,
    normalise,
    read_delta,
    safe_link,
    to_lines,
    write_delta,
)

# -- export ----------------------------------------------------------------------------------------

_INLINE_TAGS = ((BOLD, "strong"), (ITALIC, "em"), (UNDERLINE, "u"), (STRIKE, "s"), (CODE, "code"))
_STYLE = "p,h1,h2,h3,li{white-space:pre-wrap}"


def _inline(runs: list[Op]) -> str:
    if not runs:
        return "<br>"
    out: list[str] = []
    for text, attrs in runs:
        html = escape(text, quote=True)
        for name, tag in reversed(_INLINE_TAGS):
            if attrs.get(name):
                html = f"<{tag}>{html}</{tag}>"
        href = safe_link(attrs.get(LINK))
        if href is not None:
            html = f'<a href="{escape(href, quote=True)}" rel="noopener noreferrer">{html}</a>'
        out.append(html)
    return "".join(out)


def export_html(doc: pycrdt.Doc[Any], title: str) -> str:
    """The pad as a standalone HTML document titled ``title``; see the module docstring."""
    lines = to_lines(read_delta(doc))
    body: list[str] = []
    open_list: str | None = None
    i = 0
    while i < len(lines):
        runs, attrs = lines[i]
        kind = attrs.get(LIST)
        if open_list is not None and kind != open_list:
            body.append("</ol>" if open_list == "ordered" else "</ul>")
            open_list = None
        if CODE_BLOCK in attrs:
            code: list[str] = []
            while i < len(lines) and CODE_BLOCK in lines[i][1]:
                code.append("".join(text for text, _ in lines[i][0]))
                i += 1
            # A newline right after <pre> is ignored by parsers: the first one is for them.
            body.append("<pre>\n" + escape("\n".join(code) + "\n", quote=True) + "</pre>")
            continue
        if kind is not None:
            if open_list is None:
                body.append("<ol>" if kind == "ordered" else "<ul>")
                open_list = kind
            body.append(f"<li>{_inline(runs)}</li>")
        elif HEADER in attrs:
            tag = f"h{int(attrs[HEADER])}"
            body.append(f"<{tag}>{_inline(runs)}</{tag}>")
        else:
            body.append(f"<p>{_inline(runs)}</p>")
        i += 1
    if open_list is not None:
        body.append("</ol>" if open_list == "ordered" else "</ul>")
    return (
        "<!DOCTYPE html>\n"
        '<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(clean_text(title), quote=True)}</title>\n"
        f"<style>{_STYLE}</style>\n"
        "</head>\n<body>\n" + "".join(line + "\n" for line in body) + "</body>\n</html>\n"
    )


# -- import ----------------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    {"p", "br", "h1", "h2", "h3", "strong", "b", "em", "i", "u", "s", "strike", "del", "code", "pre"}
    | {"a", "ul", "ol", "li"}
)
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "title", "template", "noscript", "iframe", "object", "svg", "math", "textarea"}
    | {"select", "noembed", "noframes", "xmp"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source"}
    | {"track", "wbr", "keygen", "basefont", "bgsound", "frame", "image"}
)
# Elements whose start tag closes an open one of their kind (or that the parser keeps flat).
_SELF_CLOSING_KINDS = frozenset(
    {"p", "li", "dd", "dt", "option", "optgroup", "rb", "rt", "rp", "rtc", "tr", "td", "th"}
    | {"thead", "tbody", "tfoot", "colgroup", "caption", "html", "head", "body"}
)
_TAG = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r />]*)")
_INLINE_MAP = {
    "strong": BOLD,
    "b": BOLD,
    "em": ITALIC,
    "i": ITALIC,
    "u": UNDERLINE,
    "s": STRIKE,
    "strike": STRIKE,
    "del": STRIKE,
    "code": CODE,
}
_BLOCKS = frozenset({"p", "h1", "h2", "h3", "li", "pre"})
_NEWLINE_SPACE = re.compile(r"[ \t\f]*[\r\n][ \t\r\n\f]*")
_COLLAPSED = "\x00"  # stands for whitespace with a newline until the line ends (NUL is never text)


def _element_depth(html: str, limit: int) -> int:
    """An upper-bound estimate of the element nesting an HTML parser builds, stopping past ``limit``."""
    stack: list[str] = []
    open_count: dict[str, int] = {}
    deepest = 0
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if name in _VOID or name in _SELF_CLOSING_KINDS:
            continue
        if match.group(1):
            if open_count.get(name):
                while stack:
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
            continue
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        deepest = max(deepest, len(stack))
        if deepest > limit:
            break
    return deepest


class _Reader(HTMLParser):
    """Reads nh3's sanitised output (well-formed, only the allowed tags) into lines."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(convert_charrefs=True)
        self.limits = limits
        self.lines: list[Line] = []
        self.runs: list[Op] = []
        self.line_open = False  # a block started a line that has not been emitted
        self.after_br = False
        self.blocks: list[str] = []  # open block elements (and ul/ol)
        self.inline: list[tuple[str, str | None]] = []  # open inline elements: (tag, href for a)
        self.depth = 0
        self.chars = 0

    # the line being built

    def _line_attrs(self) -> dict[str, Any]:
        for i in range(len(self.blocks) - 1, -1, -1):
            tag = self.blocks[i]
            if tag == "pre":
                return {CODE_BLOCK: CODE_BLOCK_VALUE}
            if tag in ("h1", "h2", "h3"):
                return {HEADER: int(tag[1])}
            if tag == "li":
                lists = [b for b in self.blocks[:i] if b in ("ul", "ol")]
                return {LIST: "ordered" if lists and lists[-1] == "ol" else "bullet"}
        return {}

    def _has_content(self) -> bool:
        return any(text.strip(_COLLAPSED) for text, _ in self.runs)

    def _flush(self) -> None:
        runs: list[Op] = []
        for text, attrs in self.runs:
            if text.startswith(_COLLAPSED) and (not runs or runs[-1][0].endswith(_COLLAPSED)):
                text = text.lstrip(_COLLAPSED)
            if text:
                runs.append((re.sub(_COLLAPSED + "+", _COLLAPSED, text), attrs))
        while runs and runs[-1][0].endswith(_COLLAPSED):
            text, attrs = runs.pop()
            text = text.rstrip(_COLLAPSED)
            if text:
                runs.append((text, attrs))
        self.lines.append(([(t.replace(_COLLAPSED, " "), a) for t, a in runs], self._line_attrs()))
        if len(self.lines) > self.limits.max_chars:
            raise ImportRejected(f"The imported text has over {self.limits.max_chars} lines.")
        self.runs = []
        self.line_open = False
        self.after_br = False

    def _attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for tag, href in self.inline:
            if tag == "a":
                if href is None:
                    attrs.pop(LINK, None)
                else:
                    attrs[LINK] = href
            else:
                attrs[_INLINE_MAP[tag]] = True
        return attrs

    # parser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._flush()
            self.line_open = True
            self.after_br = True
            return
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise ImportRejected(f"The HTML is nested more than {self.limits.max_depth} levels deep.")
        if tag in _BLOCKS:
            if self._has_content() or (self.line_open and self.after_br):
                self._flush()
            self.runs = []
            self.blocks.append(tag)
            self.line_open = True
            self.after_br = False
        elif tag in ("ul", "ol"):
            if self._has_content():
                self._flush()
            self.runs = []
            self.line_open = False
            self.blocks.append(tag)
        elif tag == "a":
            self.inline.append(("a", safe_link(dict(attrs).get("href"))))
        elif tag in _INLINE_MAP:
            self.inline.append((tag, None))

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":
            return
        self.depth -= 1
        if tag in _BLOCKS or tag in ("ul", "ol"):
            if self._has_content() or (tag in _BLOCKS and self.line_open and not self.after_br):
                self._flush()
            self.runs = []
            self.line_open = False
            self.after_br = False
            if tag in self.blocks:
                while self.blocks.pop() != tag:
                    pass
        elif tag == "a" or tag in _INLINE_MAP:
            for i in range(len(self.inline) - 1, -1, -1):
                if self.inline[i][0] == tag:
                    del self.inline[i]
                    break

    def handle_data(self, data: str) -> None:
        text = clean_text(data.replace("\r\n", "\n").replace("\r", "\n"))
        if "pre" in self.blocks:
            pieces = text.split("\n")
            for i, piece in enumerate(pieces):
                if piece:
                    self._add(piece, {})
                    self.line_open = True
                if i < len(pieces) - 1:
                    self._flush()
                    self.line_open = True
                    self.after_br = True  # a final newline ends the block
            return
        text = _NEWLINE_SPACE.sub(_COLLAPSED, text)
        if not self.line_open and not text.strip(" \t\f" + _COLLAPSED):
            return  # whitespace between blocks
        self.line_open = True
        self.after_br = False
        self._add(text, self._attrs())

    def _add(self, text: str, attrs: dict[str, Any]) -> None:
        self.chars += len(text)
        if self.chars > self.limits.max_chars:
            raise ImportRejected(
                f"The imported text has over {self.limits.max_chars} characters, over the limit."
            )
        self.runs.append((text, attrs))
        if len(self.runs) > self.limits.max_runs:
            raise ImportRejected(
                f"The imported text has over {self.limits.max_runs} differently formatted runs."
            )

    def close(self) -> None:
        super().close()
        if self._has_content():
            self._flush()


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        strip_comments=True,
        link_rel=None,
    )


def import_html(doc: pycrdt.Doc[Any], html: str, limits: Limits) -> None:
    """Write the HTML ``html`` into the empty ``doc``; see the module docstring for the mapping."""
    if not isinstance(html, str):
        raise ImportRejected("The HTML file must be decoded text.")
    limits.check_input(len(html.encode("utf-8", "surrogatepass")), "HTML")
    html = clean_text(html.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
    if _element_depth(html, limits.max_depth) > limits.max_depth:
        raise ImportRejected(f"The HTML is nested more than {limits.max_depth} levels deep.")
    reader = _Reader(limits)
    reader.feed(_sanitise(html))
    reader.close()
    ops = normalise(from_lines(reader.lines))
    check_limits(ops, limits)
    write_delta(doc, ops)
