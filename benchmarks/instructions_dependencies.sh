#!/usr/bin/env bash
# Instructions per dependency call (valgrind's callgrind; Debian package valgrind), load-independent.
# The difference of two runs (N=2000 and N=10000) divided by 8000 leaves start-up out.
# Usage: PYTHONPATH=.build/compiled benchmarks/instructions_dependencies.sh [ROW...]   (compiled build)
# Rows: see callgrind_dependencies.py; http_* rows are counted over http_bare, layer_* over layer_bare,
# the others over bare. SMALL=1 counts N=500 and N=2500 (quicker, a little noisier).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_dependencies.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
ROWS=${*:-bare floor decorator rejection tenacity stamina layer_bare layer_seawall layer_seawall_retry layer_retries http_bare http_seawall http_retries}
lo=2000 hi=10000; [ "${SMALL:-}" = 1 ] && lo=500 hi=2500
for row in $ROWS; do
    per[$row]=$(( ($(count "$row" $hi) - $(count "$row" $lo)) / (hi - lo) ))
    base=bare; [[ $row == http_* ]] && base=http_bare   # a request's base is the bare transport
    [[ $row == layer_* ]] && base=layer_bare
    [[ -n ${per[$base]:-} ]] && over="$(( per[$row] - per[$base] )) over $base" || over="(run $base first)"
    echo "$row: ${per[$row]} instructions per call, $over"
done
