#!/usr/bin/env python3
"""Checks that scripts/install-deps.sh installs everything a build and the tests really use.

    python3 scripts/check-deps.py [--run-only] BUILD_DIR [BUILD_DIR ...]

After configuring and building, it collects what the builds used from outside the repository:
  - every header the compiler read (ninja's dependency log, `ninja -t deps`);
  - every library and file named in the link commands (`ninja -t commands`), and every shared
    library the built programs load (ldd);
  - every file or CMake package folder CMake found (CMakeCache.txt: compilers, tools, *_DIR,
    *_LIBRARY, pkg-config's pkgcfg_lib_*);
and, unless --run-only, the commands and Python modules the tests call (sipp, baresip, sipsak,
python3 and its imports, ...). Each is mapped to the Debian package that owns it (`dpkg -S`).

A package passes when a fresh Debian 12 machine would have it after `scripts/install-deps.sh`:
it is part of the base system (Essential or Priority: required, as `mmdebstrap --variant=minbase`
installs), or named by install-deps.sh, or among the packages apt would install for those names on
a machine that has only the base system (`apt-get -s install` against a status file that lists
only the base system). Anything else fails the check with the file that needs it, so a package
that is installed on this machine by hand, but not by the script, is caught here and not on a
user's machine. Files under /usr/local come from scripts/build-libsrtp2.sh and must be
libsrtp2's.

Runs in seconds; exits 0 when everything is accounted for, 1 with a list when not, 2 on misuse.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Commands the tests and benchmarks run besides those found in `require_tool NAME` lines: the
# interpreters and tools invoked directly in tests/integration and tests/bench.
TEST_COMMANDS = ["bash", "python3", "timeout", "sipp", "baresip", "sipsak", "openssl", "git",
                 "ctest", "cmake", "ninja", "clang", "clang++", "g++", "pkg-config", "ldd",
                 "xmllint", "dnsmasq"]
# Where a fresh machine's packages put commands; PATH may hold other things first (pyenv, ~/bin),
# which a fresh machine does not have.
SYSTEM_BIN = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
SYSTEM_PYTHON = "/usr/bin/python3"


def fail_usage(message: str) -> None:
    print(f"check-deps: {message}", file=sys.stderr)
    sys.exit(2)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def is_outside(path: str, build_dirs: list[Path]) -> bool:
    """A file the build took from the system: absolute, not in the repository or a build dir."""
    if not path.startswith("/"):
        return False
    p = Path(os.path.normpath(path))
    for inside in [REPO, *build_dirs]:
        try:
            p.relative_to(inside)
            return False
        except ValueError:
            pass
    return not str(p).startswith(("/tmp/", "/proc/", "/dev/"))


# --- What the builds used. -----------------------------------------------------------------------

def headers_from_deps(build: Path) -> set[str]:
    out = run(["ninja", "-C", str(build), "-t", "deps"])
    if out.returncode != 0:
        fail_usage(f"`ninja -t deps` failed in {build}: {out.stderr.strip()} (build it first)")
    return {line.strip() for line in out.stdout.splitlines() if line.startswith("    ")}


def files_from_link_commands(build: Path) -> set[str]:
    out = run(["ninja", "-C", str(build), "-t", "commands"])
    if out.returncode != 0:
        fail_usage(f"`ninja -t commands` failed in {build}: {out.stderr.strip()}")
    found: set[str] = set()
    for line in out.stdout.splitlines():
        for token in line.split():
            token = token.strip("'\"")
            if token.startswith("-Wl,"):
                continue
            if re.search(r"\.(so(\.[0-9.]+)?|a)$", token) and token.startswith("/"):
                found.add(token)
    return found


def programs(build: Path) -> list[Path]:
    found = []
    for p in build.rglob("*"):
        if p.is_file() and os.access(p, os.X_OK) and "CMakeFiles" not in p.parts:
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(p)
    return found


def loaded_libraries(program: Path) -> set[str]:
    out = run(["ldd", str(program)])
    libs = set()
    for line in out.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.add(m.group(1))
    return libs


def files_from_cache(build: Path) -> set[str]:
    """Absolute paths CMake found: files, and for *_DIR the package's config file in the folder."""
    found: set[str] = set()
    cache = build / "CMakeCache.txt"
    if not cache.is_file():
        fail_usage(f"{cache} is missing (configure first)")
    for line in cache.read_text(errors="replace").splitlines():
        m = re.match(r"^([A-Za-z0-9_.+-]+):(FILEPATH|PATH|STRING|INTERNAL|UNINITIALIZED)=(/.*)$",
                     line)
        if not m:
            continue
        name, value = m.group(1), m.group(3)
        # Binary tools CMake looks for with fallbacks: with clang it takes llvm-ar, ld.lld,
        # llvm-addr2line... where they are installed and binutils' otherwise (which g++ brings),
        # so the one it found says what this machine has, not what the build needs.
        if re.fullmatch(r"CMAKE_(AR|RANLIB|LINKER|NM|OBJCOPY|OBJDUMP|READELF|STRIP|ADDR2LINE|"
                        r"DLLTOOL|MT|[A-Z]+_COMPILER_(AR|RANLIB|CLANG_SCAN_DEPS))", name):
            continue
        if name.startswith(("CMAKE_INSTALL", "CMAKE_HOME", "CMAKE_CACHEFILE", "CMAKE_ROOT",
                            "CMAKE_COMMAND", "CMAKE_CTEST", "CMAKE_CPACK", "CONFAB_SHARED",
                            "_", "FIND_PACKAGE_MESSAGE")):
            continue
        for value in value.split(";"):
            p = Path(value)
            if p.is_file():
                found.add(value)
            elif p.is_dir() and name.endswith("_DIR"):
                configs = sorted(p.glob("*[Cc]onfig.cmake")) + sorted(p.glob("*-config.cmake"))
                if configs:
                    found.add(str(configs[0]))
    return found


