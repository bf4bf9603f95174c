"""Operations on a data directory: online backup, offline restore, statistics, purging stale pads
and compacting every pad's log.

Every function takes the instance's :class:`Settings` and works on ``settings.db_path``.

What may run while a server uses the database:

- :func:`backup`, :func:`stats`, :func:`stale_pads`: yes. The backup reads one consistent snapshot
  of the database through SQLite's backup API on a read-only connection (WAL readers never block
  the server's writer, nor it them) and never writes to the live file.
- :func:`compact_all`: yes, but the normal way is with the server stopped. Each pad is folded in
  its own transaction exactly as a room's own compaction is (``SqlitePadStore.write`` with a
  ``Compaction``): only log rows up to the sequence number that was read are dropped, so rows a
  running server appends meanwhile stay, and a snapshot never replaces a newer one.
- :func:`purge_pads`: it never corrupts the database, but a running server does not learn of it.
  A pad open in a browser right now keeps being served from memory until its room unloads, and
  what is typed into it meanwhile is stored under the tombstone (unreachable: the id answers 410
  once the room unloads or the server restarts). To keep that to pads nobody is using, a pad
  whose ``updated_at`` moved in the last ``idle_minutes`` (a room compacts, and so moves it,
  whenever it unloads) is skipped. Stop the server first to be certain.
- :func:`restore`: no; it refuses while the database is open anywhere (see :func:`database_in_use`).

The long loops (:func:`purge_pads`, :func:`compact_all`) use one transaction per pad: an interrupt
(``KeyboardInterrupt``, ``CancelledError``, or an exception from the ``progress`` callback) between
two pads leaves every pad either fully done or untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import pycrdt

from crdtpad.config import Settings
from crdtpad.db import migrations, open_db, transaction
from crdtpad.errors import CrdtpadError, PadCorrupt
from crdtpad.pads import EXPORT_FORMATS, IMPORT_FORMATS, export_doc, filename, import_doc, new_id
from crdtpad.store.pads import Compaction, SqlitePadStore, now_ms

log = logging.getLogger(__name__)

T = TypeVar("T")

Progress = Callable[[int, int], None]
"""Called with (done, total) after each item of a long operation."""

_SIDECARS = ("-wal", "-shm", "-journal")
_DAY_MS = 24 * 3600 * 1000
# What SqlitePadStore.delete_pad erases besides the pad's own row; a test checks that this covers
# every table with a pad_id column, and that a purged pad ends up like a deleted one.
_PAD_CHILD_TABLES = (
    "pad_updates",
    "pad_snapshots",
    "pad_members",
    "share_links",
    "pad_unlocks",
    "pad_revisions",
)


class MaintenanceError(CrdtpadError):
    """A maintenance operation refused to run, or its result failed a check; nothing was changed."""


class DatabaseInUse(MaintenanceError):
    """Another connection (a running server, most likely) has the database open."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What :func:`backup` wrote."""

    path: Path
    pads: int  # live pads in the copy
    deleted_pads: int  # tombstones in the copy
    bytes: int  # size of the backup file
    schema_version: int
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What :func:`restore` did."""

    path: Path  # the database now in place
    previous: Path | None  # where the database it replaced was moved (None: there was none)
    pads: int
    deleted_pads: int
    bytes: int
    schema_version: int  # of the restored file; older ones are migrated at the next start


@dataclass(frozen=True, slots=True)
class StalePad:
    """A live pad not updated for a while."""

    id: str
    title: str
    updated_at: int  # unix milliseconds


@dataclass(slots=True)
class CompactResult:
    """What :func:`compact_all` did."""

    compacted: int = 0  # pads that got a new snapshot
    rows_folded: int = 0  # log rows folded into those snapshots (and deleted)
    failed: dict[str, str] = field(default_factory=dict)  # pad id -> why it was left untouched


# -- helpers -----------------------------------------------------------------------------------


def _require_db(settings: Settings) -> Path:
    path = settings.db_path
    if not path.is_file():
        raise MaintenanceError(f"There is no database at {path}.")
    return path


def _readonly_uri(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform or file system can fsync a directory
        _fsync_file(path)


async def _uninterrupted(step: Coroutine[Any, Any, T]) -> T:
    """Run ``step`` to its end even if we are cancelled meanwhile, then let the cancellation
    through. Around one pad's transaction, an interrupt lands between two pads, never inside one's
    transaction (where a cancelled ``COMMIT`` would still commit, and the rollback then fail);
    around a thread, cleanup waits until the thread is done with its files."""
    task = asyncio.ensure_future(step)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


def _unlink_with_sidecars(path: Path) -> None:
    for suffix in ("", *_SIDECARS):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


@dataclass(frozen=True, slots=True)
class _Checked:
    schema_version: int
    pads: int
    deleted_pads: int


def _check_copy(path: Path) -> _Checked:
    """Integrity-check a database file we own (a fresh copy) and read its schema version and pad
    counts; leave it a single self-contained file (rollback journal, no -wal). Raise
    MaintenanceError if it is not a sound crdtpad database this version can use."""
    latest = max((n for n, _ in migrations()), default=0)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"{path} cannot be opened: {exc}") from None
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        if [tuple(r) for r in rows] != [("ok",)]:
            problems = "; ".join(str(r[0]) for r in rows[:5])
            raise MaintenanceError(f"{path} fails its integrity check: {problems}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > latest:
            raise MaintenanceError(
                f"{path} has schema version {version}, newer than this crdtpad knows ({latest})."
            )
        has_pads = conn.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'pads'")
        if version < 1 or has_pads.fetchone() is None:
            raise MaintenanceError(f"{path} is not a crdtpad database (schema version {version}).")
        live, deleted = conn.execute(
            "SELECT count(*) FILTER (WHERE deleted_at IS NULL), "
            "count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM pads"
        ).fetchone()
        return _Checked(version, int(live), int(deleted))
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", ...
        raise MaintenanceError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()


def _probe_exclusive(path: Path, checkpoint: bool) -> None:
    """Raise DatabaseInUse unless no other connection has ``path`` open.

    In WAL mode every open connection keeps a shared lock on the database file for as long as it
    is open, idle or not, so an exclusive lock taken in ``locking_mode=EXCLUSIVE`` (which bypasses
    the shared-memory index, and so needs the file lock itself) succeeds only if nobody else has
    it open: a running server always has. With ``checkpoint``, the WAL is folded into the main
    file while we hold the lock, so the file is complete by itself.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise DatabaseInUse(
                f"The database {path} is in use ({exc}); stop the crdtpad server first."
            ) from None
        if checkpoint:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _database_in_use(path: Path) -> bool:
    try:
        _probe_exclusive(path, checkpoint=False)
    except DatabaseInUse:
        return True
    return False


