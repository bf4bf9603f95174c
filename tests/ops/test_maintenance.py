"""Operations tooling on real SQLite files and real servers: online backup while people type,
restore, stats, stale pads and purge, compacting every pad."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pycrdt
import pytest

from crdtpad.config import Settings
from crdtpad.db import migrations, open_db
from crdtpad.maintenance import (
    DatabaseInUse,
    MaintenanceError,
    backup,
    compact_all,
    database_in_use,
    purge_pads,
    restore,
    stale_pads,
    stats,
)
from crdtpad.store.pads import Append, Compaction, SqlitePadStore, StoredDoc, now_ms
from crdtpad.sync import protocol as p
from tests.support import ServerProcess, YClient, wait_for

DAY_MS = 24 * 3600 * 1000
LATEST = migrations()[-1][0]


# -- helpers -----------------------------------------------------------------------------------


def settings_at(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


@contextlib.contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def query(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(path) as conn:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]


def integrity(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "PRAGMA integrity_check")


def rebuild(stored: StoredDoc) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    if stored.snapshot is not None:
        doc.apply_update(stored.snapshot)
    for _, data in stored.updates:
        doc.apply_update(data)
    return doc


def content(doc: pycrdt.Doc[Any]) -> tuple[str, dict[str, Any]]:
    return str(doc.get("content", type=pycrdt.Text)), doc.get("meta", type=pycrdt.Map).to_py() or {}


class Author:
    """Writes a pad's log offline the way a room would: one Yjs update per edit, seq in order."""

    def __init__(self, store: SqlitePadStore, pad_id: str) -> None:
        self.store = store
        self.pad_id = pad_id
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.meta = self.doc.get("meta", type=pycrdt.Map)
        self.seq = 0

    async def type(self, *words: str) -> None:
        appends = []
        for word in words:
            sv = self.doc.get_state()
            self.text += word
            self.seq += 1
            appends.append(Append(self.pad_id, self.seq, self.doc.get_update(sv)))
        await self.store.write(appends, [])

    async def set_meta(self, key: str, value: int) -> None:
        sv = self.doc.get_state()
        self.meta[key] = value
        self.seq += 1
        await self.store.write([Append(self.pad_id, self.seq, self.doc.get_update(sv))], [])

    async def snapshot(self) -> None:
        await self.store.write([], [Compaction(self.pad_id, self.seq, self.doc.get_update())])


async def make_pads(
    settings: Settings, n: int, *, words: int = 3, prefix: str = "pad", snapshot_every: int = 0
) -> dict[str, str]:
    """``n`` pads each with a log of ``words`` edits (some folded into a snapshot); their texts."""
    out: dict[str, str] = {}
    async with open_db(settings.db_path) as (w, r):
        store = SqlitePadStore(w, r)
        for i in range(n):
            pad_id = f"{prefix}{i:04d}"
            await store.create_pad(pad_id, f"title {i}")
            author = Author(store, pad_id)
            await author.type(*(f"[{pad_id}.{k}]" for k in range(words)))
            if snapshot_every and i % snapshot_every == 0:
                await author.snapshot()
                await author.type(f"[{pad_id}.after]")
            out[pad_id] = str(author.text)
    return out


async def pad_contents(settings: Settings) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every live pad's content, rebuilt from the store."""
    async with open_db(settings.db_path) as (w, r):
        store = SqlitePadStore(w, r)
        async with r.execute("SELECT id FROM pads WHERE deleted_at IS NULL ORDER BY id") as cur:
            ids = [str(row[0]) for row in await cur.fetchall()]
        return {pad_id: content(rebuild(await store.load(pad_id))) for pad_id in ids}


async def pad_texts(settings: Settings) -> dict[str, str]:
    return {k: v[0] for k, v in (await pad_contents(settings)).items()}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(f.name for f in directory.iterdir())


def has_wal(db: Path) -> bool:
    return Path(f"{db}-wal").exists()


