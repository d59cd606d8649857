#!/usr/bin/env bash
# Builds the dashboard (installing what a fresh machine lacks, see scripts/web.sh) and
# serves it on http://127.0.0.1:8080 (PORT=… to change). Static files only: the engine
# and the simulator run in the page.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/web.sh build
PORT="${PORT:-8080}"
printf '\n==> serving the dashboard on http://127.0.0.1:%s (Ctrl-C to stop)\n' "$PORT" >&2
if command -v python3 >/dev/null; then
  exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory www/dist
fi
# No Python: Trunk's own server (it rebuilds first, then watches the sources).
export PATH="$PWD/.tools/bin:$PWD/web/tests/node_modules/.bin:$PATH"
cd www && exec trunk serve --release --offline --port "$PORT" --address 127.0.0.1
