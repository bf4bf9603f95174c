"""An Etherpad pad's history comes with it: its key revisions (every 100th, whole texts) become
named revisions with Etherpad's times, on every import path (HTTP into a new or an empty pad,
`crdtpad import`, `crdtpad migrate-etherpad` from a folder or an Etherpad SQLite database).
They export, restore (clients connected converge) and stay whatever the retention; a bad
revision record is a 400 naming it, and nothing is stored."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pycrdt
import pytest

from crdtpad.access import Principal
from crdtpad.config import Settings
from crdtpad.migrate import migrate_etherpad
from crdtpad.transfer.etherpad import MAX_HISTORY
from tests.accounts.conftest import PASSWORD, Api, running
from tests.support import ServerProcess, YClient, run_crdtpad, wait_for
from tests.transfer.test_etherpad import HISTORY_TXT, T0, atext, b36, history_file

HISTORY = [(f"Etherpad r{n}", T0 + n * 60_000) for n in (0, 100, 200, 250)]


def etherpad_file(records: dict[str, Any]) -> bytes:
    return json.dumps(records, ensure_ascii=False).encode()


def long_history(pad_id: str, head: int = 30_000, *, pool_per_revision: bool = False) -> dict[str, Any]:
    """A pad with head/100 key revisions, each with its own short text "r<n>"."""
    pool = {"numToAttrib": {"0": ["author", "a.teacher"]}, "nextNum": 1}
    records: dict[str, Any] = {
        f"pad:{pad_id}": {"atext": atext([("head\n", [0])]), "pool": pool, "head": head, "chatHead": -1}
    }
    for n in range(0, head, 100):
        meta: dict[str, Any] = {"timestamp": T0 + n, "author": "a.teacher"}
        meta["atext"] = {"text": f"r{n}\n", "attribs": f"*0+{b36(len(str(n)) + 1)}|1+1"}
        if pool_per_revision:
            meta["pool"] = pool
        records[f"pad:{pad_id}:revs:{n}"] = {"changeset": "Z:1>0$", "meta": meta}
    return records


def bad_atext(records: dict[str, Any]) -> dict[str, Any]:
    records["pad:notes:revs:100"]["meta"]["atext"] = {"text": "hello\n", "attribs": "*0+3"}
    return records


def bad_time(records: dict[str, Any]) -> dict[str, Any]:
    records["pad:notes:revs:200"]["meta"]["timestamp"] = 10**20
    return records


def huge_pool(records: dict[str, Any]) -> dict[str, Any]:
    records["pad:notes:revs:0"]["meta"]["pool"] = {
        "numToAttrib": {str(i): ["bold", "true"] for i in range(20_001)}
    }
    return records


HOSTILE = [
    (bad_atext, "The revision record 'pad:notes:revs:100' is refused: the attribute string covers 3 of"),
    (bad_time, "The revision record 'pad:notes:revs:200' has a meta.timestamp that is not a time"),
    (huge_pool, "The revision record 'pad:notes:revs:0' is refused: the attribute pool has 20001 entries"),
]


async def owner(api: Api) -> tuple[Principal, dict[str, str]]:
    user = await api.services.accounts.create_user("owner", PASSWORD)
    _, token = await api.services.accounts.create_api_token(user, "t")
    return Principal(user), {"Authorization": f"Bearer {token}"}


async def revisions(client: httpx.AsyncClient, pad: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/pads/{pad}/revisions", headers=auth)
    assert r.status_code == 200, r.text
    listed: list[dict[str, Any]] = r.json()
    return listed


def stored(db_path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("pad_updates", "pad_revisions", "pad_snapshots")
        }


def stored_history(db_path: Path, pad: str) -> list[tuple[str | None, int, str]]:
    """A pad's revisions as stored: name, time, and the text of the document each holds."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(
            "SELECT name, created_at, data FROM pad_revisions WHERE pad_id = ? ORDER BY rev", (pad,)
        ).fetchall()
    out = []
    for name, at, data in rows:
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        doc.apply_update(bytes(data))
        out.append((name, at, str(doc.get("content", type=pycrdt.Text))))
    return out


# -- HTTP, in process ------------------------------------------------------------------------------


