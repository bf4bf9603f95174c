"""The batch writer under backpressure: commits stay in seq order and nothing is relayed unstored."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

import pycrdt

from crdtpad.db import open_db
from crdtpad.metrics import Metrics
from crdtpad.store.pads import Append, Compaction, SqlitePadStore
from crdtpad.sync import protocol as p
from crdtpad.sync.connection import Connection, ConnectionLimits
from crdtpad.sync.rooms import RoomLimits, Rooms


class RecordingStore(SqlitePadStore):
    """The real SQLite store, noting the seqs of each committed batch."""

    committed: list[int]

    async def write(self, appends: Sequence[Append], compactions: Sequence[Compaction]) -> None:
        await super().write(appends, compactions)
        self.committed.extend(a.seq for a in appends)


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
