"""`crdtpad backup | restore | admin` as an admin types them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import ServerProcess


def crdtpad(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crdtpad", *args, "--data-dir", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "CRDTPAD_LOG_LEVEL": "warning"},
    )


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
