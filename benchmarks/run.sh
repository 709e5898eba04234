#!/usr/bin/env bash
# Runs every seawall benchmark, then the same-run comparisons with peer stacks in the shared kit.
# Usage: benchmarks/run.sh [quick]   (quick: ROUNDS=2 N=5000 DURATION=2, for a smoke check)
# Knobs (environment, defaults in brackets):
#   ROUNDS [5] interleaved rounds of every comparison   N [50000] requests per in-process batch
#   DURATION [8] seconds per wrk run in the server run   SERVER [1] 0 skips the server run
#   MICRO [1] 0 skips seawall's own micro-benchmarks (benchmarks/bench_*.py)
#   INSTRUCTIONS [0] 1 also counts instructions per request under callgrind (slow: minutes)
#   SERVER_CPUS / WRK_CPUS [] taskset CPU lists for the server run (see the kit's server_load.sh)
#   PYTHON [.venv/bin/python]   KIT [../shared/bench-peers]
# The server run's pure-Python row imports seawall from this checkout whatever PYTHONPATH says.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
KIT=${KIT:-../shared/bench-peers}
ROUNDS=${ROUNDS:-5}; N=${N:-50000}; DURATION=${DURATION:-8}
if [ "${1:-}" = quick ]; then ROUNDS=2; N=5000; DURATION=2; fi

if [ "${MICRO:-1}" != 0 ]; then
  for script in benchmarks/bench_*.py; do
    echo "### $script"
    "$PY" "$script"
  done
fi

if [ ! -d "$KIT" ]; then
  echo "peer kit not found at $KIT: skipping the peer comparisons"
  exit 0
fi
echo "### ASGI happy path: bare, correlation stage vs asgi-correlation-id, full stack (no log line: issue 5's figure) vs peer stack"
"$PY" "$KIT/asgi_inprocess.py" --extra benchmarks/seawall_variants.py -r "$ROUNDS" -n "$N" --task-per-request \
  -v a_bare,cid_peer_only,sw_cid_only,sw_stack_nolog,sw_install,g_peer_nomet,sw_stack
echo "### ASGI error path"
"$PY" "$KIT/asgi_inprocess.py" --extra benchmarks/seawall_variants.py --error -r "$ROUNDS" -n "$((N / 10))" \
  -v err_a_bare,err_g_peer_tb,err_sw_stack
# Each framework: bare, the peer stack issue 6 names (with and without metrics), seawall.
echo "### fastapi"
"$PY" "$KIT/asgi_inprocess.py" --extra benchmarks/kit_fastapi.py -r "$ROUNDS" -n "$N" \
  -v fastapi_bare,fastapi_peer_nomet,fastapi_peer,fastapi_seawall
echo "### flask"
"$PY" "$KIT/wsgi_inprocess.py" --extra benchmarks/kit_flask.py -r "$ROUNDS" -n "$N" \
  -v flask_bare,flask_peer_reqid_breaker,flask_peer_nomet,flask_peer,flask_seawall
echo "### django"
"$PY" "$KIT/wsgi_inprocess.py" --extra benchmarks/kit_django.py -r "$ROUNDS" -n "$N" \
  -v django_bare,django_peer_nomet,django_peer,django_seawall

if [ "${SERVER:-1}" != 0 ]; then
  # One interleaved run: every ratio of issues 12 and 15's goals comes from the same rounds.
  echo "### uvicorn + wrk: $ROUNDS rounds of $DURATION s, load before the run: $(uptime | sed 's/.*load/load/')"
  out=$(mktemp -d -t seawall-server.XXXXXX)
  OUT_DIR="$out" ROUNDS="$ROUNDS" DURATION="$DURATION" WARMUP="${WARMUP:-2}" PYTHON="$PY" \
    EXTRA=benchmarks/seawall_variants.py "$KIT/server_load.sh" \
    a_bare sw_cid_only sw_stack_nolog sw_stack_nolog_pure sw_install sw_install_met \
    fastapi_bare sw_fastapi_plain sw_fastapi_install g_peer_nomet
  "$PY" benchmarks/server_ratios.py "$out" "$ROUNDS"
  echo "load after the run: $(uptime | sed 's/.*load/load/')"
fi

if [ "${INSTRUCTIONS:-0}" = 1 ]; then
  echo "### instructions per request (callgrind): in process, then inside uvicorn"
  PYTHON="$PY" benchmarks/instructions.sh
  "$PY" benchmarks/callgrind_server.py
fi
