#!/usr/bin/env bash
# Instructions per dependency call (valgrind's callgrind; Debian package valgrind), load-independent.
# The difference of two runs (N=2000 and N=10000) divided by 8000 leaves start-up out.
# Usage: PYTHONPATH=.build/compiled benchmarks/instructions_dependencies.sh [ROW...]   (compiled build)
# Rows: see callgrind_dependencies.py; http_* rows are counted over http_bare, the others over bare.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_dependencies.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
ROWS=${*:-bare decorator rejection tenacity stamina http_bare http_seawall http_retries}
for row in $ROWS; do
    per[$row]=$(( ($(count "$row" 10000) - $(count "$row" 2000)) / 8000 ))
    base=bare; [[ $row == http_* ]] && base=http_bare   # a request's base is the bare transport
    [[ -n ${per[$base]:-} ]] && over="$(( per[$row] - per[$base] )) over $base" || over="(run $base first)"
    echo "$row: ${per[$row]} instructions per call, $over"
done
