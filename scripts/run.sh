#!/usr/bin/env bash
# Installs everything, builds a release confab and starts it on its embedded default configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_TESTS=OFF
cmake --build build/release --target confab
exec build/release/main/confab "$@"
