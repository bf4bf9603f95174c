"""The batch writer under backpressure: commits stay in seq order and nothing is relayed unstored."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

import pycrdt
import pytest

from crdtpad.db import open_db
from crdtpad.errors import StoreUnavailable
from crdtpad.metrics import Metrics
from crdtpad.store.pads import Append, Compaction, SqlitePadStore
from crdtpad.sync import protocol as p
from crdtpad.sync.connection import Connection, ConnectionLimits
from crdtpad.sync.rooms import RoomLimits, Rooms


class RecordingStore(SqlitePadStore):
    """The real SQLite store, noting the seqs of each committed batch."""

    committed: list[int]

    async def write(self, appends: Sequence[Append], compactions: Sequence[Compaction]) -> frozenset[str]:
        gone = await super().write(appends, compactions)
        self.committed.extend(a.seq for a in appends)
        return gone


async def test_forty_typists_with_a_tiny_queue_commit_in_order(tmp_path: Path) -> None:
    rng = random.Random(7)
    async with open_db(tmp_path / "db.sqlite3", synchronous="OFF") as (w, r):
        store = RecordingStore(w, r)
        store.committed = []
        await store.create_pad("P", "p")
        relayed: list[bytes] = []
        async with Rooms(store, RoomLimits(max_batch_updates=8), Metrics()) as rooms:
            room = await rooms.open("P")
            watcher = Connection(ConnectionLimits(queue_messages=100_000, queue_bytes=1 << 30), lambda: None)
            await room.join(watcher)
            typists = []
            for _ in range(40):
                conn = Connection(ConnectionLimits(queue_messages=100_000, queue_bytes=1 << 30), lambda: None)
                await room.join(conn)
                doc = pycrdt.Doc()
                typists.append((doc, doc.get("content", type=pycrdt.Text), conn))

            async def type_into(doc: pycrdt.Doc[object], text: pycrdt.Text, conn: Connection) -> None:
                for _ in range(60):
                    before = doc.get_state()
                    text.insert(len(text), "a")
                    await room.ingest(conn, doc.get_update(before), incremental=True)
                    if rng.random() < 0.3:
                        await asyncio.sleep(0)
                    # Every update relayed so far must already be in the log.
                    for frame in watcher.take():
                        relayed.append(frame)
                    assert room.committed_seq <= max(store.committed, default=0)

            await asyncio.gather(*(type_into(*t) for t in typists))
            await rooms.writer.flush()
            relayed.extend(watcher.take())
        assert store.committed == sorted(store.committed)
        assert store.committed == list(range(1, 2401))
        stored = await store.load("P")
    doc = pycrdt.Doc()
    if stored.snapshot is not None:  # shutdown compacts
        doc.apply_update(stored.snapshot)
    for _, data in stored.updates:
        doc.apply_update(data)
    assert len(str(doc.get("content", type=pycrdt.Text))) == 2400
    seen = pycrdt.Doc()
    for frame in relayed:
        msg = p.decode_message(frame)
        if isinstance(msg, p.SyncUpdate):
            seen.apply_update(msg.update)
    assert str(seen.get("content", type=pycrdt.Text)) == str(doc.get("content", type=pycrdt.Text))


class BrokenOnce(SqlitePadStore):
    """Answers its first commit with None instead of the set of erased pads: a bug."""

    broken = True

    async def write(self, appends: Sequence[Append], compactions: Sequence[Compaction]) -> frozenset[str]:
        gone = await super().write(appends, compactions)
        if self.broken:
            self.broken = False
            return None  # type: ignore[return-value]
        return gone


def typed(text: str) -> bytes:
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


async def test_a_writer_bug_fails_its_rooms_and_the_writer_goes_on(tmp_path: Path) -> None:
    async with open_db(tmp_path / "db.sqlite3", synchronous="OFF") as (w, r):
        store = BrokenOnce(w, r)
        for pad_id in ("A", "B"):
            await store.create_pad(pad_id, pad_id)
        async with Rooms(store, RoomLimits(), Metrics()) as rooms:
            a = await rooms.open("A")
            client = Connection(ConnectionLimits(), lambda: None)
            await a.join(client)
            await a.ingest(None, typed("lost in the bug"), incremental=True)
            with pytest.raises(StoreUnavailable):
                await a.wait_committed(a.applied_seq)
            assert client.close_code == 1011  # it reconnects and resends to a fresh load
            b = await rooms.open("B")
            await b.ingest(None, typed("stored"), incremental=True)
            await asyncio.wait_for(b.wait_committed(b.applied_seq), 10)  # the writer still runs
