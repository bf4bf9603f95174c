"""``db.transaction`` leaves no transaction open and hides no cancellation, wherever it is cancelled."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crdtpad.db import open_db, transaction


async def test_a_cancelled_transaction_never_stays_open_or_half_written(tmp_path: Path) -> None:
    async with open_db(tmp_path / "t.sqlite3") as (w, _r):
        await w.execute("CREATE TABLE t (a INTEGER, b INTEGER)")
        outcomes: set[str] = set()
        for i in range(300):

            async def write(i: int = i) -> None:
                async with transaction(w):
                    await w.execute("INSERT INTO t VALUES (?, 1)", (i,))
                    await w.execute("INSERT INTO t VALUES (?, 2)", (i,))

            task = asyncio.create_task(write())
            for _ in range(i % 9):  # cancel at every step: BEGIN, inserts, COMMIT, after
                await asyncio.sleep(0)
            task.cancel()
            try:
                await task
                outcomes.add("done")
            except asyncio.CancelledError:
                outcomes.add("cancelled")
            await w.execute("SELECT 1")  # behind anything still queued on the connection
            assert not w.in_transaction
        async with w.execute("SELECT a, count(*) FROM t GROUP BY a HAVING count(*) != 2") as cur:
            assert await cur.fetchall() == []  # each transaction all or nothing
        assert "cancelled" in outcomes
