"""Per-room tracking of shared-type nesting and of structs whose dependencies are missing.

A single update cannot nest shared types deeply by itself (the validator bounds it), but one level per
update can, and pycrdt crashes on a deep enough nesting (``str()`` at about 10,800 levels). So each
room keeps, per client, which clocks it knows and how deep the container of each known item is, and
refuses a Type item that would nest deeper than ``max_depth`` (checklist rows 21-22 of
``yjs-update-format.md``). Items whose origins or parent are not known yet are held as pending, like
Yjs does, until the structs they depend on arrive; their number is bounded.

Everything is iterative and costs O(log n) per struct; typing into one text costs O(1) memory per
client because consecutive items at the same depth share one run.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from dataclasses import dataclass

from crdtpad.errors import UpdateRejected
from crdtpad.sync.validate import ID, GcRange, ItemRef, UpdateShape

Struct = ItemRef | GcRange

# Per client: run start clocks and the parent depth of the items from each start up to the next one.
Runs = tuple[list[int], list[int]]
# Why a client's first pending struct is stuck: (its start clock, the client and clock it waits for).
Blocked = tuple[int, int, int]
# A dependency someone waits for: (clock the state must pass, client whose pending head waits).
Waiter = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Admission:
    """The effect of one admitted update (opaque to callers), applied by ``Structure.commit``."""

    version: int
    states: dict[int, int]
    runs: dict[int, Runs]
    types: dict[ID, int]
    pending: dict[int, tuple[dict[int, Struct], list[int]]]
    waits: dict[int, list[Waiter]]
    blocked: dict[int, Blocked | None]
    pending_count: int
    max_type_depth: int


class Structure:
    """What a room knows of its document's structure: known clocks, type depths and pending structs."""

    def __init__(self, *, max_depth: int = 64, max_pending: int = 1_000) -> None:
        self.max_depth = max_depth
        self.max_pending = max_pending
        self._state: dict[int, int] = {}  # client -> first unknown clock
        self._runs: dict[int, Runs] = {}  # client -> runs covering [0, state)
        self._types: dict[ID, int] = {}  # Type item -> its depth (a type in a root is at depth 1)
        # Pending structs, per client, by start clock, with a heap of those start clocks.
        self._pending: dict[int, tuple[dict[int, Struct], list[int]]] = {}
        self._waits: dict[int, list[Waiter]] = {}  # client -> heap of waiters on its clocks
        self._blocked: dict[int, Blocked] = {}  # client -> the dependency its first pending struct lacks
        self._wait_entries = 0  # entries in all of _waits, live or stale
        self._pending_count = 0
        self._max_type_depth = 0
        self._version = 0

    def state(self, client: int) -> int:
        """The number of contiguous clocks of ``client`` known, i.e. its state-vector entry."""
        return self._state.get(client, 0)

    @property
    def pending_count(self) -> int:
        """How many structs wait for missing dependencies."""
        return self._pending_count

    @property
    def max_type_depth(self) -> int:
        """The deepest shared type seen so far (0 when there are only root types)."""
        return self._max_type_depth

    def run_count(self, client: int) -> int:
        """How many runs of equal depth describe ``client``'s known clocks (memory use, for metrics)."""
        runs = self._runs.get(client)
        return len(runs[0]) if runs else 0

    def admit(self, shape: UpdateShape, *, incremental: bool) -> Admission:
        """Work out what ``shape`` does to this structure without changing it; raise UpdateRejected."""
        if incremental:
            # A y-websocket Update carries a peer's own new changes; a gap means it skipped something.
            for block in shape.blocks:
                known = self._state.get(block.client, 0)
                if block.start > known:
                    raise UpdateRejected(
                        f"Client {block.client}'s structs start at clock {block.start}, beyond the"
                        f" {known} clocks the room has.",
                        "clock_gap",
                    )
        return _Admitting(self, enforce=True).run(shape)

    def commit(self, admission: Admission) -> None:
        """Apply an admission made by ``admit`` on this structure, unchanged since."""
        if admission.version != self._version:
            raise RuntimeError("The admission was made on an older state of the structure.")
        self._state.update(admission.states)
        for client, (starts, depths) in admission.runs.items():
            runs = self._runs.get(client)
            if runs is None:
                self._runs[client] = (starts, depths)
            else:
                runs[0].extend(starts)
                runs[1].extend(depths)
        self._types.update(admission.types)
        for client, (chain, heads) in admission.pending.items():
            if chain:
                self._pending[client] = (chain, heads)
            else:
                self._pending.pop(client, None)
        for client, waiters in admission.waits.items():
            self._wait_entries += len(waiters) - len(self._waits.get(client, ()))
            if waiters:
                self._waits[client] = waiters
            else:
                self._waits.pop(client, None)
        for client, blocked in admission.blocked.items():
            if blocked is None:
                self._blocked.pop(client, None)
            else:
                self._blocked[client] = blocked
        if self._wait_entries > 2 * len(self._blocked) + 64:
            self._compact_waits()
        self._pending_count = admission.pending_count
        self._max_type_depth = admission.max_type_depth
        self._version += 1

    def _compact_waits(self) -> None:
        # A waiter goes stale when the struct it was for is replaced or integrated another way; only
        # the one per blocked client is live. Rebuilding keeps the heaps O(pending structs).
        self._waits = {}
        for client, (_, dep_client, dep_clock) in self._blocked.items():
            heapq.heappush(self._waits.setdefault(dep_client, []), (dep_clock, client))
        self._wait_entries = len(self._blocked)

    def absorb(self, shape: UpdateShape) -> None:
        """Take in stored data (a snapshot or a log row) that was admitted before: no limits apply."""
        self.commit(_Admitting(self, enforce=False).run(shape))


