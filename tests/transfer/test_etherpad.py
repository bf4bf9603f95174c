"""The ``.etherpad`` importer: a realistic two-author pad, then hostile files after the Etherpad
advisories (``shared/reference/etherpad.md`` §5): records of other pads, absurd numbers, broken
attribute strings, huge pools, crafted links, colours and list values, deep or invalid JSON.
Each hostile file is refused with ImportRejected naming the fault (the Doc stays empty) or
gives a safe result.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from crdtpad.sync.validate import ItemRef, UpdateLimits, validate_update
from crdtpad.transfer import ImportRejected, Limits
from crdtpad.transfer.delta import read_delta
from crdtpad.transfer.easysync import base36
from crdtpad.transfer.etherpad import MAX_HISTORY, PALETTE, EtherpadRevision, import_etherpad

FIXTURES = Path(__file__).parent / "fixtures"
LIMITS = Limits()
ALICE = "a.Hk2pQ9xLmW4sR7tZ"
BOB = "a.Nf3vB8cJdY6kT1qE"


def content(doc: pycrdt.Doc[Any]) -> str:
    return str(doc.get("content", type=pycrdt.Text))


def chat(doc: pycrdt.Doc[Any]) -> list[dict[str, Any]]:
    return list(doc.get("chat", type=pycrdt.Array).to_py() or [])


def authors(doc: pycrdt.Doc[Any]) -> dict[str, Any]:
    return dict(doc.get("authors", type=pycrdt.Map).to_py() or {})


def imported(data: Any, limits: Limits = LIMITS) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    import_etherpad(doc, data, limits)
    return doc


def rejected(data: Any, match: str, limits: Limits = LIMITS) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    with pytest.raises(ImportRejected, match=match):
        import_etherpad(doc, data, limits)
    assert content(doc) == "" and chat(doc) == [] and authors(doc) == {}  # nothing half-written


b36 = base36  # Etherpad writes its numbers in base 36


def atext(segments: list[tuple[str, list[int]]]) -> dict[str, str]:
    """An Etherpad atext from (text, pool numbers) segments; lengths in UTF-16 units, as Etherpad."""
    text = attribs = ""
    for piece, numbers in segments:
        lines = piece.count("\n")
        length = len(piece.encode("utf-16-le")) // 2
        attribs += "".join(f"*{b36(n)}" for n in sorted(numbers))
        attribs += (f"|{lines}" if lines else "") + f"+{b36(length)}"
        text += piece
    return {"text": text, "attribs": attribs}


def pad_file(
    segments: list[tuple[str, list[int]]] | None = None,
    pool: list[list[str]] | None = None,
    pad_id: str = "p",
    **extra: Any,
) -> dict[str, Any]:
    pool = pool if pool is not None else [["author", ALICE]]
    segments = segments if segments is not None else [("hello\n", [0])]
    record = {
        "atext": atext(segments),
        "pool": {"numToAttrib": {str(i): entry for i, entry in enumerate(pool)}, "nextNum": len(pool)},
        "head": 0,
        "chatHead": -1,
        "publicStatus": False,
    }
    return {f"pad:{pad_id}": record, **extra}


def dump(records: dict[str, Any]) -> str:
    return json.dumps(records, ensure_ascii=False)


# -- a realistic pad -------------------------------------------------------------------------------


def test_two_author_pad_with_formats_lists_and_chat() -> None:
    data = (FIXTURES / "two_authors.etherpad").read_text(encoding="utf-8")
    doc = imported(data)
    assert content(doc) == (
        "Café notes 日本 🎉 planning\n"
        "Bob wrote italic and underline and strike words.\n"
        "Buy croissants\n"
        "Book the room for Zoë\n"
        "Draft agenda\n"
        "Send invites ✉️\n"
        "\n"
    )  # the list line markers "*" are gone
    assert read_delta(doc) == [
        ("Café notes ", {}),
        ("日本", {"bold": True}),
        (" 🎉 planning\nBob wrote ", {}),
        ("italic", {"italic": True}),
        (" and ", {}),
        ("underline", {"underline": True}),
        (" and ", {}),
        ("strike", {"strike": True}),
        (" words.\nBuy croissants", {}),
        ("\n", {"list": "bullet"}),
        ("Book the room for Zoë", {}),
        ("\n", {"list": "bullet"}),
        ("Draft agenda", {}),
        ("\n", {"list": "ordered"}),
        ("Send invites ✉️", {}),
        ("\n", {"list": "ordered"}),
        ("\n", {}),
    ]

    table = authors(doc)
    assert sorted(table.values(), key=lambda a: a["name"]) == [
        {"name": "Alice Dupré", "color": PALETTE[3]},
        {"name": "Bob", "color": "#3366cc"},
    ]
    # Each author's text is written by their own Yjs client: the authors map keys are exactly the
    # clients of the text's items (the importer's own client writes only chat and authors).
    shape = validate_update(doc.get_update(), UpdateLimits())
    by_parent = Counter((s.client, s.parent) for s in shape.structs if isinstance(s, ItemRef))
    text_clients = {client for client, parent in by_parent if parent not in ("chat", "authors")}
    assert text_clients == {int(key) for key in table}
    assert len(text_clients) == 2

    messages = chat(doc)
    assert [(m["author"], m["color"], m["text"], m["at"]) for m in messages] == [
        ("Alice Dupré", PALETTE[3], "Hi Bob, I started the notes 🙂", 1764400020000),
        ("Bob", "#3366cc", "Thanks! Adding the room booking.", 1764400030000),
        ("Alice Dupré", PALETTE[3], "<b>not bold</b> — plain text, Zoë", 1764400040000),
    ]
    assert len({m["id"] for m in messages}) == 3


def test_bytes_and_compact_json_are_accepted() -> None:
    data = (FIXTURES / "two_authors.etherpad").read_text(encoding="utf-8")
    compact = json.dumps(json.loads(data), separators=(",", ":"), ensure_ascii=True)
    assert content(imported(compact.encode())) == content(imported(data))


def test_runs_by_author_are_kept_apart_inside_one_format() -> None:
    # "Zoë" by Alice inside Bob's line: three runs by author, one plain run in the delta.
    pool = [["author", ALICE], ["author", BOB]]
    doc = imported(dump(pad_file([("Hi ", [1]), ("Zoë", [0]), (" bye\n", [1])], pool)))
    assert read_delta(doc) == [("Hi Zoë bye\n", {})]
    shape = validate_update(doc.get_update(), UpdateLimits())
    clients = [s.client for s in shape.structs if isinstance(s, ItemRef) and s.parent != "authors"]
    assert len(set(clients)) == 2
    assert all(author == {"name": "", "color": author["color"]} for author in authors(doc).values())


def test_headings_links_and_unattributed_text() -> None:
    pool = [
        ["insertorder", "first"],
        ["lmkr", "1"],
        ["heading", "h2"],
        ["heading", "h5"],
        ["heading", "code"],
        ["url", "https://example.org/a b"],
        ["bold", "true"],
    ]
    doc = imported(
        dump(
            pad_file(
                [
                    ("*", [0, 1, 2]),
                    ("Title\n", []),
                    ("*", [0, 1, 3]),
                    ("Deep\n", []),
                    ("*", [0, 1, 4]),
                    ("x = 1\n", [6]),
                    ("see ", []),
                    ("site", [5, 6]),
                    ("\n", []),
                ],
                pool,
            )
        )
    )
    assert read_delta(doc) == [
        ("Title", {}),
        ("\n", {"header": 2}),
        ("Deep", {}),
        ("\n", {"header": 3}),
        ("x = 1", {}),
        ("\n", {"code-block": "plain"}),
        ("see ", {}),
        ("site", {"bold": True, "link": "https://example.org/a%20b"}),
        ("\n", {}),
    ]
    assert authors(doc) == {}


def test_a_star_that_is_not_a_line_marker_stays() -> None:
    pool = [["author", ALICE], ["lmkr", "1"], ["list", "bullet1"]]
    doc = imported(dump(pad_file([("*bold* 2*3\n", [0]), ("x", [0]), ("*", [0, 1, 2]), ("\n", [0])], pool)))
    assert content(doc) == "*bold* 2*3\nx*\n"  # a marker not at a line start is text


def test_unrelated_keys_and_pad_subrecords_are_ignored() -> None:
    records = pad_file(
        **{
            "pad2readonly:p": "r.0123456789abcdef",
            "readonly2pad:r.0123456789abcdef": "p",
            "sessionstorage:abc": {"cookie": {"admin": True}},
            "comments:p": {"c-1": {"text": "a comment"}},
            "pad:p:deletionToken": "secret",
            "pad:p:revs:0": {"changeset": "Z:1>5*0+5$hello", "meta": {"author": ALICE}},
        }
    )
    assert content(imported(dump(records))) == "hello\n"


# -- hostile files ---------------------------------------------------------------------------------


def test_records_of_another_pad_are_refused() -> None:
    rejected(
        dump(pad_file(**{"pad:other:revs:0": {"changeset": "Z:1>0"}})),
        "record 'pad:other:revs:0' of another pad",
    )
    rejected(dump(pad_file(**{"pad:other:chat:0": {"text": "hi"}})), "another pad than 'p'")


def test_two_pads_or_none_are_refused() -> None:
    rejected(dump({**pad_file(pad_id="a"), **pad_file(pad_id="b")}), "holds 2 pads .*one pad at a time")
    rejected(dump({"globalAuthor:a.x": {"name": "x"}}), "no pad record")
    rejected(dump({"pad:p": "text"}), "pad record 'pad:p' is not an object")


@pytest.mark.parametrize(
    "key",
    ["pad:p:revs:99999999999999999999", "pad:p:revs:-1", "pad:p:revs:1e3", "pad:p:revs:007", "pad:p:revs:"],
)
def test_absurd_revision_numbers_are_refused(key: str) -> None:
    rejected(dump(pad_file(**{key: {}})), "revision number that is not a whole number")


def test_revisions_and_chat_past_the_head_are_refused() -> None:
    rejected(dump(pad_file(**{"pad:p:revs:5": {}})), r"revision number past the pad's last \(0\)")
    rejected(dump(pad_file(**{"pad:p:chat:0": {"text": "hi"}})), r"chat message number past .*\(-1\)")
    records = pad_file()
    records["pad:p"]["head"] = 10**30
    rejected(dump(records), "head is not a whole number")


@pytest.mark.parametrize(
    ("text", "attribs", "match"),
    [
        ("hello\n", "*0+3", "covers 3 of the text's 6 characters"),
        ("hello\n", "*0+5|1+2", "covers more than the text's 6 characters"),
        ("hello\n", "*0+5*z|1+1", "attribute number 35, which the pool does not have"),
        ("hello\n", "*0-5|1+1", "'\\*0-5\\|1\\+1' at position 0, not an insert op"),
        ("hello\n", "*0+zzzzzzzzzzzzzzzz|1+1", "absurd length"),
        ("hello\n", "*zzzzzzzzzzzz+5|1+1", "absurd attribute number"),
        ("hello\n", "*0+0+5|1+1", "op of length 0"),
        ("hello\n", "*0+6", "says 0 line\\(s\\) .* has 1 newline"),
        ("hello\n", "*0|2+6", "says 2 line\\(s\\) .* has 1 newline"),
        ("he\nllo\n", "*0|1+4|1+3", "does not end with one"),
        ("hello\n", "*0+5|1+1 ", "not an insert op"),
        ("hello\n", "*0+5|1+1=3", "not an insert op"),
        ("😀\n", "*0+1|1+2", "splits a character"),
        ("hello", "*0+5", "does not end with a newline"),
    ],
)
def test_broken_attribute_strings_are_refused(text: str, attribs: str, match: str) -> None:
    records = pad_file()
    records["pad:p"]["atext"] = {"text": text, "attribs": attribs}
    rejected(dump(records), match)


def test_huge_or_malformed_pools_are_refused() -> None:
    records = pad_file()
    records["pad:p"]["pool"]["numToAttrib"] = {str(i): ["bold", "true"] for i in range(20_001)}
    rejected(dump(records), "attribute pool has 20001 entries")
    records["pad:p"]["pool"]["numToAttrib"] = {"0": ["author", ALICE, "extra"]}
    rejected(dump(records), "pool entry 0 is not a \\[name, value\\] pair")
    records["pad:p"]["pool"]["numToAttrib"] = {"-1": ["author", ALICE]}
    rejected(dump(records), "entry number '-1', not a number")
    records["pad:p"]["pool"] = []
    rejected(dump(records), "no attribute pool")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("[]", "not a JSON object"),
        ('"pad:p"', "not a JSON object"),
        ("null", "not a JSON object"),
        ("{", "not valid JSON"),
        ('{"pad:p": NaN}', "not valid JSON"),
        ("", "not valid JSON"),
        ('{"pad:p": {}, "pad:p": {}}', "repeats the key 'pad:p'"),
        ('{"a": ' * 100 + "1" + "}" * 100, "deeper than 64 levels"),
        ("[" * 100_000 + "]" * 100_000, "deeper than 64 levels"),
        ('{"pad:p": {"atext": {"text": 1}}}', "no text"),
        ('{"pad:p": {"atext": {"text": "x\\n"}}}', "no attribute string"),
    ],
)
def test_bad_json_is_refused(data: str, match: str) -> None:
    rejected(data, match)


def test_not_text_and_over_the_size_limit_are_refused() -> None:
    rejected(12, "must be text")
    rejected(b"\xff\xfe{}", "not UTF-8")
    rejected(dump(pad_file()), "over the import limit of 10", Limits(max_input_bytes=10))
    big = pad_file([("x" * 100 + "\n", [0])])
    rejected(dump(big), "101 characters, over the limit of 50", Limits(max_chars=50))


def test_crafted_links_colours_names_and_list_values_are_made_safe() -> None:
    pool = [
        ["author", ALICE],
        ["url", "javascript:alert(document.cookie)"],
        ["lmkr", "1"],
        ["list", "bullet1 tag:img/src=x/onerror=alert(1)"],
        ["start", '1"><img src=x onerror=alert(1)>'],
        ["bold", "<script>"],
        ["heading", "h1 onclick"],
    ]
    records = pad_file(
        [("*", [2, 3, 4]), ("click", [0, 1]), ("\n", [0]), ("*", [2, 6]), ("x", [5]), ("\n", [])],
        pool,
        **{
            f"globalAuthor:{ALICE}": {
                "colorId": "red;background:url(https://evil.example/x)",
                "name": "<img src=x onerror=alert(1)>" + "A" * 1_000_000,
            },
            "pad:p:chat:0": {"text": "<script>alert(1)</script>", "authorId": ALICE, "time": 5},
        },
    )
    records["pad:p"]["chatHead"] = 0
    doc = imported(dump(records), Limits(max_input_bytes=4 * 1024 * 1024))
    assert read_delta(doc) == [("click\nx\n", {})]
    (author,) = authors(doc).values()
    assert author["color"] in PALETTE
    assert author["name"] == "<img src=x onerror=alert(1)>AAAAAAAAAAAA"  # 40 characters, plain text
    (message,) = chat(doc)
    assert message["text"] == "<script>alert(1)</script>"  # chat is shown as text
    assert message["color"] == author["color"]


def test_bad_chat_records_are_refused() -> None:
    def with_chat(record: Any) -> str:
        records = pad_file(**{"pad:p:chat:0": record})
        records["pad:p"]["chatHead"] = 0
        return dump(records)

    rejected(with_chat("hi"), "chat record 'pad:p:chat:0' is not an object")
    rejected(with_chat({"time": 1}), "has no text")
    rejected(with_chat({"text": "x" * 10_001}), "10001 characters, over the limit of 10000")
    rejected(with_chat({"text": "x", "time": "noon"}), "time that is not a number")
    doc = imported(with_chat({"text": "hi", "userId": "a.unknown", "userName": "Guest"}))
    assert [(m["author"], m["text"], m["at"]) for m in chat(doc)] == [("Guest", "hi", 0)]


def test_chat_messages_follow_their_numbers() -> None:
    records = pad_file(**{f"pad:p:chat:{n}": {"text": str(n), "time": n} for n in (10, 2, 0, 1)})
    records["pad:p"]["chatHead"] = 10
    assert [m["text"] for m in chat(imported(dump(records)))] == ["0", "1", "2", "10"]


def test_many_author_runs_import_in_reasonable_time() -> None:
    pool = [["author", f"a.author{i}"] for i in range(20)] + [["bold", "true"]]
    segments = [(f"word{i} ", [i % 20] + ([20] if i % 3 == 0 else [])) for i in range(20_000)]
    segments.append(("\n", [0]))
    start = time.perf_counter()
    doc = imported(dump(pad_file(segments, pool)))
    elapsed = time.perf_counter() - start
    assert len(authors(doc)) == 20
    assert content(doc).startswith("word0 word1 ")
    assert elapsed < 20, elapsed


def test_pathological_author_interleaving_falls_back_to_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import crdtpad.transfer.etherpad as etherpad

    monkeypatch.setattr(etherpad, "MAX_CATCH_UP", 100)
    pool = [["author", f"a.author{i}"] for i in range(50)]
    segments = [(f"w{i} ", [i % 50]) for i in range(500)] + [("\n", [0])]
    doc = imported(dump(pad_file(segments, pool)))
    assert content(doc).startswith("w0 w1 w2 ")
    assert authors(doc) == {}
    shape = validate_update(doc.get_update(), UpdateLimits())
    assert len({s.client for s in shape.structs if isinstance(s, ItemRef) and s.parent != "chat"}) == 1


# -- history: key revisions ------------------------------------------------------------------------

T0 = 1_764_400_000_000  # Etherpad's revision n is made at T0 + n minutes in history_file()
HISTORY_POOL = [
    ["author", ALICE],  # 0
    ["author", BOB],  # 1
    ["bold", "true"],  # 2
    ["insertorder", "first"],  # 3
    ["lmkr", "1"],  # 4
    ["list", "bullet1"],  # 5
    ["list", "number1"],  # 6
]
_NOTES = [("Café notes ", [0]), ("日本", [0, 2]), (" 🎉\n", [0])]
_BULLETS = [
    ("*", [1, 3, 4, 5]),
    ("Buy croissants\n", [1]),
    ("*", [1, 3, 4, 5]),
    ("Book the room for Zoë\n", [1]),
]
HISTORY_TEXTS: dict[int, list[tuple[str, list[int]]]] = {  # Etherpad revision -> its text; 250 is the head
    0: [("Welcome to Etherpad!\n", [])],
    100: [("Café notes ", [0]), ("日本", [0, 2]), ("\n", [0])],
    200: _NOTES + _BULLETS,
    250: _NOTES + _BULLETS + [("*", [0, 3, 4, 6]), ("Draft agenda ✉️\n", [0])],
}
HISTORY_DELTAS: dict[int, list[tuple[str, dict[str, Any]]]] = {
    0: [("Welcome to Etherpad!\n", {})],
    100: [("Café notes ", {}), ("日本", {"bold": True}), ("\n", {})],
    200: [
        ("Café notes ", {}),
        ("日本", {"bold": True}),
        (" 🎉\nBuy croissants", {}),
        ("\n", {"list": "bullet"}),
        ("Book the room for Zoë", {}),
        ("\n", {"list": "bullet"}),
    ],
}
HISTORY_DELTAS[250] = [*HISTORY_DELTAS[200], ("Draft agenda ✉️", {}), ("\n", {"list": "ordered"})]
HISTORY_TXT = {n: "".join(text for text, _ in ops) for n, ops in HISTORY_DELTAS.items()}


def history_file(pad_id: str = "notes") -> dict[str, Any]:
    """A pad as Etherpad exports it after 250 revisions: key revisions 0, 100 and 200 carry their
    whole text (0 and 200 with ``meta.pool`` as Etherpad 1.8+ writes, 100 without, as older
    versions did), every revision its author and time; changesets are not read."""
    pool = {"numToAttrib": {str(i): entry for i, entry in enumerate(HISTORY_POOL)}, "nextNum": 7}
    records: dict[str, Any] = {
        f"pad:{pad_id}": {"atext": atext(HISTORY_TEXTS[250]), "pool": pool, "head": 250, "chatHead": -1},
        f"globalAuthor:{ALICE}": {"colorId": 3, "name": "Alice Dupré", "timestamp": T0},
        f"globalAuthor:{BOB}": {"colorId": "#3366CC", "name": "Bob", "timestamp": T0},
    }
    for n in range(251):
        meta: dict[str, Any] = {"author": ALICE if n % 2 else BOB, "timestamp": T0 + n * 60_000}
        if n in (0, 100, 200):
            meta["atext"] = atext(HISTORY_TEXTS[n])
        if n in (0, 200):
            used = {str(i): entry for i, entry in enumerate(HISTORY_POOL) if n}
            meta["pool"] = {"numToAttrib": used, "nextNum": len(used)}
        records[f"pad:{pad_id}:revs:{n}"] = {"changeset": "Z:1>0$", "meta": meta}
    return records


def history_of(data: Any, limits: Limits = LIMITS) -> tuple[pycrdt.Doc[Any], list[EtherpadRevision]]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    return doc, import_etherpad(doc, data, limits)


def loaded(revision: EtherpadRevision) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(revision.update)
    return doc


def text_clients(doc: pycrdt.Doc[Any]) -> set[int]:
    shape = validate_update(doc.get_update(), UpdateLimits())
    return {s.client for s in shape.structs if isinstance(s, ItemRef) and s.parent not in ("chat", "authors")}


def test_key_revisions_become_the_history_with_their_times_and_the_head_ends_it() -> None:
    doc, history = history_of(dump(history_file()))
    assert [(r.number, r.name, r.created_at) for r in history] == [
        (n, f"Etherpad r{n}", T0 + n * 60_000) for n in (0, 100, 200, 250)
    ]
    for revision in history:
        assert read_delta(loaded(revision)) == HISTORY_DELTAS[revision.number]
    assert read_delta(doc) == HISTORY_DELTAS[250]  # the head text, as it always was
    assert content(loaded(history[-1])) == content(doc)
    # Authorship carries into the history: r200 has Alice's and Bob's text, each by a client of
    # its own, named in that revision's authors map; no revision shares a client with another.
    r200 = loaded(history[2])
    assert text_clients(r200) == {int(key) for key in authors(r200)}
    assert sorted(a["name"] for a in authors(r200).values()) == ["Alice Dupré", "Bob"]
    clients = [text_clients(loaded(r)) for r in history[:-1]] + [text_clients(doc)]
    assert sum(len(c) for c in clients) == len(set().union(*clients))
    assert chat(loaded(history[0])) == []  # a past revision is its text and authors


def test_a_file_without_key_revision_texts_has_no_history() -> None:
    records = history_file()
    for n in (0, 100, 200):
        del records[f"pad:notes:revs:{n}"]["meta"]["atext"]
    _, history = history_of(dump(records))
    assert history == []
    _, history = history_of((FIXTURES / "two_authors.etherpad").read_text(encoding="utf-8"))
    assert history == []


def test_texts_on_revisions_that_are_not_key_revisions_are_not_read() -> None:
    records = history_file()
    records["pad:notes:revs:150"]["meta"]["atext"] = {"text": "no newline", "attribs": "+zzzz"}
    _, history = history_of(dump(records))
    assert [r.number for r in history] == [0, 100, 200, 250]


def test_the_head_revision_record_is_optional_and_gives_the_head_its_time() -> None:
    records = history_file()
    del records["pad:notes:revs:250"]
    _, history = history_of(dump(records))
    assert (history[-1].number, history[-1].created_at) == (250, None)


def test_only_revision_0_and_the_most_recent_key_revisions_are_read() -> None:
    # 300 key revisions: revision 0 and the last MAX_HISTORY come in; the others are not even
    # read (revision 100 is broken and does not matter).
    head = 30_000
    records = pad_file([("head\n", [0])], pad_id="big")
    records["pad:big"]["head"] = head
    for n in range(0, head, 100):
        text = {"text": f"r{n}\n", "attribs": f"*0+{b36(len(str(n)) + 1)}|1+1"}
        records[f"pad:big:revs:{n}"] = {"meta": {"timestamp": T0 + n, "atext": text}}
    records["pad:big:revs:100"]["meta"]["atext"] = {"text": "broken", "attribs": "-1"}
    _, history = history_of(dump(records))
    assert len(history) == 1 + MAX_HISTORY + 1
    assert [r.number for r in history] == [0, *range(head - 100 * MAX_HISTORY, head, 100), head]
    assert [content(loaded(r)) for r in history[:2]] == ["r0\n", f"r{head - 100 * MAX_HISTORY}\n"]


def _break(records: dict[str, Any], key: str, path: str, value: Any) -> dict[str, Any]:
    target = records[key]
    *parents, last = path.split(".") if path else [""]
    for name in parents:
        target = target[name]
    if path:
        target[last] = value
    else:
        records[key] = value
    return records


@pytest.mark.parametrize(
    ("key", "path", "value", "match"),
    [
        ("pad:notes:revs:100", "", "Z:1>0$", "revision record 'pad:notes:revs:100' is not an object"),
        ("pad:notes:revs:100", "meta", [1], "'pad:notes:revs:100' has a meta that is not an object"),
        (
            "pad:notes:revs:100",
            "meta.timestamp",
            None,
            "'pad:notes:revs:100' has no time \\(meta.timestamp\\)",
        ),
        ("pad:notes:revs:100", "meta.timestamp", 10**20, "meta.timestamp that is not a time in milliseconds"),
        ("pad:notes:revs:100", "meta.timestamp", -1, "meta.timestamp that is not a time"),
        ("pad:notes:revs:100", "meta.timestamp", "noon", "meta.timestamp that is not a time"),
        ("pad:notes:revs:100", "meta.timestamp", True, "meta.timestamp that is not a time"),
        (
            "pad:notes:revs:250",
            "meta.timestamp",
            1e300,
            "'pad:notes:revs:250' has a meta.timestamp that is not",
        ),
        (
            "pad:notes:revs:100",
            "meta.atext",
            "text",
            "'pad:notes:revs:100' is refused: it has no text \\(meta.atext",
        ),
        (
            "pad:notes:revs:100",
            "meta.atext",
            {"text": "hello\n"},
            "'pad:notes:revs:100' is refused: it has no attribute string \\(meta.atext.attribs\\)",
        ),
        (
            "pad:notes:revs:100",
            "meta.atext",
            {"text": "hello\n", "attribs": "*0+3"},
            "'pad:notes:revs:100' is refused: the attribute string covers 3 of the text's 6 characters",
        ),
        (
            "pad:notes:revs:100",
            "meta.atext",
            {"text": "hello\n", "attribs": "*z+5|1+1"},
            "'pad:notes:revs:100' is refused: the attribute string uses the attribute number 35",
        ),
        (
            "pad:notes:revs:200",
            "meta.atext",
            {"text": "hello\n", "attribs": "*0+zzzzzzzzzzzz|1+1"},
            "'pad:notes:revs:200' is refused: the attribute string has an absurd length",
        ),
        (
            "pad:notes:revs:200",
            "meta.atext",
            {"text": "hello", "attribs": "*0+5"},
            "'pad:notes:revs:200' is refused: the pad text does not end with a newline",
        ),
        (
            "pad:notes:revs:200",
            "meta.atext",
            {"text": "😀\n", "attribs": "*0+1|1+2"},
            "'pad:notes:revs:200' is refused: the attribute string splits a character",
        ),
        (
            "pad:notes:revs:0",
            "meta.pool",
            {"numToAttrib": {str(i): ["bold", "true"] for i in range(20_001)}},
            "'pad:notes:revs:0' is refused: the attribute pool has 20001 entries",
        ),
        (
            "pad:notes:revs:0",
            "meta.pool",
            [],
            "'pad:notes:revs:0' is refused: its meta has no attribute pool \\(meta.pool.numToAttrib\\)",
        ),
        (
            "pad:notes:revs:200",
            "meta.pool",
            {"numToAttrib": {"0": ["author", ALICE, "x"]}},
            "'pad:notes:revs:200' is refused: the attribute pool entry 0 is not a \\[name, value\\] pair",
        ),
        (
            "pad:notes:revs:200",
            "meta.pool",
            {"numToAttrib": {"0": ["author", ALICE]}},  # r200's text uses numbers up to 5
            "'pad:notes:revs:200' is refused: the attribute string uses the attribute number [1-5], which",
        ),
    ],
)
def test_bad_revision_records_are_refused_naming_the_record(
    key: str, path: str, value: Any, match: str
) -> None:
    records = _break(history_file(), key, path, value)
    if path == "meta.timestamp" and value is None:
        del records[key]["meta"]["timestamp"]
    rejected(dump(records), match, Limits(max_input_bytes=4 * 1024 * 1024))


def test_a_revision_text_over_the_limits_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    records = history_file()
    records["pad:notes:revs:100"]["meta"]["atext"] = atext([("x" * 100 + "\n", [0])])
    rejected(
        dump(records),
        "'pad:notes:revs:100' is refused: the imported text has 101 characters, over the limit of 90",
        Limits(max_chars=90),
    )
    import crdtpad.transfer.etherpad as etherpad

    monkeypatch.setattr(etherpad, "MAX_AUTHORS", 3)
    records = history_file()
    segments = [(f"w{i} ", [i]) for i in range(4)] + [("\n", [0])]
    pool = {"numToAttrib": {str(i): ["author", f"a.author{i}"] for i in range(4)}}
    records["pad:notes:revs:200"]["meta"].update(atext=atext(segments), pool=pool)
    rejected(
        dump(records), "'pad:notes:revs:200' is refused: the pad text has 4 authors, over the limit of 3"
    )


def test_the_history_shares_one_catch_up_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import crdtpad.transfer.etherpad as etherpad

    pool = [["author", f"a.author{i}"] for i in range(5)]
    segments = [(f"w{i} ", [i % 5]) for i in range(60)] + [("\n", [0])]
    records = pad_file([("head\n", [0])], pool)
    records["pad:p"]["head"] = 300
    for n in (0, 100, 200):
        records[f"pad:p:revs:{n}"] = {"meta": {"timestamp": T0 + n, "atext": atext(segments)}}
    text = atext(segments)
    table = {i: ("author", f"a.author{i}") for i in range(5)}
    cost = etherpad._catch_up_cost(etherpad._runs(text["text"], text["attribs"], table))
    monkeypatch.setattr(etherpad, "MAX_CATCH_UP", cost + cost // 2)  # one revision's worth, not two
    _, history = history_of(dump(records))
    assert [len(text_clients(loaded(r))) for r in history[:3]] == [5, 1, 1]
    assert all(content(loaded(r)).startswith("w0 w1 w2 ") for r in history[:3])


def test_a_long_history_imports_in_reasonable_time() -> None:
    # 101 key revisions of 1,500 runs by two authors, bold every other word: about 1 MB.
    pool = [["author", ALICE], ["author", BOB], ["bold", "true"]]
    segments = [(f"w{i} ", [i % 2] + ([2] if i % 3 == 0 else [])) for i in range(1500)] + [("\n", [0])]
    records = pad_file(segments, pool)
    records["pad:p"]["head"] = 100 * 101
    for n in range(0, 100 * 101, 100):
        records[f"pad:p:revs:{n}"] = {"meta": {"timestamp": T0 + n, "atext": atext(segments)}}
    data = dump(records)
    start = time.perf_counter()
    _, history = history_of(data, Limits.for_bytes(2 * 1024 * 1024))
    elapsed = time.perf_counter() - start
    assert len(history) == 102 and len(data) > 1_000_000
    assert read_delta(loaded(history[50]))[:2] == [("w0 ", {"bold": True}), ("w1 w2 ", {})]
    assert elapsed < 20, elapsed