def test_commands() -> set[str]:
    names = set(TEST_COMMANDS)
    for script in sorted((REPO / "tests").rglob("*.sh")):
        names.update(re.findall(r"require_tool\s+([A-Za-z0-9_.+-]+)", script.read_text()))
    found = set()
    for name in sorted(names):
        for folder in SYSTEM_BIN:
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found.add(str(candidate))
                break
        else:
            found.add(f"(command) {name}")
    return found


def python_modules() -> set[str]:
    """Files of the modules the test helpers import, as Debian's python3 finds them."""
    local = {p.stem for p in (REPO / "tests").rglob("*.py")}
    modules: set[str] = set()
    for script in sorted((REPO / "tests").rglob("*.py")):
        tree = ast.parse(script.read_text(), str(script))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    # The Python inside heredocs of the shell tests: `import x, y` and `from x import y` lines.
    for script in sorted((REPO / "tests").rglob("*.sh")):
        for m in re.finditer(r"^\s*(?:import\s+([\w, ]+)|from\s+(\w+)\s+import)", script.read_text(),
                             re.M):
            if m.group(1):
                modules.update(x.strip().split(".")[0] for x in m.group(1).split(","))
            else:
                modules.add(m.group(2))
    modules -= local
    modules.discard("__future__")
    if not Path(SYSTEM_PYTHON).exists():
        return {f"(command) {SYSTEM_PYTHON}"}
    code = ("import importlib.util, sys\n"
            "for m in sys.argv[1:]:\n"
            "    s = importlib.util.find_spec(m)\n"
            "    print(m, s.origin if s and s.origin else '-')\n")
    out = run([SYSTEM_PYTHON, "-c", code, *sorted(modules)])
    found = set()
    for line in out.stdout.splitlines():
        name, origin = line.split(" ", 1)
        if origin == "-":
            found.add(f"(python module) {name}")
        elif origin not in ("built-in", "frozen"):
            found.add(origin)
    return found