class _Admitting:
    """One admission in progress: an overlay over a Structure that records changes instead of making them."""

    def __init__(self, base: Structure, *, enforce: bool) -> None:
        self.base = base
        self.enforce = enforce
        self.states: dict[int, int] = {}
        self.runs: dict[int, Runs] = {}  # runs beyond the base state
        self.types: dict[ID, int] = {}
        # Copies of the base's pending structures, made on first change, per client.
        self.pending: dict[int, tuple[dict[int, Struct], list[int]]] = {}
        self.waits: dict[int, list[Waiter]] = {}
        self.blocked: dict[int, Blocked | None] = {}
        self.pending_count = base._pending_count
        self.max_type_depth = base._max_type_depth
        self.work: list[int] = []  # clients whose pending structs may have become ready

    def run(self, shape: UpdateShape) -> Admission:
        for struct in shape.structs:
            self.offer(struct)
            while self.work:
                self.drain(self.work.pop())
        base = self.base
        if self.enforce and self.pending_count > base.max_pending:
            raise UpdateRejected(
                f"The update leaves {self.pending_count} structs waiting for missing ones, over the"
                f" limit of {base.max_pending}.",
                "pending_limit",
            )
        return Admission(
            version=base._version,
            states=self.states,
            runs=self.runs,
            types=self.types,
            pending=self.pending,
            waits=self.waits,
            blocked=self.blocked,
            pending_count=self.pending_count,
            max_type_depth=self.max_type_depth,
        )

    # -- reading through the overlay --

    def state(self, client: int) -> int:
        state = self.states.get(client)
        return self.base._state.get(client, 0) if state is None else state

    def parent_depth_at(self, client: int, clock: int) -> int:
        """The depth of the container of the known item at (client, clock)."""
        base_runs = self.base._runs.get(client)
        if clock < self.base._state.get(client, 0):
            assert base_runs is not None
            return base_runs[1][bisect_right(base_runs[0], clock) - 1]
        starts, depths = self.runs[client] if client in self.runs else ([], [])
        i = bisect_right(starts, clock) - 1
        if i >= 0:
            return depths[i]
        # Clocks just past the base state that continue the base's last run.
        assert base_runs is not None
        return base_runs[1][-1]

    def type_depth(self, item: ID) -> int | None:
        depth = self.types.get(item)
        return self.base._types.get(item) if depth is None else depth

    def chain(self, client: int) -> tuple[dict[int, Struct], list[int]] | None:
        """The pending structs of ``client`` (by start clock) and the heap of their starts, if any."""
        chain = self.pending.get(client)
        return self.base._pending.get(client) if chain is None else chain

    def blocked_on(self, client: int) -> Blocked | None:
        if client in self.blocked:
            return self.blocked[client]
        return self.base._blocked.get(client)

    # -- writing to the overlay --

    def chain_for_write(self, client: int) -> tuple[dict[int, Struct], list[int]]:
        chain = self.pending.get(client)
        if chain is None:
            base = self.base._pending.get(client)
            chain = (dict(base[0]), list(base[1])) if base else ({}, [])
            self.pending[client] = chain
        return chain

    def waits_for_write(self, client: int) -> list[Waiter]:
        waits = self.waits.get(client)
        if waits is None:
            waits = self.waits[client] = list(self.base._waits.get(client, ()))
        return waits

    # -- the work --

    def missing(self, struct: Struct) -> ID | None:
        """The first dependency of ``struct`` (other than its own client's previous clock) not known yet."""
        if type(struct) is GcRange:
            return None
        assert type(struct) is ItemRef
        origin = struct.origin
        if origin is not None and origin[1] >= self.state(origin[0]):
            return origin
        right = struct.right_origin
        if right is not None and right[1] >= self.state(right[0]):
            return right
        parent = struct.parent
        if type(parent) is tuple and parent[1] >= self.state(parent[0]):
            return parent
        return None

    def offer(self, struct: Struct) -> None:
        """Take in one struct of the update: integrate it now, or hold it as pending."""
        if type(struct) is GcRange and struct.skip:
            return  # a hole: the client's later structs wait for whatever fills it
        client = struct.client
        state = self.state(client)
        if struct.clock + struct.length <= state:
            return  # already known (a re-sent update, an overlapping SyncStep2)
        if struct.clock <= state and self.missing(struct) is None:
            # Ready now. Pending structs of this client, if any, start later or overlap this one, so
            # integrating it first is as good as any order; integrate() wakes them.
            self.integrate(struct, state)
            return
        pending, heads = self.chain_for_write(client)
        held = pending.get(struct.clock)
        if held is None:
            pending[struct.clock] = struct
            heapq.heappush(heads, struct.clock)
            self.pending_count += 1
        elif struct.clock + struct.length > held.clock + held.length:
            pending[struct.clock] = struct  # the same start, cut longer: keep the one that covers more
        else:
            return
        if struct.clock <= state:
            # It may be integrable now, or replace the blocked head: look again.
            self.blocked[client] = None
            self.work.append(client)

    def drain(self, client: int) -> None:
        """Integrate the pending structs of ``client`` that have become ready, in clock order."""
        while True:
            chain = self.chain(client)
            if chain is None or not chain[1]:
                return
            pending, heads = chain
            start = heads[0]
            state = self.state(client)
            if start > state:
                return  # a gap in the client's own clocks; integrate() wakes us when it closes
            struct = pending[start]
            dep = self.missing(struct) if struct.clock + struct.length > state else None
            if dep is not None:
                blocked = (start, dep[0], dep[1])
                if self.blocked_on(client) != blocked:
                    self.blocked[client] = blocked
                    heapq.heappush(self.waits_for_write(dep[0]), (dep[1], client))
                return
            pending, heads = self.chain_for_write(client)
            heapq.heappop(heads)
            del pending[start]
            self.pending_count -= 1
            if self.blocked_on(client) is not None:
                self.blocked[client] = None
            if struct.clock + struct.length > state:
                self.integrate(struct, state)

    def integrate(self, struct: Struct, state: int) -> None:
        """Record the clocks [state, end) of ``struct``, whose dependencies are all known."""
        client = struct.client
        depth = 0  # GC ranges and items in a root type
        if type(struct) is ItemRef:
            parent = struct.parent
            if type(parent) is tuple:
                # A parent that is known but not a type counts as a root: Yrs refuses the child of a
                # live item and collects the child of a deleted one.
                depth = self.type_depth(parent) or 0
            elif parent is None:
                # Inherited from an origin at integration time; Yrs prefers the left origin, but the
                # deeper of the two is a safe bound.
                if struct.origin is not None:
                    depth = self.parent_depth_at(*struct.origin)
                if struct.right_origin is not None:
                    depth = max(depth, self.parent_depth_at(*struct.right_origin))
            if struct.is_type:
                type_depth = depth + 1
                if type_depth > self.base.max_depth and self.enforce:
                    raise UpdateRejected(
                        f"The shared type at clock {struct.clock} of client {client} would nest"
                        f" {type_depth} levels deep, over the limit of {self.base.max_depth}.",
                        "type_depth",
                    )
                self.types[(client, struct.clock)] = type_depth
                if type_depth > self.max_type_depth:
                    self.max_type_depth = type_depth
        runs = self.runs.get(client)
        if runs is None:
            base_runs = self.base._runs.get(client)
            if base_runs is not None and base_runs[1][-1] == depth:
                self.states[client] = struct.clock + struct.length
                self.wake(client)
                return
            runs = self.runs[client] = ([], [])
        if not runs[1] or runs[1][-1] != depth:
            runs[0].append(state)
            runs[1].append(depth)
        self.states[client] = struct.clock + struct.length
        self.wake(client)

    def wake(self, client: int) -> None:
        """The state of ``client`` advanced: queue the clients whose pending structs waited for it."""
        chain = self.chain(client)
        if chain is not None and chain[1]:
            self.work.append(client)
        waits = self.waits.get(client)
        if waits is None:
            waits = self.base._waits.get(client)
        state = self.states[client]
        if not waits or waits[0][0] >= state:
            return
        waits = self.waits_for_write(client)
        while waits and waits[0][0] < state:
            clock, waiter = heapq.heappop(waits)
            blocked = self.blocked_on(waiter)
            if blocked is not None and blocked[1] == client and blocked[2] == clock:
                self.blocked[waiter] = None
            self.work.append(waiter)
