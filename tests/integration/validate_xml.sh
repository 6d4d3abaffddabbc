#!/usr/bin/env bash
# Validate XML documents (e.g. NOTIFY bodies) against one of the schemas in
# docs/schema, offline.
#
# usage: validate_xml.sh SCHEMA FILE...
#   SCHEMA  a file name in docs/schema, e.g. conference-info.xsd, pidf.xsd,
#           dialog-info.xsd
#   FILE    one or more XML documents
#
# Runs `xmllint --noout --nonet --schema docs/schema/SCHEMA FILE` for each
# FILE. --nonet: never touches the network (the schemas import only the
# local docs/schema/xml.xsd).
# Exit status: 0 if every FILE is valid; 1 if any FILE fails; 2 on a usage
# error (no SCHEMA, no FILE, unknown SCHEMA, xmllint missing).
set -u

usage() { echo "usage: $0 SCHEMA FILE..." >&2; exit 2; }

[ $# -ge 2 ] || usage
schema_dir="$(cd "$(dirname "$0")/../../docs/schema" && pwd)" || {
  echo "validate_xml: schema directory not found next to $0" >&2; exit 2; }
schema="$schema_dir/$1"
shift
[ -f "$schema" ] || { echo "validate_xml: no such schema: $schema" >&2; exit 2; }
command -v xmllint >/dev/null 2>&1 || {
  echo "validate_xml: xmllint not found (apt-get install libxml2-utils)" >&2; exit 2; }

failed=0
for file in "$@"; do
  if out="$(xmllint --noout --nonet --schema "$schema" "$file" 2>&1)"; then
    echo "PASS $file"
  else
    failed=$((failed + 1))
    echo "FAIL $file"
    printf '%s\n' "$out" | sed "s|^|  $file: |"
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "validate_xml: $failed of $# file(s) failed against $(basename "$schema")" >&2
  exit 1
fi
exit 0
