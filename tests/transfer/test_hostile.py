"""Hostile imports and exports: each is refused with ImportRejected naming the fault, or gives a
safe result; nothing else is raised and a refused import leaves the Doc empty.

Inputs after the Etherpad advisories (``shared/reference/etherpad.md`` §5): script and event
handler injection, javascript: links, crafted formatting values, deep nesting, huge values,
foreign root types in a crafted pad file, chat and author records carrying markup.
"""

from __future__ import annotations

import time
from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtpad.errors import InvalidValue
from crdtpad.transfer import ImportRejected, Limits
from crdtpad.transfer.delta import Op, read_delta, write_delta
from crdtpad.transfer.html import export_html, import_html
from crdtpad.transfer.markdown import export_markdown, import_markdown
from crdtpad.transfer.text import export_text, import_text
from crdtpad.transfer.yjs import export_yjs, import_yjs

LIMITS = Limits()


def fresh() -> pycrdt.Doc[Any]:
    return pycrdt.Doc()


def content(doc: pycrdt.Doc[Any]) -> str:
    return str(doc.get("content", type=pycrdt.Text))


def rejected(importer: Any, data: Any, match: str, limits: Limits = LIMITS) -> None:
    doc = fresh()
    with pytest.raises(ImportRejected, match=match):
        importer(doc, data, limits)
    assert content(doc) == ""  # nothing half-written


def doc_of(ops: list[Op]) -> pycrdt.Doc[Any]:
    doc = fresh()
    write_delta(doc, ops)
    return doc


def test_import_rejected_is_a_400() -> None:
    assert issubclass(ImportRejected, InvalidValue)
    assert ImportRejected.http_status == 400


# -- HTML ------------------------------------------------------------------------------------------


def test_html_scripts_handlers_and_javascript_links_are_dropped() -> None:
    doc = fresh()
    import_html(
        doc,
        '<p>a<script>alert(1)</script><style>p{}</style><img src=x onerror="alert(2)">'
        '<b onmouseover="alert(3)">b</b><a href="javascript:alert(4)">c</a>'
        '<a href=" JaVa\tScRiPt:alert(5)">d</a><a href="data:text/html,x">e</a>'
        '<a href="java&#x73;cript:alert(6)">f</a><a href="https://ok.example/">g</a></p>'
        "<svg><script>alert(7)</script></svg><iframe>alert(8)</iframe>",
        LIMITS,
    )
    assert read_delta(doc) == [
        ("a", {}),
        ("b", {"bold": True}),
        ("cdef", {}),
        ("g", {"link": "https://ok.example/"}),
        ("\n", {}),
    ]


def test_html_deep_nesting_is_refused_quickly() -> None:
    for tag in ("div", "b", "ul", "x-custom", "blockquote"):
        started = time.monotonic()
        rejected(import_html, f"<{tag}>" * 10_000 + "x" + f"</{tag}>" * 10_000, "nested more than 64")
        assert time.monotonic() - started < 2


def test_html_nesting_cannot_hide_behind_stray_end_tags() -> None:
    rejected(import_html, "<div></nope>" * 10_000, "nested more than 64")


def test_html_flat_unclosed_paragraphs_are_fine() -> None:
    doc = fresh()
    import_html(doc, "<p>x" * 5_000, LIMITS)
    assert content(doc) == "x\n" * 5_000


def test_html_huge_attributes_are_dropped() -> None:
    doc = fresh()
    huge = "a" * 1_000_000
    import_html(doc, f'<p title="{huge}"><a href="https://e.x/{huge}">x</a></p>', LIMITS)
    assert read_delta(doc) == [("x\n", {})]


def test_html_crafted_values_stay_text() -> None:
    doc = fresh()
    import_html(doc, '<ol start="1 onerror=alert(1)"><li class="x" data-list="y">i</li></ol>', LIMITS)
    assert read_delta(doc) == [("i", {}), ("\n", {"list": "ordered"})]


def test_html_over_the_limits_is_refused() -> None:
    rejected(import_html, "<p>" + "x" * 2000 + "</p>", "over the import limit of 1000", Limits(1000))
    rejected(import_html, "<p>" + "x" * 2000 + "</p>", "over the limit", Limits(max_chars=100))
    rejected(import_html, "<b>x</b>y" * 200, "runs", Limits(max_runs=100))
    rejected(import_html, "<br>" * 500, "over 100 lines", Limits(max_chars=100))


def test_html_not_text_is_refused() -> None:
    rejected(import_html, b"<p>bytes</p>", "decoded text")


