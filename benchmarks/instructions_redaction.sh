#!/usr/bin/env bash
# Instructions the redactor spends (valgrind's callgrind; Debian package valgrind), load-independent:
# per credential-corpus sample (its bare and sample-line texts, fresh redactor, no cache), per
# 10 KB / 297-key event (steady state) and per 8-field structlog record. Each figure is the
# difference of two runs of different length divided by the difference, so start-up is left out.
# Usage: benchmarks/instructions_redaction.sh [corpus] [event] [record]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/callgrind_redaction.py "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A low=([corpus]=1 [event]=100 [record]=2000) high=([corpus]=2 [event]=500 [record]=10000)
declare -A unit=([corpus]="per sample (mean)" [event]="per event" [record]="per record")
# The corpus size is read from the corpus, which grows with its formats and sample lines.
declare -A each=([corpus]=$("$PY" benchmarks/callgrind_redaction.py count 0) [event]=1 [record]=1)
for variant in ${*:-corpus event record}; do
    runs=$(( high[$variant] - low[$variant] ))
    per=$(( ($(count "$variant" "${high[$variant]}") - $(count "$variant" "${low[$variant]}")) / (runs * each[$variant]) ))
    echo "$variant: $per instructions ${unit[$variant]}"
done
