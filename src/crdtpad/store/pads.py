"""The pad store: pad records, their update log and snapshots, in SQLite."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite

from crdtpad.db import transaction
from crdtpad.errors import PadCorrupt
from crdtpad.store.base import SqliteStore


def now_ms() -> int:
    """Wall-clock milliseconds, for display fields only (ordering uses sequence numbers)."""
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class PadRecord:
    """One row of ``pads``."""

    id: str
    title: str
    visibility: str
    owner_id: int | None
    folder_id: str | None
    created_at: int
    updated_at: int
    deleted_at: int | None
    chat_enabled: bool = True


def pad_record(row: Sequence[Any]) -> PadRecord:
    """A PadRecord from a row of ``_PAD_COLUMNS`` then ``chat_enabled``."""
    return PadRecord(
        str(row[0]), str(row[1]), str(row[2]), row[3], row[4], int(row[5]), int(row[6]), row[7], bool(row[8])
    )


@dataclass(frozen=True, slots=True)
class StoredDoc:
    """A pad's persisted Yjs data: a snapshot (maybe none) and the log rows after it, in order."""

    snapshot: bytes | None
    upto_seq: int
    updates: tuple[tuple[int, bytes], ...]
    chat_enabled: bool = True  # the pad's chat takes messages (pads.chat_enabled)

    @property
    def last_seq(self) -> int:
        """The highest sequence number stored for the pad."""
        return self.updates[-1][0] if self.updates else self.upto_seq

    @property
    def log_bytes(self) -> int:
        """Bytes held in log rows not yet folded into the snapshot."""
        return sum(len(d) for _, d in self.updates)


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """A revision of a pad, without its data."""

    rev: int
    seq: int
    name: str | None
    author_id: int | None
    created_at: int
    size: int


@dataclass(frozen=True, slots=True)
class NewRevision:
    """A revision to store: the whole document at log position ``seq``, a name if it is kept
    for good, and when it was made (unix ms; None: now)."""

    seq: int
    data: bytes
    name: str | None = None
    created_at: int | None = None


@dataclass(frozen=True, slots=True)
class Append:
    """One update to add to a pad's log."""

    pad_id: str
    seq: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Compaction:
    """Replace a pad's snapshot with ``snapshot`` and drop the log rows it folds in."""

    pad_id: str
    upto_seq: int
    snapshot: bytes


class PadStore(Protocol):
    """The narrow storage seam rooms and the API use."""

    async def create_pad(
        self,
        pad_id: str,
        title: str,
        visibility: str = "public",
        *,
        owner_id: int | None = None,
        folder_id: str | None = None,
        password_hash: str | None = None,
    ) -> PadRecord: ...
    async def get_pad(self, pad_id: str) -> PadRecord | None: ...
    async def ensure_pad(self, pad_id: str, title: str) -> PadRecord: ...
    async def load(self, pad_id: str) -> StoredDoc: ...
    async def write(self, appends: Sequence[Append], compactions: Sequence[Compaction]) -> frozenset[str]: ...
    async def delete_pad(self, pad_id: str) -> None: ...


_PAD_COLUMNS = "id, title, visibility, owner_id, folder_id, created_at, updated_at, deleted_at"