def test_export_html_escapes_everything() -> None:
    doc = doc_of(
        [
            ("</title><script>alert(1)</script>", {"bold": True}),
            ('"><img src=x onerror=alert(2)>', {"link": 'https://e.x/"><script>alert(3)</script>'}),
            ("x", {"link": "javascript:alert(4)"}),
            ("\n", {"header": "1 onerror=alert(5)", "list": "bullet onerror"}),
        ]
    )
    html = export_html(doc, "</title><script>alert(6)</script>")
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(6)&lt;/script&gt;</title>" in html
    href = "https://e.x/&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"
    assert f'<a href="{href}" rel="noopener noreferrer">' in html
    assert "<h1" not in html and "<li" not in html  # the crafted line formats were dropped


# -- Markdown --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "md",
    [">" * 100_000 + " x\n", "- " * 100_000 + "x\n", "".join(f"{'  ' * i}- x\n" for i in range(300))],
    ids=["quotes", "lists", "indented-lists"],
)
def test_markdown_deep_nesting_is_refused(md: str) -> None:
    started = time.monotonic()
    rejected(import_markdown, md, "nested more than 64")
    assert time.monotonic() - started < 5


def test_markdown_deep_inline_nesting_is_safe() -> None:
    # Links do not nest in CommonMark; emphasis nests, within the depth limit.
    doc = fresh()
    import_markdown(doc, "[" * 1000 + "x" + "](https://e.x/)" * 1000, LIMITS)
    assert ("x", {"link": "https://e.x/"}) in read_delta(doc)
    doc = fresh()
    import_markdown(doc, "*" * 31 + "x" + "*" * 31, LIMITS)
    assert read_delta(doc) == [("x", {"bold": True, "italic": True}), ("\n", {})]
    rejected(import_markdown, "*" * 10_000 + "x" + "*" * 10_000, "nested more than 64")


def test_markdown_unsafe_links_and_raw_html_stay_text() -> None:
    doc = fresh()
    md = (
        "[a](javascript:alert(1)) [b](data:text/html,x) <script>alert(2)</script> "
        '<img src=x onerror="alert(3)"> [c](https://ok.example/) <javascript:alert(4)> '
        "![img](https://e.x/i.png)\n\n<div>\nblock\n</div>\n"
    )
    import_markdown(doc, md, LIMITS)
    delta = read_delta(doc)
    assert delta == [
        (
            "[a](javascript:alert(1)) [b](data:text/html,x) <script>alert(2)</script> "
            '<img src=x onerror="alert(3)"> ',
            {},
        ),
        ("c", {"link": "https://ok.example/"}),
        (" <javascript:alert(4)> img\n<div> block </div>\n", {}),
    ]
    # and out again, it is escaped text
    assert "\\<script\\>alert(2)\\</script\\>" in export_markdown(doc)


def test_markdown_over_the_limits_is_refused() -> None:
    rejected(import_markdown, "x" * 2000, "over the import limit of 1000", Limits(1000))
    rejected(import_markdown, "x" * 2000, "2001 characters, over the limit of 100", Limits(max_chars=100))
    rejected(import_markdown, "**x** y " * 100, "runs", Limits(max_runs=50))


def test_markdown_pathological_inline_is_bounded() -> None:
    started = time.monotonic()
    for md in ("[" * 50_000, "*a" * 25_000, "`" * 50_000, "&" * 50_000, "<" * 50_000):
        doc = fresh()
        import_markdown(doc, md, LIMITS)
        assert content(doc).endswith("\n")
    assert time.monotonic() - started < 10


# -- Yjs -------------------------------------------------------------------------------------------


def pad_update(**roots: Any) -> bytes:
    doc = fresh()
    for name, kind in roots.items():
        if kind == "text":
            doc.get(name, type=pycrdt.Text).insert(0, "hello")
        elif kind == "array":
            doc.get(name, type=pycrdt.Array).append("x")
        elif kind == "map":
            doc.get(name, type=pycrdt.Map)["k"] = "v"
        elif kind == "xml":
            doc.get(name, type=pycrdt.XmlFragment).children.append(pycrdt.XmlElement("p"))
    return doc.get_update()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not a valid Yjs update"),
        (b"not an update at all", "not a valid Yjs update"),
        (b"<p>html</p>", "not a valid Yjs update"),
        (b"\xff" * 64, "not a valid Yjs update"),
        ("text, not bytes", "must be bytes"),
    ],
)
def test_yjs_that_is_not_an_update_is_refused(data: Any, match: str) -> None:
    rejected(import_yjs, data, match)


def test_yjs_foreign_root_types_are_refused() -> None:
    rejected(import_yjs, pad_update(content="text", evil="map"), "root type 'evil'")
    rejected(import_yjs, pad_update(content="text", sessionstorage="xml"), "root type 'sessionstorage'")


