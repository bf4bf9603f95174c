"""Export of a pad whose title is not Latin-1: Content-Disposition cannot be encoded."""

from pathlib import Path

import pytest

from tests.accounts.conftest import running


@pytest.mark.parametrize("title", ["日本語のメモ", "Заметки", "café"])
async def test_export_non_latin1_title(tmp_path: Path, title: str) -> None:
    async with running(tmp_path) as api:
        r = await api.client.post("/api/v1/pads", json={"title": title})
        assert r.status_code == 201, r.text
        pad = r.json()["id"]
        try:
            r = await api.client.get(f"/api/v1/pads/{pad}/export/txt")
        except Exception as exc:
            pytest.fail(f"export of a pad titled {title!r} crashed: {exc!r}")
        assert r.status_code == 200, r.text
