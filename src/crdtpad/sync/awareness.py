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

    def __init__(self, max_state_bytes: int) -> None:
        self.max_state_bytes = max_state_bytes
        self._states: dict[int, _State] = {}

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
            if e.removed:
                self._states[e.client] = _State(e.clock, "null", None)
                conn.awareness_ids.discard(e.client)
            else:
                if e.client not in conn.awareness_ids:
                    if len(conn.awareness_ids) >= conn.limits.max_awareness_ids:
                        continue
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
            known.clock += 1
            known.state = "null"
            known.owner = None
            removed.append(AwarenessEntry(client, known.clock, "null"))
        conn.awareness_ids.clear()
        return removed

    def current(self) -> list[AwarenessEntry]:
        """Every live state, for a query-awareness answer or a newcomer."""
        return [AwarenessEntry(c, s.clock, s.state) for c, s in self._states.items() if s.state != "null"]
