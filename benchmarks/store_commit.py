"""The store's commit path alone, A/B between source trees (no peer has this path: a regression
check for changes to ``SqlitePadStore.write``, not a comparison with Hocuspocus).

    .venv/bin/python benchmarks/store_commit.py SRC_A [SRC_B ...]   # e.g. a worktree of main and .

Each tree runs in its own process, alternating, three rounds; 4,000 commits of 1-5 appends of
60 bytes across 20 pads, synchronous=NORMAL, on a temporary file. Prints µs per commit.
"""

from __future__ import annotations

import subprocess
import sys

ONE_RUN = r"""
import asyncio, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/src")
from crdtpad.db import open_db
from crdtpad.store.pads import Append, SqlitePadStore

async def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        async with open_db(Path(d) / "x.sqlite3", "NORMAL") as (w, r):
            store = SqlitePadStore(w, r)
            pads = [f"p{i}" for i in range(20)]
            for pad in pads:
                await store.ensure_pad(pad, pad)
            seq = dict.fromkeys(pads, 0)
            started = time.perf_counter()
            for i in range(4000):
                batch = []
                for pad in pads[: 1 + i % 5]:
                    seq[pad] += 1
                    batch.append(Append(pad, seq[pad], b"x" * 60))
                await store.write(batch, [])
            print(f"{(time.perf_counter() - started) / 4000 * 1e6:.0f}")

asyncio.run(main())
"""


def main() -> None:
    trees = sys.argv[1:] or ["."]
    results: dict[str, list[str]] = {tree: [] for tree in trees}
    for _ in range(3):
        for tree in trees:
            out = subprocess.run(
                [sys.executable, "-c", ONE_RUN, tree], capture_output=True, text=True, check=True
            )
            results[tree].append(out.stdout.strip())
    for tree, runs in results.items():
        print(f"{tree}: {' / '.join(runs)} µs per commit")


if __name__ == "__main__":
    main()
