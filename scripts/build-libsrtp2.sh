#!/usr/bin/env bash
# Builds libsrtp2 from Debian 12's own source package with OpenSSL crypto and installs it under
# /usr/local (lib/, include/srtp2/, lib/pkgconfig/libsrtp2.pc).
#
# Why: Debian builds libsrtp2 with NSS (debian/rules: --enable-nss), which costs about 2.2 us per
# protected packet; the same source with OpenSSL's AES-NI code costs about 0.44 us. The source
# comes from apt (deb-src) so the build uses exactly Debian's 2.5.0 plus Debian's patches, and the
# network only has to reach the Debian mirrors the machine already uses.
#
# Pinned: the source must be Debian's libsrtp2 $pinned_version with the .dsc whose SHA-256 is
# $pinned_dsc_sha256 (dpkg-source then checks every tarball against the .dsc). When Debian replaces
# that version (a security or point-release update), the build stops and says what to do.
#
# Idempotent: does nothing when /usr/local already holds an OpenSSL build of the pinned version
# (CONFAB_SRTP_REBUILD=1 forces a rebuild). Non-interactive; run as root. Quiet unless something fails, then the log of
# the failing step is shown and the script exits non-zero.
set -euo pipefail

readonly prefix=/usr/local
readonly pc_file="$prefix/lib/pkgconfig/libsrtp2.pc"
readonly so_file="$prefix/lib/libsrtp2.so.1"
readonly stamp_file="$prefix/lib/confab-libsrtp2.version"
readonly deb_src_file=/etc/apt/sources.list.d/confab-deb-src.sources
readonly pinned_version=2.5.0-3
readonly pinned_dsc_sha256=3b77c17dc1cf3135fbdaaf4cb0c5f4ae69793dd4cea63b9e466286e7687c861e
export DEBIAN_FRONTEND=noninteractive

say() { echo "build-libsrtp2: $*"; }
die() {
  echo "build-libsrtp2: ERROR: $*" >&2
  exit 1
}

# An OpenSSL build's shared object needs libcrypto.so and not NSS. The check asks the loader only:
# an earlier version also read Libs.private in the .pc file and piped ldd into `grep -q` under
# pipefail, and once refused a good build in a fresh minbase root; that could not be reproduced
# (tests/fresh/fresh_machine.sh passes), but neither the .pc text nor a pipeline is needed.
is_openssl_build() {
  [[ -f "$pc_file" && -f "$so_file" ]] || return 1
  local needed
  needed="$(ldd "$so_file" 2>&1)" || return 1
  [[ "$needed" == *libcrypto.so* && "$needed" != *libnss3.so* ]]
}

if [[ "${CONFAB_SRTP_REBUILD:-0}" != 1 ]] && is_openssl_build &&
  [[ "$(cat "$stamp_file" 2>/dev/null)" == "$pinned_version" ]]; then
  say "OpenSSL build of Debian's libsrtp2 $pinned_version already in $prefix"
  exit 0
fi
((EUID == 0)) || die "run as root (installs packages and writes to $prefix)"
started=$SECONDS

work="$(mktemp -d /tmp/confab-libsrtp2.XXXXXX)"
log="$work/build.log"
cleanup() {
  local rc=$?
  if ((rc == 0)); then
    rm -rf "$work"
  else
    echo "build-libsrtp2: failed; work dir kept: $work" >&2
  fi
}
trap cleanup EXIT

# Runs one step with its output in the log; on failure shows the log's tail and stops.
step() {
  local what="$1"
  shift
  echo "=== $what: $*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "$what failed (full log: $log)"
  fi
}

