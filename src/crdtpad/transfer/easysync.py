"""Etherpad changesets (easysync) applied to an attributed text, to rebuild a pad at any revision
from the nearest key revision before it (Etherpad keeps a whole text only on every 100th).

A changeset is ``Z:<old length><sign><change>`` then ops, then ``$`` and the character bank;
numbers are base 36 and lengths count UTF-16 code units, as JavaScript does. Ops: ``=N`` keeps
N units (``*I`` attributes on it set, or with an empty value remove, their attribute on the
kept text, one by one as Etherpad's ``composeAttributes``), ``-N`` deletes N, ``+N`` inserts the
next N units of the bank with the ``*I`` attributes as given; ``|L`` counts the newlines an op
spans; text after the last op is kept. Applying one checks what Etherpad's ``applyToText`` and
``checkRep`` do that matters for the result: the old length is the text's, every op fits and
spans the newlines it says, every attribute number is in the pool, the bank is used exactly,
and the new length is the one announced.

Text is held as JavaScript would (astral characters as two surrogate units), in segments that
share one set of attribute numbers; applying a changeset touches each segment once, not each
character. The caller counts that work (``ATText.work``) to bound a replay.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

Pool = Mapping[int, tuple[str, str]]
Segment = tuple[str, frozenset[int]]  # UTF-16 units (surrogates as characters), attribute numbers

_HEADER = re.compile(r"Z:([0-9a-z]{1,7})([<>])([0-9a-z]{1,7})")
_OP = re.compile(r"((?:\*[0-9a-z]{1,7})*)(?:\|([0-9a-z]{1,7}))?([-+=])([0-9a-z]{1,7})")
_INSERT = re.compile(r"((?:\*[0-9a-z]{1,7})*)(?:\|([0-9a-z]{1,7}))?\+([0-9a-z]{1,7})")
_REF = re.compile(r"\*([0-9a-z]+)")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class ChangesetError(ValueError):
    """A changeset or attributed text that does not apply; the message says why."""


def units(text: str) -> str:
    """``text`` as JavaScript holds it: each astral character as its two surrogates."""

    def pair(m: re.Match[str]) -> str:
        c = ord(m.group()) - 0x10000
        return chr(0xD800 + (c >> 10)) + chr(0xDC00 + (c & 0x3FF))

    return _ASTRAL.sub(pair, text)


def from_units(held: str) -> str:
    """The text of UTF-16 units: pairs joined into characters; a surrogate left without its pair
    stays a lone one, for the importer to treat like one in a head text."""
    return held.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _numbers(refs: str, pool: Pool) -> list[int]:
    found = [int(n, 36) for n in _REF.findall(refs)]
    for number in found:
        if number not in pool:
            raise ChangesetError(f"it uses the attribute number {number}, which the pool does not have")
    return found


@dataclass(slots=True)
class ATText:
    """An attributed text being replayed."""

    segments: list[Segment]
    work: int = 0  # segments and ops touched so far, for the caller's bound

    @classmethod
    def parse(cls, text: str, attribs: str, pool: Pool) -> ATText:
        """From an atext ``{text, attribs}`` (``+`` ops only, as Etherpad stores them)."""
        held, segments, at, pos = units(text), [], 0, 0
        while pos < len(attribs):
            op = _INSERT.match(attribs, pos)
            if op is None:
                raise ChangesetError(f"its attribute string has no insert op at position {pos}")
            pos = op.end()
            length = int(op.group(3), 36)
            if at + length > len(held):
                raise ChangesetError("its attribute string covers more than its text")
            segments.append((held[at : at + length], frozenset(_numbers(op.group(1), pool))))
            at += length
        if at != len(held):
            raise ChangesetError(f"its attribute string covers {at} of its text's {len(held)} units")
        return cls(segments, len(segments) + len(attribs))

    @property
    def length(self) -> int:
        return sum(len(piece) for piece, _ in self.segments)

    def apply(self, changeset: str, pool: Pool) -> ATText:
        """The text after ``changeset``; ChangesetError if it does not apply to this text."""
        head = _HEADER.match(changeset)
        if head is None:
            raise ChangesetError("it does not start with Z:<length><sign><change>")
        old, change = int(head.group(1), 36), int(head.group(3), 36)
        new = old + change if head.group(2) == ">" else old - change
        have = self.length
        if old != have:
            raise ChangesetError(f"it applies to a text of {old} units, not {have}")
        dollar = changeset.find("$", head.end())
        if dollar < 0:
            raise ChangesetError("it has no '$' before its character bank")
        ops, bank = changeset[head.end() : dollar], units(changeset[dollar + 1 :])
        source = _Cursor(self.segments)
        out: list[Segment] = []
        used = pos = 0
        while pos < len(ops):
            op = _OP.match(ops, pos)
            if op is None:
                raise ChangesetError(f"it has no op at position {head.end() + pos}")
            pos = op.end()
            numbers = _numbers(op.group(1), pool)
            size = int(op.group(4), 36)
            lines = int(op.group(2), 36) if op.group(2) is not None else 0
            kind = op.group(3)
            if kind == "+":
                piece = bank[used : used + size]
                if len(piece) < size:
                    raise ChangesetError("it inserts more than its character bank holds")
                _check_lines(kind, lines, piece.count("\n"))
                used += size
                out.append((piece, frozenset(numbers)))  # as Etherpad: an insert's attributes as given
            else:
                pieces = list(source.take(size))
                _check_lines(kind, lines, sum(piece.count("\n") for piece, _ in pieces))
                if kind == "=":
                    out += [(piece, _compose(attrs, numbers, pool)) for piece, attrs in pieces]
        out.extend(source.rest())
        if used != len(bank):
            raise ChangesetError(f"it leaves {len(bank) - used} units of its character bank unused")
        result = ATText(out, self.work + len(out) + len(ops))
        if result.length != new:
            raise ChangesetError(f"it makes a text of {result.length} units, not the {new} it announces")
        return result

    def atext(self) -> tuple[str, str]:
        """As Etherpad stores it: the text and its attribute string, an op per line piece (runs
        of equal attributes within a line as one op)."""
        ops: list[str] = []
        run: tuple[frozenset[int], int] | None = None  # attributes and length of the open op

        def close() -> None:
            if run is not None and run[1]:
                ops.append("".join(f"*{base36(n)}" for n in sorted(run[0])) + f"+{base36(run[1])}")

        for piece, attrs in self.segments:
            for i, line in enumerate(piece.split("\n")):
                if i:  # the newline ends the line, and its op with it
                    size = (run[1] if run is not None and run[0] == attrs else 0) + 1
                    if run is not None and run[0] != attrs:
                        close()
                    refs = "".join(f"*{base36(n)}" for n in sorted(attrs))
                    ops.append(f"{refs}|1+{base36(size)}")
                    run = None
                if line:
                    if run is not None and run[0] == attrs:
                        run = (attrs, run[1] + len(line))
                    else:
                        close()
                        run = (attrs, len(line))
        close()
        return from_units("".join(piece for piece, _ in self.segments)), "".join(ops)


def _check_lines(kind: str, said: int, found: int) -> None:
    if said != found:
        raise ChangesetError(f"its op {kind} says {said} newline(s) where the text has {found}")


def _compose(attrs: frozenset[int], numbers: list[int], pool: Pool) -> frozenset[int]:
    """A kept text's attributes after a keep op's, as Etherpad's composeAttributes: one by one
    in the op's order, each replaces (an empty value: removes) the first with its name, or is
    added."""
    if not numbers:
        return attrs
    current = sorted(attrs)
    for number in numbers:
        name, value = pool[number]
        for i, have in enumerate(current):
            if pool[have][0] == name:
                if value:
                    current[i] = number
                else:
                    del current[i]
                break
        else:
            if value:
                current.append(number)
    return frozenset(current)


class _Cursor:
    """Reads segments from the front, splitting one where a take ends inside it."""

    def __init__(self, segments: list[Segment]) -> None:
        self._segments = segments
        self._index = 0
        self._offset = 0  # into the current segment

    def take(self, size: int) -> Iterator[Segment]:
        while size > 0:
            if self._index >= len(self._segments):
                raise ChangesetError("it keeps or deletes past the end of the text")
            piece, attrs = self._segments[self._index]
            left = len(piece) - self._offset
            if size < left:
                yield piece[self._offset : self._offset + size], attrs
                self._offset += size
                return
            yield (piece if self._offset == 0 else piece[self._offset :]), attrs
            size -= left
            self._index += 1
            self._offset = 0

    def rest(self) -> list[Segment]:
        if self._index >= len(self._segments):
            return []
        piece, attrs = self._segments[self._index]
        first = [(piece[self._offset :], attrs)] if self._offset < len(piece) else []
        return first + self._segments[self._index + 1 :]


def base36(n: int) -> str:
    """A number as Etherpad writes it."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


__all__ = ["ATText", "ChangesetError", "base36", "from_units", "units"]
