#!/usr/bin/env bash
# Instructions per request of seawall's ASGI stacks (valgrind's callgrind; Debian package valgrind).
# The difference of two runs (N=2000 and N=10000) divided by 8000 leaves start-up out.
# Usage: PYTHONPATH=.build/compiled benchmarks/instructions.sh   (the compiled build: make compiled)
#        METRICS=1 ...: also the full stack with Prometheus metrics, with 1 and with 50 routes
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_asgi.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
stacks="bare cid full"
[ "${METRICS:-}" = 1 ] && stacks="$stacks metrics full50 metrics50"
for stack in $stacks; do
    per[$stack]=$(( ($(count "$stack" 10000) - $(count "$stack" 2000)) / 8000 ))
    echo "$stack: ${per[$stack]} instructions per request"
done
echo "added by the correlation stage: $(( per[cid] - per[bare] )); by the full stack: $(( per[full] - per[bare] ))"
if [ "${METRICS:-}" = 1 ]; then
    echo "added by metrics: $(( per[metrics] - per[full] )) with 1 route, $(( per[metrics50] - per[full50] )) with 50"
fi