def own_clock(c: YClient) -> int:
    return p.read_state_vector(c.doc.get_state()).get(c.doc.client_id, 0)


def set_updated_at(path: Path, pad_ids: list[str], ts: int) -> None:
    with connect(path) as conn:
        conn.executemany("UPDATE pads SET updated_at = ? WHERE id = ?", [(ts, i) for i in pad_ids])


# -- backup ------------------------------------------------------------------------------------


async def test_backup_while_three_clients_type_keeps_every_stored_edit(tmp_path: Path) -> None:
    # The server compacts often, so snapshots replace log rows while the backup reads.
    srv = ServerProcess(
        tmp_path / "data", CRDTPAD_COMPACT_AFTER_UPDATES="25", CRDTPAD_COMPACT_INTERVAL_S="0.1"
    )
    srv.start()
    clients: list[YClient] = []
    try:
        shared, alone = srv.create_pad("shared"), srv.create_pad("alone")
        for pad_id in (shared, shared, alone):
            clients.append(await YClient(srv.ws_url(pad_id)).connect())
        typed: list[list[tuple[str, int]]] = [[] for _ in clients]
        stop = asyncio.Event()

        async def typist(i: int, c: YClient) -> None:
            for n in range(300):  # bounded; ~50 messages/s
                if stop.is_set():
                    return
                token = f"<{i}:{n}>"
                c.type(token)
                typed[i].append((token, own_clock(c)))
                await asyncio.sleep(0.02)

        tasks = [asyncio.create_task(typist(i, c)) for i, c in enumerate(clients)]

        def stored_now() -> set[str]:
            """Every edit its author has seen echoed (so stored)."""
            return {
                token
                for i, c in enumerate(clients)
                for token, clock in typed[i]
                if c.confirmed_clock >= clock
            }

        await wait_for(lambda: len(stored_now()) > 30, what="some edits stored before the backup")
        stored_before = stored_now()  # just before the backup begins
        typed_before = sum(len(t) for t in typed)
        result = await backup(settings_at(srv.data_dir), tmp_path / "backup.sqlite3")
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)
        assert sum(len(t) for t in typed) > typed_before  # they kept typing through the backup
        assert len(stored_before) > 30
        for c in clients:
            await wait_for(c.all_saved, what="the last edits to be stored")
        final = {shared: str(clients[0]), alone: str(clients[2])}
        assert str(clients[1]) == final[shared]
    finally:
        for c in clients:
            await c.close()
        srv.kill()

    assert result.pads == 2 and result.bytes == (tmp_path / "backup.sqlite3").stat().st_size
    assert integrity(result.path) == [("ok",)]
    assert not [name for name in listing(tmp_path) if ".tmp-" in name]

    restored = settings_at(tmp_path / "restored")
    rr = await restore(restored, result.path)
    assert rr.previous is None and rr.pads == 2
    assert integrity(restored.db_path) == [("ok",)]
    with ServerProcess(restored.data_dir) as srv2:
        texts = {pad_id: srv2.text(pad_id) for pad_id in (shared, alone)}
    missing = {t for t in stored_before if t not in texts[shared] and t not in texts[alone]}
    assert not missing, f"{len(missing)} stored edits missing from the backup, e.g. {sorted(missing)[:5]}"
    # And nothing that was never typed: every token in the backup is in the final texts.
    for pad_id, text in texts.items():
        tokens = text.replace("><", ">\n<").split("\n") if text else []
        assert all(tok in final[pad_id] for tok in tokens)


