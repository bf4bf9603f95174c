"""A room's awareness states (names, cursors): relayed, never stored."""

from __future__ import annotations

from dataclasses import dataclass

from crdtpad.sync.connection import Connection
from crdtpad.sync.protocol import AwarenessEntry


@dataclass(slots=True)
class _State:
    clock: int
    state: str
    owner: Connection | None


class RoomAwareness:
    """Which connection owns which awareness client id, and each id's latest state."""

    __slots__ = ("_states", "_tombstones", "max_state_bytes", "max_tombstones")

    def __init__(self, max_state_bytes: int, max_tombstones: int = 1000) -> None:
        self.max_state_bytes = max_state_bytes
        self.max_tombstones = max_tombstones
        self._states: dict[int, _State] = {}
        self._tombstones = 0

    def _bury(self, client: int, clock: int) -> None:
        """Keep a removed state's clock (so stale re-sends are ignored), within a bound."""
        known = self._states.pop(client, None)
        if known is not None and known.state == "null":
            self._tombstones -= 1
        self._states[client] = _State(clock, "null", None)
        self._tombstones += 1
        if self._tombstones > self.max_tombstones:
            for old in [c for c, st in self._states.items() if st.state == "null"][
                : self.max_tombstones // 2
            ]:
                del self._states[old]
                self._tombstones -= 1

    def apply(self, conn: Connection, entries: tuple[AwarenessEntry, ...]) -> list[AwarenessEntry]:
        """Take what ``conn`` may set and is newer than what we know; return the accepted entries.

        The stock client re-sends other clients' states it has heard of, so entries for ids
        another connection owns are dropped quietly rather than treated as an attack.
        """
        accepted = []
        for e in entries:
            known = self._states.get(e.client)
            if known is not None and known.owner is not None and known.owner is not conn:
                continue
            if known is not None and not (
                e.clock > known.clock or (e.clock == known.clock and e.removed and known.state != "null")
            ):
                continue
            if len(e.state) > self.max_state_bytes:
                continue
            if e.client not in conn.awareness_ids:
                # Count every id a connection ever introduces, removed ones included: otherwise
                # set-then-remove pairs would grow the room's tombstones without bound.
                if conn.awareness_introduced >= conn.limits.max_awareness_ids:
                    continue
                conn.awareness_introduced += 1
            if e.removed:
                self._bury(e.client, e.clock)
                conn.awareness_ids.discard(e.client)
            else:
                conn.awareness_ids.add(e.client)
                self._states[e.client] = _State(e.clock, e.state, conn)
            accepted.append(e)
        return accepted

    def release(self, conn: Connection) -> list[AwarenessEntry]:
        """Mark every state ``conn`` owned as removed; return the entries to broadcast."""
        removed = []
        for client in sorted(conn.awareness_ids):
            known = self._states.get(client)
            if known is None or known.owner is not conn:
                continue
            self._bury(client, known.clock + 1)
            removed.append(AwarenessEntry(client, known.clock + 1, "null"))
        conn.awareness_ids.clear()
        return removed

    def current(self) -> list[AwarenessEntry]:
        """Every live state, for a query-awareness answer or a newcomer."""
        return [AwarenessEntry(c, s.clock, s.state) for c, s in self._states.items() if s.state != "null"]