async def database_in_use(settings: Settings) -> bool:
    """True if another connection has the database open, i.e. a server (or another command) runs.

    The probe takes, and at once releases, an exclusive lock with a 0.2 s timeout; see
    :func:`_probe_exclusive`. False if there is no database.
    """
    path = settings.db_path
    if not path.is_file():
        return False
    return await asyncio.to_thread(_database_in_use, path)


# -- backup ------------------------------------------------------------------------------------


def _backup_sync(source: Path, target: Path, temp: Path) -> _Checked:
    """Copy ``source`` to ``temp``, check it, fsync it and rename it to ``target``."""
    try:
        src = sqlite3.connect(_readonly_uri(source), uri=True, isolation_level=None)
        try:
            dst = sqlite3.connect(temp, isolation_level=None)
            try:
                # pages=-1: the whole database in one step, inside one read transaction, so the
                # copy is one consistent state however busy the server's writer is (a stepped
                # backup starts over whenever another connection writes, and might never finish).
                src.backup(dst, pages=-1)
            finally:
                dst.close()
        finally:
            src.close()
        checked = _check_copy(temp)
        _fsync_file(temp)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        return checked
    finally:
        _unlink_with_sidecars(temp)


async def backup(settings: Settings, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the database, consistently, to ``target``; safe while a server runs and people type.

    The copy goes to a temporary file next to ``target``, must pass ``PRAGMA integrity_check``,
    is made a single self-contained file (rollback journal mode, no ``-wal``), fsynced and renamed
    into place, so ``target`` is either a complete checked backup or absent (or, with
    ``overwrite``, the previous file). Refuses an existing ``target`` unless ``overwrite``. The
    live database is opened read-only (which may leave empty ``-wal``/``-shm`` files beside it if
    no server runs). An interrupt waits for the copy in progress, then nothing is left behind.
    """
    started = time.monotonic()
    source = _require_db(settings)
    target = Path(target)
    if target.resolve() == source.resolve():
        raise MaintenanceError("The backup target is the live database itself.")
    if target.is_dir():
        raise MaintenanceError(f"{target} is a directory.")
    if target.exists() and not overwrite:
        raise MaintenanceError(f"{target} exists; pass overwrite=True (--force) to replace it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    _unlink_with_sidecars(temp)
    checked = await _uninterrupted(asyncio.to_thread(_backup_sync, source, target, temp))
    size = target.stat().st_size
    result = BackupResult(
        target, checked.pads, checked.deleted_pads, size, checked.schema_version, time.monotonic() - started
    )
    log.info("Backed up %s to %s: %d pads, %d bytes", source, target, result.pads, size)
    return result


# -- restore -----------------------------------------------------------------------------------


def _restore_sync(source: Path, live: Path, temp: Path, aside: Path) -> tuple[_Checked, Path | None]:
    """Copy ``source`` to ``temp`` and check it; then, with nobody using ``live``, move it (and its
    sidecar files) to ``aside`` and ``temp`` to ``live``."""
    try:
        shutil.copyfile(source, temp)
        checked = _check_copy(temp)
        _fsync_file(temp)
        previous: Path | None = None
        if live.exists():
            # After checking the source, so that a bad source leaves even the sidecar files alone.
            # The lock is released before the renames: a server starting in those microseconds
            # could still open the old file (SQLite cannot hold a lock across a rename safely).
            _probe_exclusive(live, checkpoint=True)
            os.replace(live, aside)
            previous = aside
        # A -wal or -shm without its database (or left by a crash) must not meet the new file.
        for suffix in _SIDECARS:
            side = Path(f"{live}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{aside}{suffix}"))
        os.replace(temp, live)
        _fsync_dir(live.parent)
        return checked, previous
    finally:
        _unlink_with_sidecars(temp)


async def restore(settings: Settings, source: Path) -> RestoreResult:
    """Put the backup ``source`` in place of the database; the server must be stopped.

    Refuses, changing nothing, if the source fails ``PRAGMA integrity_check``, is not a crdtpad
    database, or has a schema version newer than this crdtpad's (an older one is fine: the next
    start migrates it), or if the database is open anywhere (:func:`database_in_use`: a running
    server). The source is first copied into the data directory, and that copy is what gets
    checked and moved into place. The current database is checkpointed and moved aside, with any
    ``-wal``/``-shm`` files, to ``crdtpad.sqlite3.before-restore-<UTC timestamp>`` (never
    deleted). An interrupt waits for the step in progress (copying and checking, or the swap).
    The source must be one self-contained file, as :func:`backup` writes (or the database file of
    a cleanly stopped server); a ``-wal`` beside the source is not read.
    """
    source = Path(source)
    if not source.is_file():
        raise MaintenanceError(f"There is no backup file at {source}.")
    live = settings.db_path
    if live.exists() and source.resolve() == live.resolve():
        raise MaintenanceError("The backup to restore is the live database itself.")
    created_dir = not live.parent.exists()
    live.parent.mkdir(parents=True, exist_ok=True)
    temp = live.with_name(f".{live.name}.restore-{os.getpid()}")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = live.with_name(f"{live.name}.before-restore-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = live.with_name(f"{live.name}.before-restore-{stamp}-{n}")
    _unlink_with_sidecars(temp)
    try:
        checked, previous = await _uninterrupted(asyncio.to_thread(_restore_sync, source, live, temp, aside))
    except BaseException:
        if created_dir:
            with contextlib.suppress(OSError):  # only if still empty
                live.parent.rmdir()
        raise
    result = RestoreResult(
        live, previous, checked.pads, checked.deleted_pads, live.stat().st_size, checked.schema_version
    )
    log.info("Restored %s from %s; the previous database is at %s", live, source, previous)
    return result


# -- stats -------------------------------------------------------------------------------------


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    async with conn.execute(sql) as cur:
        row = await cur.fetchone()
    return int(row[0] or 0) if row else 0


async def stats(settings: Settings) -> dict[str, int]:
    """Counts and sizes, read in one read transaction (fine while a server runs).

    Keys: pads, deleted_pads, users, folders, snapshots, log_rows, snapshot_bytes, log_bytes,
    db_file_bytes (the main file), wal_file_bytes, free_bytes (free pages VACUUM would return),
    schema_version.
    """
    path = _require_db(settings)
    async with open_db(path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms) as (_w, r):
        queries = {
            "pads": "SELECT count(*) FROM pads WHERE deleted_at IS NULL",
            "deleted_pads": "SELECT count(*) FROM pads WHERE deleted_at IS NOT NULL",
            "users": "SELECT count(*) FROM users",
            "folders": "SELECT count(*) FROM folders",
            "snapshots": "SELECT count(*) FROM pad_snapshots",
            "log_rows": "SELECT count(*) FROM pad_updates",
            "snapshot_bytes": "SELECT sum(length(data)) FROM pad_snapshots",
            "log_bytes": "SELECT sum(length(data)) FROM pad_updates",
        }
        out: dict[str, int] = {}
        await r.execute("BEGIN")
        try:
            for key, sql in queries.items():
                out[key] = await _scalar(r, sql)
            page_size = await _scalar(r, "PRAGMA page_size")
            out["free_bytes"] = page_size * await _scalar(r, "PRAGMA freelist_count")
            out["schema_version"] = await _scalar(r, "PRAGMA user_version")
        finally:
            await r.execute("COMMIT")
    out["db_file_bytes"], out["wal_file_bytes"] = _file_sizes(path)
    return out


def _file_sizes(path: Path) -> tuple[int, int]:
    """Sizes of the database file and of its WAL (0 if none)."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0


