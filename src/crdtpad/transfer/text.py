"""Plain text: the pad's characters, one line per line; every format is dropped both ways."""

from __future__ import annotations

from typing import Any

import pycrdt

from crdtpad.transfer import ImportRejected, Limits
from crdtpad.transfer.delta import check_limits, normalise_newlines, read_delta, write_delta


def export_text(doc: pycrdt.Doc[Any]) -> str:
    """The pad's text (control characters other than tab and newline removed), ending with "\\n"."""
    return "".join(text for text, _ in read_delta(doc))


def import_text(doc: pycrdt.Doc[Any], text: str, limits: Limits) -> None:
    """Write ``text`` into the empty ``doc``: newlines normalised, control characters but tab and
    newline removed, a final newline ensured."""
    if not isinstance(text, str):
        raise ImportRejected("The text file must be decoded text.")
    limits.check_input(len(text.encode("utf-8", "surrogatepass")), "text")
    clean = normalise_newlines(text)
    if not clean.endswith("\n"):
        clean += "\n"
    ops: list[tuple[str, dict[str, Any]]] = [(clean, {})]
    check_limits(ops, limits)
    write_delta(doc, ops)
