"""The Docker image's steps, without a Docker engine: they are the Makefile's own commands (which
`make test` has just run), and what they produce — a pip-installed crdtpad with the built web app
inside — serves pages and a healthy /healthz as a non-root user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]


def runs(dockerfile: str) -> list[str]:
    return [
        " ".join(m.split()) for m in re.findall(r"^RUN (.+?)(?<!\\)$", dockerfile.replace("\\\n", " "), re.M)
    ]


def test_the_image_builds_with_the_makefiles_commands() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    steps = runs(dockerfile)
    assert "npm ci --no-audit --no-fund --loglevel=error" in steps
    assert "npm run build" in steps
    assert "cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build" in makefile
    assert "pip install --no-cache-dir ." in steps
    assert re.search(r"^USER crdtpad$", dockerfile, re.M)
    assert re.search(r'^VOLUME \["/data"\]$', dockerfile, re.M)
    assert "/healthz" in dockerfile.split("HEALTHCHECK", 1)[1].split("\n\n", 1)[0]
    compose = (ROOT / "compose.yaml").read_text()
    assert "crdtpad-data:/data" in compose and "build: ." in compose


def test_a_pip_installed_crdtpad_serves_the_web_app(tmp_path: Path) -> None:
    # What `pip install .` puts in the image: a wheel's files, the built web app among them.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (target / "crdtpad" / "webapp" / "pad.html").is_file()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(target), "CRDTPAD_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crdtpad", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/healthz", proc, "the installed crdtpad")
        probe = subprocess.run(
            [sys.executable, "-c", "import crdtpad; print(crdtpad.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert probe.stdout.startswith(str(target))  # the installed copy, not the source tree
        page = httpx.get(f"http://127.0.0.1:{port}/p/some-pad", timeout=5)
        assert page.status_code == 200 and "assets/pad-" in page.text
    finally:
        proc.terminate()
        proc.wait(20)
