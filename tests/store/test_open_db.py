"""Opening the database: safe to cancel at any moment (no connection is left open behind), and
what is erased is overwritten."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path

from crdtpad.db import open_db
from crdtpad.store.pads import Append, Compaction, SqlitePadStore


async def test_open_db_cancelled_at_any_step_leaves_no_connection_open(tmp_path: Path) -> None:
    path = tmp_path / "crdtpad.sqlite3"
    async with open_db(path):
        pass  # the schema exists: later opens only connect and set their pragmas

    async def hold() -> None:
        async with open_db(path):
            await asyncio.sleep(10)

    for step in range(60):
        task = asyncio.create_task(hold())
        await asyncio.sleep(step * 0.0002)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.collect()  # a leaked aiosqlite connection warns here (an error under our warning filter)


async def erase_and_read(path: Path, *, secure_delete: bool = True) -> dict[str, bytes]:
    """Log rows reach the main file, then one pad's log is compacted and another pad erased; the
    bytes of every database file afterwards."""
    async with open_db(path) as (w, r):
        if not secure_delete:
            await w.execute("PRAGMA secure_delete=OFF")  # the control: SQLite's plain behaviour
        store = SqlitePadStore(w, r)
        for pad_id in ("a", "b"):
            await store.ensure_pad(pad_id, pad_id)
        await store.write([Append("a", 1, COMPACTED), Append("b", 1, ERASED)], [])
        await w.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the rows reach the main file
        await store.write([], [Compaction("a", 1, KEPT)])
        await store.delete_pad("b")
        await w.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {p.name: p.read_bytes() for p in path.parent.iterdir()}


COMPACTED, ERASED, KEPT = b"COMPACTED-91c2" * 40, b"ERASED-4be7" * 40, b"KEPT-0d19" * 40


async def test_erased_rows_leave_no_bytes_in_the_file(tmp_path: Path) -> None:
    """secure_delete: a compacted log row and an erased pad are zeroed in the file, not left in
    free space (where SQLite otherwise leaves them until the space is reused: the control)."""
    files = await erase_and_read(tmp_path / "on" / "crdtpad.sqlite3")
    assert KEPT in files["crdtpad.sqlite3"]
    assert not any(COMPACTED in data or ERASED in data for data in files.values()), sorted(files)
    plain = await erase_and_read(tmp_path / "off" / "crdtpad.sqlite3", secure_delete=False)
    assert COMPACTED in plain["crdtpad.sqlite3"] and ERASED in plain["crdtpad.sqlite3"]
