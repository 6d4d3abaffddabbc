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
# The voice prompts, into the sounds folder confab will use (sounds-dir, else DATA-DIR/sounds,
# after any --config, --data-dir or --sounds-dir among the arguments); files already there, such
# as an operator's recordings, stay.
effective="$(build/release/main/confab "$@" --print-config 2>/dev/null)" || true
sounds_dir="$(sed -n 's/^sounds-dir = //p' <<<"$effective")"
data_dir="$(sed -n 's/^data-dir = //p' <<<"$effective")"
[[ -n "$sounds_dir" || -z "$data_dir" ]] || sounds_dir="$data_dir/sounds"
[[ -z "$sounds_dir" ]] || bash scripts/make-prompts.sh "$sounds_dir"
echo "run.sh: dependencies $((installed - started)) s, build $((SECONDS - installed)) s;" \
  "starting build/release/main/confab"
exec build/release/main/confab "$@"