# --- 1. Source records: a deb-src entry mirroring the deb entries for bookworm main. -----------
has_source_record() {
  local record
  record="$(apt-cache showsrc libsrtp2 2>/dev/null)" && [[ "$record" == *"Package: libsrtp2"* ]]
}
if ! has_source_record; then
  # Ask apt which repositories the machine's own configuration uses for Debian 12's main
  # component (whatever mirror and format the existing sources use), and add the same for sources.
  # shellcheck disable=SC2016 # $(REPO_URI) is apt's format syntax, not the shell's
  mapfile -t repos < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
    'Identifier: Packages' 'Component: main' 2>/dev/null | awk '$2 ~ /^bookworm/' | sort -u)
  if ((${#repos[@]} == 0)); then
    repos=("http://deb.debian.org/debian/ bookworm")
  fi
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "# Written by confab's scripts/build-libsrtp2.sh: Debian source packages (apt-get source)"
    echo "# for the same repositories as the binary entries."
    for uri in $(printf '%s\n' "${repos[@]}" | awk '{print $1}' | sort -u); do
      suites=$(printf '%s\n' "${repos[@]}" | awk -v u="$uri" '$1 == u {print $2}' | xargs)
      echo
      echo "Types: deb-src"
      echo "URIs: $uri"
      echo "Suites: $suites"
      echo "Components: main"
      [[ -f "$keyring" ]] && echo "Signed-By: $keyring"
    done
  } >"$deb_src_file"
  step "apt-get update" apt-get -o Acquire::Retries=3 update -qq
  has_source_record || die "no source record for libsrtp2 after adding $deb_src_file"
fi

# --- 2. Build dependencies. The tarball ships a generated configure: no autoconf needed. --------
# dpkg-dev unpacks the source package (dpkg-source applies Debian's patches); libssl-dev is the
# crypto engine; pkg-config is how both we and configure find things.
needed=(dpkg-dev gcc make patch xz-utils libssl-dev pkg-config)
missing=()
for p in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  step "apt-get update" apt-get -o Acquire::Retries=3 update -qq
  step "apt-get install" apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 3. Fetch, unpack and build. -----------------------------------------------------------------
cd "$work"
# apt downloads as the unprivileged _apt user where it can; let it write here.
if id _apt >/dev/null 2>&1; then
  chown _apt "$work"
fi
offered="$(apt-cache showsrc libsrtp2 2>/dev/null | awk '/^Version:/ {print $2}' | sort -u | xargs)"
if [[ " $offered " != *" $pinned_version "* ]]; then
  die "Debian's mirror no longer offers libsrtp2 source $pinned_version (it offers: ${offered:-nothing}).
  Read what changed (apt-get changelog libsrtp2-1), then set pinned_version and pinned_dsc_sha256
  at the top of scripts/build-libsrtp2.sh to the new version and the SHA-256 of its .dsc
  (apt-cache showsrc libsrtp2, Checksums-Sha256)."
fi
step "apt-get source" apt-get -o Acquire::Retries=3 source -qq --download-only "libsrtp2=$pinned_version"
dsc="$work/libsrtp2_$pinned_version.dsc"
[[ -f "$dsc" ]] || die "apt-get source gave no $dsc"
got="$(sha256sum "$dsc" | awk '{print $1}')"
[[ "$got" == "$pinned_dsc_sha256" ]] ||
  die "libsrtp2_$pinned_version.dsc has SHA-256 $got, not the pinned $pinned_dsc_sha256: the source
  is not the one this script was checked with. Do not build it; find out why the mirror's copy
  differs."
# dpkg-source checks each tarball against the checksums in the .dsc just verified.
step "dpkg-source" dpkg-source -x "$dsc"
src="$(find "$work" -maxdepth 1 -type d -name 'libsrtp2-*' | head -n 1)"
[[ -n "$src" && -x "$src/configure" ]] || die "apt-get source gave no libsrtp2 tree with configure"
cd "$src"
# Upstream's default CFLAGS (-O4 -funroll-loops ... -fPIC) are kept by not setting CFLAGS.
# --disable-pcap: only the test tool rtp_decoder reads pcap files.
step "configure" ./configure --prefix="$prefix" --libdir="$prefix/lib" --enable-openssl \
  --disable-pcap --disable-debug-logging
grep -q '^#define OPENSSL 1' crypto/include/config.h 2>/dev/null ||
  grep -q '^#define OPENSSL 1' config.h 2>/dev/null ||
  die "configure did not select OpenSSL (see $log)"
jobs="$(nproc 2>/dev/null || echo 2)"
step "make" make -j"$jobs" libsrtp2.a shared_library test/srtp_driver
# libsrtp's own known-answer tests for every cipher and auth function, then SRTP/SRTCP
# validation against its test vectors (incl. AES-GCM), before anything is installed.
step "srtp_driver self-test" env LD_LIBRARY_PATH="$src" test/srtp_driver -v

# --- 4. Install: replace any earlier /usr/local libsrtp2, then refresh the loader cache. --------
rm -f "$prefix"/lib/libsrtp2.* "$pc_file" "$stamp_file"
rm -rf "$prefix/include/srtp2"
step "make install" make install
echo "$pinned_version" >"$stamp_file"
# /usr/local/lib comes before /usr/lib/x86_64-linux-gnu in /etc/ld.so.conf.d (libc.conf), so
# after ldconfig this libsrtp2.so.1 is the one found for programs without an rpath.
step "ldconfig" ldconfig

# --- 5. Verify: OpenSSL underneath, and a program built through pkg-config links ours. ----------
is_openssl_build || die "installed library is not an OpenSSL build: $(ldd "$so_file" 2>&1 | xargs)"
cat >"$work/check.c" <<'EOF'
#include <srtp2/srtp.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  if (srtp_init() != srtp_err_status_ok) return 1;
  /* AES-GCM exists only with a real crypto engine (OpenSSL or NSS), not libsrtp's builtin. */
  srtp_policy_t p;
  unsigned char key[SRTP_AEAD_SALT_LEN + 16];
  memset(&p, 0, sizeof p);
  memset(key, 1, sizeof key);
  srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
  srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
  p.ssrc.type = ssrc_any_outbound;
  p.key = key;
  p.window_size = 1024;
  srtp_t s;
  if (srtp_create(&s, &p) != srtp_err_status_ok) return 2;
  srtp_dealloc(s);
  printf("%s\n", srtp_get_version_string());
  return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config output is meant to split into words
step "test program" gcc -o "$work/check" "$work/check.c" $(pkg-config --cflags --libs libsrtp2)
step "test program run" "$work/check"
linked="$(ldd "$work/check" | awk '/libsrtp2/ {print $3}')"
[[ "$(readlink -f "$linked")" == "$(readlink -f "$so_file")" ]] ||
  die "a program linked through pkg-config loads '$linked', not $so_file"
[[ "$(ldd "$work/check")" != *libnss3.so* ]] || die "test program still pulls in NSS"

say "installed Debian's libsrtp2 $pinned_version with OpenSSL into $prefix in $((SECONDS - started)) s"
