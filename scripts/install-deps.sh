#!/usr/bin/env bash
# Installs every build, run and test dependency from Debian 12's apt repositories.
set -euo pipefail
packages=(
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config git ca-certificates
  libboost1.81-all-dev libssl-dev openssl libsqlite3-dev sqlite3
  libsrtp2-dev libopus-dev libspeexdsp-dev libopusenc-dev libopusfile-dev
  googletest libgtest-dev libgmock-dev
  sip-tester sipsak baresip-core python3 procps iproute2
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
bash "$(dirname "${BASH_SOURCE[0]}")/build-libsrtp2.sh"  # libsrtp2 with OpenSSL, not NSS, in /usr/local
