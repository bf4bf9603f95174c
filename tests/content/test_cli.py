"""`crdtpad import` and `crdtpad export` on the data directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import run_crdtpad


def crdtpad(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_crdtpad(*args, data_dir=data, stdin=stdin)


def test_import_then_export_every_format(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / "notes.md"
    source.write_text("# Notes\n\nHello **class**.\n\n- one\n- two\n")
    done = crdtpad(data, "import", str(source))
    assert done.returncode == 0, done.stderr
    pad = done.stdout.strip()
    md = crdtpad(data, "export", pad, "--format", "md")
    assert md.returncode == 0 and md.stdout == source.read_text()
    out = tmp_path / "notes.html"
    assert crdtpad(data, "export", pad, "--format", "html", "-o", str(out)).returncode == 0
    assert "<strong>class</strong>" in out.read_text()
    yjs = tmp_path / "notes.yjs"
    assert crdtpad(data, "export", pad, "--format", "yjs", "-o", str(yjs)).returncode == 0
    again = crdtpad(data, "import", str(yjs), "--title", "copy").stdout.strip()
    assert crdtpad(data, "export", again, "--format", "md").stdout == source.read_text()


def test_bad_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe")
    done = crdtpad(data, "import", str(bad))
    assert done.returncode == 1 and "not UTF-8" in done.stderr
    assert crdtpad(data, "export", "nope", "--format", "md").returncode == 1
    private = crdtpad(data, "import", str(tmp_path / "missing.md"), "--visibility", "private")
    assert private.returncode == 1


def test_an_etherpad_export_imports_with_its_authors_and_chat(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fixture = Path(__file__).resolve().parents[1] / "transfer" / "fixtures" / "two_authors.etherpad"
    done = crdtpad(data, "import", str(fixture))
    assert done.returncode == 0, done.stderr
    md = crdtpad(data, "export", done.stdout.strip(), "--format", "md").stdout
    assert md.strip() and "*" in md  # formatted text came through
