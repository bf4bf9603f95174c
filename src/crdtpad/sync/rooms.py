"""Rooms: one live Doc per pad; load, validate, apply, persist, then fan out; unload when idle.

The data path for an update: validate (pure, linear) -> structure check (per-room nesting and
missing dependencies) -> apply to the Doc -> queue the effective update for the batch writer ->
once committed, merge what the room committed together and send it to every client, the
sender included (its echo is the "saved" signal).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pycrdt

from crdtpad.errors import (
    AccessChanged,
    CloseCode,
    CrdtpadError,
    InvalidPadId,
    PadCorrupt,
    PadDeleted,
    PadNotFound,
    StoreUnavailable,
    UpdateRejected,
)
from crdtpad.metrics import Metrics
from crdtpad.store.pads import Append, Compaction, NewRevision, SqlitePadStore, StoredDoc
from crdtpad.sync import protocol as p
from crdtpad.sync.awareness import RoomAwareness
from crdtpad.sync.chat import ChatRules
from crdtpad.sync.connection import Connection
from crdtpad.sync.structure import Structure
from crdtpad.sync.validate import UpdateLimits, validate_update

log = logging.getLogger(__name__)

PAD_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
EMPTY_UPDATE = b"\x00\x00"

_NOT_OURS = (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit)


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """Per-room bounds and timings."""

    update: UpdateLimits = field(default_factory=UpdateLimits)
    max_type_depth: int = 64
    max_pending_structs: int = 1000
    max_awareness_bytes: int = 64 * 1024
    max_clients: int = 1000
    unload_grace_s: float = 5.0
    compact_after_updates: int = 500
    compact_after_bytes: int = 1024 * 1024
    compact_interval_s: float = 10.0
    max_batch_updates: int = 2000
    open_pads: bool = False
    revision_idle_s: float = 30.0
    revisions_kept: int = 200


class RoomEvents(Protocol):
    """What rooms tell listeners (webhooks): each call only records the event and returns at once,
    and never raises."""

    def pad_created(
        self, pad_id: str, *, owner: str | None = None, title: str | None = None, visibility: str = "public"
    ) -> None: ...

    def pad_deleted(self, pad_id: str) -> None: ...

    def pad_changed(self, room: Room) -> None: ...

    def joined(self, room: Room, conn: Connection) -> None: ...

    def left(self, room: Room, conn: Connection) -> None: ...


class NoEvents:
    """RoomEvents nobody listens to: the default, for tools and tests that build Rooms."""

    def pad_created(
        self, pad_id: str, *, owner: str | None = None, title: str | None = None, visibility: str = "public"
    ) -> None:
        """Nothing."""

    def pad_deleted(self, pad_id: str) -> None:
        """Nothing."""

    def pad_changed(self, room: Room) -> None:
        """Nothing."""

    def joined(self, room: Room, conn: Connection) -> None:
        """Nothing."""

    def left(self, room: Room, conn: Connection) -> None:
        """Nothing."""


class Room:
    """One loaded pad. All its methods run on the event loop, so no locks are needed."""

    # Slots: memory per loaded pad is a product target (see benchmarks/).
    __slots__ = (
        "_effective",
        "_log_sizes",
        "_progress",
        "_rooms",
        "_structure",
        "_subscription",
        "_unsent",
        "applied_seq",
        "awareness",
        "chat",
        "committed_seq",
        "conns",
        "deleted",
        "doc",
        "edited_at",
        "empty_since",
        "failed",
        "last_edit",
        "limits",
        "log_bytes",
        "pad_id",
        "revision_seq",
        "scrub_due",
        "snapshot_seq",
    )

    def __init__(self, pad_id: str, rooms: Rooms) -> None:
        self.pad_id = pad_id
        self._rooms = rooms
        self.limits = rooms.limits
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self._structure: Structure | None = None
        self.awareness = RoomAwareness(self.limits.max_awareness_bytes)
        self.chat = ChatRules(self.doc)
        self.conns: set[Connection] = set()
        self.failed = False
        self.deleted = False
        self.applied_seq = 0
        self.committed_seq = 0
        self.log_bytes = 0
        self.empty_since: float | None = time.monotonic()
        self.snapshot_seq = 0
        self.revision_seq = 0  # the log position of the newest stored revision
        self.scrub_due = False  # removed content (refused chat) waits in the log for a compaction
        self.last_edit = 0.0  # monotonic time of the last applied change
        self.edited_at: int | None = None  # wall-clock ms of the last change, for display
        self._unsent: deque[tuple[int, bytes]] = deque()  # applied, not yet committed, in seq order
        self._log_sizes: list[tuple[int, int]] = []
        self._progress: asyncio.Event | None = None  # made only when someone waits
        self._effective: list[bytes] = []
        self._subscription: pycrdt.Subscription | None = None

    def __repr__(self) -> str:
        return f"<Room {self.pad_id} conns={len(self.conns)} seq={self.applied_seq}>"

    # -- loading -----------------------------------------------------------------------------

    def load(self, stored: StoredDoc) -> None:
        """Rebuild the Doc from the snapshot and the log; any bad row fails the load loudly.

        Rows passed their checksum in the store, and every one was validated on its way in (log
        rows are what Yrs integrated from validated updates, snapshots are Yrs' own encoding),
        so they go straight to Yrs; one that it refuses makes the pad refuse to load.
        """
        rows: list[tuple[str, bytes]] = []
        if stored.snapshot is not None:
            rows.append((f"snapshot up to seq {stored.upto_seq}", stored.snapshot))
        rows.extend((f"log row seq {seq}", data) for seq, data in stored.updates)
        for what, data in rows:
            try:
                self.doc.apply_update(data)
            except BaseException as exc:
                if isinstance(exc, _NOT_OURS):
                    raise
                raise PadCorrupt(f"Pad {self.pad_id}: the {what} does not apply: {exc}") from None
        self.applied_seq = self.committed_seq = stored.last_seq
        self.chat.enabled = stored.chat_enabled
        self.snapshot_seq = stored.upto_seq
        self._log_sizes = [(seq, len(data)) for seq, data in stored.updates]
        self.log_bytes = stored.log_bytes
        self._subscription = self.doc.observe(self._on_transaction)

    @property
    def log_count(self) -> int:
        """Log rows not yet folded into the snapshot."""
        return len(self._log_sizes)

    @property
    def structure(self) -> Structure:
        """The room's structure tracker, built on the first edit: a pad that is only read
        (a cold load to show it) never pays for walking its whole history."""
        if self._structure is None:
            structure = Structure(
                max_depth=self.limits.max_type_depth, max_pending=self.limits.max_pending_structs
            )
            try:
                structure.absorb(validate_update(self.doc.get_update(), self._stored_limits()))
            except UpdateRejected as exc:
                raise PadCorrupt(f"Pad {self.pad_id}: its document does not validate: {exc}") from None
            self._structure = structure
        return self._structure

    def _stored_limits(self) -> UpdateLimits:
        """Limits for data already admitted once: only the safety bounds, not the policy caps."""
        u = self.limits.update
        return replace(
            u, max_bytes=1 << 31, max_clients=10_000_000, max_structs=1 << 31, max_delete_ranges=1 << 31
        )

    def _on_transaction(self, event: pycrdt.TransactionEvent) -> None:
        update = event.update
        if update != EMPTY_UPDATE:
            self._effective.append(update)

    # -- membership --------------------------------------------------------------------------

    async def join(self, conn: Connection) -> None:
        """Add a client and start the handshake: our SyncStep1 and the current awareness.

        Our SyncStep1 carries only committed state, so a client whose edit was stored but whose
        echo got lost learns from it, on reconnecting, that the edit is saved.
        """
        self._check_alive()
        if len(self.conns) >= self.limits.max_clients:
            raise _RoomFull(f"Pad {self.pad_id} already has {self.limits.max_clients} clients.")
        self.conns.add(conn)
        self.empty_since = None
        self._rooms.events.joined(self, conn)
        await self.wait_committed(self.applied_seq)
        self.send(conn, p.sync_step1(self.doc.get_state()))
        states = self.awareness.current()
        if states:
            self.send(conn, p.awareness_frame(states))

    def _check_alive(self) -> None:
        if self.deleted:
            raise PadDeleted(f"Pad {self.pad_id} was deleted.")
        if self.failed:
            raise StoreUnavailable(f"Pad {self.pad_id} failed; reconnect.")

    def leave(self, conn: Connection) -> None:
        """Remove a client, tell the others its awareness states are gone."""
        if conn not in self.conns:
            if not self.conns:
                self.empty_since = time.monotonic()
            return
        self.conns.discard(conn)
        self._rooms.events.left(self, conn)
        removed = self.awareness.release(conn)
        if removed:
            self.broadcast(p.awareness_frame(removed))
        if not self.conns:
            self.empty_since = time.monotonic()

    def send(self, conn: Connection, frame: bytes) -> None:
        """Queue a frame for one client."""
        conn.send(frame)
        self._rooms.metrics.bytes_out.inc(len(frame))

    def broadcast(self, frame: bytes) -> None:
        """Queue a frame for every client."""
        for c in list(self.conns):
            c.send(frame)
        self._rooms.metrics.bytes_out.inc(len(frame) * len(self.conns))

    # -- messages ----------------------------------------------------------------------------

    def turned_away(self, conn: Connection) -> bool:
        """Whether the room failed or was deleted; if so ``conn`` is closed with the reason."""
        if not self.failed:
            return False
        if self.deleted:
            conn.close(CloseCode.PAD_DELETED, "the pad was deleted")
        else:
            conn.close(CloseCode.INTERNAL_ERROR, "pad failed; reconnect")
        return True

    async def handle(self, conn: Connection, msg: p.Message) -> None:
        """Act on one decoded message from ``conn``."""
        if self.turned_away(conn):
            return
        if isinstance(msg, p.SyncUpdate | p.SyncStep2):
            await self.ingest(conn, msg.update, incremental=isinstance(msg, p.SyncUpdate))
        elif isinstance(msg, p.SyncStep1):
            await self._answer_step1(conn, msg.state_vector)
        elif isinstance(msg, p.AwarenessUpdate):
            accepted = self.awareness.apply(conn, msg.entries)
            if accepted:
                self.broadcast(p.awareness_frame(accepted))
        elif isinstance(msg, p.QueryAwareness):
            self.send(conn, p.awareness_frame(self.awareness.current()))

    async def _answer_step1(self, conn: Connection, state_vector: bytes) -> None:
        diff = self.doc.get_update(state_vector)
        # Never show a client what is not yet stored.
        await self.wait_committed(self.applied_seq)
        self.send(conn, p.sync_step2(diff))

    async def wait_committed(self, seq: int) -> None:
        """Return once every update up to ``seq`` is committed (or the room failed)."""
        while self.committed_seq < seq and not self.failed:
            if self._progress is None:
                self._progress = asyncio.Event()
            await self._progress.wait()
        if self.failed:
            raise StoreUnavailable(f"Pad {self.pad_id} failed before its updates were stored.")

    async def ingest(
        self,
        conn: Connection | None,
        update: bytes,
        *,
        incremental: bool,
        admit: Callable[[], bool] | None = None,
    ) -> None:
        """Validate, apply and queue one update from ``conn`` (None: the server's own edit, e.g. over
        HTTP); raise UpdateRejected if refused. ``admit``, called right before the update is applied
        (nothing awaits in between), may still refuse it (AccessChanged)."""
        if conn is not None and conn.read_only:
            return  # a viewer's edits are never applied, stored or relayed
        await self._rooms.writer.wait_for_space()
        if conn is not None:
            if conn.held:
                await conn.released()  # an access change is deciding whether it may still edit
            if conn.read_only or conn.close_code is not None:
                return
        if admit is not None and not admit():
            raise AccessChanged(f"Access to pad {self.pad_id} changed while the edit waited.")
        self._check_alive()
        # From here to the end nothing awaits: validate, apply and queue happen as one step.
        shape = validate_update(update, self.limits.update)
        admission = self.structure.admit(shape, incremental=incremental)
        self._effective = []  # only what this update's transaction integrates
        rejected: UpdateRejected | None = None
        if conn is not None:
            self.chat.watch()  # what it adds to the chat is checked once it is applied
        try:
            self.doc.apply_update(update)
        except (ValueError, RuntimeError) as exc:
            # Yrs refused it at integration (e.g. a parent that is not a shared type). Whatever it
            # did integrate before refusing is in _effective and is stored like any other change.
            rejected = UpdateRejected(f"The update does not apply to pad {self.pad_id}: {exc}", "integration")
        except BaseException as exc:
            if isinstance(exc, _NOT_OURS):
                raise
            # A Rust panic (PanicException is a BaseException) leaves the Doc in an unknown state.
            self.fail("panic", f"Yrs panicked applying an update: {exc!r}")
            raise UpdateRejected("The update crashed the CRDT engine.", "panic") from None
        removed, refusal = self.chat.police(conn.author_id) if conn is not None else (0, None)
        effective, self._effective = self._effective, []
        if rejected is None:
            self.structure.commit(admission)
        else:
            # Keep the tracker equal to what Yrs holds: take in exactly what it integrated.
            for change in effective:
                self.structure.absorb(validate_update(change, self._stored_limits()))
        for change in effective:
            self._persist(change)
        if removed:
            self.scrub_due = True  # the refused text is in the log row just written
        self._rooms.metrics.updates_applied.inc()
        if rejected is not None:
            raise rejected
        if refusal is not None:
            raise UpdateRejected(f"Chat message refused: {refusal}.", "chat")

    def _persist(self, change: bytes) -> None:
        self.last_edit = time.monotonic()
        self.edited_at = int(time.time() * 1000)
        self.applied_seq += 1
        seq = self.applied_seq
        self._unsent.append((seq, change))
        self._log_sizes.append((seq, len(change)))
        self.log_bytes += len(change)
        self._rooms.writer.submit(Append(self.pad_id, seq, change), self)

    def on_committed(self, seq: int) -> None:
        """The writer stored everything up to ``seq``: send it to every client as one update."""
        if self.failed or seq <= self.committed_seq:
            self._wake()
            return
        self.committed_seq = seq
        ready = []
        while self._unsent and self._unsent[0][0] <= seq:  # commits always cover a prefix
            ready.append(self._unsent.popleft()[1])
        if ready:
            merged = ready[0] if len(ready) == 1 else pycrdt.merge_updates(*ready)
            self.broadcast(p.sync_update(merged))
            self._rooms.events.pad_changed(self)
        self._wake()

    def on_compacted(self, upto_seq: int) -> None:
        """The writer stored a snapshot up to ``upto_seq``: the log before it is gone."""
        self.snapshot_seq = max(self.snapshot_seq, upto_seq)
        self._log_sizes = [(s, n) for s, n in self._log_sizes if s > self.snapshot_seq]
        self.log_bytes = sum(n for _, n in self._log_sizes)

    def _wake(self) -> None:
        if self._progress is not None:
            self._progress.set()
            self._progress = None

    def fail(self, reason: str, detail: str) -> None:
        """Drop the room: close every client with 1011 so they reconnect to a fresh load."""
        if self.failed:
            return
        self.failed = True
        log.error("Pad %s failed (%s): %s", self.pad_id, reason, detail)
        self._rooms.metrics.rooms_failed.labels(reason).inc()
        for c in list(self.conns):
            c.close(CloseCode.INTERNAL_ERROR, "pad failed; reconnect")
        self._rooms.forget(self)
        self._wake()

    def erased(self) -> None:
        """The pad was erased behind the server's back (``crdtpad admin purge`` while serving):
        close every client with 4410 and drop the room, as deleting it over the API does."""
        if self.deleted:
            return
        log.warning("Pad %s was erased while loaded: closing its clients", self.pad_id)
        self.cut_off()
        self._rooms.events.pad_deleted(self.pad_id)

    def cut_off(self) -> None:
        """The pad is deleted: close every client with 4410, drop the room, wake its waiters."""
        self.deleted = self.failed = True  # the writer drops what it still holds for it
        self.close_all(CloseCode.PAD_DELETED, "the pad was deleted")
        self._rooms.forget(self)
        self._wake()

    def snapshot(self) -> Compaction:
        """A compaction of everything applied so far."""
        return Compaction(self.pad_id, self.applied_seq, self.doc.get_update())

    def close_all(self, code: int, reason: str) -> None:
        """Close every client with ``code``."""
        for c in list(self.conns):
            c.close(code, reason)


class _RoomFull(CrdtpadError):
    close_code = CloseCode.TRY_AGAIN_LATER


class BatchWriter:
    """Commits log appends and compactions in batches: one transaction per drain of the queue.

    ``submit`` is synchronous, so an update is queued in the same step that gives it its seq and
    the queue is strictly in seq order per pad: a commit never covers a later seq without the
    earlier ones. Backpressure happens before an update is taken at all (``wait_for_space``).
    """

    def __init__(self, store: SqlitePadStore, metrics: Metrics, max_batch: int) -> None:
        self.store = store
        self.metrics = metrics
        self.max_batch = max_batch
        self.limit = max_batch * 4
        self._pending: deque[tuple[Append | Compaction, Room | None]] = deque()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._outstanding: dict[str, int] = {}  # pad id -> writes queued or in flight
        self._settled: dict[str, asyncio.Event] = {}

    async def wait_for_space(self) -> None:
        """Wait while the queue is full: readers stop taking updates instead of buffering them."""
        while len(self._pending) >= self.limit:
            self._space.clear()
            await self._space.wait()

    def submit(self, op: Append | Compaction, room: Room | None) -> None:
        """Queue a write, in order."""
        self._pending.append((op, room))
        self._outstanding[op.pad_id] = self._outstanding.get(op.pad_id, 0) + 1
        self._idle.clear()
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything submitted so far is written."""
        await self._idle.wait()

    async def settled(self, pad_id: str) -> None:
        """Wait until no write of ``pad_id`` is queued or in flight (before loading it afresh)."""
        while self._outstanding.get(pad_id):
            event = self._settled.setdefault(pad_id, asyncio.Event())
            await event.wait()

    async def run(self) -> None:
        """The writer loop; runs until cancelled."""
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._pending.popleft() for _ in range(min(self.max_batch, len(self._pending)))]
            self._space.set()
            try:
                await self._write(batch)
            except Exception as exc:
                # A bug, not the store (its errors fail the rooms in _write): the writer must go
                # on for every other pad; the rooms of this batch reconnect to a fresh load.
                log.exception("The writer failed on a batch of %d writes", len(batch))
                for _, room in batch:
                    if room is not None:
                        room.fail("writer", f"writer error: {exc!r}")
            finally:
                for op, _ in batch:
                    left = self._outstanding[op.pad_id] - 1
                    if left:
                        self._outstanding[op.pad_id] = left
                    else:
                        del self._outstanding[op.pad_id]
                        event = self._settled.pop(op.pad_id, None)
                        if event is not None:
                            event.set()

    async def _write(self, batch: list[tuple[Append | Compaction, Room | None]]) -> None:
        # A room that failed told its clients to reconnect and resend: its queued writes are
        # dropped, and a new room of the pad loads only once they are gone (``settled``).
        batch = [(op, room) for op, room in batch if room is None or not room.failed]
        if not batch:
            return
        appends = [op for op, _ in batch if isinstance(op, Append)]
        compactions = [op for op, _ in batch if isinstance(op, Compaction)]
        started = time.perf_counter()
        try:
            gone = await self.store.write(appends, compactions)
        except Exception as exc:
            log.exception("Commit of %d updates and %d compactions failed", len(appends), len(compactions))
            for op, room in batch:
                if room is not None and isinstance(op, Append):
                    room.fail("store", f"commit failed: {exc}")
            return
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.commit_batch.observe(len(appends))
        self.metrics.updates_stored.inc(len(appends))
        if compactions:
            self.metrics.compactions.inc(len(compactions))
        upto: dict[Room, int] = {}
        for op, room in batch:
            if room is None:
                continue
            if op.pad_id in gone:
                room.erased()  # nothing of it was stored
                continue
            if isinstance(op, Append):
                upto[room] = max(upto.get(room, 0), op.seq)
            else:
                room.on_compacted(op.upto_seq)
        for room, seq in upto.items():
            try:
                room.on_committed(seq)
            except BaseException as exc:
                if isinstance(exc, _NOT_OURS):
                    raise
                # Never a room that stores edits but no longer relays them.
                room.fail("relay", f"fan-out failed: {exc!r}")


