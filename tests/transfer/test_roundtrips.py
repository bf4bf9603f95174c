"""Round-trip properties of the pad converters over random formatted documents.

A document is generated as lines (inline runs + one optional line format), written with
``write_delta``; each property exports it, imports the result into a fresh Doc and compares the
normalised deltas (``read_delta``). Text mixes ASCII, multi-byte letters, emoji, tabs, spaces and
the metacharacters of Markdown and HTML.
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtpad.transfer import Limits
from crdtpad.transfer.delta import Op, read_delta, write_delta
from crdtpad.transfer.html import export_html, import_html
from crdtpad.transfer.markdown import export_markdown, import_markdown
from crdtpad.transfer.text import export_text, import_text
from crdtpad.transfer.yjs import _state, export_yjs, import_yjs

LIMITS = Limits()
SETTINGS = settings(max_examples=300, deadline=None)

WORD = "abcXYZ019éß中ж😀"  # letters and digits (emoji are symbols: see the Markdown strategy)
META = "*_`#<>&[]\\~-+=!()|.:;'\"/{}%$@^"
SPACE = " \t\u00a0"
ANY_CHAR = st.sampled_from(WORD + META + SPACE + "😀👍🏽")
HREFS = st.sampled_from(
    [
        "https://example.org/",
        "http://e.x/a_b*c?q=1&r=<2>#f",
        "mailto:someone@example.org",
        "https://e.x/(paren)\\back`tick\"quote'",
        "https://xn--e1a.example/ж/😀",
    ]
)
FLAGS = ("bold", "italic", "underline", "strike", "code")
LINE_FORMATS = st.sampled_from(
    [
        *([{}] * 3),
        *({"header": level} for level in (1, 2, 3)),
        *({"list": kind} for kind in ("bullet", "ordered")),
        {"code-block": "plain"},
    ]
)


def text_of(chars: st.SearchStrategy[str], min_size: int = 1) -> st.SearchStrategy[str]:
    return st.text(chars, min_size=min_size, max_size=12)


@st.composite
def inline_attrs(draw: st.DrawFn, flags: tuple[str, ...] = FLAGS) -> dict[str, Any]:
    attrs: dict[str, Any] = {name: True for name in flags if draw(st.integers(0, 3)) == 0}
    if draw(st.integers(0, 4)) == 0:
        attrs["link"] = draw(HREFS)
    return attrs


@st.composite
def any_run(draw: st.DrawFn) -> Op:
    return draw(text_of(ANY_CHAR)), draw(inline_attrs())


@st.composite
def markdown_run(draw: st.DrawFn) -> Op:
    """A run Markdown can carry, once :func:`markdown_line` puts spaces around it.

    Markdown has no underline. Its emphasis delimiters only open and close at word boundaries
    (the CommonMark "flanking" rules): a bold/italic/strike run starts and ends with a letter or
    digit (emoji and other symbols count as punctuation there) and has whitespace on both sides
    (a formatted span starting or ending inside a word only works with a single delimiter type
    on each side, so it is left out); inline code, whose backticks are punctuation, is not
    emphasised (it may be a link). Plain runs are anything.
    """
    kind = draw(st.sampled_from(["plain", "plain", "emphasis", "code", "link"]))
    if kind == "plain":
        return draw(text_of(ANY_CHAR)), {}
    if kind == "code":
        attrs: dict[str, Any] = {"code": True}
        if draw(st.booleans()):
            attrs["link"] = draw(HREFS)
        return draw(text_of(ANY_CHAR)), attrs
    edge = st.sampled_from(WORD.replace("😀", ""))
    middle = draw(st.text(ANY_CHAR, max_size=10))
    text = draw(edge) + (middle + draw(edge) if draw(st.booleans()) else "")
    attrs = draw(inline_attrs(("bold", "italic", "strike")))
    if kind == "link":
        attrs["link"] = draw(HREFS)
    return text, attrs


@st.composite
def markdown_line(draw: st.DrawFn) -> list[Op]:
    """Runs of :func:`markdown_run`, a plain space on both sides of every formatted one."""
    ops: list[Op] = []
    for text, attrs in draw(st.lists(markdown_run(), max_size=5)):
        if attrs:
            ops.extend([(" ", {}), (text, attrs), (" ", {})])
        else:
            ops.append((text, attrs))
    return ops


def code_line() -> st.SearchStrategy[list[Op]]:
    return st.lists(st.tuples(text_of(ANY_CHAR), st.just({})), max_size=2)


@st.composite
def document(draw: st.DrawFn, line: st.SearchStrategy[list[Op]]) -> list[Op]:
    ops: list[Op] = []
    for _ in range(draw(st.integers(0, 8))):
        line_format = draw(LINE_FORMATS)
        runs = draw(code_line()) if "code-block" in line_format else draw(line)
        ops.extend(runs)
        ops.append(("\n", line_format))
    return ops


def doc_of(ops: list[Op]) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    write_delta(doc, ops)
    return doc


def test_write_then_read_is_normalised() -> None:
    doc = doc_of([("a", {"bold": 1.0}), ("b", {"header": 2.0}), ("\n", {"header": 2.0, "bold": True})])
    assert read_delta(doc) == [("ab", {}), ("\n", {"header": 2})]
    empty = doc_of([])
    assert read_delta(empty) == [("\n", {})]


def test_explicit_attributes_do_not_leak_into_neighbours() -> None:
    ops: list[Op] = [("bold", {"bold": True}), ("plain", {}), ("x", {"link": "https://e.x/"}), ("\n", {})]
    assert read_delta(doc_of(ops)) == ops


@SETTINGS
@given(document(markdown_line()))
def test_markdown_round_trip(ops: list[Op]) -> None:
    doc = doc_of(ops)
    out: pycrdt.Doc[Any] = pycrdt.Doc()
    import_markdown(out, export_markdown(doc), LIMITS)
    assert read_delta(out) == read_delta(doc)


@SETTINGS
@given(document(st.lists(any_run(), max_size=5)))
def test_html_round_trip(ops: list[Op]) -> None:
    doc = doc_of(ops)
    out: pycrdt.Doc[Any] = pycrdt.Doc()
    import_html(out, export_html(doc, "title"), LIMITS)
    assert read_delta(out) == read_delta(doc)


CHAT = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "author": st.text(max_size=20),
            "color": st.sampled_from(["#abc", "#A0B1C2"]),
            "text": st.text(max_size=40),
            "at": st.integers(0, 2**50),
        }
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(document(st.lists(any_run(), max_size=5)), CHAT)
def test_yjs_round_trip(ops: list[Op], chat: list[dict[str, Any]]) -> None:
    doc = doc_of(ops)
    messages = doc.get("chat", type=pycrdt.Array)
    for message in chat:
        messages.append(pycrdt.Map(message) if message["at"] % 2 else message)
    doc.get("authors", type=pycrdt.Map)["42"] = {"name": "Ann", "color": "#123456"}
    out: pycrdt.Doc[Any] = pycrdt.Doc()
    import_yjs(out, export_yjs(doc), LIMITS)
    assert str(out.get("content", type=pycrdt.Text)) == str(doc.get("content", type=pycrdt.Text))
    assert read_delta(out) == read_delta(doc)
    assert out.get("chat", type=pycrdt.Array).to_py() == messages.to_py()
    assert out.get("authors", type=pycrdt.Map).to_py() == {"42": {"name": "Ann", "color": "#123456"}}
    assert _state(out.get_state()) == _state(doc.get_state())  # the same history, every client


@SETTINGS
@given(st.text(st.characters(codec="utf-8"), max_size=60))
def test_text_round_trip(text: str) -> None:
    first: pycrdt.Doc[Any] = pycrdt.Doc()
    import_text(first, text, LIMITS)
    exported = export_text(first)
    assert exported.endswith("\n")
    second: pycrdt.Doc[Any] = pycrdt.Doc()
    import_text(second, exported, LIMITS)
    assert export_text(second) == exported


@SETTINGS
@given(document(st.lists(any_run(), max_size=5)))
def test_text_export_keeps_the_characters(ops: list[Op]) -> None:
    doc = doc_of(ops)
    out: pycrdt.Doc[Any] = pycrdt.Doc()
    import_text(out, export_text(doc), LIMITS)
    assert str(out.get("content", type=pycrdt.Text)) == "".join(text for text, _ in read_delta(doc))


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("# Plan\n\nSome **bold** text.\n", [("Plan", {}), ("\n", {"header": 1}), ("Some ", {})]),
        ("- one\n- two\n", [("one", {}), ("\n", {"list": "bullet"}), ("two", {})]),
        ("wrapped\nparagraph\n", [("wrapped paragraph\n", {})]),
        ("#### deep\n", [("deep", {}), ("\n", {"header": 3})]),
        ("> quoted *it*\n", [("quoted ", {}), ("it", {"italic": True}), ("\n", {})]),
    ],
)
def test_markdown_import_examples(md: str, expected: list[Op]) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    import_markdown(doc, md, LIMITS)
    assert read_delta(doc)[: len(expected)] == expected


def test_html_import_of_a_pretty_printed_document() -> None:
    html = """<html><body>
      <h2>Plan</h2>
      <p>Some <b>bold</b>
         text</p>
      <ul>
        <li><p>one</p></li>
        <li>two<br></li>
      </ul>
      <pre><code>x = 1
y = 2
</code></pre>
    </body></html>"""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    import_html(doc, html, LIMITS)
    assert read_delta(doc) == [
        ("Plan", {}),
        ("\n", {"header": 2}),
        ("Some ", {}),
        ("bold", {"bold": True}),
        (" text\none", {}),
        ("\n", {"list": "bullet"}),
        ("two", {}),
        ("\n", {"list": "bullet"}),
        ("x = 1", {}),
        ("\n", {"code-block": "plain"}),
        ("y = 2", {}),
        ("\n", {"code-block": "plain"}),
    ]