# -- stale pads and purge ----------------------------------------------------------------------


async def stale_pads(settings: Settings, days: float) -> list[StalePad]:
    """Live pads whose ``updated_at`` is more than ``days`` days old, oldest first. Read-only.

    ``updated_at`` moves when a pad's log is folded into a snapshot, which a server does at the
    latest when the pad's room unloads (its last client left), so it is about "last used".
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    path = _require_db(settings)
    cutoff = now_ms() - int(days * _DAY_MS)
    async with (
        open_db(path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms) as (_w, r),
        r.execute(
            "SELECT id, title, updated_at FROM pads WHERE deleted_at IS NULL AND updated_at < ? "
            "ORDER BY updated_at, id",
            (cutoff,),
        ) as cur,
    ):
        rows = await cur.fetchall()
    return [StalePad(str(i), str(t), int(u)) for i, t, u in rows]


async def purge_pads(
    settings: Settings,
    pad_ids: Iterable[str],
    progress: Progress | None = None,
    *,
    idle_minutes: float = 10.0,
) -> int:
    """Erase pads as deleting them over the API does; return how many were erased.

    Each pad, in its own transaction: its log, snapshot, members, share links and unlock tokens
    are deleted, and its row becomes a tombstone (``deleted_at`` set, title, password and folder
    cleared), so the id answers 410 and a stale client cannot bring it back. Skipped (and logged):
    unknown ids, pads already deleted, and pads whose ``updated_at`` is within ``idle_minutes`` of
    now (checked inside the transaction). ``progress(done, total)`` runs after each id, purged or
    skipped; an exception from it stops the purge with every pad fully erased or untouched.
    """
    ids = list(dict.fromkeys(pad_ids))
    path = _require_db(settings)
    idle_ms = int(idle_minutes * 60_000)
    purged = 0
    async with open_db(path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms) as (w, _r):
        for done, pad_id in enumerate(ids, 1):
            skipped = await _uninterrupted(_purge_one(w, pad_id, idle_ms))
            if skipped is None:
                purged += 1
                log.info("Pad %s purged", pad_id)
            else:
                log.warning("Pad %s not purged: %s", pad_id, skipped)
            if progress is not None:
                progress(done, len(ids))
    return purged


async def _purge_one(w: aiosqlite.Connection, pad_id: str, idle_ms: int) -> str | None:
    """Erase one pad in one transaction; None, or why it was skipped."""
    now = now_ms()
    async with transaction(w):
        async with w.execute("SELECT deleted_at, updated_at FROM pads WHERE id = ?", (pad_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return "no such pad"
        if row[0] is not None:
            return "already deleted"
        if int(row[1]) > now - idle_ms:
            return f"updated in the last {idle_ms / 60_000:g} minutes"
        for table in _PAD_CHILD_TABLES:
            await w.execute(f"DELETE FROM {table} WHERE pad_id = ?", (pad_id,))
        await w.execute(
            "UPDATE pads SET deleted_at = ?, title = '', password_hash = NULL, folder_id = NULL WHERE id = ?",
            (now, pad_id),
        )
    return None


# -- compaction --------------------------------------------------------------------------------


def _rebuild(pad_id: str, snapshot: bytes | None, updates: tuple[tuple[int, bytes], ...]) -> bytes:
    """The whole document as one Yjs v1 update, rebuilt like a room loads a pad."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    rows: list[tuple[str, bytes]] = []
    if snapshot is not None:
        rows.append(("snapshot", snapshot))
    rows.extend((f"log row seq {seq}", data) for seq, data in updates)
    for what, data in rows:
        try:
            doc.apply_update(data)
        except Exception as exc:
            raise PadCorrupt(f"Pad {pad_id}: the {what} does not apply: {exc}") from None
    return doc.get_update()


