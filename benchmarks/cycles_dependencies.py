"""Simulated caches and branches per dependency call: why fewer instructions can take longer.

    PYTHONPATH=.build/compiled python benchmarks/cycles_dependencies.py [--small] [ROW...]

Runs each row of ``callgrind_dependencies.py`` under callgrind with valgrind's cache (L1 and
last level, the host's sizes) and branch simulation, twice (N=2000 and N=10000; ``--small``:
500 and 2500), and prints the per-call difference over the row's base (``layer_*`` over
``layer_bare``, ``http_*`` over ``http_bare``, the others over ``bare``): instructions (Ir),
L1 misses (instruction and data, I1mr split out), last-level misses, mispredicted branches,
and KCachegrind's cycle estimate ``CEst = Ir + 10 Bm + 10 L1m + 100 LLm`` (as
``callgrind_server.py --cycles``). Load-independent, like the instruction counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = ["layer_bare", "layer_seawall", "layer_seawall_retry", "layer_retries"]


def events(row: str, n: int) -> dict[str, int]:
    """callgrind's event totals of one run of ``row`` N times."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--cache-sim=yes", "--branch-sim=yes",
                f"--callgrind-out-file={out}", sys.executable,
                str(ROOT / "benchmarks" / "callgrind_dependencies.py"), row, str(n),
            ],
            check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        lines = out.read_text().splitlines()
    names = next(line.split()[1:] for line in lines if line.startswith("events:"))
    totals = next(line.split()[1:] for line in lines if line.startswith("summary:"))
    return dict(zip(names, map(int, totals), strict=True))


def per_call(row: str, lo: int, hi: int) -> dict[str, float]:
    """The derived events of one call of ``row``: the difference of two runs, start-up out."""
    a, b = events(row, lo), events(row, hi)
    d = {k: (b[k] - a[k]) / (hi - lo) for k in a}
    derived = {
        "Ir": d["Ir"],
        "I1m": d["I1mr"],
        "L1m": d["I1mr"] + d["D1mr"] + d["D1mw"],
        "LLm": d["ILmr"] + d["DLmr"] + d["DLmw"],
        "Bm": d["Bcm"] + d["Bim"],
    }
    derived["CEst"] = (
        derived["Ir"] + 10 * derived["Bm"] + 10 * derived["L1m"] + 100 * derived["LLm"]
    )
    return derived


def base_of(row: str) -> str:
    for prefix in ("layer_", "http_"):
        if row.startswith(prefix):
            return prefix + "bare"
    return "bare"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="*", default=ROWS)
    parser.add_argument("--small", action="store_true", help="N=500 and 2500: quicker")
    args = parser.parse_args()
    lo, hi = (500, 2500) if args.small else (2000, 10000)
    rows = list(dict.fromkeys([base_of(r) for r in args.rows] + args.rows))
    measured = {row: per_call(row, lo, hi) for row in rows}
    keys = ("Ir", "I1m", "L1m", "LLm", "Bm", "CEst")
    print("per call over the row's base; CEst = Ir + 10 Bm + 10 L1m + 100 LLm")
    print("| row | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for row in args.rows:
        row_events, base = measured[row], measured[base_of(row)]
        cells = " | ".join(f"{row_events[k] - base[k]:,.0f}" for k in keys)
        print(f"| {row} | {cells} |")


if __name__ == "__main__":
    main()
