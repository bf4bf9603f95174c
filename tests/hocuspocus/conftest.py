"""Servers for the Hocuspocus endpoint's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import JS_DIR, ServerProcess


@pytest.fixture(scope="session")
def hocuspocus_provider(node_available: None) -> None:
    """The stock provider is part of the suite: its absence is an error, not a skip."""
    if not (JS_DIR / "node_modules" / "@hocuspocus" / "provider").exists():
        pytest.fail("tests/js/node_modules/@hocuspocus/provider is missing: run `npm ci` in tests/js")


@pytest.fixture(scope="package")
def hp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the tests that only talk to it: open pads, so each test picks its own ids."""
    with ServerProcess(
        tmp_path_factory.mktemp("hocuspocus") / "data", CRDTPAD_OPEN_PADS="true", CRDTPAD_UNLOAD_GRACE_S="0.5"
    ) as server:
        yield server


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own (it kills it, or locks its database)."""
    with ServerProcess(tmp_path / "data", CRDTPAD_OPEN_PADS="true", CRDTPAD_UNLOAD_GRACE_S="0.2") as server:
        yield server