async def compact_all(settings: Settings, progress: Progress | None = None) -> CompactResult:
    """Fold every live pad's log into a fresh snapshot, one transaction per pad.

    For each live pad with log rows: read its snapshot and log in one read transaction (checksums
    checked by ``SqlitePadStore.load``), rebuild the document with pycrdt, and write the new
    snapshot and delete the folded rows with ``SqlitePadStore.write(..., [Compaction(...)])`` --
    exactly a room's own compaction, which also moves the pad's ``updated_at``. A pad whose rows
    fail a checksum or do not apply is left untouched and reported in ``failed``.

    Normally run with the server stopped. While one runs it is still safe: rows it appends after
    our read have higher sequence numbers and stay; a newer snapshot it writes is never replaced.
    """
    path = _require_db(settings)
    result = CompactResult()
    async with open_db(path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms) as (w, r):
        store = SqlitePadStore(w, r)
        async with r.execute(
            "SELECT id FROM pads WHERE deleted_at IS NULL "
            "AND EXISTS (SELECT 1 FROM pad_updates u WHERE u.pad_id = pads.id) ORDER BY id"
        ) as cur:
            ids = [str(row[0]) for row in await cur.fetchall()]
        for done, pad_id in enumerate(ids, 1):
            try:
                stored = await store.load(pad_id)
                if stored.updates:
                    snapshot = await asyncio.to_thread(_rebuild, pad_id, stored.snapshot, stored.updates)
                    compaction = Compaction(pad_id, stored.last_seq, snapshot)
                    await _uninterrupted(store.write([], [compaction]))
                    result.compacted += 1
                    result.rows_folded += len(stored.updates)
            except PadCorrupt as exc:
                result.failed[pad_id] = str(exc)
                log.error("%s; left untouched", exc)
            if progress is not None:
                progress(done, len(ids))
    return result


