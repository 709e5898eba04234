"""Redaction speed and recall: seawall vs Sentry's EventScrubber on the same 10 KB error event.

Prints µs per event for both (same run, interleaved rounds), each tool's recall on the planted
secrets (a secret counts as caught only if no distinctive slice of it survives), the cost of
the redacting structlog processor on a typical 8-field record, and the import time of seawall.

    python benchmarks/bench_redaction.py
"""

from __future__ import annotations

import copy
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from seawall.observability.redaction import RedactingProcessor, Redactor

SECRETS = {
    "aws_key_id": "AKIA" + "Q3EGXMPLZ7TR4WBN",
    "github": "ghp_" + "N7xq2Lk9Vb4Rt6Yp1Zs8Wm3Jc5Hd0Fg2Ea4U",
    "stripe": "sk_" + "live_" + "51Hx9AbCdEfGhIjKlMnOpQrS",
    "slack": "xoxb-" + "123456789012-" + "AbCdEfGhIjKlMnOpQrStUvWx",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "db_password": "Pg-" + "s3cr3t!$+~pass",
    "session_cookie": "sess-" + "9f8e7d6c5b4a39281706",
    "csrf": "csrf-" + "a1b2c3d4e5f6a7b8c9d0",
    "bearer": "tok-" + "Zm9vYmFyYmF6cXV4cXV1eA",
    "email": "jane.doe" + "@example.com",
    "card": "4111 1111 " + "1111 1111",
    "api_key_query": "qk-" + "7Hn2Kp9Lm4Qr8St1",
    "openai": "sk-proj-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "password_body": "Body-" + "Pa55word!42",
    "iban": "DE89 3704 0044 " + "0532 0130 00",
}


