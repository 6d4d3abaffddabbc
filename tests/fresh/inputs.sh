#!/usr/bin/env bash
# Prints one hash over everything that decides whether the README's first command (scripts/run.sh)
# works on a fresh Debian 12 machine: the install script, the run script and what it calls, the
# build files of what it builds (not tests/: run.sh builds without them), deploy/ and this
# folder's test. scripts/test.sh runs tests/fresh/fresh_machine.sh when this differs from the
# hash in tests/fresh/VERIFIED, which a passing run of it writes (commit it with the change).
# Code changes cannot bring a new dependency unseen: scripts/check-deps.py, run by every CI,
# checks each header, library and command the builds used against install-deps.sh's packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
{
  ls scripts/install-deps.sh scripts/build-libsrtp2.sh scripts/run.sh scripts/make-prompts.sh \
    tests/fresh/fresh_machine.sh CMakeLists.txt */CMakeLists.txt
  find deploy -type f
} | grep -v '^tests/CMakeLists.txt$' | LC_ALL=C sort -u | xargs sha256sum | sha256sum | cut -d' ' -f1
