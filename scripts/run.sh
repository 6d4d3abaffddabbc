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
# The voice prompts, into the sounds folder of the data-dir confab will use (after any --config
# or --data-dir among the arguments); files already there, such as an operator's recordings, stay.
data_dir="$(build/release/main/confab "$@" --print-config 2>/dev/null |
  sed -n 's/^data-dir = //p')" || true
[[ -z "$data_dir" ]] || bash scripts/make-prompts.sh "$data_dir/sounds"
echo "run.sh: dependencies $((installed - started)) s, build $((SECONDS - installed)) s;" \
  "starting build/release/main/confab"
exec build/release/main/confab "$@"