def build_event() -> dict[str, Any]:
    """A realistic error event: request (15 headers, cookies, query, ~2 KB JSON body) and a
    chained exception, in Sentry's event shape so both tools get the same object."""
    s = SECRETS
    headers = {
        "Host": "shop.example.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        "Accept": "application/json", "Accept-Language": "en-US,en;q=0.9", "Accept-Encoding": "gzip, deflate, br",
        "Authorization": f"Bearer {s['bearer']}", "X-Api-Key": s["stripe"], "X-Request-ID": "4bf92f3577b34da6a3ce929d0e0e4736",
        "X-Forwarded-For": "203.0.113.7", "Content-Type": "application/json", "Content-Length": "2048",
        "Origin": "https://shop.example.com", "Referer": "https://shop.example.com/cart",
        "Cookie": f"sessionid={s['session_cookie']}; csrftoken={s['csrf']}; theme=dark", "Connection": "keep-alive",
    }  # fmt: skip
    items = [
        {"sku": f"SKU-{n:05d}", "name": f"Item number {n}, a cotton shirt in a regular fit",
         "description": "Soft, breathable and easy to wash; ships within two working days.",
         "quantity": n % 4 + 1, "price": 9.99 + n,
         "tags": ["sale", "new"], "attributes": {"color": "blue", "size": "M", "material": "cotton"}}
        for n in range(17)
    ]  # fmt: skip
    body = {
        "order": {"id": "ORD-2024-000123", "items": items, "currency": "EUR", "coupon": None},
        "customer": {"name": "Jane Doe", "email": s["email"], "password": s["password_body"],
                     "address": {"street": "1 Main St", "city": "Berlin", "zip": "10115"}},
        "payment": {"method": "card", "card_number": s["card"], "iban": s["iban"], "note": f"card {s['card']}"},
        "meta": {"client": "web", "version": "2.4.1", "ab": {"checkout": "B", "search": "A"}},
    }  # fmt: skip
    return {
        "request": {
            "method": "POST",
            "url": "https://shop.example.com/api/orders",
            "query_string": f"page=2&sort=asc&api_key={s['api_key_query']}",
            "headers": headers,
            "cookies": {"sessionid": s["session_cookie"], "csrftoken": s["csrf"], "theme": "dark"},
            "data": body,
            "env": {"REMOTE_ADDR": "203.0.113.7", "SERVER_NAME": "shop"},
        },
        "exception": {
            "values": [
                {"type": "ConnectionError", "value": f"cannot reach postgresql://shop:{s['db_password']}@db.internal:5432/orders with {s['aws_key_id']}",
                 "stacktrace": {"frames": [{"filename": f"app/module{n}.py", "function": f"handler_{n}", "lineno": 10 + n,
                                            "vars": {"retries": n, "token": s["github"], "user": "jane"}} for n in range(8)]}},
                {"type": "RuntimeError", "value": f"checkout failed for {s['email']} (jwt {s['jwt']}, key {s['openai']}, slack {s['slack']})",
                 "stacktrace": {"frames": [{"filename": "app/checkout.py", "function": "pay", "lineno": 88, "vars": {"amount": 42.5}}]}},
            ]
        },
        "extra": {"job": "checkout", "attempt": 2, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
    }  # fmt: skip


def count_keys(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(obj) + sum(count_keys(v) for v in obj.values())
    if isinstance(obj, list):
        return sum(count_keys(v) for v in obj)
    return 0


def recall(output: Any) -> tuple[int, list[str]]:
    text = json.dumps(output, default=repr)
    missed = []
    for name, secret in SECRETS.items():
        middle = secret[len(secret) // 3 : len(secret) // 3 + max(6, len(secret) // 3)]
        if secret in text or middle in text:
            missed.append(name)
    return len(SECRETS) - len(missed), missed


def import_ms(setup: str, statement: str) -> float:
    """Wall time of ``statement`` in a fresh interpreter, after ``setup``: median of 5, in ms."""
    code = f"import time\n{setup}\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(5)]  # fmt: skip
    return statistics.median(runs) * 1000


def timed(fn: Any, event: dict[str, Any], number: int, copies: bool) -> float:
    """µs per call; for tools that mutate, each call gets a deep copy made before the clock starts."""
    events = [copy.deepcopy(event) for _ in range(number)] if copies else [event] * number
    started = time.perf_counter()
    for e in events:
        fn(e)
    return (time.perf_counter() - started) / number * 1e6


def main() -> None:
    from sentry_sdk.scrubber import EventScrubber

    event = build_event()
    size = len(json.dumps(event))
    redactor = Redactor()
    scrubber = EventScrubber(recursive=True)
    seawall_runs, sentry_runs = [], []
    for _ in range(7):
        seawall_runs.append(timed(redactor.redact, event, 300, copies=False))
        sentry_runs.append(timed(scrubber.scrub_event, event, 300, copies=True))
    seawall_caught, seawall_missed = recall(redactor.redact(event))
    scrubbed = copy.deepcopy(event)
    scrubber.scrub_event(scrubbed)
    sentry_caught, sentry_missed = recall(scrubbed)

    processor = RedactingProcessor(redactor)
    record = {"event": "order placed", "order_id": "ORD-2024-000123", "items": 3, "total": 59.97,
              "user_id": 4711, "level": "info", "timestamp": "2026-11-25T03:43:54.059926Z",
              "correlation_id": "4bf92f3577b34da6a3ce929d0e0e4736"}  # fmt: skip
    number = 20_000
    added = []
    for _ in range(7):  # interleaved rounds: the median difference, robust to a noisy neighbour
        started = time.perf_counter()
        for _ in range(number):
            processor(None, "info", dict(record))
        with_processor = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(number):
            dict(record)
        added.append((with_processor - (time.perf_counter() - started)) / number * 1e9)

    seawall_import = import_ms("", "import seawall")
    own_import = import_ms(
        "import structlog", "import seawall, seawall.observability.redaction, seawall.logging"
    )
    print(f"event: {size} bytes of JSON, {count_keys(event)} keys, {len(SECRETS)} planted secrets")
    print("| tool | µs per event (median of 7) | recall | missed |")
    print("|---|---:|---:|---|")
    print(
        f"| seawall Redactor.redact | {statistics.median(seawall_runs):.0f} | {seawall_caught}/{len(SECRETS)} | {', '.join(seawall_missed) or '-'} |"
    )
    print(
        f"| sentry EventScrubber(recursive) | {statistics.median(sentry_runs):.0f} | {sentry_caught}/{len(SECRETS)} | {', '.join(sentry_missed) or '-'} |"
    )
    print(
        f"structlog 8-field record: +{statistics.median(added):.0f} ns per record for RedactingProcessor (target 2,000 ns, median of 7 rounds)"
    )
    print(
        f"import seawall: {seawall_import:.1f} ms (target 50 ms); seawall.observability.redaction and seawall.logging on top of"
        f" their dependency structlog: {own_import:.1f} ms (median of 5 fresh interpreters)"
    )


if __name__ == "__main__":
    main()