class Rooms:
    """Every loaded room; loads pads on demand, unloads idle ones, compacts logs in the background."""

    def __init__(
        self,
        store: SqlitePadStore,
        limits: RoomLimits,
        metrics: Metrics,
        events: RoomEvents | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.metrics = metrics
        self.events: RoomEvents = events if events is not None else NoEvents()
        self.writer = BatchWriter(store, metrics, limits.max_batch_updates)
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._deleting: dict[str, int] = {}  # pad id -> deletions in progress
        self._accepting = True
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    async def __aenter__(self) -> Rooms:
        self._tasks = [
            asyncio.create_task(self.writer.run(), name="crdtpad-writer"),
            asyncio.create_task(self._janitor(), name="crdtpad-janitor"),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown(CloseCode.GOING_AWAY)

    @property
    def loaded(self) -> int:
        """Rooms in memory."""
        return len(self._rooms)

    async def open(self, pad_id: str) -> Room:
        """The room of ``pad_id``, loading it if needed; concurrent opens share one load."""
        if not self._accepting:
            raise _ShuttingDown("The server is shutting down.")
        if not PAD_ID_RE.fullmatch(pad_id):
            raise InvalidPadId(f"{pad_id[:80]!r} is not a valid pad id.")
        room = self._rooms.get(pad_id)
        if room is not None:
            room.empty_since = None  # pinned until the caller joins or leaves
            return room
        pending = self._loading.get(pad_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[pad_id] = pending
            try:
                room = await self._load(pad_id)
                if pad_id in self._deleting:
                    raise PadDeleted(f"Pad {pad_id} was deleted.")
            except BaseException as exc:
                if not pending.done():
                    pending.set_exception(exc)
                    pending.exception()  # marks it retrieved for waiters that never came
                raise
            else:
                pending.set_result(room)
                self._rooms[pad_id] = room
                self.metrics.rooms_loaded.set(len(self._rooms))
            finally:
                self._loading.pop(pad_id, None)
            return room
        room = await asyncio.shield(pending)
        room.empty_since = None
        return room

    def release(self, room: Room) -> None:
        """Let a room that was opened without a client unload once idle."""
        if not room.conns:
            room.empty_since = time.monotonic()

    async def _load(self, pad_id: str) -> Room:
        if pad_id in self._deleting:
            raise PadDeleted(f"Pad {pad_id} was deleted.")
        record = await self.store.get_pad(pad_id)
        if record is None:
            if not self.limits.open_pads:
                raise PadNotFound(f"No pad has the id {pad_id}.")
            record = await self.store.ensure_pad(pad_id, pad_id)
            if record.deleted_at is None and record.owner_id is None:
                self.events.pad_created(pad_id, title=record.title, visibility=record.visibility)
        if record.deleted_at is not None:
            raise PadDeleted(f"Pad {pad_id} was deleted.")
        started = time.perf_counter()
        await self.writer.settled(pad_id)  # a failed or unloading room's last writes land first
        stored = await self.store.load(pad_id)
        room = Room(pad_id, self)
        room.load(stored)
        # A pad without revisions starts its history at what is stored: loading it costs no write.
        room.revision_seq = await self.store.latest_revision_seq(pad_id) or stored.last_seq
        if not self._accepting:  # shutdown began while we loaded: its sockets are already closed
            raise _ShuttingDown("The server is shutting down.")
        self.metrics.room_loads.inc()
        self.metrics.room_load_seconds.observe(time.perf_counter() - started)
        log.info("Pad %s loaded: %d log rows after seq %d", pad_id, len(stored.updates), stored.upto_seq)
        return room

    def forget(self, room: Room) -> None:
        """Stop serving ``room`` (it failed or unloaded)."""
        if self._rooms.get(room.pad_id) is room:
            del self._rooms[room.pad_id]
            self.metrics.rooms_loaded.set(len(self._rooms))
        if room._subscription is not None:
            room.doc.unobserve(room._subscription)
            room._subscription = None

    def compact(self, room: Room) -> None:
        """Fold the room's log into a snapshot, through the writer so it follows every append."""
        if room.failed or room.log_count == 0:
            return
        self.writer.submit(room.snapshot(), room)

    async def _janitor(self) -> None:
        tick = max(0.05, min(1.0, self.limits.unload_grace_s / 2, self.limits.compact_interval_s / 2))
        last_compact_scan = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            rooms = list(self._rooms.values())
            idle = [
                room
                for room in rooms
                if not room.conns
                and room.empty_since is not None
                and now - room.empty_since >= self.limits.unload_grace_s
            ]
            # Revisions of the bursts that ended, and of the rooms about to unload: one commit.
            leaving = set(idle)
            quiet_for = self.limits.revision_idle_s
            due = [
                room
                for room in rooms
                if room in leaving
                or (room.applied_seq > room.revision_seq and now - room.last_edit >= quiet_for)
            ]
            try:
                await self.revise_all(due)
            except Exception:
                log.exception("Storing the revisions of %d pads failed", len(due))
            for room in idle:
                try:
                    await self.unload(room)
                except Exception:
                    # The room failed while flushing; fail() already dropped it. Keep going.
                    log.exception("Pad %s: unload failed", room.pad_id)
            for room in rooms:
                if room.scrub_due:  # at most one compaction per room and tick, however many refusals
                    room.scrub_due = False
                    self.compact(room)
            if now - last_compact_scan >= self.limits.compact_interval_s:
                last_compact_scan = now
                await self._sweep_erased()
                for room in list(self._rooms.values()):
                    if (
                        room.log_count >= self.limits.compact_after_updates
                        or room.log_bytes >= self.limits.compact_after_bytes
                    ):
                        self.compact(room)

    async def _sweep_erased(self) -> None:
        """Close the rooms of pads erased behind the server's back, readers included (a room that
        edits finds out at its next commit already)."""
        try:
            gone = await self.store.tombstones(set(self._rooms))
        except Exception:
            log.exception("Looking for erased pads failed")
            return
        for pad_id in gone:
            room = self._rooms.get(pad_id)
            if room is not None and pad_id not in self._deleting:
                room.erased()

    async def revise(self, room: Room, name: str | None = None, author_id: int | None = None) -> int:
        """Store a revision of the room's document as committed; its number."""
        while room.committed_seq < room.applied_seq:
            await room.wait_committed(room.applied_seq)
        # Checked and read in one step: the copy holds exactly what is committed up to seq.
        seq, data = room.committed_seq, room.doc.get_update()
        rev = await self.store.add_revision(
            room.pad_id, seq, data, name, author_id, self.limits.revisions_kept
        )
        room.revision_seq = max(room.revision_seq, seq)
        return rev

    async def revise_all(self, rooms: list[Room]) -> None:
        """Store a revision of each room that changed since its last one, in one transaction."""
        due: list[tuple[Room, int, bytes]] = []
        for room in rooms:
            if room.failed or room.applied_seq <= room.revision_seq:
                continue
            try:
                await room.wait_committed(room.applied_seq)
            except StoreUnavailable:
                continue  # it failed meanwhile: its clients resend to a fresh load
            if room.committed_seq > room.revision_seq:
                # Read in one step with the seq: the copy holds exactly what is committed up to it.
                due.append((room, room.committed_seq, room.doc.get_update()))
        # A room that committed more while we waited for the others is left for the next tick: a
        # stale copy stored after a moderator's chat deletion (whose scrub of the stored revisions
        # runs once that deletion is committed) would bring the message back into the history.
        due = [(room, seq, data) for room, seq, data in due if room.committed_seq == seq]
        if not due:
            return
        await self.store.add_revisions_of_pads(
            [(room.pad_id, NewRevision(seq, data)) for room, seq, data in due], self.limits.revisions_kept
        )
        for room, seq, _ in due:
            room.revision_seq = max(room.revision_seq, seq)

    async def unload(self, room: Room) -> None:
        """Flush, keep a revision of the last burst, compact and drop an idle room."""
        if room.failed:
            self.forget(room)
            return
        await room.wait_committed(room.applied_seq)
        if room.applied_seq > room.revision_seq:
            await self.revise(room)
        if room.conns or room.empty_since is None:
            return
        self.forget(room)
        self.compact(room)
        log.info("Pad %s unloaded", room.pad_id)

    async def resync(self, pad_id: str, conn: Connection) -> None:
        """Ask a client for what it has that we lack (our SyncStep1): after it may edit again, the
        edits it made while read-only come in like offline ones."""
        room = self._rooms.get(pad_id)
        if room is not None and conn in room.conns:
            await room.wait_committed(room.applied_seq)
            room.send(conn, p.sync_step1(room.doc.get_state()))

    def loaded_room(self, pad_id: str) -> Room | None:
        """The pad's room if it is in memory (nobody connected otherwise)."""
        return self._rooms.get(pad_id)

    def clients(self, pad_id: str) -> tuple[Connection, ...]:
        """The clients of a pad, if it is loaded."""
        room = self._rooms.get(pad_id)
        return tuple(room.conns) if room is not None else ()

    @asynccontextmanager
    async def deleting(self, pad_id: str) -> AsyncIterator[None]:
        """Around erasing a pad: its clients are closed with 4410, its queued writes dropped, and
        no new room of it loads; the body runs once every write of the pad has settled."""
        self._deleting[pad_id] = self._deleting.get(pad_id, 0) + 1
        try:
            pending = self._loading.get(pad_id)
            if pending is not None:
                # A load that began before us ends refused (open() checks _deleting after it).
                await asyncio.wait([pending])
            room = self._rooms.get(pad_id)
            if room is not None:
                room.cut_off()
            await self.writer.settled(pad_id)
            yield
            self.events.pad_deleted(pad_id)
        finally:
            left = self._deleting[pad_id] - 1
            if left:
                self._deleting[pad_id] = left
            else:
                del self._deleting[pad_id]

    async def shutdown(self, code: int) -> None:
        """Stop accepting, close every socket with ``code``, flush and compact; safe to call twice."""
        if self._closed:
            return
        self._accepting = False
        for room in list(self._rooms.values()):
            room.close_all(code, "server shutting down")
        try:
            await asyncio.wait_for(self.writer.flush(), 30)
            for room in list(self._rooms.values()):
                self.compact(room)
            await asyncio.wait_for(self.writer.flush(), 30)
        except TimeoutError:
            log.error("Shutdown: the writer did not drain in time")
        self._closed = True
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


class _ShuttingDown(CrdtpadError):
    close_code = CloseCode.GOING_AWAY