# --- Who owns them. ------------------------------------------------------------------------------

def merged_usr_aliases(path: str) -> list[str]:
    """dpkg records /bin/x or /usr/bin/x as the package shipped it; on merged /usr both exist."""
    names = [path]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if path.startswith(f"/usr/{top}/"):
            names.append(path[len("/usr"):])
        elif path.startswith(f"/{top}/"):
            names.append("/usr" + path)
    return names


def owners(paths: set[str]) -> tuple[dict[str, str], set[str]]:
    """Maps each path to the package owning it; returns (owned, unowned)."""
    owned: dict[str, str] = {}
    queries: dict[str, list[str]] = {}
    for path in paths:
        real = os.path.realpath(path)
        for candidate in dict.fromkeys(merged_usr_aliases(path) + merged_usr_aliases(real)):
            queries.setdefault(candidate, []).append(path)
    names = sorted(queries)
    for i in range(0, len(names), 400):
        out = run(["dpkg-query", "-S", *names[i:i + 400]])
        for line in out.stdout.splitlines():
            if ": " not in line or line.startswith("diversion "):
                continue
            pkgs, file = line.split(": ", 1)
            for path in queries.get(file, []):
                owned.setdefault(path, pkgs.split(",")[0].strip().split(":")[0])
    return owned, set(paths) - set(owned)


# --- What a fresh machine has after install-deps.sh. ---------------------------------------------

def base_system_status(tmp: Path) -> tuple[Path, set[str]]:
    """A dpkg status file holding only the base system: the installed Essential and Priority:
    required packages and what they depend on, as mmdebstrap --variant=minbase installs."""
    installed: dict[str, tuple[str, dict[str, str]]] = {}
    provides: dict[str, list[str]] = {}
    for stanza in Path("/var/lib/dpkg/status").read_text(errors="replace").split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza, re.M))
        if "install ok installed" not in fields.get("Status", "") or "Package" not in fields:
            continue
        name = fields["Package"]
        installed[name] = (stanza.strip(), fields)
        for virtual in fields.get("Provides", "").split(","):
            virtual = virtual.strip().split(" ")[0]
            if virtual:
                provides.setdefault(virtual, []).append(name)
    todo = [n for n, (_, f) in installed.items()
            if f.get("Essential") == "yes" or f.get("Priority") == "required"]
    base: set[str] = set()
    while todo:
        name = todo.pop()
        if name in base:
            continue
        base.add(name)
        fields = installed[name][1]
        for relation in ("Pre-Depends", "Depends"):
            for clause in fields.get(relation, "").split(","):
                # The first alternative that is installed here, directly or as a virtual package.
                for alternative in clause.split("|"):
                    dep = alternative.strip().split(" ")[0].split(":")[0]
                    if not dep:
                        continue
                    choice = dep if dep in installed else next(iter(provides.get(dep, [])), None)
                    if choice:
                        todo.append(choice)
                        break
    status = tmp / "status"
    status.write_text("\n\n".join(installed[n][0] for n in sorted(base)) + "\n")
    return status, base


