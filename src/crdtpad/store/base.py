"""What every SQLite store shares: a writer and a reader connection, each used by one coroutine at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite


class SqliteStore:
    """Base of the stores: writes go through one connection, reads through another (WAL)."""

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        share_with: SqliteStore | None = None,
    ) -> None:
        self._w = writer
        self._r = reader
        # One transaction per connection at a time: background writers and API calls share them,
        # and so do two stores on the same pair of connections (``share_with``).
        self._write_lock: asyncio.Lock
        self._read_lock: asyncio.Lock
        if share_with is not None:
            assert share_with._w is writer and share_with._r is reader
            self._write_lock, self._read_lock = share_with._write_lock, share_with._read_lock
        else:
            self._write_lock, self._read_lock = asyncio.Lock(), asyncio.Lock()

    async def _fetchone(self, sql: str, args: tuple[object, ...]) -> tuple[Any, ...] | None:
        async with self._read_lock, self._r.execute(sql, args) as cur:
            row = await cur.fetchone()
        return tuple(row) if row is not None else None
