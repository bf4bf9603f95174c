"""The pad's chat rules, enforced on every client update: a ``Y.Array`` named ``chat`` of messages.

A message is a plain map (Yjs ``ContentAny``)::

    {"id": str, "author_id": str, "author": str, "color": str, "text": str, "at": number}

``author_id`` says who wrote it: ``user:NAME`` for an account, ``ext:ID`` for an embedding app's
user (a signed pad token), ``anon:ANYTHING`` for everyone else (public pads, share links). A
client may only claim its own connection's author id, or ``anon:`` when it has none. Names and
texts are bounded.

Yjs updates cannot be taken apart before they are applied (an item finds its parent through the
items it was inserted next to), so the room applies an update, and this module looks at what it
inserted into the chat: anything that breaks the rules (or any message at all while the pad's
chat is off) is deleted again in a second transaction before anything is relayed, so other
clients never see it (Yjs drops an item inserted and deleted in one update from its events); a
sender that broke a rule is then closed with 4400 and the reason. The refused text is still in
the update's log row: the room folds its log into a snapshot (which holds deleted content only
as lengths) at the janitor's next tick, so it does not stay on disk.
"""

from __future__ import annotations

import math
from typing import Any

import pycrdt

from crdtpad.transfer.delta import CHAT_FIELD

MAX_ID_CHARS = 64
MAX_AUTHOR_ID_CHARS = 160
MAX_NAME_CHARS = 80
MAX_COLOR_CHARS = 32
MAX_TEXT_CHARS = 2000
FIELDS = frozenset({"id", "author_id", "author", "color", "text", "at"})
ANONYMOUS_PREFIX = "anon:"


def message_problem(value: object, author_id: str | None) -> str | None:
    """Why ``value`` may not enter the chat of a connection whose author id is ``author_id``
    (None: a connection without an identity), or None if it may."""
    if not isinstance(value, dict):
        return "a chat message is a map"
    extra = set(value) - FIELDS
    if extra:
        return f"a chat message has no field {sorted(extra)[0][:40]!r}"
    for key, limit in (
        ("id", MAX_ID_CHARS),
        ("author_id", MAX_AUTHOR_ID_CHARS),
        ("author", MAX_NAME_CHARS),
        ("color", MAX_COLOR_CHARS),
        ("text", MAX_TEXT_CHARS),
    ):
        field = value.get(key)
        if not isinstance(field, str):
            return f"a chat message needs a text {key!r}"
        if len(field) > limit:
            return f"a chat message's {key!r} has over {limit} characters"
    at = value.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        return "a chat message needs a time 'at' (milliseconds)"
    claimed = value["author_id"]
    if author_id is None:
        if not claimed.startswith(ANONYMOUS_PREFIX):
            return f"this connection may only post as {ANONYMOUS_PREFIX}…, not {claimed[:60]!r}"
    elif claimed != author_id:
        return f"this connection posts as {author_id[:60]!r}, not {claimed[:60]!r}"
    return None


class ChatRules:
    """Watches one room's chat array; ``police`` undoes what a client's update inserted against the
    rules. Costs nothing for updates that do not touch the chat."""

    __slots__ = ("_array", "_doc", "_inserted", "_subscription", "enabled")

    def __init__(self, doc: pycrdt.Doc[Any], *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._doc = doc
        self._array: pycrdt.Array[Any] = doc.get(CHAT_FIELD, type=pycrdt.Array)
        self._inserted: list[tuple[int, object]] | None = None
        self._subscription = self._array.observe(self._on_change)

    def _on_change(self, event: pycrdt.ArrayEvent) -> None:
        if self._inserted is None:
            return  # not watching: a server edit or a load
        index = 0
        delta: list[dict[str, Any]] = event.delta  # type: ignore[attr-defined]  # a slot pycrdt fills
        for op in delta:
            if "retain" in op:
                index += int(op["retain"])
            elif "insert" in op:
                for value in op["insert"]:
                    self._inserted.append((index, value))
                    index += 1

    def watch(self) -> None:
        """Start recording insertions (right before a client's update is applied)."""
        self._inserted = []

    def police(self, author_id: str | None) -> tuple[int, str | None]:
        """Stop recording; delete every recorded message the rules refuse, in one transaction.
        How many were deleted, and the first rule broken (the sender is then closed) or None:
        everything was allowed, or the chat is off (messages vanish, the sender stays: it may
        just not know yet)."""
        inserted, self._inserted = self._inserted, None
        if not inserted:
            return 0, None
        refused: list[int] = []
        reason: str | None = None
        for index, value in inserted:
            problem = message_problem(value, author_id)
            if problem is not None or not self.enabled:
                refused.append(index)
                reason = reason or problem
        if refused:
            with self._doc.transaction():
                for index in sorted(refused, reverse=True):
                    del self._array[index]
        return len(refused), reason
