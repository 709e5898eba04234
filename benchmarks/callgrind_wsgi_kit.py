"""Drive one WSGI variant of the shared peer kit N times in one process, for callgrind.

``benchmarks/instructions_wsgi.sh`` runs this twice per variant (two N) and prints the
difference per request: the kit's ``wsgi_inprocess.py`` measured in instructions, which do not
depend on what else the machine runs. Requests are made as the kit makes them (one environ
copied per request, the body consumed and closed), after the kit's variants and
``benchmarks/kit_flask.py`` / ``kit_django.py`` are loaded.

    python benchmarks/callgrind_wsgi_kit.py VARIANT N   # e.g. flask_seawall 2000

``KIT`` (default ``../shared/bench-peers``) is where the kit lives.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KIT = Path(os.environ.get("KIT", ROOT.parent / "shared" / "bench-peers")).resolve()
EXTRAS = ("kit_flask.py", "kit_django.py")
WARM_UP = 200


def load(name: str) -> tuple[Any, str, int]:
    """The variant's WSGI app, path and expected status, built as the kit builds it."""
    sys.path.insert(0, str(KIT))
    import variants_wsgi

    for extra in EXTRAS:
        variants_wsgi.load_extra(str(ROOT / "benchmarks" / extra))
    variant = variants_wsgi.VARIANTS[name]
    app = variant.build()
    if variant.activate:
        variant.activate()
    return app, variant.path, variant.expect_status


def drive(app: Any, template: dict[str, Any], n: int, expect: int) -> None:
    """``n`` requests; stops at the first unexpected status."""
    status = [""]

    def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
        status[0] = line

    for _ in range(n):
        environ = template.copy()
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if not status[0].startswith(str(expect)):
            raise SystemExit(f"got status {status[0]!r}, expected {expect}")


def main() -> None:
    name, n = sys.argv[1], int(sys.argv[2])
    app, path, expect = load(name)
    from wsgi_inprocess import make_environ  # the kit's own environ

    template = make_environ(path)
    drive(app, template, WARM_UP, expect)  # caches, first-request checks, lazy imports
    drive(app, template, n, expect)
    logging.shutdown()


if __name__ == "__main__":
    main()
