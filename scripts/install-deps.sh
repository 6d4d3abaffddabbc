#!/usr/bin/env bash
# Installs what confab needs from Debian 12's apt repositories, then libsrtp2 with OpenSSL.
#
#   bash scripts/install-deps.sh          what scripts/run.sh needs: build and run a release confab
#   bash scripts/install-deps.sh --test   also what scripts/test.sh and tests/bench/*.sh need:
#                                         clang and its sanitizer runtimes, GoogleTest, the real SIP
#                                         peers, and the benchmarks' comparison libraries
#   bash scripts/install-deps.sh --list [--test]   print the package names, install nothing
#
# The lists name the exact -dev packages the build uses (not libboost1.81-all-dev, which is ten
# times the download and, in Debian 12, still leaves out Boost.JSON and Boost.URL).
# scripts/check-deps.sh checks after each configure and build that every header, library, CMake
# package and command the build and the tests really used belongs to a package named here or
# pulled in by one; keep both in step.
set -euo pipefail

# Build and run: compiler, build tools, the libraries of every target that scripts/run.sh
# builds (confab and confab-mixer), and what scripts/make-prompts.sh needs to generate the voice
# prompts (espeak-ng) and the entry and exit tones (python3).
run_packages=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev
  # The policy store on PostgreSQL, for several nodes sharing one (--store postgresql://...).
  libpq-dev
  # DNS for the focus's own calls (RFC 3263 NAPTR/SRV/A/AAAA): c-ares.
  libc-ares-dev
  # sd_notify(3) for the systemd unit (Type=notify: ready, reload, stop, watchdog).
  libsystemd-dev
  libopus-dev libspeexdsp-dev libopusenc-dev libopusfile-dev
  # G.722 (mixer/codec/G722.cpp).
  libspandsp-dev
  # io_uring for the mixer threads' receive path (mixer/engine/IoRing.cpp).
  liburing-dev
  espeak-ng python3
)
# Tests and benchmarks, on top of the above.
test_packages=(
  # The sanitizer and fuzzer builds (clang with its ASan/UBSan/TSan/libFuzzer runtimes), and a
  # compiler cache that scripts/test.sh's three builds keep between runs.
  clang libclang-rt-14-dev ccache
  # Unit tests.
  libgtest-dev libgmock-dev
  # Integration tests: real SIP peers, openssl for the TLS test (python3, which runs the RTP
  # phones and SIP clients, is in the run set), xmllint for checking the event packages'
  # documents against their RFCs' schemas, curl for downloads from the API.
  sip-tester sipsak baresip-core openssl libxml2-utils curl
  # The web console's test: Debian's Chromium, headless, driven over its DevTools pipe
  # (tests/integration/browser.py; no npm packages).
  chromium
  # A real DNS server on loopback for the resolver's tests.
  dnsmasq-base
  # A real PostgreSQL server for the store's tests on PostgreSQL (tests/postgres/).
  postgresql
  # Kamailio in front of two confab nodes (deploy/kamailio, tests/integration/test_kamailio.sh).
  kamailio
  # The Debian package (cpack -G DEB: dpkg-shlibdeps finds its dependencies, file finds the
  # binaries) and its test in a fresh root (mmdebstrap; systemd-analyze verifies the unit, and
  # systemd-nspawn boots the root so the unit runs under a real systemd).
  dpkg-dev file mmdebstrap systemd systemd-container
  # Benchmarks: git for the commit in RESULTS.md, Debian's NSS
  # libsrtp2 as the comparison in tests/bench/srtp.sh.
  git libsrtp2-1
)

want_test=0
list_only=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --list) list_only=1 ;;
    *)
      echo "install-deps: unknown argument '$arg' (use --test and/or --list)" >&2
      exit 2
      ;;
  esac
done
packages=("${run_packages[@]}")
((want_test)) && packages+=("${test_packages[@]}")

if ((list_only)); then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

if ((EUID != 0)); then
  echo "install-deps: run as root (apt-get install and writing libsrtp2 to /usr/local)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  # A mirror's brief hiccup should not fail a first install: apt retries each download.
  apt-get -o Acquire::Retries=3 update -qq
  apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: apt-get install took $((SECONDS - started)) s"
  # Debian starts kamailio.service on install with its sample configuration, on port 5060 of
  # every address: confab's own port. The tests run their own kamailio on loopback ports, so a
  # kamailio installed here for them is not left running (one installed before is not touched).
  if [[ " ${missing[*]} " == *" kamailio "* ]] && command -v systemctl >/dev/null 2>&1 &&
    systemctl is-enabled kamailio.service >/dev/null 2>&1; then
    systemctl disable --now kamailio.service >/dev/null 2>&1 || true
    echo "install-deps: kamailio.service disabled (installed for the tests only)"
  fi
fi
# libsrtp2 with OpenSSL, not NSS, in /usr/local (Debian's is built with NSS: 5x slower).
bash "$(dirname "${BASH_SOURCE[0]}")/build-libsrtp2.sh"
