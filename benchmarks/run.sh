#!/usr/bin/env bash
# Runs every seawall benchmark, then the same-run comparisons with peer stacks in the shared kit.
# Usage: benchmarks/run.sh [quick]   (quick: fewer rounds, for a smoke check)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
KIT=${KIT:-../shared/bench-peers}
ROUNDS=5; N=50000
if [ "${1:-}" = quick ]; then ROUNDS=2; N=5000; fi

for script in benchmarks/bench_*.py; do
  echo "### $script"
  "$PY" "$script"
done

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
