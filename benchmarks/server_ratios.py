"""The throughput goals of the server run (issues 12 and 15), from the wrk outputs of one ``server_load.sh`` run.

Every ratio is paired by round (the variants alternate within a round), then the median over
rounds, with the min..max beside it; a goal line says whether the median meets it.

    python benchmarks/server_ratios.py OUT_DIR ROUNDS
"""

from __future__ import annotations

import os
import re
import statistics
import sys

# (label, numerator, denominator, goal): the ratio numerator/denominator must reach the goal.
RATIOS = [
    ("full stack, compiled", "sw_stack_nolog", "a_bare", 0.85),
    ("correlation stage alone, compiled", "sw_cid_only", "a_bare", 0.93),
    ("full stack, pure Python", "sw_stack_nolog_pure", "a_bare", 0.75),
    ("full stack + metrics via install(), compiled (issue 15)", "sw_install_met", "a_bare", 0.80),
    ("peer stack without metrics (reference)", "g_peer_nomet", "a_bare", None),
]
# (label, adapter, plain, bare): the adapter's ratio to bare within 0.03 of the plain one's.
ADAPTERS = [
    ("starlette.install() vs plain middleware", "sw_install", "sw_stack_nolog", "a_bare"),
    (
        "FastAPI adapter vs plain middleware",
        "sw_fastapi_install",
        "sw_fastapi_plain",
        "fastapi_bare",
    ),
]
SPREAD = 0.03


def throughput(out: str, rounds: int, variant: str) -> list[float] | None:
    """Requests/s of each round, or ``None`` when the run did not include the variant."""
    values = []
    for round_ in range(1, rounds + 1):
        path = os.path.join(out, f"wrk_r{round_}_{variant}.txt")
        if not os.path.exists(path):
            return None
        with open(path) as file:
            found = re.search(r"Requests/sec:\s+([\d.]+)", file.read())
        if found is None:
            return None
        values.append(float(found.group(1)))
    return values


def describe(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}..{max(values):.3f})"


def main() -> None:
    out, rounds = sys.argv[1], int(sys.argv[2])
    rps = {}
    for name in {v for row in RATIOS for v in row[1:3]} | {v for row in ADAPTERS for v in row[1:]}:
        found = throughput(out, rounds, name)
        if found is not None:
            rps[name] = found
    print(f"\nissues 12 and 15's ratios, paired by round, median (min..max) of {rounds} rounds")
    for label, top, bottom, goal in RATIOS:
        if top in rps and bottom in rps:
            ratios = [a / b for a, b in zip(rps[top], rps[bottom], strict=True)]
            verdict = (
                ""
                if goal is None
                else f"  goal >= {goal}: "
                + ("met" if statistics.median(ratios) >= goal else "NOT met")
            )
            print(f"  {label}: {describe(ratios)}{verdict}")
    for label, adapter, plain, bare in ADAPTERS:
        if adapter in rps and plain in rps and bare in rps:
            gaps = [
                (a - p) / b for a, p, b in zip(rps[adapter], rps[plain], rps[bare], strict=True)
            ]
            verdict = "met" if abs(statistics.median(gaps)) <= SPREAD else "NOT met"
            print(
                f"  {label}: difference of ratios {describe(gaps)}  goal within {SPREAD}: {verdict}"
            )


if __name__ == "__main__":
    main()
