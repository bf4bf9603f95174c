#!/usr/bin/env bash
# Run the crdtpad benchmark suite: crdtpad, Hocuspocus and y-websocket-server side by side.
#   bash benchmarks/run.sh [--quick] [--help for all options]
#   bash benchmarks/run.sh --servers=crdtpad,crdtpad-hp,hocuspocus   (crdtpad also via /hocuspocus)
# Results: printed tables, benchmarks/results-latest.md, raw JSON and server logs in benchmarks/out/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
cd "$REPO"

export CRDTPAD_PYTHON="${CRDTPAD_PYTHON:-$REPO/.venv/bin/python}"
if [ ! -x "$CRDTPAD_PYTHON" ]; then
  echo "warning: CRDTPAD_PYTHON=$CRDTPAD_PYTHON is not executable; the crdtpad columns will fail (make setup creates .venv)" >&2
fi

command -v node >/dev/null || { echo "node is required (Node 20+)" >&2; exit 1; }

# Install the pinned load-generator and peer-server packages when missing or out of date.
if [ ! -f "$HERE/node_modules/.package-lock.json" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  echo "installing benchmark packages (npm ci in benchmarks/) ..." >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

exec node "$HERE/bench.mjs" "$@"