async def test_a_new_pad_from_an_etherpad_file_has_its_history_with_etherpad_times(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        who, auth = await owner(api)
        r = await api.client.post(
            "/api/v1/pads/import",
            files={"file": ("notes.etherpad", etherpad_file(history_file()))},
            data={"visibility": "private"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        pad = r.json()["id"]
        listed = await revisions(api.client, pad, auth)
        assert [(r["name"], r["created_at"]) for r in listed] == HISTORY
        assert [r["seq"] for r in listed] == [0, 0, 0, 1]  # the last one is the pad's text as imported
        for revision, n in zip(listed, (0, 100, 200, 250), strict=True):
            txt = await api.client.get(
                f"/api/v1/pads/{pad}/revisions/{revision['rev']}/export/txt", headers=auth
            )
            assert txt.text == HISTORY_TXT[n]
            text = await api.client.get(
                f"/api/v1/pads/{pad}/text", params={"rev": revision["rev"]}, headers=auth
            )
            assert text.json()["text"] == HISTORY_TXT[n]
        r200 = listed[2]["rev"]
        html = (await api.client.get(f"/api/v1/pads/{pad}/revisions/{r200}/export/html", headers=auth)).text
        assert (
            "<strong>日本</strong>" in html and "<li>Buy croissants</li>" in html
        )  # the timeslider's preview
        md = (await api.client.get(f"/api/v1/pads/{pad}/revisions/{r200}/export/md", headers=auth)).text
        assert "**日本**" in md and "- Book the room for Zoë" in md
        assert await api.services.pads.read_text(who, pad) == HISTORY_TXT[250]  # the head, as always

        # The last imported revision is the text as it is: unloading the room adds none.
        rooms = api.services.rooms
        room = rooms.loaded_room(pad)
        assert room is not None
        await rooms.unload(room)
        assert len(await revisions(api.client, pad, auth)) == 4


async def test_restoring_an_imported_revision_brings_its_text_back_on_top(tmp_path: Path) -> None:
    async with running(tmp_path) as api:
        who, auth = await owner(api)
        r = await api.client.post(
            "/api/v1/pads/import", files={"file": ("n.etherpad", etherpad_file(history_file()))}, headers=auth
        )
        pad = r.json()["id"]
        r100 = (await revisions(api.client, pad, auth))[1]["rev"]
        r = await api.client.post(f"/api/v1/pads/{pad}/revisions/{r100}/restore", headers=auth)
        assert r.status_code == 200, r.text
        assert await api.services.pads.read_text(who, pad) == HISTORY_TXT[100]
        md = (await api.client.get(f"/api/v1/pads/{pad}/export/md", headers=auth)).text
        assert md == "Café notes **日本**\n"
        listed = await revisions(api.client, pad, auth)
        assert [r["name"] for r in listed] == [name for name, _ in HISTORY] + [None]
        assert listed[-1]["rev"] == r.json()["rev"]


async def test_an_empty_pad_filled_from_an_etherpad_file_gets_the_history_after_its_own(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as api:
        pads = api.services.pads
        who, auth = await owner(api)
        pad = (await pads.create(who, "class notes", "private")).id
        first = await pads.save_revision(who, pad, "before the import")
        r = await api.client.post(
            f"/api/v1/pads/{pad}/import",
            files={"file": ("notes.etherpad", etherpad_file(history_file()))},
            headers=auth,
        )
        assert r.status_code == 204, r.text
        listed = await revisions(api.client, pad, auth)
        assert [(r["name"], r["created_at"]) for r in listed[1:]] == HISTORY
        assert listed[0]["rev"] == first and [r["rev"] for r in listed] == list(range(first, first + 5))
        assert await pads.read_text(who, pad) == HISTORY_TXT[250]
        # Editing goes on as usual: the next automatic revision comes after the imported ones.
        await pads.append_text(who, pad, "More.")
        rooms = api.services.rooms
        room = await rooms.open(pad)
        try:
            made = await rooms.revise(room)
        finally:
            rooms.release(room)
        last = (await revisions(api.client, pad, auth))[-1]
        assert last["name"] is None and last["rev"] == made == first + 5


@pytest.mark.parametrize(("spoil", "message"), HOSTILE, ids=[f.__name__ for f, _ in HOSTILE])
async def test_a_bad_revision_record_is_a_precise_400_and_nothing_is_stored(
    tmp_path: Path, spoil: Any, message: str
) -> None:
    async with running(tmp_path, max_import_bytes=4 * 1024 * 1024) as api:
        who, auth = await owner(api)
        data = etherpad_file(spoil(history_file()))
        r = await api.client.post("/api/v1/pads/import", files={"file": ("n.etherpad", data)}, headers=auth)
        assert r.status_code == 400 and r.json()["detail"].startswith(message), r.text
        assert (await api.client.get("/api/v1/pads", headers=auth)).json() == []
        pad = (await api.services.pads.create(who, "empty", "private")).id
        r = await api.client.post(
            f"/api/v1/pads/{pad}/import", files={"file": ("n.etherpad", data)}, headers=auth
        )
        assert r.status_code == 400 and r.json()["detail"].startswith(message), r.text
        assert await api.services.pads.read_text(who, pad) == ""
        assert stored(api.services.settings.db_path) == {
            "pad_updates": 0,
            "pad_revisions": 0,
            "pad_snapshots": 0,
        }


async def test_a_long_history_is_bounded_and_kept_whatever_the_retention(tmp_path: Path) -> None:
    async with running(tmp_path, revisions_kept=2) as api:
        who, auth = await owner(api)
        records = long_history("big")  # 300 key revisions
        r = await api.client.post(
            "/api/v1/pads/import", files={"file": ("big.etherpad", etherpad_file(records))}, headers=auth
        )
        assert r.status_code == 201, r.text
        pad = r.json()["id"]
        numbers = [0, *range(30_000 - 100 * MAX_HISTORY, 30_000, 100), 30_000]
        names = [f"Etherpad r{n}" for n in numbers]
        assert [r["name"] for r in await revisions(api.client, pad, auth)] == names
        # Named, so retention (2 automatic revisions) never drops them.
        rooms = api.services.rooms
        room = await rooms.open(pad)
        try:
            for i in range(4):
                await api.services.pads.write_text(who, pad, f"edit {i}\n")
                await rooms.revise(room)
        finally:
            rooms.release(room)
        assert [r["name"] for r in await revisions(api.client, pad, auth)] == [*names, None, None]


# -- a live server with clients connected ----------------------------------------------------------


async def test_filling_a_pad_with_a_client_connected_then_restoring_converges(server: ServerProcess) -> None:
    pad = server.create_pad()
    a, b = YClient(server.ws_url(pad)), YClient(server.ws_url(pad))
    await a.connect()
    await b.connect()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        r = await c.post(
            f"/api/v1/pads/{pad}/import", files={"file": ("n.etherpad", etherpad_file(history_file()))}
        )
        assert r.status_code == 204, r.text
        await wait_for(
            lambda: str(a) == str(b) == HISTORY_TXT[250], what="both clients got the imported text"
        )
        listed = (await c.get(f"/api/v1/pads/{pad}/revisions")).json()
        assert [(r["name"], r["created_at"]) for r in listed] == HISTORY
        a.type("Then more from a.")
        await wait_for(a.all_saved, what="a's edit stored")
        r = await c.post(f"/api/v1/pads/{pad}/revisions/{listed[2]['rev']}/restore")
        assert r.status_code == 200, r.text
        await wait_for(
            lambda: str(a) == str(b) == HISTORY_TXT[200], what="both clients back at Etherpad r200"
        )
        assert a.close_code is None and b.close_code is None
        assert (await c.get(f"/api/v1/pads/{pad}/text")).json()["text"] == HISTORY_TXT[200]
    await a.close()
    await b.close()


# -- the command line ------------------------------------------------------------------------------


def test_the_import_command_brings_the_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / "notes.etherpad"
    source.write_bytes(etherpad_file(history_file()))
    done = run_crdtpad("import", str(source), data_dir=data)
    assert done.returncode == 0, done.stderr
    pad = done.stdout.strip()
    db = Settings(data_dir=data).db_path
    assert stored_history(db, pad) == [
        (name, at, HISTORY_TXT[n]) for (name, at), n in zip(HISTORY, (0, 100, 200, 250), strict=True)
    ]


def test_the_import_command_refuses_a_bad_revision_and_stores_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / "notes.etherpad"
    source.write_bytes(etherpad_file(bad_atext(history_file())))
    done = run_crdtpad("import", str(source), data_dir=data)
    assert done.returncode == 1 and "'pad:notes:revs:100' is refused" in done.stderr
    db = Settings(data_dir=data).db_path
    assert not db.exists() or stored(db) == {"pad_updates": 0, "pad_revisions": 0, "pad_snapshots": 0}


# -- migrate-etherpad ------------------------------------------------------------------------------


def etherpad_sqlite(path: Path, *pads: dict[str, Any]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE store (key TEXT PRIMARY KEY, value TEXT)")
        for records in pads:
            db.executemany(
                "INSERT INTO store VALUES (?, ?)", [(k, json.dumps(v)) for k, v in records.items()]
            )


def migrate_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", sqlite_synchronous="NORMAL", **extra)


async def test_migrating_a_folder_carries_the_history(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "notes.etherpad").write_bytes(etherpad_file(history_file()))
    (folder / "broken.etherpad").write_bytes(etherpad_file(bad_atext(history_file())))
    s = migrate_settings(tmp_path)
    report = await migrate_etherpad(s, folder, rate=0)
    assert report.imported == 1 and "'pad:notes:revs:100' is refused" in report.failed["broken"]
    assert stored_history(s.db_path, "notes") == [
        (name, at, HISTORY_TXT[n]) for (name, at), n in zip(HISTORY, (0, 100, 200, 250), strict=True)
    ]
    assert stored_history(s.db_path, "broken") == []


async def test_migrating_an_etherpad_database_carries_a_bounded_history(tmp_path: Path) -> None:
    source = tmp_path / "etherpad.db"
    # "big": 300 key revisions (each with its pool, as Etherpad 1.8+ stores them) and 30,000 in all.
    etherpad_sqlite(source, history_file("notes"), long_history("big", pool_per_revision=True))
    s = migrate_settings(tmp_path)
    report = await migrate_etherpad(s, source, rate=0)
    assert (report.imported, report.failed) == (2, {})
    assert stored_history(s.db_path, "notes") == [
        (name, at, HISTORY_TXT[n]) for (name, at), n in zip(HISTORY, (0, 100, 200, 250), strict=True)
    ]
    big = stored_history(s.db_path, "big")
    numbers = [0, *range(30_000 - 100 * MAX_HISTORY, 30_000, 100)]
    assert [name for name, _, _ in big] == [f"Etherpad r{n}" for n in [*numbers, 30_000]]
    assert [(at, text) for _, at, text in big[:-1]] == [(T0 + n, f"r{n}\n") for n in numbers]
    assert big[-1][2] == "head\n"


async def test_a_history_too_big_for_one_import_keeps_its_most_recent_revisions(tmp_path: Path) -> None:
    source = tmp_path / "etherpad.db"
    records = long_history("big", head=1000)
    for n in range(0, 1000, 100):  # 10 key revisions of ~3 KB each
        text = f"r{n} " + "x" * 3000 + "\n"
        records[f"pad:big:revs:{n}"]["meta"]["atext"] = atext([(text, [0])])
    etherpad_sqlite(source, records)
    s = migrate_settings(tmp_path, max_import_bytes=16 * 1024)
    report = await migrate_etherpad(s, source, rate=0)
    assert (report.imported, report.failed) == (1, {})
    big = stored_history(s.db_path, "big")
    assert big[-1][2] == "head\n"
    kept = [name for name, _, _ in big[:-1]]
    assert 1 <= len(kept) < 10  # as many as fit in 16 KiB, the most recent ones
    assert kept == [f"Etherpad r{n}" for n in range(1000 - 100 * len(kept), 1000, 100)]


# -- saved revisions -------------------------------------------------------------------------------

SAVED = json.loads((Path(__file__).parents[1] / "transfer/fixtures/etherpad_history.etherpad").read_text())
SAVED_TEXTS = json.loads(
    (Path(__file__).parents[1] / "transfer/fixtures/etherpad_history.texts.json").read_text()
)
SAVED_NAMES = [
    "Etherpad r0",
    "Etherpad r57 ★ First draft",
    "Etherpad r100 ★ On a key revision",
    "Etherpad r163 ★ Revision 163",
    "Etherpad r199 ★ Just before a key",
    "Etherpad r200",
    "Etherpad r300",
    "Etherpad r349 ★ Final",
]


def saved_history_is_whole(history: list[tuple[str | None, int, str]]) -> None:
    assert [name for name, _, _ in history] == SAVED_NAMES
    for name, _at, text in history:
        number = int(str(name).split()[1][1:])
        assert text == SAVED_TEXTS[number], name


async def test_saved_revisions_arrive_over_http_and_from_an_etherpad_database(tmp_path: Path) -> None:
    """Etherpad's starred revisions, rebuilt by replaying its changesets (made by Etherpad's own
    library, see tests/transfer/test_easysync.py), on the HTTP import and the database migration."""
    async with running(tmp_path / "http") as api:
        _who, auth = await owner(api)
        r = await api.client.post(
            "/api/v1/pads/import", files={"file": ("h.etherpad", etherpad_file(SAVED))}, headers=auth
        )
        assert r.status_code == 201, r.text
        saved_history_is_whole(stored_history(api.services.settings.db_path, r.json()["id"]))

    source = tmp_path / "etherpad.sqlite"
    etherpad_sqlite(source, SAVED)
    settings = migrate_settings(tmp_path / "db")
    report = await migrate_etherpad(settings, source)
    assert report.imported == 1, report
    saved_history_is_whole(stored_history(settings.db_path, "history"))
