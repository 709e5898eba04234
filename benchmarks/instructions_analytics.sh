#!/usr/bin/env bash
# Instructions per failure that error analytics and the alert rules add (callgrind; Debian
# package valgrind): the difference of N=2000 and N=10000 runs over 8000 leaves start-up out.
# On the bus (one failure published again and again) and through the pipeline (a fresh
# failing request each time: traceback, problem, log event, analytics), off versus on.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_analytics.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
for variant in ${VARIANTS:-bare analytics alerts pipeline-off pipeline-on}; do
    per[$variant]=$(( ($(count "$variant" 10000) - $(count "$variant" 2000)) / 8000 ))
    echo "$variant: ${per[$variant]} instructions per failure"
done
[ -n "${per[bare]:-}" ] && echo "bus: added by analytics: $(( per[analytics] - per[bare] )); by analytics + alert rules: $(( per[alerts] - per[bare] ))"
[ -n "${per[pipeline-on]:-}" ] && echo "pipeline: added by analytics + alert rules: $(( per[pipeline-on] - per[pipeline-off] ))"
true