class SqlitePadStore(SqliteStore):
    """PadStore on SQLite."""

    async def create_pad(
        self,
        pad_id: str,
        title: str,
        visibility: str = "public",
        *,
        owner_id: int | None = None,
        folder_id: str | None = None,
        password_hash: str | None = None,
    ) -> PadRecord:
        """Insert a new pad; the id must be unused."""
        ts = now_ms()
        async with self._write_lock:
            await self._w.execute(
                f"INSERT INTO pads ({_PAD_COLUMNS}, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (pad_id, title, visibility, owner_id, folder_id, ts, ts, password_hash),
            )
        return PadRecord(pad_id, title, visibility, owner_id, folder_id, ts, ts, None)

    async def create_filled_pad(
        self,
        pad_id: str,
        title: str,
        update: bytes,
        revisions: Sequence[NewRevision] = (),
        *,
        visibility: str = "public",
        owner_id: int | None = None,
    ) -> bool:
        """Create a pad holding ``update`` (log position 1) and ``revisions`` (numbered 1, 2, ...
        in order) in one transaction (an import or a migration: a crash leaves the pad whole or
        absent); False if the id is taken."""
        ts = now_ms()
        async with self._write_lock:
            w = self._w
            async with transaction(w):
                async with w.execute(
                    f"INSERT OR IGNORE INTO pads ({_PAD_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?, ?, NULL)",
                    (pad_id, title, visibility, owner_id, ts, ts),
                ) as cur:
                    if cur.rowcount == 0:
                        return False
                await w.execute(
                    "INSERT INTO pad_updates (pad_id, seq, data, crc) VALUES (?, 1, ?, ?)",
                    (pad_id, update, zlib.crc32(update)),
                )
                await self._insert_revisions(pad_id, revisions)
        return True

    async def get_pad(self, pad_id: str) -> PadRecord | None:
        """The pad record, tombstones included."""
        row = await self._fetchone(f"SELECT {_PAD_COLUMNS}, chat_enabled FROM pads WHERE id = ?", (pad_id,))
        return pad_record(row) if row else None

    async def ensure_pad(self, pad_id: str, title: str) -> PadRecord:
        """Create a public pad unless a pad (or tombstone) with this id exists; return the record."""
        ts = now_ms()
        async with self._write_lock:
            await self._w.execute(
                f"INSERT OR IGNORE INTO pads ({_PAD_COLUMNS}) "
                "VALUES (?, ?, 'public', NULL, NULL, ?, ?, NULL)",
                (pad_id, title, ts, ts),
            )
        record = await self.get_pad(pad_id)
        assert record is not None
        return record

    async def load(self, pad_id: str) -> StoredDoc:
        """Read the snapshot and the log after it in one read transaction, checking every checksum."""
        async with self._read_lock:
            await self._r.execute("BEGIN")
            try:
                async with self._r.execute(
                    "SELECT upto_seq, data, crc FROM pad_snapshots WHERE pad_id = ?", (pad_id,)
                ) as cur:
                    snap = await cur.fetchone()
                upto = int(snap[0]) if snap else 0
                async with self._r.execute(
                    "SELECT seq, data, crc FROM pad_updates WHERE pad_id = ? AND seq > ? ORDER BY seq",
                    (pad_id, upto),
                ) as cur:
                    rows = await cur.fetchall()
                async with self._r.execute("SELECT chat_enabled FROM pads WHERE id = ?", (pad_id,)) as cur:
                    flags = await cur.fetchone()
            finally:
                await self._r.execute("COMMIT")
        snapshot: bytes | None = None
        if snap:
            snapshot = bytes(snap[1])
            if zlib.crc32(snapshot) != snap[2]:
                raise PadCorrupt(f"Pad {pad_id}: the snapshot up to seq {upto} fails its checksum.")
        updates = []
        for seq, data, crc in rows:
            blob = bytes(data)
            if zlib.crc32(blob) != crc:
                raise PadCorrupt(f"Pad {pad_id}: log row seq {seq} fails its checksum.")
            updates.append((int(seq), blob))
        return StoredDoc(snapshot, upto, tuple(updates), chat_enabled=flags is None or bool(flags[0]))

    async def write(self, appends: Sequence[Append], compactions: Sequence[Compaction]) -> frozenset[str]:
        """Append log rows and apply compactions, all in one transaction. Writes for a pad that
        is a tombstone (erased behind the server's back, e.g. by ``crdtpad admin purge``) are
        dropped, never stored: the ids of those pads."""
        async with self._write_lock:
            return await self._write(appends, compactions)

    async def _write(self, appends: Sequence[Append], compactions: Sequence[Compaction]) -> frozenset[str]:
        w = self._w
        async with transaction(w):
            gone: frozenset[str] = frozenset()
            if compactions:  # rare: one look for the tombstones among the batch's pads
                gone = await self._tombstones(
                    w, {a.pad_id for a in appends} | {c.pad_id for c in compactions}
                )
                appends = [a for a in appends if a.pad_id not in gone]
                compactions = [c for c in compactions if c.pad_id not in gone]
            if appends:
                # Every commit: the tombstone check rides in the insert (no extra round trip); only
                # a short count says to look which pads were erased.
                cur = await w.executemany(
                    "INSERT INTO pad_updates (pad_id, seq, data, crc) SELECT ?1, ?2, ?3, ?4 "
                    "WHERE NOT EXISTS (SELECT 1 FROM pads WHERE id = ?1 AND deleted_at IS NOT NULL)",
                    [(a.pad_id, a.seq, a.data, zlib.crc32(a.data)) for a in appends],
                )
                if cur.rowcount != len(appends):
                    gone |= await self._tombstones(w, {a.pad_id for a in appends})
            for c in compactions:
                # A later compaction never goes back to an older snapshot.
                await w.execute(
                    "INSERT INTO pad_snapshots (pad_id, upto_seq, data, crc, created_at) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(pad_id) DO UPDATE SET upto_seq = excluded.upto_seq, data = excluded.data, "
                    "crc = excluded.crc, created_at = excluded.created_at "
                    "WHERE excluded.upto_seq > pad_snapshots.upto_seq",
                    (c.pad_id, c.upto_seq, c.snapshot, zlib.crc32(c.snapshot), now_ms()),
                )
                # updated_at moves here, not on every append: one statement less per commit.
                await w.execute("UPDATE pads SET updated_at = ? WHERE id = ?", (now_ms(), c.pad_id))
                await w.execute(
                    "DELETE FROM pad_updates WHERE pad_id = ? AND seq <= "
                    "(SELECT upto_seq FROM pad_snapshots WHERE pad_id = ?)",
                    (c.pad_id, c.pad_id),
                )

        return gone

    @staticmethod
    async def _tombstones(conn: aiosqlite.Connection, pad_ids: set[str]) -> frozenset[str]:
        """Which of ``pad_ids`` are erased pads, read on ``conn``."""
        if not pad_ids:
            return frozenset()
        ids = sorted(pad_ids)
        gone: set[str] = set()
        for i in range(0, len(ids), 500):  # well under SQLite's bound on parameters
            chunk = ids[i : i + 500]
            async with conn.execute(
                f"SELECT id FROM pads WHERE deleted_at IS NOT NULL AND id IN ({','.join('?' * len(chunk))})",
                chunk,
            ) as cur:
                gone.update(str(row[0]) for row in await cur.fetchall())
        return frozenset(gone)

    async def tombstones(self, pad_ids: set[str]) -> frozenset[str]:
        """Which of ``pad_ids`` are erased pads."""
        async with self._read_lock:
            return await self._tombstones(self._r, pad_ids)

    async def delete_pad(self, pad_id: str) -> None:
        """Erase the pad's data, title, members, links and password; leave a tombstone so its id
        answers "deleted" and a stale client cannot bring it back."""
        async with self._write_lock:
            await self._delete_pad(pad_id)

    async def _delete_pad(self, pad_id: str) -> None:
        w = self._w
        async with transaction(w):
            await w.execute("DELETE FROM pad_updates WHERE pad_id = ?", (pad_id,))
            await w.execute("DELETE FROM pad_snapshots WHERE pad_id = ?", (pad_id,))
            for table in ("pad_members", "share_links", "pad_unlocks", "pad_revisions", "pad_tokens"):
                await w.execute(f"DELETE FROM {table} WHERE pad_id = ?", (pad_id,))
            await w.execute(
                "UPDATE pads SET deleted_at = ?, title = '', password_hash = NULL, folder_id = NULL "
                "WHERE id = ?",
                (now_ms(), pad_id),
            )

    # -- revisions -------------------------------------------------------------------------------

    async def add_revision(
        self, pad_id: str, seq: int, data: bytes, name: str | None, author_id: int | None, keep: int
    ) -> int:
        """Store a revision (the whole document at ``seq``); drop the oldest unnamed ones beyond
        ``keep``. Its number (0: the pad was deleted, nothing stored)."""
        revs = await self.add_revisions(pad_id, [NewRevision(seq, data, name)], keep, author_id=author_id)
        return revs[0] if revs else 0

    async def add_revisions(
        self, pad_id: str, revisions: Sequence[NewRevision], keep: int, *, author_id: int | None = None
    ) -> list[int]:
        """Store revisions in their order, in one transaction (one, or an imported history); drop
        the oldest unnamed ones beyond ``keep``. Their numbers (none: the pad was deleted)."""
        async with self._write_lock:
            async with transaction(self._w):
                return await self._add_revisions(pad_id, revisions, keep, author_id)

    async def add_revisions_of_pads(
        self, revisions: Sequence[tuple[str, NewRevision]], keep: int
    ) -> list[int]:
        """One revision for each of several pads, all in one transaction (the rooms' idle and
        unload revisions of one janitor tick: one commit, not one per pad). Their numbers, 0 for
        a pad deleted meanwhile."""
        numbers = []
        async with self._write_lock:
            async with transaction(self._w):
                for pad_id, revision in revisions:
                    revs = await self._add_revisions(pad_id, [revision], keep, None)
                    numbers.append(revs[0] if revs else 0)
        return numbers

    async def _add_revisions(
        self, pad_id: str, revisions: Sequence[NewRevision], keep: int, author_id: int | None
    ) -> list[int]:
        """``add_revisions`` inside the caller's transaction."""
        w = self._w
        async with w.execute("SELECT deleted_at FROM pads WHERE id = ?", (pad_id,)) as cur:
            live = await cur.fetchone()
        if live is None or live[0] is not None:
            return []  # deleted meanwhile: a revision would outlive its pad
        revs = await self._insert_revisions(pad_id, revisions, author_id)
        await w.execute(
            "DELETE FROM pad_revisions WHERE pad_id = ?1 AND name IS NULL AND rev NOT IN "
            "(SELECT rev FROM pad_revisions WHERE pad_id = ?1 AND name IS NULL "
            "ORDER BY rev DESC LIMIT ?2)",
            (pad_id, keep),
        )
        return revs

    async def _insert_revisions(
        self, pad_id: str, revisions: Sequence[NewRevision], author_id: int | None = None
    ) -> list[int]:
        """Insert revisions numbered after the pad's last, inside the caller's transaction."""
        if not revisions:
            return []
        async with self._w.execute(
            "SELECT coalesce(max(rev), 0) + 1 FROM pad_revisions WHERE pad_id = ?", (pad_id,)
        ) as cur:
            row = await cur.fetchone()
        first = int(row[0]) if row else 1
        ts = now_ms()
        rows = []
        for i, r in enumerate(revisions):
            at = ts if r.created_at is None else r.created_at
            rows.append((pad_id, first + i, r.seq, r.name, author_id, at, r.data, zlib.crc32(r.data)))
        await self._w.executemany(
            "INSERT INTO pad_revisions (pad_id, rev, seq, name, author_id, created_at, data, crc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return [first + i for i in range(len(revisions))]

    async def rewrite_revisions(self, pad_id: str, rewrite: Callable[[bytes], bytes | None]) -> int:
        """Replace each revision of the pad by ``rewrite(data)`` (None: keep it as it is); how
        many changed. ``rewrite`` runs in a worker thread, one revision at a time, with no lock
        held; each replacement is written only if the revision is still the one read. A
        revision's number, seq, name and date stay."""
        async with self._write_lock:
            pass  # a barrier: revisions already waiting to be stored (asyncio.Lock is FIFO) are in
        async with (
            self._read_lock,
            self._r.execute(
                "SELECT rev, crc FROM pad_revisions WHERE pad_id = ? ORDER BY rev", (pad_id,)
            ) as cur,
        ):
            listed = [(int(rev), int(crc)) for rev, crc in await cur.fetchall()]
        changed = []
        for rev, crc in listed:
            row = await self._fetchone(
                "SELECT data FROM pad_revisions WHERE pad_id = ? AND rev = ? AND crc = ?", (pad_id, rev, crc)
            )
            if row is None:
                continue  # dropped by retention meanwhile
            new = await asyncio.to_thread(rewrite, bytes(row[0]))
            if new is not None:
                changed.append((new, zlib.crc32(new), pad_id, rev, crc))
        if not changed:
            return 0
        async with self._write_lock:
            async with transaction(self._w):
                await self._w.executemany(
                    "UPDATE pad_revisions SET data = ?, crc = ? WHERE pad_id = ? AND rev = ? AND crc = ?",
                    changed,
                )
        return len(changed)

    async def revisions(self, pad_id: str) -> list[RevisionInfo]:
        """A pad's revisions, oldest first (without their data)."""
        async with (
            self._read_lock,
            self._r.execute(
                "SELECT rev, seq, name, author_id, created_at, length(data) FROM pad_revisions "
                "WHERE pad_id = ? ORDER BY rev",
                (pad_id,),
            ) as cur,
        ):
            return [RevisionInfo(*row) for row in await cur.fetchall()]

    async def revision(self, pad_id: str, rev: int) -> bytes | None:
        """The document at a revision; PadCorrupt if its checksum fails."""
        row = await self._fetchone(
            "SELECT data, crc FROM pad_revisions WHERE pad_id = ? AND rev = ?", (pad_id, rev)
        )
        if row is None:
            return None
        data, crc = bytes(row[0]), int(row[1])
        if zlib.crc32(data) != crc:
            raise PadCorrupt(f"Pad {pad_id}: revision {rev} fails its checksum.")
        return data

    async def latest_revision_seq(self, pad_id: str) -> int:
        """The log position of the pad's newest revision (0: none)."""
        row = await self._fetchone(
            "SELECT coalesce(max(seq), 0) FROM pad_revisions WHERE pad_id = ?", (pad_id,)
        )
        return int(row[0]) if row else 0
