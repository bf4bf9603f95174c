"""Etherpad changesets replayed: against a history made by Etherpad's own changeset library
(fixtures/make_etherpad_history.js: inserts by two authors, deletions, bold set and removed,
astral characters), every one of its 350 revisions comes out as Etherpad's text, with Etherpad's
attributes on every character; then saved revisions imported as named revisions, and changesets
that do not apply refused with the reason."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from crdtpad.transfer import ImportRejected, Limits, easysync, etherpad
from crdtpad.transfer.etherpad import import_etherpad

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS: dict[str, Any] = json.loads((FIXTURES / "etherpad_history.etherpad").read_text())
TEXTS: list[str] = json.loads((FIXTURES / "etherpad_history.texts.json").read_text())
POOL = {int(k): (v[0], v[1]) for k, v in RECORDS["pad:history"]["pool"]["numToAttrib"].items()}
LIMITS = Limits.for_bytes(10_000_000)


def per_unit(text: str, attribs: str) -> list[frozenset[int]]:
    """The attribute numbers on each UTF-16 unit of an atext (however its ops are cut)."""
    out: list[frozenset[int]] = []
    for refs, _lines, size in re.findall(r"((?:\*[0-9a-z]+)*)(?:\|([0-9a-z]+))?\+([0-9a-z]+)", attribs):
        out += [frozenset(int(n, 36) for n in re.findall(r"\*([0-9a-z]+)", refs))] * int(size, 36)
    assert len(out) == len(easysync.units(text))
    return out


def text_of(update: bytes) -> str:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(update)
    return str(doc.get("content", type=pycrdt.Text))


def test_every_revision_replays_to_etherpads_text_and_attributes() -> None:
    state = easysync.ATText.parse("\n", "|1+1", POOL)
    for n, expected in enumerate(TEXTS):
        state = state.apply(RECORDS[f"pad:history:revs:{n}"]["changeset"], POOL)
        text, attribs = state.atext()
        assert text == expected, n
        meta = RECORDS[f"pad:history:revs:{n}"]["meta"]
        if "atext" in meta:  # Etherpad's own whole text at each key revision
            assert per_unit(text, attribs) == per_unit(meta["atext"]["text"], meta["atext"]["attribs"]), n
    head = RECORDS["pad:history"]["atext"]
    assert per_unit(*state.atext()) == per_unit(head["text"], head["attribs"])
    # Set and removed bold both occur, and astral characters: the fixture exercises what it claims.
    changesets = [RECORDS[f"pad:history:revs:{n}"]["changeset"] for n in range(len(TEXTS))]
    for value in ("true", ""):  # bold set, and removed (an empty value), on kept text
        (bold,) = (n for n, pair in POOL.items() if pair == ("bold", value))
        assert any(re.search(rf"\*{bold}(\|[0-9a-z]+)?=", cs) for cs in changesets), value
    assert any(re.search("[\U00010000-\U0010ffff]", t) for t in TEXTS)


def test_an_atext_replays_from_any_key_revision() -> None:
    meta = RECORDS["pad:history:revs:200"]["meta"]
    state = easysync.ATText.parse(meta["atext"]["text"], meta["atext"]["attribs"], POOL)
    for n in range(201, 260):
        state = state.apply(RECORDS[f"pad:history:revs:{n}"]["changeset"], POOL)
    assert state.atext()[0] == TEXTS[259]


@pytest.mark.parametrize(
    ("changeset", "reason"),
    [
        ("Z:2>1+1$x", "applies to a text of 2 units, not 1"),
        ("Z:1>1+1", "no '$'"),
        ("Y:1>1+1$x", "does not start with Z:"),
        ("Z:1>1+1$xy", "leaves 1 units of its character bank unused"),
        ("Z:1>2+2$x", "inserts more than its character bank holds"),
        ("Z:1<0-2$", "past the end of the text"),
        ("Z:1>1*9+1$x", "attribute number 9, which the pool does not have"),
        ("Z:1>2+1$x", "makes a text of 2 units, not the 3 it announces"),
        ("Z:1>1+1?$x", "no op at position 7"),
        ("Z:1>1|1+1$x", "its op + says 1 newline(s) where the text has 0"),
        ("Z:1>0=1$", "its op = says 0 newline(s) where the text has 1"),
    ],
)
def test_a_changeset_that_does_not_apply_says_why(changeset: str, reason: str) -> None:
    with pytest.raises(easysync.ChangesetError, match=re.escape(reason)):
        easysync.ATText.parse("\n", "|1+1", POOL).apply(changeset, POOL).atext()


def test_keep_attributes_compose_one_by_one_as_etherpads_do() -> None:
    """composeAttributes: each of a keep op's attributes, in order, replaces (empty: removes)
    the first of its name. Bold set then removed is removed; removed then set is set."""
    pool = {0: ("author", "a.x"), 1: ("bold", "true"), 3: ("bold", "")}
    start = easysync.ATText.parse("abc\n", "*0*1+3|1+1", pool)
    assert start.apply("Z:4>0*1*3=1$", pool).atext()[1] == "*0+1*0*1+2|1+1"
    assert start.apply("Z:4>0*3*1=1$", pool).atext()[1] == "*0*1+3|1+1"


def test_a_split_character_is_kept_for_the_importer_to_clean() -> None:
    pool = {0: ("author", "a.x")}
    state = easysync.ATText.parse("\U0001f600\n", "|1+3", pool).apply("Z:3<1-1$", pool)
    text, _attribs = state.atext()  # no exception: a lone surrogate, then the newline
    assert len(text) == 2 and "\ud800" <= text[0] <= "\udfff" and text[1] == "\n"


def test_saved_revisions_become_named_revisions_with_their_texts() -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    revisions = import_etherpad(doc, json.dumps(RECORDS), LIMITS)
    assert [(r.number, r.name) for r in revisions] == [
        (0, "Etherpad r0"),
        (57, "Etherpad r57 ★ First draft"),
        (100, "Etherpad r100 ★ On a key revision"),
        (163, "Etherpad r163 ★ Revision 163"),  # a saved revision without a label
        (199, "Etherpad r199 ★ Just before a key"),
        (200, "Etherpad r200"),
        (300, "Etherpad r300"),
        (349, "Etherpad r349 ★ Final"),  # the head
    ]
    for r in revisions:
        assert text_of(r.update) == TEXTS[r.number], r.number
        assert r.created_at == RECORDS[f"pad:history:revs:{r.number}"]["meta"]["timestamp"]
    assert str(doc.get("content", type=pycrdt.Text)) == TEXTS[-1]


def with_records(change: dict[str, Any]) -> dict[str, Any]:
    records = copy.deepcopy(RECORDS)
    for key, value in change.items():
        if value is None:
            del records[key]
        else:
            records[key] = value
    return records


def names(records: dict[str, Any]) -> list[str]:
    return [r.name for r in import_etherpad(pycrdt.Doc(), json.dumps(records), LIMITS)]


def test_a_saved_revision_that_cannot_be_rebuilt_is_left_out_not_shown_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A revision record missing between the key revision and the saved one.
    assert "Etherpad r163 ★ Revision 163" not in names(with_records({"pad:history:revs:130": None}))
    assert "Etherpad r57 ★ First draft" in names(with_records({"pad:history:revs:130": None}))
    # No whole text on its key revision.
    key = copy.deepcopy(RECORDS["pad:history:revs:0"])
    del key["meta"]["atext"]
    assert not any("First draft" in n for n in names(with_records({"pad:history:revs:0": key})))
    # The replay bound reached: the later saved revisions are left out, at no further cost.
    monkeypatch.setattr(etherpad, "MAX_REPLAY_WORK", 3_000)
    events: list[str] = []
    apply, atext = easysync.ATText.apply, etherpad._Replay.atext

    def counted_apply(self: easysync.ATText, changeset: str, pool: Any) -> easysync.ATText:
        events.append("apply")
        return apply(self, changeset, pool)

    def logged_atext(self: Any, number: int) -> dict[str, str] | None:
        found = atext(self, number)
        events.append("rebuilt" if found is not None else "left out")
        return found

    monkeypatch.setattr(easysync.ATText, "apply", counted_apply)
    monkeypatch.setattr(etherpad._Replay, "atext", logged_atext)
    kept = names(RECORDS)
    assert "Etherpad r57 ★ First draft" in kept and "Etherpad r199 ★ Just before a key" not in kept
    assert kept[-1] == "Etherpad r349 ★ Final"  # the head needs no replay
    first = events.index("left out")
    assert "apply" not in events[first:] and "rebuilt" not in events[first:], events


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"pad:history:revs:120": {"changeset": "Z:1>1+1$x", "meta": {"timestamp": 1}}},
            "The revision record 'pad:history:revs:120' is refused: its changeset does not apply: "
            "it applies to a text of 1 units",
        ),
        ({"pad:history:revs:120": {"meta": {"timestamp": 1}}}, "'pad:history:revs:120' has no changeset"),
    ],
)
def test_a_bad_changeset_on_the_way_to_a_saved_revision_refuses_the_file(
    change: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ImportRejected, match=re.escape(reason)):
        names(with_records(change))


@pytest.mark.parametrize(
    "saved",
    [
        "not a list",
        [{"label": "x"}],
        [{"revNum": 350}],
        [{"revNum": True}],
        [7],
        [{"revNum": 57, "timestamp": "x"}],
    ],
)
def test_saved_revisions_that_name_no_revision_are_ignored(saved: Any) -> None:
    """Bookmarks, not content: a bad one does not refuse the pad (a migration would lose it)."""
    records = copy.deepcopy(RECORDS)
    records["pad:history"]["savedRevisions"] = saved
    expected = ["Etherpad r57 ★ Revision 57"] if saved == [{"revNum": 57, "timestamp": "x"}] else []
    assert [n for n in names(records) if "★" in n] == expected


def test_labels_are_plain_bounded_text() -> None:
    records = copy.deepcopy(RECORDS)
    records["pad:history"]["savedRevisions"] = [{"revNum": 57, "label": "<b>x</b>\u0000" + "y" * 200}]
    (label,) = [n for n in names(records) if "★" in n]
    assert label.startswith("Etherpad r57 ★ <b>x</b>") and len(label) <= len("Etherpad r57 ★ ") + 80
    assert "\u0000" not in label
