"""``crdtpad migrate-etherpad``: bring an Etherpad instance's pads over in bulk.

From a folder of ``.etherpad`` files (Etherpad's own export) or from an Etherpad SQLite database
(its ``store(key, value)`` table). Each pad keeps its Etherpad name as its crdtpad id when that is a
valid id (old ``/p/<name>`` links keep working; names that are not get a new id, listed in the
report), becomes a public pad as on Etherpad, and is written in one transaction with its history
(the key revisions the importer reads: see :mod:`crdtpad.transfer.etherpad`): an interrupted
run leaves every pad whole or absent, and running it again skips the pads already there
(resumable). A rate limit keeps a live instance responsive; failures are reported, not fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from crdtpad.config import Settings
from crdtpad.db import open_db
from crdtpad.errors import CrdtpadError
from crdtpad.pads import import_doc, new_id
from crdtpad.store.pads import SqlitePadStore
from crdtpad.sync.rooms import PAD_ID_RE
from crdtpad.transfer.etherpad import KEY_REVISION_EVERY, MAX_HISTORY, MAX_RECORD_NUMBER, saved_revisions

log = logging.getLogger(__name__)

Source = tuple[str, Callable[[], str]]  # Etherpad pad name, and how to read its .etherpad JSON


@dataclass
class MigrationReport:
    """What a migration run did."""

    imported: int = 0
    skipped: int = 0  # already there (an earlier run)
    renamed: dict[str, str] = field(default_factory=dict)  # Etherpad name -> crdtpad id
    failed: dict[str, str] = field(default_factory=dict)  # Etherpad name -> why


def folder_sources(folder: Path) -> Iterator[Source]:
    """The pads of a folder of ``.etherpad`` files, named by their file names."""
    for path in sorted(folder.glob("*.etherpad")):
        yield path.stem, path.read_text


def sqlite_sources(path: Path, max_bytes: int) -> Iterator[Source]:
    """The pads of an Etherpad SQLite database (``store(key, value)``), each read when its turn
    comes, as ``.etherpad`` files of at most ``max_bytes`` (see :func:`_pad_json`)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM store WHERE key >= 'pad:' AND key < 'pad;'")]
    for name in sorted(key[4:] for key in keys if ":" not in key[4:]):
        yield name, partial(_read_pad, path, name, max_bytes)


def _read_pad(path: Path, name: str, max_bytes: int) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return _pad_json(db, name, max_bytes)


def _revision_numbers(head: object) -> list[int]:
    """The revisions whose records the importer reads: the head, then the key revisions below it
    from the newest back to ``MAX_HISTORY`` of them, then revision 0."""
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head <= MAX_RECORD_NUMBER:
        return []  # the importer refuses such a pad record itself
    top = (head - 1) // KEY_REVISION_EVERY  # the last key revision below the head, over 100
    keys = [k * KEY_REVISION_EVERY for k in range(top, max(top - MAX_HISTORY, 0), -1)]
    return [head, *keys, 0] if head > 0 else [head]


def _revision_record(value: object) -> object:
    """A revision record with what the importer reads of it: the meta's text, time and author.

    The changeset is left out, and so is a key revision's ``meta.pool``: Etherpad's pool only
    grows, so the pad's own pool numbers the old texts the same way, and a pool per revision
    could make the file bigger than an import takes."""
    if not isinstance(value, dict) or not isinstance(value.get("meta"), dict):
        return value  # the importer says what is wrong with it
    meta = value["meta"]
    return {"meta": {name: meta[name] for name in ("atext", "timestamp", "author") if name in meta}}


