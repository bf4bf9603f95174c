"""The log and its compaction, on a real SQLite file: reload before == reload after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdtpad.db import SchemaError, open_db
from crdtpad.errors import PadCorrupt
from crdtpad.store.pads import Append, Compaction, SqlitePadStore, StoredDoc

edits = st.lists(
    st.one_of(
        st.tuples(
            st.just("insert"),
            st.integers(0, 1000),
            # pycrdt's Text indexes are not Python str indexes beyond ASCII (a delete there can panic).
            st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=8),
        ),
        st.tuples(st.just("delete"), st.integers(0, 1000), st.integers(1, 5)),
        st.tuples(st.just("set"), st.sampled_from("abc"), st.integers(-5, 5)),
        st.tuples(st.just("compact"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=40,
)


def rebuild(stored: StoredDoc) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    if stored.snapshot is not None:
        doc.apply_update(stored.snapshot)
    for _, data in stored.updates:
        doc.apply_update(data)
    return doc


def content(doc: pycrdt.Doc) -> tuple[str, dict[str, object]]:
    return str(doc.get("content", type=pycrdt.Text)), doc.get("meta", type=pycrdt.Map).to_py() or {}


async def _run(path: Path, ops: list[tuple[str, object, object]]) -> None:
    async with open_db(path) as (w, r):
        store = SqlitePadStore(w, r)
        await store.create_pad("p1", "t")
        author = pycrdt.Doc()
        text = author.get("content", type=pycrdt.Text)
        meta = author.get("meta", type=pycrdt.Map)
        seq = 0
        for op, a, b in ops:
            if op == "compact":
                before = await store.load("p1")
                doc = rebuild(before)
                await store.write([], [Compaction("p1", before.last_seq, doc.get_update())])
                after = await store.load("p1")
                assert after.updates == ()
                assert content(rebuild(after)) == content(doc)
                continue
            state = author.get_state()
            if op == "insert":
                assert isinstance(a, int) and isinstance(b, str)
                text.insert(min(a, len(text)), b)
            elif op == "delete" and len(text) > 0:
                assert isinstance(a, int) and isinstance(b, int)
                start = min(a, len(text) - 1)
                del text[start : min(len(text), start + b)]
            elif op == "set":
                meta[str(a)] = b
            update = author.get_update(state)
            if update != b"\x00\x00":
                seq += 1
                await store.write([Append("p1", seq, update)], [])
        final = await store.load("p1")
        assert content(rebuild(final)) == content(author)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=edits)
def test_reload_before_equals_reload_after_compaction(
    tmp_path: Path, ops: list[tuple[str, object, object]]
) -> None:
    path = tmp_path / f"db-{abs(hash(str(ops)))}.sqlite3"
    asyncio.run(_run(path, ops))


async def test_an_older_compaction_never_replaces_a_newer_snapshot(tmp_path: Path) -> None:
    async with open_db(tmp_path / "db.sqlite3") as (w, r):
        store = SqlitePadStore(w, r)
        await store.create_pad("p", "t")
        doc = pycrdt.Doc()
        text = doc.get("content", type=pycrdt.Text)
        text += "one"
        await store.write([Append("p", 1, doc.get_update())], [])
        new = doc.get_update()
        await store.write([], [Compaction("p", 1, new)])
        await store.write([], [Compaction("p", 0, b"\x00\x00")])
        stored = await store.load("p")
        assert stored.upto_seq == 1 and stored.snapshot == new


async def test_a_flipped_byte_makes_the_load_fail(tmp_path: Path) -> None:
    async with open_db(tmp_path / "db.sqlite3") as (w, r):
        store = SqlitePadStore(w, r)
        await store.create_pad("p", "t")
        await store.write([Append("p", 1, b"\x00\x00")], [])
        await w.execute("UPDATE pad_updates SET data = x'0001'")
        with pytest.raises(PadCorrupt, match="checksum"):
            await store.load("p")


async def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with open_db(path) as (w, _):
        await w.execute("PRAGMA user_version=999")
    with pytest.raises(SchemaError, match="newer"):
        async with open_db(path):
            pass
    assert path.stat().st_size > 0


async def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    async with open_db(tmp_path / "db.sqlite3") as (w, r):
        store = SqlitePadStore(w, r)
        await store.create_pad("p", "t")
        await store.write([Append("p", 1, b"\x00\x00")], [])
        with pytest.raises(Exception, match="UNIQUE"):
            await store.write([Append("p", 2, b"\x00\x00"), Append("p", 1, b"\x00\x00")], [])
        stored = await store.load("p")
        assert [s for s, _ in stored.updates] == [1]
