#!/usr/bin/env bash
# Installs everything, builds a release confab and starts it on its embedded default configuration.
# Extra arguments go to confab (e.g. `bash scripts/run.sh --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
bash scripts/install-deps.sh
installed=$SECONDS
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_TESTS=OFF
cmake --build build/release --target confab confab-mixer
echo "run.sh: dependencies $((installed - started)) s, build $((SECONDS - installed)) s;" \
  "starting build/release/main/confab"
exec build/release/main/confab "$@"
