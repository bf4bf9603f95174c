"""Opening the database is safe to cancel at any moment: no connection is left open behind."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path

from crdtpad.db import open_db


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
