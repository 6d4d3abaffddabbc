#!/usr/bin/env python3
"""Replaces one "## " section of tests/bench/RESULTS.md (from its heading to the next "## "
heading) with the contents of a file, creating the file or appending the section if missing.
Each benchmark script owns one section and leaves the others alone.

usage: replace_section.py RESULTS.md "## Heading" SECTION_FILE
"""
import os
import sys

path, heading, section_file = sys.argv[1], sys.argv[2], sys.argv[3]
section = open(section_file).read()
if os.path.exists(path):
    text = open(path).read()
else:
    text = ("# Benchmark results\n\nNumbers written by the scripts in tests/bench/; each script"
            " replaces only its own section.\n")
lines = text.splitlines(keepends=True)
start = next((i for i, l in enumerate(lines) if l.rstrip() == heading), None)
if start is None:
    out = text.rstrip("\n") + "\n\n" + section
else:
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    out = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
open(path, "w").write(out.rstrip("\n") + "\n")
