#!/usr/bin/env bash
# Instructions per dependency call (valgrind's callgrind; Debian package valgrind), load-independent.
# The difference of two runs (N=2000 and N=10000) divided by 8000 leaves start-up out.
# Usage: PYTHONPATH=.build/compiled benchmarks/instructions_dependencies.sh [ROW...]   (compiled build)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_dependencies.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
ROWS=${*:-bare decorator rejection tenacity stamina}
for row in $ROWS; do
    per[$row]=$(( ($(count "$row" 10000) - $(count "$row" 2000)) / 8000 ))
    echo "$row: ${per[$row]} instructions per call, $(( per[$row] - per[bare] )) over bare"
done
