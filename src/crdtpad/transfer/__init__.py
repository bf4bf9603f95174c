"""Pad content converters: plain text, Markdown, HTML and Yjs updates, to and from a pad's Doc.

A pad's content is the ``Y.Text`` named ``content`` that Quill 2 edits through y-quill, so it is a
Quill delta stored as Y.Text formatting (see :mod:`crdtpad.transfer.delta`). Every converter is a
pure function over a ``pycrdt.Doc``: exports read, imports build into an empty Doc the caller
supplies (and then merges), so a refused import leaves nothing behind.

One module per format, imported by the caller (this package imports none of them)::

    delta     read_delta(doc), write_delta(doc, ops), the attribute schema
    text      export_text(doc), import_text(doc, text, limits)
    markdown  export_markdown(doc), import_markdown(doc, md, limits)
    html      export_html(doc, title), import_html(doc, html, limits)
    yjs       export_yjs(doc), import_yjs(doc, update, limits)
"""

from __future__ import annotations

from dataclasses import dataclass

from crdtpad.errors import InvalidValue


class ImportRejected(InvalidValue):
    """An import file the converters refuse (malformed, hostile or over a limit); nothing is written."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds an import must respect; the caller takes them from the settings."""

    max_input_bytes: int = 2 * 1024 * 1024  # the file as uploaded (UTF-8 bytes of text formats)
    max_chars: int = 1_000_000  # characters of the resulting pad text
    max_runs: int = 100_000  # differently formatted runs in the resulting pad text
    max_depth: int = 64  # nesting of HTML elements, Markdown blocks and inline spans

    @classmethod
    def for_bytes(cls, max_bytes: int) -> Limits:
        """Limits for files of at most ``max_bytes``; no format yields more characters than bytes."""
        return cls(max_input_bytes=max_bytes, max_chars=max_bytes)

    def check_input(self, size: int, what: str) -> None:
        """Refuse an input of ``size`` bytes over ``max_input_bytes``."""
        if size > self.max_input_bytes:
            raise ImportRejected(
                f"The {what} file has {size} bytes, over the import limit of {self.max_input_bytes}."
            )


__all__ = ["ImportRejected", "Limits"]
