"""`crdtpad backup | restore | admin` as an admin types them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.support import ServerProcess, run_crdtpad


def crdtpad(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_crdtpad(*args, data_dir=data, stdin=stdin)


def test_backup_while_serving_then_restore_when_stopped(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        pads = [
            httpx.post(f"{server.url}/api/v1/pads", json={"title": f"p{i}"}).json()["id"] for i in range(3)
        ]
        backup = tmp_path / "b.sqlite3"
        done = crdtpad(server.data_dir, "backup", str(backup))
        assert done.returncode == 0, done.stderr
        assert "Backed up 3 pads" in done.stdout
        assert crdtpad(server.data_dir, "backup", str(backup)).returncode == 1  # no overwrite without --force
        assert crdtpad(server.data_dir, "backup", str(backup), "--force").returncode == 0
        refused = crdtpad(server.data_dir, "restore", str(backup))
        assert refused.returncode == 1 and "stop the crdtpad server" in refused.stderr
    finally:
        server.terminate()
    stats = crdtpad(server.data_dir, "admin", "stats")
    assert "pads = 3" in stats.stdout
    assert crdtpad(
        server.data_dir, "admin", "purge", "--days", "0", "--idle-minutes", "0", stdin="n\n"
    ).stdout.endswith("Nothing erased.\n")
    done = crdtpad(server.data_dir, "admin", "purge", "--days", "0", "--idle-minutes", "0", "--yes")
    assert done.returncode == 0 and "Erased 3 pads." in done.stdout
    done = crdtpad(server.data_dir, "restore", str(tmp_path / "b.sqlite3"))
    assert done.returncode == 0, done.stderr
    assert "Restored 3 pads" in done.stdout and "before-restore" in done.stdout
    server.start()
    try:
        for pad in pads:
            assert httpx.get(f"{server.url}/api/v1/pads/{pad}").status_code == 200
    finally:
        server.kill()