# -- export and import from the command line ------------------------------------------------------


async def export_pad(settings: Settings, pad_id: str, fmt: str) -> tuple[bytes, str]:
    """A stored pad in an export format (read from the database; safe while a server runs): the
    bytes, and a file name."""
    if fmt not in EXPORT_FORMATS:
        raise MaintenanceError(f"{fmt!r} is not an export format: use one of {', '.join(EXPORT_FORMATS)}.")
    path = _require_db(settings)
    async with open_db(path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms) as (w, r):
        store = SqlitePadStore(w, r)
        record = await store.get_pad(pad_id)
        if record is None or record.deleted_at is not None:
            raise MaintenanceError(f"No live pad has the id {pad_id}.")
        stored = await store.load(pad_id)
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(await asyncio.to_thread(_rebuild, pad_id, stored.snapshot, stored.updates))
    title = record.title or pad_id
    return export_doc(doc, fmt, title), f"{filename(title)}.{EXPORT_FORMATS[fmt][1]}"


async def import_pad(
    settings: Settings, data: bytes, fmt: str, title: str, owner: str | None, visibility: str
) -> str:
    """A new pad from a file, with the history it carries (an Etherpad file's key revisions),
    written straight to the database in one transaction (a new pad has no live room, so this is
    safe while a server runs); its id."""
    if fmt not in IMPORT_FORMATS:
        raise MaintenanceError(f"{fmt!r} is not an import format: use one of {', '.join(IMPORT_FORMATS)}.")
    if visibility not in ("public", "private"):
        raise MaintenanceError("Imported pads are public or private (set a password in the app).")
    imported = await asyncio.to_thread(import_doc, fmt, data, settings.max_import_bytes)
    path = settings.db_path
    async with open_db(path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms) as (w, r):
        owner_id = None
        if owner is not None:
            async with r.execute("SELECT id FROM users WHERE username = ?", (owner.strip().lower(),)) as cur:
                row = await cur.fetchone()
            if row is None:
                raise MaintenanceError(f"No account is named {owner!r}.")
            owner_id = int(row[0])
        elif visibility == "private":
            raise MaintenanceError("A private pad needs an owner (--owner USER).")
        store = SqlitePadStore(w, r)
        pad_id = new_id()
        while pad_id.startswith("-"):  # printed for the shell: `crdtpad export -x...` reads as an option
            pad_id = new_id()
        # One transaction: the pad, its text and the history the file carries, or nothing.
        if not await store.create_filled_pad(
            pad_id,
            title[:200],
            imported.update,
            imported.revisions(1),
            visibility=visibility,
            owner_id=owner_id,
        ):
            raise MaintenanceError(f"A pad with the id {pad_id} already exists.")
    return pad_id