def _pad_json(db: sqlite3.Connection, name: str, max_bytes: int) -> str:
    """One pad's records as an ``.etherpad`` file: the pad, its chat, its authors, then its
    history (the head's revision record and the key revisions, newest first) as far as it fits
    in ``max_bytes``, the most an import takes."""
    records: dict[str, object] = {}
    row = db.execute("SELECT value FROM store WHERE key = ?", (f"pad:{name}",)).fetchone()
    if row is None:
        raise ValueError("the pad record is missing")
    pad = json.loads(row[0])
    records[f"pad:{name}"] = pad
    low, high = f"pad:{name}:chat:", f"pad:{name}:chat;"
    for key, value in db.execute("SELECT key, value FROM store WHERE key >= ? AND key < ?", (low, high)):
        records[key] = json.loads(value)
    pool = pad.get("pool", {}).get("numToAttrib", {}) if isinstance(pad, dict) else {}
    authors = {
        v[1] for v in pool.values() if isinstance(v, list) and len(v) == 2 and v[0] == "author" and v[1]
    }
    for author in sorted(authors):
        found = db.execute("SELECT value FROM store WHERE key = ?", (f"globalAuthor:{author}",)).fetchone()
        if found is not None:
            records[f"globalAuthor:{author}"] = json.loads(found[0])
    room = max_bytes - len(json.dumps(records))
    head = pad.get("head") if isinstance(pad, dict) else None
    for number in _revision_numbers(head):
        key = f"pad:{name}:revs:{number}"
        found = db.execute("SELECT value FROM store WHERE key = ?", (key,)).fetchone()
        if found is None:
            continue
        record = {key: _revision_record(json.loads(found[0]))}
        size = len(json.dumps(record))  # '"key": value' and the ', ' before it
        if size > room:
            break  # older history does not fit: the pad comes with what did
        records.update(record)
        room -= size
    # Saved revisions: the records from the key revision before each up to it (changesets
    # included: the importer replays them), newest first, each whole or not at all.
    for number in _saved_numbers(pad, head):
        wanted = {}
        for n in range(number - number % KEY_REVISION_EVERY, number + 1):
            key = f"pad:{name}:revs:{n}"
            if key in records:
                continue
            found = db.execute("SELECT value FROM store WHERE key = ?", (key,)).fetchone()
            if found is None:
                break  # the importer would leave this saved revision out: spend nothing on it
            wanted[key] = _replayed_record(json.loads(found[0]))
        else:
            size = len(json.dumps(wanted))
            if size <= room:
                records.update(wanted)
                room -= size
    return json.dumps(records)


def _saved_numbers(pad: object, head: object) -> list[int]:
    """The pad's saved revisions below its head that the importer reads, newest first."""
    if not isinstance(pad, dict) or isinstance(head, bool) or not isinstance(head, int):
        return []  # the importer refuses such a pad record itself
    return [s.number for s in reversed(saved_revisions(pad, head)) if s.number < head]


def _replayed_record(value: object) -> object:
    """A revision record on the way to a saved revision: its changeset, and the whole text and
    time of a key revision (its pool left out, as in ``_revision_record``)."""
    if not isinstance(value, dict) or not isinstance(value.get("meta"), dict):
        return value
    meta = value["meta"]
    kept = {name: meta[name] for name in ("atext", "timestamp") if name in meta}
    return {"changeset": value.get("changeset"), "meta": kept}


def sources(path: Path, max_bytes: int) -> Iterator[Source]:
    """Folder or SQLite database, by what ``path`` is."""
    if path.is_dir():
        return folder_sources(path)
    if path.is_file():
        return sqlite_sources(path, max_bytes)
    raise CrdtpadError(f"{path} is neither a folder of .etherpad files nor an Etherpad SQLite database.")


async def migrate_etherpad(
    settings: Settings,
    source: Path,
    *,
    rate: float = 50.0,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Import every pad of ``source``; at most ``rate`` pads a second."""
    pads = await asyncio.to_thread(lambda: list(sources(source, settings.max_import_bytes)))
    report = MigrationReport()
    interval = 1.0 / rate if rate > 0 else 0.0
    db = (settings.db_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
    async with open_db(*db) as (writer, reader):
        store = SqlitePadStore(writer, reader)
        for done, (name, read) in enumerate(pads, 1):
            started = time.monotonic()
            pad_id = name if PAD_ID_RE.fullmatch(name) else None
            try:
                if pad_id is not None and await store.get_pad(pad_id) is not None:
                    report.skipped += 1
                else:
                    data = await asyncio.to_thread(read)
                    imported = await asyncio.to_thread(
                        import_doc, "etherpad", data.encode("utf-8"), settings.max_import_bytes
                    )
                    if pad_id is None:
                        pad_id = new_id()
                        report.renamed[name] = pad_id
                    history = imported.revisions(1)
                    if await store.create_filled_pad(pad_id, name[:200], imported.update, history):
                        report.imported += 1
                    else:
                        report.skipped += 1
            except (CrdtpadError, ValueError, OSError, sqlite3.Error) as exc:
                report.failed[name] = str(exc)
                log.warning("Etherpad pad %r not migrated: %s", name[:80], exc)
            if progress is not None:
                progress(done, len(pads))
            wait = interval - (time.monotonic() - started)
            if wait > 0:
                await asyncio.sleep(wait)
    return report


def write_report(report: MigrationReport, path: Path) -> None:
    """The run's outcome as JSON (renamed pads and failures with their reasons)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    path.write_text(
        json.dumps(
            {
                "imported": report.imported,
                "skipped": report.skipped,
                "renamed": report.renamed,
                "failed": report.failed,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