async def test_backup_refuses_to_overwrite(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    await make_pads(s, 3)
    target = tmp_path / "b.sqlite3"
    target.write_text("keep me")
    with pytest.raises(MaintenanceError, match="exists"):
        await backup(s, target)
    assert target.read_text() == "keep me"
    result = await backup(s, target, overwrite=True)
    assert result.pads == 3 and integrity(target) == [("ok",)]
    with pytest.raises(MaintenanceError, match="no database"):
        await backup(settings_at(tmp_path / "empty"), tmp_path / "c.sqlite3")
    assert not (tmp_path / "empty").exists()


async def test_backup_of_many_pads(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    expected = await make_pads(s, 400, words=5, snapshot_every=3)
    live_digest = digest(s.db_path)
    # An interrupted backup leaves no temporary file, and either no target or a complete one.
    task = asyncio.create_task(backup(s, tmp_path / "cancelled" / "b.sqlite3"))
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert listing(tmp_path / "cancelled") in ([], ["b.sqlite3"])
    if listing(tmp_path / "cancelled"):
        assert integrity(tmp_path / "cancelled" / "b.sqlite3") == [("ok",)]

    result = await backup(s, tmp_path / "out" / "many.sqlite3")
    assert digest(s.db_path) == live_digest  # the live file is untouched
    assert result.pads == 400 and result.schema_version == LATEST
    # A single self-contained file: rollback journal mode, no WAL beside it.
    assert query(result.path, "PRAGMA journal_mode") == [("delete",)]
    assert not has_wal(result.path)
    restored = settings_at(tmp_path / "restored")
    await restore(restored, result.path)
    assert await pad_texts(restored) == expected


# -- restore -----------------------------------------------------------------------------------


async def test_restore_refuses_while_a_server_runs_then_keeps_the_old_db_aside(
    server: ServerProcess, tmp_path: Path
) -> None:
    s = settings_at(server.data_dir)
    first = server.create_pad("before the backup")
    b = await backup(s, tmp_path / "b.sqlite3")
    second = server.create_pad("after the backup")
    assert await database_in_use(s)
    files = listing(server.data_dir)
    with pytest.raises(DatabaseInUse):
        await restore(s, b.path)
    assert listing(server.data_dir) == files
    assert httpx.get(f"{server.url}/api/v1/pads/{second}").status_code == 200

    # SIGKILL: the second pad lives only in the WAL; moving the database aside must keep it.
    server.kill()
    assert has_wal(s.db_path)
    assert not await database_in_use(s)
    r = await restore(s, b.path)
    assert r.previous is not None and r.previous.name.startswith("crdtpad.sqlite3.before-restore-")
    assert integrity(r.previous) == [("ok",)]
    assert {row[0] for row in query(r.previous, "SELECT id FROM pads")} == {first, second}
    assert {row[0] for row in query(s.db_path, "SELECT id FROM pads")} == {first}
    assert not has_wal(s.db_path)

    server.start()
    assert httpx.get(f"{server.url}/api/v1/pads/{first}").status_code == 200
    assert httpx.get(f"{server.url}/api/v1/pads/{second}").status_code == 404
    server.kill()
    # A second restore keeps both earlier databases.
    await restore(s, b.path)
    assert len(list(server.data_dir.glob("crdtpad.sqlite3.before-restore-*[0-9Z]"))) == 2


async def test_restore_refuses_bad_sources_changing_nothing(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    expected = await make_pads(s, 5)
    good = (await backup(s, tmp_path / "good.sqlite3")).path

    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(random.Random(1).randbytes(64 * 1024))
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(good.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page, len(data), page):  # every page's header but the first
        data[offset : offset + 8] = b"\xff" * 8
    damaged.write_bytes(bytes(data))
    newer = tmp_path / "newer.sqlite3"
    newer.write_bytes(good.read_bytes())
    with connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    foreign = tmp_path / "foreign.sqlite3"
    with connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")

    before = {f.name: digest(f) for f in s.data_dir.iterdir()}
    for source, why in [
        (junk, "not a usable SQLite database"),
        (damaged, "integrity|not a usable"),
        (newer, "newer than this crdtpad"),
        (foreign, "not a crdtpad database"),
        (tmp_path / "absent.sqlite3", "no backup file"),
    ]:
        with pytest.raises(MaintenanceError, match=why):
            await restore(s, source)
        assert {f.name: digest(f) for f in s.data_dir.iterdir()} == before, source
    assert await pad_texts(s) == expected

    # An older schema is fine: the next start migrates it.
    older = tmp_path / "older.sqlite3"
    with connect(older) as conn:
        for number, sql in migrations()[:1]:
            conn.executescript(sql)
            conn.execute(f"PRAGMA user_version = {number}")
    r = await restore(s, older)
    assert r.schema_version == 1 and r.pads == 0
    assert (await stats(s))["schema_version"] == LATEST


# -- stats -------------------------------------------------------------------------------------


async def test_stats(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    await make_pads(s, 4, words=2, snapshot_every=2)  # pads 0 and 2 get a snapshot and one more row
    async with open_db(s.db_path) as (w, r):
        await w.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('ann', 'x', 0)")
        await w.execute(
            "INSERT INTO folders (id, name, owner_id, created_at, updated_at) VALUES ('f1', 'F', 1, 0, 0)"
        )
        await SqlitePadStore(w, r).delete_pad("pad0003")
    st = await stats(s)
    assert st["pads"] == 3 and st["deleted_pads"] == 1
    assert st["users"] == 1 and st["folders"] == 1
    assert st["snapshots"] == 2 and st["log_rows"] == 1 + 2 + 1
    assert st["log_bytes"] == query(s.db_path, "SELECT sum(length(data)) FROM pad_updates")[0][0]
    assert st["snapshot_bytes"] == query(s.db_path, "SELECT sum(length(data)) FROM pad_snapshots")[0][0]
    assert st["db_file_bytes"] == s.db_path.stat().st_size > 0
    assert st["schema_version"] == LATEST


# -- stale pads and purge ----------------------------------------------------------------------


async def add_sharing(settings: Settings, pad_ids: list[str]) -> None:
    """Members, share links, unlock tokens and a folder for each pad."""
    async with open_db(settings.db_path) as (w, _r):
        await w.execute(
            "INSERT OR IGNORE INTO users (id, username, password_hash, created_at) VALUES (1, 'ann', 'x', 0)"
        )
        await w.execute(
            "INSERT OR IGNORE INTO folders (id, name, owner_id, created_at, updated_at) "
            "VALUES ('f1', 'F', 1, 0, 0)"
        )
        for n, pad_id in enumerate(pad_ids):
            await w.execute("UPDATE pads SET owner_id = 1, folder_id = 'f1' WHERE id = ?", (pad_id,))
            await w.execute(
                "INSERT INTO pad_members (pad_id, user_id, role, created_at) VALUES (?, 1, 'owner', 0)",
                (pad_id,),
            )
            await w.execute(
                "INSERT INTO share_links (token_hash, pad_id, role, created_at) VALUES (?, ?, 'viewer', 0)",
                (f"link{pad_id}{n}".encode(), pad_id),
            )
            await w.execute(
                "INSERT INTO pad_unlocks (token_hash, pad_id, created_at, expires_at) VALUES (?, ?, 0, 0)",
                (f"unlock{pad_id}{n}".encode(), pad_id),
            )


def pad_tables(path: Path) -> list[str]:
    """Every table with a pad_id column."""
    return [
        str(r[0])
        for r in query(
            path,
            "SELECT m.name FROM sqlite_schema m, pragma_table_info(m.name) c "
            "WHERE m.type = 'table' AND c.name = 'pad_id' ORDER BY m.name",
        )
    ]


def rows_of(path: Path, pad_id: str) -> dict[str, int]:
    return all_rows(path, [pad_id])[pad_id]


def all_rows(path: Path, pad_ids: list[str]) -> dict[str, dict[str, int]]:
    """For each pad, how many rows each table with a pad_id column holds for it."""
    tables = pad_tables(path)
    out = {i: dict.fromkeys(tables, 0) for i in pad_ids}
    for t in tables:
        for pad_id, n in query(path, f"SELECT pad_id, count(*) FROM {t} GROUP BY pad_id"):
            if pad_id in out:
                out[pad_id][t] = int(n)
    return out


async def test_stale_listing_then_purge_then_410_after_restart(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    texts = await make_pads(s, 6, snapshot_every=2)
    ids = sorted(texts)
    await add_sharing(s, ids)
    now = now_ms()
    set_updated_at(s.db_path, ids[:2], now - 40 * DAY_MS)
    set_updated_at(s.db_path, ids[2:4], now - 35 * DAY_MS)
    set_updated_at(s.db_path, ids[4:5], now - 10 * DAY_MS)

    before = digest(s.db_path)
    stale = await stale_pads(s, 30)
    assert [p.id for p in stale] == ids[:4]  # oldest first
    assert stale[0].title == "title 0" and stale[0].updated_at == now - 40 * DAY_MS
    assert [p.id for p in await stale_pads(s, 5)] == ids[:5]
    assert digest(s.db_path) == before  # listing is a dry run

    done: list[tuple[int, int]] = []
    purged = await purge_pads(s, [p.id for p in stale], lambda d, t: done.append((d, t)))
    assert purged == 4 and done == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert await stale_pads(s, 30) == []
    # A recently used pad, an unknown id and an already purged one are skipped.
    assert await purge_pads(s, [ids[5], "nope", ids[0]]) == 0
    for pad_id in ids[:4]:
        assert set(rows_of(s.db_path, pad_id).values()) == {0}
        assert query(s.db_path, "SELECT title, folder_id FROM pads WHERE id = ?", (pad_id,)) == [("", None)]
    assert await pad_texts(s) == {i: texts[i] for i in ids[4:]}
    assert integrity(s.db_path) == [("ok",)] and query(s.db_path, "PRAGMA foreign_key_check") == []

    with ServerProcess(s.data_dir) as srv:
        for pad_id in ids[:4]:
            assert httpx.get(f"{srv.url}/api/v1/pads/{pad_id}").status_code == 410
            assert httpx.get(f"{srv.url}/api/v1/pads/{pad_id}/text").status_code == 410
        for pad_id in ids[4:]:
            assert srv.text(pad_id) == texts[pad_id]
    assert await pad_texts(s) == {i: texts[i] for i in ids[4:]}


async def test_purge_leaves_a_pad_exactly_as_delete_pad_does(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    await make_pads(s, 2, snapshot_every=1)
    await add_sharing(s, ["pad0000", "pad0001"])
    set_updated_at(s.db_path, ["pad0000", "pad0001"], now_ms() - DAY_MS)
    async with open_db(s.db_path) as (w, r):
        await SqlitePadStore(w, r).delete_pad("pad0000")
    assert await purge_pads(s, ["pad0001"]) == 1
    # Every table that refers to a pad, not only the ones the purge knows about, is emptied.
    assert rows_of(s.db_path, "pad0000") == rows_of(s.db_path, "pad0001")
    assert set(rows_of(s.db_path, "pad0001").values()) == {0}
    cols = "title, visibility, password_hash, owner_id, folder_id, deleted_at IS NOT NULL"
    a, b = (query(s.db_path, f"SELECT {cols} FROM pads WHERE id = ?", (i,)) for i in ("pad0000", "pad0001"))
    assert a == b


async def test_a_purge_while_serving_cuts_off_open_pages_and_stores_nothing_more(tmp_path: Path) -> None:
    """The server is not told; it finds the tombstone at the pad's next commit (editors) or its
    next sweep for erased pads (readers), closes 4410, and stores nothing more of it, shutdown
    included."""
    # First no sweep (every 10 minutes): the editors are cut off by their own next commit.
    srv = ServerProcess(tmp_path / "data", CRDTPAD_COMPACT_INTERVAL_S="600", CRDTPAD_UNLOAD_GRACE_S="60")
    s = settings_at(srv.data_dir)
    clients: list[YClient] = []
    with srv:
        typed, read, kept = srv.create_pad("typed in"), srv.create_pad("only read"), srv.create_pad("kept")
        writer, bystander, other = (YClient(srv.ws_url(pad_id)) for pad_id in (typed, typed, kept))
        for y in (writer, bystander, other):
            clients.append(await y.connect())
        writer.type("secret words")
        other.type("still here")
        await wait_for(writer.all_saved, what="the text stored")
        await wait_for(other.all_saved, what="the other pad stored")
        set_updated_at(s.db_path, [typed], now_ms() - 60 * DAY_MS)
        assert await purge_pads(s, [typed]) == 1
        writer.type(" and more after the purge")
        assert await writer.wait_closed() == 4410
        assert await bystander.wait_closed() == 4410
        assert other.close_code is None
        other.type(", and on")
        await wait_for(other.all_saved, what="the other pad goes on")
        for y in clients:
            await y.close()
        assert srv.terminate() == 0  # a clean stop compacts every loaded room
    assert set(rows_of(s.db_path, typed).values()) == {0}, rows_of(s.db_path, typed)
    assert "was erased while loaded" in srv.log()

    # A page that only reads is cut off by the sweep.
    srv.env["CRDTPAD_COMPACT_INTERVAL_S"] = "0.2"
    with srv:
        reader = await YClient(srv.ws_url(read)).connect()
        set_updated_at(s.db_path, [read], now_ms() - 60 * DAY_MS)
        assert await purge_pads(s, [read]) == 1
        assert await reader.wait_closed() == 4410
        await reader.close()
        assert httpx.get(f"{srv.url}/api/v1/pads/{typed}/text").status_code == 410
        assert srv.text(kept) == "still here, and on"
        assert srv.terminate() == 0
    for pad_id in (typed, read):
        assert set(rows_of(s.db_path, pad_id).values()) == {0}, rows_of(s.db_path, pad_id)


async def test_interrupted_purge_leaves_every_pad_whole(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    texts = await make_pads(s, 10)
    ids = sorted(texts)
    await add_sharing(s, ids)
    set_updated_at(s.db_path, ids, now_ms() - 60 * DAY_MS)
    before = {i: rows_of(s.db_path, i) for i in ids}

    def stop_after_four(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await purge_pads(s, ids, stop_after_four)
    assert [i for i in ids if set(rows_of(s.db_path, i).values()) == {0}] == ids[:4]
    assert {i: rows_of(s.db_path, i) for i in ids[4:]} == {i: before[i] for i in ids[4:]}
    assert await pad_texts(s) == {i: texts[i] for i in ids[4:]}
    assert integrity(s.db_path) == [("ok",)] and query(s.db_path, "PRAGMA foreign_key_check") == []


def purge_cancelled_after(s: Settings, ids: list[str], k: int, ticks: int) -> asyncio.Task[int]:
    """A purge of ``ids`` cancelled ``ticks`` loop iterations after its ``k``-th pad."""
    loop = asyncio.get_running_loop()

    def later(n: int) -> None:
        if n == 0:
            task.cancel()
        else:
            loop.call_soon(later, n - 1)

    def cancel_after(done: int, total: int) -> None:
        if done == k:
            later(ticks)

    task = asyncio.create_task(purge_pads(s, ids, cancel_after))
    return task


async def test_cancelled_purge_at_any_moment_leaves_every_pad_whole(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    texts = await make_pads(s, 150)
    ids = sorted(texts)
    await add_sharing(s, ids)
    set_updated_at(s.db_path, ids, now_ms() - 60 * DAY_MS)
    before = all_rows(s.db_path, ids)

    def check() -> set[str]:
        now_rows = all_rows(s.db_path, ids)
        deleted = {str(r[0]) for r in query(s.db_path, "SELECT id FROM pads WHERE deleted_at IS NOT NULL")}
        for i in ids:
            assert now_rows[i] == (dict.fromkeys(now_rows[i], 0) if i in deleted else before[i]), i
        assert integrity(s.db_path) == [("ok",)]
        return deleted

    # The cancel is placed by counting, not by the clock (a fast machine purges all 150 pads in a
    # few milliseconds): once pad k is done, ``ticks`` loop iterations later, so it lands at the
    # start or in the middle of the next pads' transactions. Every query is one thread round trip,
    # at least one loop iteration, so no more than ``ticks`` further pads can be erased.
    for k, ticks in ((3, 0), (40, 1), (90, 4), (120, 25)):
        task = purge_cancelled_after(s, ids, k, ticks)
        with pytest.raises(asyncio.CancelledError):
            await task
        deleted = check()
        assert set(ids[: k + 1]) <= deleted <= set(ids[: k + 1 + ticks]), (k, ticks, len(deleted))
    # And by the clock, at moments that may fall anywhere, opening the database included.
    for delay in (0.0, 0.005, 0.02):
        task = asyncio.create_task(purge_pads(s, ids))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        check()
    survivors = await pad_texts(s)
    assert survivors == {i: texts[i] for i in survivors}


# -- compaction --------------------------------------------------------------------------------


async def test_compact_all_keeps_content_and_drops_the_log(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    await make_pads(s, 12, words=20, snapshot_every=3)
    async with open_db(s.db_path) as (w, r):
        store = SqlitePadStore(w, r)
        await store.create_pad("meta", "m")
        author = Author(store, "meta")
        await author.type("hello ", "world")
        await author.set_meta("a", 1)
        await author.set_meta("a", 2)
        await store.create_pad("bad", "b")
        await Author(store, "bad").type("x", "y")
        await store.create_pad("empty", "e")
    with connect(s.db_path) as conn:
        conn.execute("UPDATE pad_updates SET crc = crc + 1 WHERE pad_id = 'bad' AND seq = 2")
    bad_rows = query(s.db_path, "SELECT * FROM pad_updates WHERE pad_id = 'bad'")
    expected: dict[str, tuple[str, dict[str, Any]]] = {}
    async with open_db(s.db_path) as (w, r):
        store = SqlitePadStore(w, r)
        for pad_id in [f"pad{i:04d}" for i in range(12)] + ["meta", "empty"]:
            expected[pad_id] = content(rebuild(await store.load(pad_id)))
    assert expected["meta"] == ("hello world", {"a": 2})

    done: list[tuple[int, int]] = []
    result = await compact_all(s, lambda d, t: done.append((d, t)))
    assert result.compacted == 13 and list(result.failed) == ["bad"]
    assert "checksum" in result.failed["bad"]
    assert done[-1] == (14, 14)  # 12 + meta + bad; "empty" has no log
    assert result.rows_folded == 8 * 20 + 4 * 1 + 4  # pads 0, 3, 6, 9 had a snapshot
    assert query(s.db_path, "SELECT DISTINCT pad_id FROM pad_updates") == [("bad",)]
    assert query(s.db_path, "SELECT * FROM pad_updates WHERE pad_id = 'bad'") == bad_rows
    async with open_db(s.db_path) as (w, r):
        store = SqlitePadStore(w, r)
        for pad_id, want in expected.items():
            stored = await store.load(pad_id)
            assert stored.updates == ()
            assert content(rebuild(stored)) == want, pad_id
    # Nothing left to do the second time.
    again = await compact_all(s)
    assert again.compacted == 0 and list(again.failed) == ["bad"]
    assert integrity(s.db_path) == [("ok",)]


async def test_compact_all_keeps_rows_appended_after_its_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer (a running server) appends between compact_all's read and its write."""
    s = settings_at(tmp_path / "data")
    async with open_db(s.db_path) as (w, r):
        store = SqlitePadStore(w, r)
        await store.create_pad("p", "t")
        author = Author(store, "p")
        await author.type("one ", "two ")
    late_author: pycrdt.Doc[Any] = pycrdt.Doc()
    late_text = late_author.get("content", type=pycrdt.Text)
    late_author.apply_update(author.doc.get_update())
    sv = late_author.get_state()
    late_text += "three"
    late = late_author.get_update(sv)

    original = SqlitePadStore.load

    async def load_then_someone_appends(self: SqlitePadStore, pad_id: str) -> StoredDoc:
        stored = await original(self, pad_id)
        with connect(s.db_path) as conn:
            conn.execute(
                "INSERT INTO pad_updates (pad_id, seq, data, crc) VALUES (?, ?, ?, ?)",
                (pad_id, stored.last_seq + 1, late, zlib.crc32(late)),
            )
        return stored

    monkeypatch.setattr(SqlitePadStore, "load", load_then_someone_appends)
    result = await compact_all(s)
    monkeypatch.undo()
    assert result.compacted == 1 and result.rows_folded == 2
    assert query(s.db_path, "SELECT upto_seq FROM pad_snapshots") == [(2,)]
    assert query(s.db_path, "SELECT seq FROM pad_updates") == [(3,)]
    assert await pad_texts(s) == {"p": "one two three"}


async def test_interrupted_compact_all_leaves_the_rest_untouched(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "data")
    texts = await make_pads(s, 8, words=4)

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await compact_all(s, stop_after_three)
    rows = dict(query(s.db_path, "SELECT pad_id, count(*) FROM pad_updates GROUP BY pad_id"))
    assert rows == {pad_id: 4 for pad_id in sorted(texts)[3:]}
    assert len(query(s.db_path, "SELECT * FROM pad_snapshots")) == 3
    assert await pad_texts(s) == texts
    assert (await compact_all(s)).compacted == 5


async def test_compact_all_while_a_client_types_loses_nothing(tmp_path: Path) -> None:
    # The server itself never compacts here (high thresholds): after SIGKILL, what is on disk is
    # our snapshots plus the rows the server appended, with no snapshot of the room's own to hide a
    # row we might have lost.
    srv = ServerProcess(
        tmp_path / "data", CRDTPAD_COMPACT_AFTER_UPDATES="100000", CRDTPAD_UNLOAD_GRACE_S="60"
    )
    srv.start()
    s = settings_at(srv.data_dir)
    c: YClient | None = None
    try:
        pad_id = srv.create_pad("busy")
        quiet = srv.create_pad("quiet")
        q = await YClient(srv.ws_url(quiet)).connect()
        q.type("quiet text")
        await wait_for(q.all_saved)
        await q.close()
        c = await YClient(srv.ws_url(pad_id)).connect()
        client = c
        typed: list[tuple[str, int]] = []

        stop = asyncio.Event()

        async def typist() -> None:
            for n in range(5000):  # ~40 messages/s, until told (bounded)
                if stop.is_set():
                    return
                token = f"<{n}>"
                client.type(token)
                typed.append((token, own_clock(client)))
                await asyncio.sleep(0.025)

        task = asyncio.create_task(typist())
        compacted = 0
        # Counted, not timed: at least 120 messages and six compactions of the busy pad among them.
        while not task.done() and (compacted < 6 or len(typed) < 120):
            compacted += (await compact_all(s)).compacted
            await asyncio.sleep(0.05)
        stop.set()
        await task
        await wait_for(client.all_saved, what="every edit stored")
        stored = [tok for tok, clock in typed if client.confirmed_clock >= clock]
        assert len(stored) == len(typed) >= 120
        final = str(client)
        assert compacted >= 6
        assert query(s.db_path, "SELECT count(*) FROM pad_snapshots WHERE pad_id = ?", (pad_id,)) == [(1,)]
    finally:
        if c is not None:
            await c.close()
        srv.kill()
    srv.start()
    try:
        assert srv.text(pad_id) == final == "".join(tok for tok, _clock in typed)
        assert srv.text(quiet) == "quiet text"
    finally:
        srv.kill()
    assert integrity(s.db_path) == [("ok",)]


async def test_operations_refuse_a_missing_database(tmp_path: Path) -> None:
    s = settings_at(tmp_path / "nothing")
    for op in (stats(s), stale_pads(s, 1), purge_pads(s, ["x"]), compact_all(s)):
        with pytest.raises(MaintenanceError, match="no database"):
            await op
    assert not await database_in_use(s)
    assert not s.data_dir.exists()
