"""Open the SQLite database: PRAGMAs and numbered schema migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from crdtpad.errors import CrdtpadError

log = logging.getLogger(__name__)


class SchemaError(CrdtpadError):
    """The database's schema is newer than this crdtpad, or a migration failed."""


def migrations() -> list[tuple[int, str]]:
    """The numbered migrations shipped in ``crdtpad/schema``, in order."""
    found = []
    for entry in resources.files("crdtpad").joinpath("schema").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _connect(path: Path, synchronous: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (an erased pad, a moderated chat message, a compacted log) are overwritten
        # with zeros in the file, not left in free pages until reused.
        await conn.execute("PRAGMA secure_delete=ON")
        await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    except BaseException:  # cancelled or failed half-way: the connection must not leak
        await conn.close()
        raise
    return conn


async def migrate(conn: aiosqlite.Connection, path: Path) -> None:
    """Bring the schema up to date, one transaction per migration; refuse a newer database."""
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    known = migrations()
    latest = known[-1][0] if known else 0
    if current > latest:
        raise SchemaError(
            f"The database {path} has schema version {current}, newer than this crdtpad knows ({latest}); "
            "upgrade crdtpad or restore a backup."
        )
    for number, sql in known:
        if number <= current:
            continue
        log.info("Applying schema migration %04d to %s", number, path)
        # SQLite's way to rebuild a table: foreign keys off (a no-op inside a transaction, so
        # before BEGIN), so dropping the old table cascades nothing; checked before COMMIT.
        await conn.execute("PRAGMA foreign_keys=OFF")
        try:
            await conn.execute("BEGIN IMMEDIATE")
            for statement in sql.split(";\n"):
                if statement.strip():
                    await conn.execute(statement)
            async with conn.execute("PRAGMA foreign_key_check") as cur:
                broken = list(await cur.fetchall())
            if broken:
                raise SchemaError(f"{len(broken)} rows break a foreign key, e.g. {tuple(broken[0])}")
            await conn.execute(f"PRAGMA user_version={number}")
            await conn.execute("COMMIT")
        except Exception as exc:
            await conn.rollback()
            raise SchemaError(f"Schema migration {number:04d} failed on {path}: {exc}") from exc
        finally:
            await conn.execute("PRAGMA foreign_keys=ON")


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error (cancellation included)."""
    try:
        await conn.execute("BEGIN IMMEDIATE")
        yield conn
        await conn.execute("COMMIT")
    except BaseException:
        # aiosqlite runs statements in order on its own thread, and a cancelled await does not
        # stop one: BEGIN may still be about to run, or COMMIT may have run already. A rollback
        # queued behind them ends whatever is open and does nothing otherwise (a bare ROLLBACK
        # would fail and hide the cancellation); shielded so a second cancel cannot skip it.
        await asyncio.shield(conn.rollback())
        raise


@asynccontextmanager
async def open_db(
    path: Path, synchronous: str = "FULL", busy_timeout_ms: int = 10_000
) -> AsyncIterator[tuple[aiosqlite.Connection, aiosqlite.Connection]]:
    """Open a writer and a reader connection to ``path`` (WAL lets them run side by side)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = await _connect(path, synchronous, busy_timeout_ms)
    try:
        await migrate(writer, path)
        reader = await _connect(path, synchronous, busy_timeout_ms)
        try:
            yield writer, reader
        finally:
            await reader.close()
    finally:
        await writer.close()
