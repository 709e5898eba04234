#!/usr/bin/env bash
# Instructions per request of the peer kit's WSGI variants in process (valgrind's callgrind; Debian
# package valgrind): the kit's wsgi_inprocess.py in a load-independent unit. Each figure is the
# difference of two runs (N=1000 and N=5000) divided by 4000, so start-up is left out.
# Usage: PYTHONPATH=.build/compiled benchmarks/instructions_wsgi.sh [VARIANT ...]
#        (default: flask_bare flask_peer_reqid_breaker flask_seawall; KIT=path of the peer kit)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "instructions_wsgi.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_wsgi_kit.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
variants=${*:-flask_bare flask_peer_reqid_breaker flask_seawall}
base=""
for variant in $variants; do
    per=$(( ($(count "$variant" 5000) - $(count "$variant" 1000)) / 4000 ))
    if [ -z "$base" ]; then
        base=$per
        echo "$variant: $per instructions per request"
    else
        echo "$variant: $per instructions per request ($(( per - base )) more than ${variants%% *})"
    fi
done
