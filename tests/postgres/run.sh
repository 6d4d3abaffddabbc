#!/usr/bin/env bash
# Runs test binaries against a real PostgreSQL server: starts one (server.sh) in a scratch
# folder, runs each binary with CONFAB_TEST_POSTGRES set to its URI (the policy and API tests then
# open their stores there, each test in a schema of its own: tests/unit/policy/ScratchStore.hpp),
# and stops the server, whatever happened.
#
#   tests/postgres/run.sh BINARY [BINARY...] [-- GTEST-ARGS...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
binaries=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  binaries+=("$1")
  shift
done
[[ "${1:-}" == "--" ]] && shift

scratch=$(mktemp -d "${TMPDIR:-/tmp}/confab-pg.XXXXXX")
chmod 755 "$scratch"
stop() {
  bash "$here/server.sh" stop "$scratch/pg" || true
  rm -rf "$scratch"
}
trap stop EXIT

uri=$(bash "$here/server.sh" start "$scratch/pg")
echo "run.sh: PostgreSQL at $uri"
status=0
for binary in "${binaries[@]}"; do
  CONFAB_TEST_POSTGRES="$uri" "$binary" "$@" || status=1
done
exit $status
