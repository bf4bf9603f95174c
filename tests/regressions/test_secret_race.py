"""Settings.secret_key: a reader racing the creator (or a creator that died after O_EXCL) gets b''."""

import os
import threading
from pathlib import Path

from crdtpad.config import Settings


def test_secret_key_never_empty_under_concurrency(tmp_path: Path) -> None:
    empties = 0
    for i in range(300):
        s = Settings(data_dir=tmp_path / f"d{i}")
        barrier = threading.Barrier(8)
        keys: list[bytes] = []

        def worker(s: Settings = s, keys: list[bytes] = keys, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            keys.append(s.secret_key())

        ts = [threading.Thread(target=worker) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if any(len(k) != 32 for k in keys) or len(set(keys)) != 1:
            empties += 1
    assert empties == 0, f"{empties}/300 rounds gave an empty or differing key"


def test_secret_key_empty_file_is_accepted(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    (tmp_path / "d").mkdir()
    # what a process killed between os.open(O_EXCL) and write() leaves behind
    fd = os.open(tmp_path / "d" / "secret_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    assert len(s.secret_key()) == 32, f"key is {s.secret_key()!r}: HMAC with an empty key"
