"""`crdtpad migrate-etherpad`: thousands of pads from a folder or an Etherpad SQLite database,
resumable after an interruption, with failures reported and the rest migrated."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crdtpad.config import Settings
from crdtpad.maintenance import export_pad
from crdtpad.migrate import migrate_etherpad
from crdtpad.transfer.easysync import base36

PADS = 10_000


b36 = base36  # Etherpad writes its numbers in base 36


def etherpad(name: str, text: str, *, bold: bool = False, attribs: str | None = None) -> dict[str, object]:
    """A pad as Etherpad exports it: one line of text (bold if asked) and one chat message."""
    body = text + "\n"
    n = len(text)
    pool = {"0": ["author", "a.teacher"], "1": ["bold", "true"]}
    default = (f"*0*1+{b36(n)}" if bold else f"*0+{b36(n)}") + "|1+1"
    return {
        f"pad:{name}": {
            "atext": {"text": body, "attribs": attribs or default},
            "pool": {"numToAttrib": pool, "nextNum": 2},
            "head": 0,
            "chatHead": 0,
        },
        f"pad:{name}:chat:0": {
            "text": f"welcome to {name}",
            "authorId": "a.teacher",
            "time": 1_700_000_000_000,
        },
        "globalAuthor:a.teacher": {"name": "Teacher", "colorId": 3, "timestamp": 0},
    }


def settings(tmp_path: Path) -> Settings:
    # synchronous=NORMAL: the test measures the migration, not this machine's fsync.
    return Settings(data_dir=tmp_path / "data", sqlite_synchronous="NORMAL")


def live_pads(s: Settings) -> int:
    with contextlib.closing(sqlite3.connect(s.db_path)) as db:
        return int(db.execute("SELECT count(*) FROM pads WHERE deleted_at IS NULL").fetchone()[0])


class Stop(Exception):
    pass


async def test_ten_thousand_pads_from_a_folder_with_an_interruption_and_a_resume(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for i in range(PADS):
        name = f"class-{i:05d}"
        (folder / f"{name}.etherpad").write_text(
            json.dumps(etherpad(name, f"Notes of {name}", bold=i % 2 == 0))
        )
    s = settings(tmp_path)
    seen: list[int] = []

    def stop_at_1500(done: int, total: int) -> None:
        seen.append(total)
        if done == 1500:
            raise Stop

    with pytest.raises(Stop):
        await migrate_etherpad(s, folder, rate=0, progress=stop_at_1500)
    assert live_pads(s) == 1500 and seen[-1] == PADS
    started = time.monotonic()
    report = await migrate_etherpad(s, folder, rate=0)
    elapsed = time.monotonic() - started
    assert (report.imported, report.skipped, report.failed) == (PADS - 1500, 1500, {})
    assert live_pads(s) == PADS
    md, _ = await export_pad(s, "class-00042", "md")
    assert md == b"**Notes of class-00042**\n"
    print(f"migrated {PADS - 1500} pads in {elapsed:.1f} s")


async def test_a_rate_limit_spaces_the_pads(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for i in range(6):
        (folder / f"p{i}.etherpad").write_text(json.dumps(etherpad(f"p{i}", "x")))
    started = time.monotonic()
    report = await migrate_etherpad(settings(tmp_path), folder, rate=20)
    assert report.imported == 6 and time.monotonic() - started >= 5 / 20


def etherpad_sqlite(path: Path, pads: dict[str, dict[str, object]]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE store (key TEXT PRIMARY KEY, value TEXT)")
        for records in pads.values():
            for key, value in records.items():
                db.execute("INSERT OR REPLACE INTO store VALUES (?, ?)", (key, json.dumps(value)))


async def test_from_an_etherpad_sqlite_database_with_failures_and_odd_names(tmp_path: Path) -> None:
    source = tmp_path / "etherpad.db"
    etherpad_sqlite(
        source,
        {
            "maths": etherpad("maths", "Exercise 1", bold=True),
            "broken": etherpad("broken", "bad", attribs="*9+3|1+1"),  # pool number 9 does not exist
            "salle 12": etherpad("salle 12", "Room notes"),  # not a crdtpad id: gets a new one
        },
    )
    s = settings(tmp_path)
    report = await migrate_etherpad(s, source, rate=0)
    assert report.imported == 2 and list(report.failed) == ["broken"] and "9" in report.failed["broken"]
    new_id = report.renamed["salle 12"]
    md, _ = await export_pad(s, new_id, "md")
    assert md == b"Room notes\n"
    with contextlib.closing(sqlite3.connect(s.db_path)) as db:
        assert db.execute("SELECT title FROM pads WHERE id = ?", (new_id,)).fetchone() == ("salle 12",)


def test_the_command_prints_a_summary_and_writes_a_report(tmp_path: Path) -> None:
    source = tmp_path / "etherpad.db"
    etherpad_sqlite(source, {"a": etherpad("a", "one"), "b": etherpad("b", "two", attribs="+zzzzzzzzzz")})
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crdtpad",
            "migrate-etherpad",
            str(source),
            "--report",
            str(report),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CRDTPAD_LOG_LEVEL": "error"},
    )
    assert done.returncode == 0, done.stderr
    assert "Migrated 1 pads" in done.stdout and "1 failed" in done.stdout
    assert json.loads(report.read_text())["failed"].keys() == {"b"}
