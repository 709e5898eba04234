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
echo "### ASGI happy path: bare, no-op layer, correlation stage vs asgi-correlation-id, full stack vs peer stack"
"$PY" "$KIT/asgi_inprocess.py" --extra benchmarks/seawall_variants.py -r "$ROUNDS" -n "$N" \
  -v a_bare,b_noop_asgi,cid_peer_only,sw_cid_only,g_peer_nomet,sw_stack
echo "### ASGI error path"
"$PY" "$KIT/asgi_inprocess.py" --extra benchmarks/seawall_variants.py --error -r "$ROUNDS" -n "$N" \
  -v err_a_bare,err_g_peer_tb,err_sw_stack
for fw in fastapi flask django; do
  [ -f "benchmarks/kit_$fw.py" ] || continue
  echo "### $fw"
  harness=wsgi_inprocess.py; [ "$fw" = fastapi ] && harness=asgi_inprocess.py
  "$PY" "$KIT/$harness" --extra "benchmarks/kit_$fw.py" -r "$ROUNDS" -n "$N"
done