def test_yjs_over_the_size_limit_is_refused() -> None:
    doc = fresh()
    doc.get("content", type=pycrdt.Text).insert(0, "x" * 5000)
    rejected(import_yjs, doc.get_update(), "over the import limit of 1000", Limits(1000))
    rejected(import_yjs, doc.get_update(), "5000 characters, over the limit of 100", Limits(max_chars=100))


def test_yjs_incomplete_update_is_refused() -> None:
    doc = fresh()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "hello")
    before = doc.get_state()
    text.insert(5, " world")
    rejected(import_yjs, doc.get_update(before), "depends on changes it does not hold")


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({"header": "1 onerror=alert(1)"}, "invalid value for the format 'header'"),
        ({"list": "bullet tag:img/src=x/onerror=alert(1)"}, "invalid value for the format 'list'"),
        ({"link": "javascript:alert(1)"}, "invalid value for the format 'link'"),
        ({"bold": "yes"}, "invalid value for the format 'bold'"),
        ({"onclick": "alert(1)"}, "unsupported format 'onclick'"),
    ],
)
def test_yjs_crafted_formats_are_refused(attrs: dict[str, Any], match: str) -> None:
    doc = fresh()
    doc.get("content", type=pycrdt.Text).insert(0, "x\n", attrs)
    rejected(import_yjs, doc.get_update(), match)


def test_yjs_embeds_are_refused() -> None:
    doc = fresh()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "x\n")
    text.insert_embed(0, {"image": "https://e.x/i.png"})
    rejected(import_yjs, doc.get_update(), "embedded object")


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ("just a string", "not a record"),
        ({"text": "<script>", "color": "red;}</style><script>alert(1)</script>"}, "colour"),
        ({"text": "x" * 20_000}, "over 10000 characters"),
        ({"text": ["nested"]}, "not a plain value"),
    ],
)
def test_yjs_crafted_chat_is_refused(record: Any, match: str) -> None:
    doc = fresh()
    doc.get("chat", type=pycrdt.Array).append(record)
    rejected(import_yjs, doc.get_update(), match)


def test_yjs_crafted_authors_are_refused() -> None:
    doc = fresh()
    doc.get("authors", type=pycrdt.Map)["1"] = pycrdt.Map({"name": pycrdt.Text("x"), "color": "#fff"})
    rejected(import_yjs, doc.get_update(), "not a plain value")


def test_yjs_good_pad_is_applied() -> None:
    doc = doc_of([("hi", {"bold": True}), ("\n", {"header": 1})])
    doc.get("chat", type=pycrdt.Array).append(
        {"id": "1", "author": "<b>Ann</b>", "color": "#abc", "text": "<script>", "at": 1}
    )
    out = fresh()
    import_yjs(out, export_yjs(doc), LIMITS)
    assert read_delta(out) == [("hi", {"bold": True}), ("\n", {"header": 1})]


# -- plain text ------------------------------------------------------------------------------------


def test_text_strips_nul_and_control_characters() -> None:
    doc = fresh()
    import_text(doc, "a\x00b\x07c\r\nd\re\x1b[31mf\x7f\x85\tg\ufeff", LIMITS)
    assert content(doc) == "abc\nd\ne[31mf\tg\ufeff\n"


def test_text_with_lone_surrogates_is_repaired() -> None:
    doc = fresh()
    import_text(doc, "a\udcff b", LIMITS)
    assert content(doc) == "a\ufffd b\n"


def test_text_over_the_limits_is_refused() -> None:
    rejected(import_text, "x" * 2000, "2000 bytes, over the import limit of 1000", Limits(1000))
    rejected(import_text, "é" * 600, "1200 bytes", Limits(1000))
    rejected(import_text, "x" * 200, "201 characters, over the limit of 100", Limits(max_chars=100))


def test_export_text_of_crafted_text_has_no_control_characters() -> None:
    doc = fresh()
    doc.get("content", type=pycrdt.Text).insert(0, "a\x00\x1b]0;title\x07b")
    assert export_text(doc) == "a]0;titleb\n"


# -- anything at all -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from([import_text, import_markdown, import_html]))
def test_random_text_imports_are_safe(data: str, importer: Any) -> None:
    doc = fresh()
    try:
        importer(doc, data, LIMITS)
    except ImportRejected:
        assert content(doc) == ""
        return
    delta = read_delta(doc)
    assert content(doc).endswith("\n") and delta
    assert "<script" not in export_html(doc, "t").lower()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_yjs_are_refused_or_applied(data: bytes) -> None:
    doc = fresh()
    try:
        import_yjs(doc, data, LIMITS)
    except ImportRejected:
        assert content(doc) == ""
