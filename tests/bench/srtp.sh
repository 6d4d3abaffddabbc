#!/usr/bin/env bash
# SRTP benchmark, one command: builds tests/bench/bench_srtp.cpp in Release twice, against the
# libsrtp2 the project links (the OpenSSL build scripts/build-libsrtp2.sh puts in /usr/local) and
# against Debian's own NSS build (/usr/lib/<multiarch>/libsrtp2.so.1), runs both and writes the
# table into tests/bench/RESULTS.md, section "## SRTP" (the rest of the file is kept).
#   tests/bench/srtp.sh [ITERATIONS]      (default 1000000 packets per suite and packet size)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
iterations="${1:-1000000}"
build="$repo/build/bench-srtp"
work="$(mktemp -d /tmp/confab-bench-srtp.XXXXXX)"
trap 'rm -rf "$work"' EXIT

die() {
  echo "srtp.sh: $*" >&2
  exit 1
}

# --- 1. The project's own build: CMake Release, target bench_srtp. ------------------------------
# If an unrelated target of the tree does not compile right now, the same sources are compiled
# directly with CMake's Release flags instead, so SRTP can still be measured; the table says which.
cxx="${CXX:-c++}"
release_flags=(-std=c++20 -O3 -DNDEBUG -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wsign-conversion -Werror -Wno-restrict "-I$repo")
sources=("$repo"/mixer/srtp/*.cpp "$here/bench_srtp.cpp")
project_bench="$build/tests/bench_srtp"
built_by="CMake Release target \`bench_srtp\` (build/bench-srtp)"
if ! { cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$build" --target bench_srtp; } >"$work/cmake.log" 2>&1; then
  tail -n 15 "$work/cmake.log" >&2
  echo "srtp.sh: the CMake build failed (above); compiling bench_srtp directly instead" >&2
  project_bench="$work/bench_srtp_project"
  # shellcheck disable=SC2046 # pkg-config output is meant to split into words
  "$cxx" "${release_flags[@]}" "${sources[@]}" $(pkg-config --cflags --libs libsrtp2) \
    -o "$project_bench" || die "compiling bench_srtp failed"
  built_by="\`$cxx -O3 -DNDEBUG\` directly (the CMake build of the tree failed), libsrtp2 from pkg-config"
fi

# --- 2. The same benchmark against Debian's NSS libsrtp2, for comparison. -----------------------
# Both libraries have the soname libsrtp2.so.1 and ldconfig prefers /usr/local, so the NSS binary
# carries a RUNPATH to Debian's directory; the benchmark prints what was really loaded.
multiarch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
debian_lib="/usr/lib/$multiarch/libsrtp2.so.1"
nss_bench=""
if [[ -f "$debian_lib" ]]; then
  nss_bench="$work/bench_srtp_debian"
  "$cxx" "${release_flags[@]}" "${sources[@]}" "$debian_lib" -Wl,-rpath,"/usr/lib/$multiarch" \
    -o "$nss_bench" || die "compiling bench_srtp against $debian_lib failed"
else
  echo "srtp.sh: no $debian_lib (libsrtp2-1 not installed): measuring the project's build only" >&2
fi

load_start="$(cut -d' ' -f1 /proc/loadavg)"
# --- 3. Run. --------------------------------------------------------------------------------------
"$project_bench" "$iterations" >"$work/project.txt" || die "bench_srtp failed"
project_lib="$(awk '/^library/ { $1 = ""; print substr($0, 2); exit }' "$work/project.txt")"
grep -q 'crypto=.*libcrypto' "$work/project.txt" ||
  echo "srtp.sh: WARNING: the project's build did not load OpenSSL: $project_lib" >&2
nss_lib=""
if [[ -n "$nss_bench" ]]; then
  "$nss_bench" "$iterations" >"$work/debian.txt" || die "bench_srtp (Debian libsrtp2) failed"
  nss_lib="$(awk '/^library/ { $1 = ""; print substr($0, 2); exit }' "$work/debian.txt")"
fi
cat "$work/project.txt"
[[ -z "$nss_bench" ]] || cat "$work/debian.txt"

# --- 4. The section for RESULTS.md. --------------------------------------------------------------
results="$here/RESULTS.md"
section="$work/section.md"
python3 - "$work/project.txt" "${nss_bench:+$work/debian.txt}" >"$work/table.md" <<'PY'
import sys

def parse(path):
    rows = {}
    if not path:
        return rows
    for line in open(path):
        if line.startswith("result "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            rows[(kv["suite"], kv["packet"], kv["payload"])] = (
                float(kv["protect_ns"]), float(kv["unprotect_ns"]))
    return rows

ours, nss = parse(sys.argv[1]), parse(sys.argv[2] if len(sys.argv) > 2 else "")
print("| suite | packet | OpenSSL protect | OpenSSL unprotect | OpenSSL both |"
      " Debian NSS protect | Debian NSS unprotect | Debian NSS both | speed-up |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for key, (p, u) in ours.items():
    suite, packet, payload = key
    name = f"{packet.upper() if packet == 'pcmu' else packet.capitalize()} ({payload}-byte payload)"
    if key in nss:
        np_, nu = nss[key]
        print(f"| {suite} | {name} | {p:.0f} | {u:.0f} | {p + u:.0f} | {np_:.0f} | {nu:.0f} |"
              f" {np_ + nu:.0f} | {(np_ + nu) / (p + u):.1f}x |")
    else:
        print(f"| {suite} | {name} | {p:.0f} | {u:.0f} | {p + u:.0f} | - | - | - | - |")
aes = [v for k, v in ours.items() if k[0].startswith("AES_CM")]
aes_nss = [v for k, v in nss.items() if k[0].startswith("AES_CM")]
def mean(rows):
    values = [x for row in rows for x in row]
    return sum(values) / len(values)
print()
line = (f"Issue's figures, per packet (one protect or unprotect): NSS build ~2200 ns, OpenSSL build"
        f" ~440 ns. Measured here for AES-CM: OpenSSL {mean(aes):.0f} ns")
if aes_nss:
    line += f", Debian's NSS {mean(aes_nss):.0f} ns"
print(line + " (mean of protect and unprotect over both packet sizes).")
PY
{
  echo "## SRTP"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`tests/bench/srtp.sh\` at commit" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))," \
    "$iterations RTP packets per row through \`confab::srtp::Session\` (outbound protect, then" \
    "inbound unprotect with replay check, one SSRC, sequence numbers wrapping), in place, timed" \
    "per batch of 1000. Figures are ns per packet, the median over the 1000-packet batches" \
    "(the mean, in the script's output, rises with whatever else the machine runs; load average" \
    "at the start: $load_start). \"both\" is protect + unprotect."
  echo "OpenSSL: built by $built_by, loaded $project_lib."
  if [[ -n "$nss_lib" ]]; then
    echo "Debian NSS: the same sources and flags linked to Debian's libsrtp2-1, loaded $nss_lib."
  fi
  echo
  cat "$work/table.md"
} >"$section"

python3 "$here/replace_section.py" "$results" "## SRTP" "$section"
echo "wrote $results"
