"""Schema migrations keep every row: a database made by an older crdtpad opens with its pads whole."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from crdtpad.db import SchemaError, migrations, open_db


def old_database(path: Path, upto: int) -> None:
    """A database as crdtpad left it at schema ``upto``, with a pad, its snapshot and its log."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA foreign_keys=ON")
        for number, sql in migrations():
            if number > upto:
                break
            db.executescript(sql)
            db.execute(f"PRAGMA user_version={number}")
        db.execute(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at) "
            "VALUES (7, 'ann', 'h', 0, 1)"
        )
        db.execute(
            "INSERT INTO pads (id, title, visibility, owner_id, created_at, updated_at) "
            "VALUES ('p1', 'kept', 'private', 7, 1, 2)"
        )
        db.execute(
            "INSERT INTO pad_snapshots (pad_id, upto_seq, data, crc, created_at) VALUES ('p1', 3, ?, ?, 1)",
            (b"snap", zlib.crc32(b"snap")),
        )
        for seq in (4, 5):
            data = bytes([seq])
            db.execute(
                "INSERT INTO pad_updates (pad_id, seq, data, crc) VALUES ('p1', ?, ?, ?)",
                (seq, data, zlib.crc32(data)),
            )
        db.commit()


async def test_migrating_from_schema_2_keeps_pads_snapshots_and_logs(tmp_path: Path) -> None:
    path = tmp_path / "crdtpad.sqlite3"
    old_database(path, upto=2)
    async with open_db(path) as (writer, _reader):
        async with writer.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone()) == (migrations()[-1][0],)
        async with writer.execute("SELECT id, title, visibility, owner_id, folder_id FROM pads") as cur:
            assert await cur.fetchall() == [("p1", "kept", "private", 7, None)]
        async with writer.execute("SELECT upto_seq FROM pad_snapshots") as cur:
            assert await cur.fetchall() == [(3,)]
        async with writer.execute("SELECT seq FROM pad_updates ORDER BY seq") as cur:
            assert await cur.fetchall() == [(4,), (5,)]
        async with writer.execute("PRAGMA foreign_keys") as cur:
            assert await cur.fetchone() == (1,)
        # The rebuilt table takes the new visibility, and still cascades to the log.
        await writer.execute("UPDATE pads SET visibility = 'password', password_hash = 'x' WHERE id = 'p1'")
        with pytest.raises(sqlite3.IntegrityError):
            await writer.execute(
                "UPDATE pads SET visibility = 'password', password_hash = NULL WHERE id = 'p1'"
            )
        await writer.execute("DELETE FROM pads WHERE id = 'p1'")
        async with writer.execute("SELECT count(*) FROM pad_updates") as cur:
            assert await cur.fetchone() == (0,)


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crdtpad.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version=999")
    with pytest.raises(SchemaError, match="newer"):
        async with open_db(path):
            pass


async def test_a_failed_migration_changes_nothing_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crdtpad.sqlite3"
    old_database(path, upto=2)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE folders (id TEXT)")  # in the way of migration 0003
    before = path.read_bytes()
    with pytest.raises(SchemaError, match=r"0003 failed on .*crdtpad.sqlite3"):
        async with open_db(path):
            pass
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM pad_updates").fetchone() == (2,)
    assert path.exists() and len(path.read_bytes()) >= len(before) // 2


def test_the_server_refuses_to_start_on_a_newer_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with contextlib.closing(sqlite3.connect(data / "crdtpad.sqlite3")) as db:
        db.execute("PRAGMA user_version=999")
    done = subprocess.run(
        [sys.executable, "-m", "crdtpad", "serve", "--port", "0", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "schema version 999, newer than this crdtpad knows" in done.stderr
    with contextlib.closing(sqlite3.connect(data / "crdtpad.sqlite3")) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (999,)  # untouched, not renamed
