"""The redaction cost per sample against an older commit's, in the same interleaved run.

Issue 14's cost goal (median ≤ 10 µs per sample) was set beside a figure measured on the commit
it was filed against (8.8 µs); this host's speed swings by up to 2x within a day, so the ratio
to that commit, measured side by side, carries over where a single figure does not. The
samples are this checkout's corpus (``tests/credential_corpus.py``) in the issue's mix: per
secret one sentence, one sample line and one dict under ``token``, then the lookalikes, each
through ``Redactor.redact`` (``--all-forms``: every sentence and every sample-line form).

    python benchmarks/bench_redaction_baseline.py 9551a9c --build compiled=.build/compiled

Each build runs in a process of its own: the commit's source (``git archive``), this
checkout's source, and any ``--build NAME=DIR`` (a compiled build).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run in each build's process: reads the samples, times one round per line read on stdin.
TIMER = """
import json, statistics, sys, time
from seawall import Redactor
samples = json.load(open(sys.argv[1]))
for _ in sys.stdin:
    fresh = Redactor()  # no sample served from an earlier round's short-string cache
    per = []
    for sample in samples:
        started = time.perf_counter()
        fresh.redact(sample)
        per.append(time.perf_counter() - started)
    print(statistics.median(per) * 1e6, flush=True)
"""


def samples(all_forms: bool) -> list[object]:
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from bench_redaction import under_key  # type: ignore[import-not-found]

    from tests.credential_corpus import bare, contextual, lookalikes, secrets

    items = secrets(per_format=3)
    lines = contextual(items)
    if all_forms:
        return [s.text for s in bare(items) + lines]
    forms = len(lines) // len(items)
    mixed: list[object] = [s.text for s in bare(items)]
    mixed += [lines[n * forms + n % forms].text for n in range(len(items))]
    mixed += [event for _, event, _ in under_key(items)]
    return mixed + [s.text for s in lookalikes()]


def extract(commit: str, into: str) -> str:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    ).stdout
    path = os.path.join(into, "tar")
    with open(path, "wb") as file:
        file.write(archive)
    with tarfile.open(path) as tar:
        tar.extractall(os.path.join(into, "source"), filter="data")
    return os.path.join(into, "source")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="the older commit, e.g. the one an issue was filed on")
    parser.add_argument("--build", action="append", default=[], help="NAME=DIR, a built copy")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--all-forms", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data = os.path.join(scratch, "samples.json")
        mixed = samples(args.all_forms)
        with open(data, "w") as file:
            json.dump(mixed, file)
        builds = {args.commit: extract(args.commit, scratch), "source": str(ROOT)}
        for spec in args.build:
            name, sep, path = spec.partition("=")
            if not sep or not os.path.isdir(path):
                parser.error(f"--build {spec!r}: expected NAME=DIR with an existing DIR")
            builds[name] = os.path.abspath(path)
        workers = {
            name: subprocess.Popen(
                [sys.executable, "-c", TIMER, data],
                cwd=scratch,
                env=dict(os.environ, PYTHONPATH=path),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, path in builds.items()
        }
        results: dict[str, list[float]] = {name: [] for name in workers}
        try:
            for round_ in range(args.rounds + 1):  # the first round warms up, not counted
                for name, worker in workers.items():
                    assert worker.stdin is not None
                    assert worker.stdout is not None
                    worker.stdin.write("round\n")
                    worker.stdin.flush()
                    value = float(worker.stdout.readline())
                    if round_:
                        results[name].append(value)
        finally:
            for worker in workers.values():
                if worker.stdin is not None:
                    worker.stdin.close()
                worker.wait(timeout=30)
    base = results[args.commit]
    shape = "all forms" if args.all_forms else "the issue's mix"
    print(f"{len(mixed)} samples ({shape}), {args.rounds} rounds; medians (min..max)")
    print(f"| build | median µs per sample | / {args.commit} (paired rounds) |")
    print("|---|---:|---:|")
    for name, values in results.items():
        ratios = [value / old for value, old in zip(values, base, strict=True)]
        print(
            f"| {name} | {statistics.median(values):.2f} ({min(values):.2f}..{max(values):.2f}) "
            f"| {statistics.median(ratios):.3f} ({min(ratios):.3f}..{max(ratios):.3f}) |"
        )


if __name__ == "__main__":
    main()