def installed_by_script(named: list[str], tmp: Path) -> set[str]:
    # The simulation needs apt's package lists; a machine where everything was installed long ago
    # may have had them cleaned.
    if not list(Path("/var/lib/apt/lists").glob("*_Packages*")):
        if os.geteuid() != 0:
            fail_usage("apt has no package lists: run `apt-get update` as root first")
        run(["apt-get", "-o", "Acquire::Retries=3", "update", "-qq"])
    status, base = base_system_status(tmp)
    (tmp / "extended_states").write_text("")
    out = run(["apt-get", "-s", "-q", "-o", f"Dir::State::status={status}",
               "-o", f"Dir::State::extended_states={tmp / 'extended_states'}",
               "-o", "APT::Install-Recommends=false", "-o", "Debug::NoLocking=1",
               "install", *named])
    if out.returncode != 0:
        print(out.stdout[-3000:] + out.stderr[-3000:], file=sys.stderr)
        print("check-deps: FAIL: apt cannot install the packages scripts/install-deps.sh names on a"
              " base system (above). Run `apt-get update` if the package lists are missing.",
              file=sys.stderr)
        sys.exit(1)
    pulled = set(re.findall(r"^Inst (\S+)", out.stdout, re.M))
    return base | pulled | set(named)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-only", action="store_true",
                        help="check against `install-deps.sh` without --test, and skip the tests' "
                             "commands (for a build of confab alone, as scripts/run.sh makes)")
    parser.add_argument("builds", nargs="+", type=Path)
    args = parser.parse_args()
    builds = [b.resolve() for b in args.builds]

    for tool in ("ninja", "dpkg-query", "apt-get", "ldd"):
        if not shutil.which(tool):
            fail_usage(f"'{tool}' is needed and not found")

    used: dict[str, str] = {}  # path -> why it is needed
    for build in builds:
        for h in headers_from_deps(build):
            if is_outside(h, builds):
                used.setdefault(h, f"a header the build in {build.name} compiled with")
        for f in files_from_link_commands(build):
            if is_outside(f, builds):
                used.setdefault(f, f"linked in {build.name}")
        for f in files_from_cache(build):
            if is_outside(f, builds):
                used.setdefault(f, f"found by CMake in {build.name}")
        for prog in programs(build):
            for lib in loaded_libraries(prog):
                if is_outside(lib, builds):
                    used.setdefault(lib, f"loaded by {prog.relative_to(build)}")
    if not args.run_only:
        for c in test_commands():
            used.setdefault(c, "a command the tests run")
        for m in python_modules():
            used.setdefault(m, "a Python module the tests import")

    named = run(["bash", str(REPO / "scripts/install-deps.sh"), "--list",
                 *([] if args.run_only else ["--test"])]).stdout.split()
    if not named:
        fail_usage("scripts/install-deps.sh --list printed no packages")

    problems: list[str] = []
    system_paths = {p for p in used if p.startswith("/") and not p.startswith("/usr/local/")}
    owned, unowned = owners(system_paths)
    for p in sorted(used):
        if p.startswith("("):
            problems.append(f"{p} is not installed ({used[p]})")
        elif p.startswith("/usr/local/"):
            # scripts/build-libsrtp2.sh's install; anything else there was put by hand.
            if "srtp" not in p and not p.startswith("/usr/local/lib/confab-libsrtp2"):
                problems.append(f"{p} ({used[p]}) is in /usr/local but not from "
                                "scripts/build-libsrtp2.sh")
    for p in sorted(unowned):
        problems.append(f"{p} ({used[p]}) belongs to no Debian package")

    with tempfile.TemporaryDirectory(prefix="confab-check-deps.") as tmp:
        available = installed_by_script(named, Path(tmp))
    needed: dict[str, list[str]] = {}
    for path, pkg in owned.items():
        if pkg not in available:
            needed.setdefault(pkg, []).append(path)
    for pkg in sorted(needed):
        paths = sorted(needed[pkg])
        example = paths[0]
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        problems.append(f"package {pkg} is needed ({example}: {used[example]}{more}), and "
                        "scripts/install-deps.sh neither names it nor pulls it in")

    pkgs = sorted(set(owned.values()))
    if problems:
        print(f"check-deps: FAIL: {len(problems)} problem(s) with what a fresh Debian 12 machine "
              "would have after scripts/install-deps.sh:", file=sys.stderr)
        for what in problems:
            print(f"  - {what}", file=sys.stderr)
        print("check-deps: name the missing packages in scripts/install-deps.sh (the -dev package "
              "for a header or a library).", file=sys.stderr)
        sys.exit(1)
    print(f"check-deps: OK: {len(used)} files and commands from {len(pkgs)} packages, all installed"
          f" by scripts/install-deps.sh{'' if args.run_only else ' --test'} on a base system")


if __name__ == "__main__":
    main()
