"""Code footprint of a callgrind dump: distinct 64-byte lines and 4 KiB pages of code executed,
per shared object (how much instruction cache and TLB a stage needs, not how often it runs).

    python benchmarks/callgrind_server.py --dump-instr --keep DIR bare full
    python benchmarks/code_footprint.py DIR/bare.PID.1 DIR/full.PID.1
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

_NAMED = re.compile(r"c?ob=\((\d+)\)(?: (.*))?")


def footprint(path: str) -> dict[str, tuple[set[int], set[int]]]:
    """Object name -> (code lines, code pages) executed, from a dump made with
    ``--dump-instr=yes`` (the first position of each cost line is the instruction address)."""
    names: dict[str, str] = {}
    found: dict[str, tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    current = "?"
    address = 0
    after_call = False
    with open(path) as file:
        for line in file:
            head = line[:4]
            if head.startswith(("ob=", "cob=")):
                match = _NAMED.match(line.strip())
                if match is None:
                    name = line.split("=", 1)[1].strip()
                else:
                    if match.group(2):
                        names[match.group(1)] = match.group(2)
                    name = names.get(match.group(1), "?")
                if head.startswith("ob="):
                    current = name
                continue
            if head.startswith("call"):
                after_call = True  # the next cost line is the call's inclusive cost
                continue
            if not line or line[0] not in "0123456789+-*":
                continue
            token = line.split()[0]
            if token[0] == "+":
                address += int(token[1:], 0)
            elif token[0] == "-":
                address -= int(token[1:], 0)
            elif token != "*":
                address = int(token, 0)
            if after_call:
                after_call = False
                continue
            lines, pages = found[current]
            lines.add(address >> 6)
            pages.add(address >> 12)
    return dict(found)


def main() -> None:
    for path in sys.argv[1:]:
        objects = footprint(path)
        lines = sum(len(v[0]) for v in objects.values())
        pages = sum(len(v[1]) for v in objects.values())
        print(f"{path}: {lines:,} code lines on {pages:,} pages")
        for name, (obj_lines, obj_pages) in sorted(objects.items(), key=lambda kv: -len(kv[1][0])):
            if len(obj_lines) >= 50:
                print(
                    f"  {len(obj_lines):6,} lines {len(obj_pages):5,} pages  {name.split('/')[-1]}"
                )


if __name__ == "__main__":
    main()
