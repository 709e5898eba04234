"""Correlation id validation, generation, traceparent parsing and resolution from headers."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from seawall.config.settings import Settings
from seawall.context.correlation import (
    CorrelationPolicy,
    get_correlation_id,
    hint,
    is_valid,
    parse_traceparent,
    reset_correlation_id,
    set_correlation_id,
    uuid4_hex,
    uuid7_hex,
)
from seawall.threads import ContextThread, run_in_executor, submit

HEX = "4bf92f3577b34da6a3ce929d0e0e4736"

HOSTILE = [
    "\x85" + HEX,
    "\xa0" + HEX,
    "a" * 300,
    "{" + str(uuid.UUID(HEX)) + "}",
    "urn:uuid:" + str(uuid.UUID(HEX)) + " ",
    "abc def",
    "abc\r\nX-Injected: 1",
    "abc\n",
    "abc,def",
    "",
    "abc\x00",
    "abc\u2028def",
    "caf\u00e9",
    "<script>",
    "a/b",
]


def policy(**correlation: object) -> CorrelationPolicy:
    return CorrelationPolicy(Settings.from_mapping({"correlation": correlation}).correlation)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_invalid(value: str) -> None:
    """Anything outside the ASCII allowlist or the length bounds is rejected."""
    assert not is_valid(value)
    assert not is_valid(value.encode("utf-8"))


@pytest.mark.parametrize(
    "value", [HEX, str(uuid.UUID(HEX)), "req-1", "a", "a" * 128, "svc:shop.v2_abc-9"]
)
def test_ordinary_ids_are_valid(value: str) -> None:
    """Letters, digits and -_.: from 1 to 128 characters pass."""
    assert is_valid(value)


def test_max_length_is_configurable() -> None:
    """``max_length`` bounds the accepted length."""
    assert is_valid("a" * 10, 10)
    assert not is_valid("a" * 11, 10)


def test_hint_is_truncated_and_escaped() -> None:
    """The hint shows at most 16 characters, with control and non-ASCII bytes escaped."""
    shown = hint("\x1b[31m" + "x" * 400)
    assert "\x1b" not in shown
    assert "\\x1b" in shown
    assert "(405 bytes)" in shown
    assert shown.count("x") < 20


def test_generators_make_valid_uuids() -> None:
    """uuid4 and uuid7 ids are 32 hex digits with the right version and variant."""
    for make, version in ((uuid4_hex, 4), (uuid7_hex, 7)):
        value = make()
        assert re.fullmatch("[0-9a-f]{32}", value)
        parsed = uuid.UUID(value)
        assert parsed.version == version
        assert parsed.variant == uuid.RFC_4122


def test_uuid4_ids_are_unique_across_threads() -> None:
    """Ids generated concurrently by many threads never repeat."""
    with ThreadPoolExecutor(16) as pool:
        batches = list(pool.map(lambda _: [uuid4_hex() for _ in range(2000)], range(16)))
    flat = [value for batch in batches for value in batch]
    assert len(set(flat)) == len(flat)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_never_hands_out_its_parents_unused_ids() -> None:
    """Ids the parent made but has not handed out yet are forgotten in a forked child."""
    uuid4_hex()  # the parent now holds a batch of unused ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report a few ids and leave at once
        try:
            os.write(write, "".join(uuid4_hex() for _ in range(8)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    child_ids = {child[i : i + 32] for i in range(0, len(child), 32)}
    parent_ids = {uuid4_hex() for _ in range(255)}  # the rest of the parent's batch
    assert len(child_ids) == 8
    assert not child_ids & parent_ids


def test_uuid7_ids_sort_by_time() -> None:
    """uuid7 ids made later sort after earlier ones (millisecond resolution)."""
    first = uuid7_hex()
    later = [uuid7_hex() for _ in range(5)]
    assert all(value[:12] >= first[:12] for value in later)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"00-" + HEX.encode() + b"-00f067aa0ba902b7-01", HEX),
        (b"01-" + HEX.encode() + b"-00f067aa0ba902b7-01-extra", HEX),
        (b"00-" + HEX.upper().encode() + b"-00f067aa0ba902b7-01", None),
        (b"00-" + b"0" * 32 + b"-00f067aa0ba902b7-01", None),
        (b"00-" + HEX.encode() + b"-" + b"0" * 16 + b"-01", None),
        (b"ff-" + HEX.encode() + b"-00f067aa0ba902b7-01", None),
        (b"00-" + HEX.encode() + b"-00f067aa0ba902b7-01-extra", None),
        (b"00-" + HEX.encode()[:-1] + b"-00f067aa0ba902b7-01", None),
    ],
)
def test_traceparent_is_parsed_strictly(header: bytes, expected: str | None) -> None:
    """Lowercase hex only, no all-zero ids, version ff rejected, version 00 has no suffix."""
    assert parse_traceparent(header) == expected


def test_valid_incoming_id_is_kept() -> None:
    """A valid header value becomes the request's id."""
    assert policy().resolve([(b"x-request-id", b"abc-123")]) == ("abc-123", None)


@pytest.mark.parametrize("value", HOSTILE)
def test_invalid_incoming_id_is_replaced_with_hint(value: str) -> None:
    """An invalid value is replaced by a fresh id and reported only as an escaped hint."""
    raw = value.encode("utf-8")
    resolved, shown = policy().resolve([(b"x-request-id", raw)])
    assert re.fullmatch("[0-9a-f]{32}", resolved)
    assert shown is not None
    assert "\r" not in shown
    assert "\n" not in shown
    assert len(shown) < 60


def test_duplicate_headers_are_invalid() -> None:
    """Two values of the id header make the id invalid, even when each is valid alone."""
    resolved, shown = policy().resolve([(b"x-request-id", b"aaa"), (b"x-request-id", b"bbb")])
    assert resolved not in ("aaa", "bbb")
    assert shown == "(several values)"


def test_header_precedence_follows_settings_order() -> None:
    """With several header names, the first configured one that is present wins."""
    p = policy(header=["X-Correlation-ID", "X-Request-ID"])
    headers = [(b"x-request-id", b"second"), (b"x-correlation-id", b"first")]
    assert p.resolve(headers)[0] == "first"
    assert p.resolve(headers[:1])[0] == "second"


def test_ignore_policy_always_generates() -> None:
    """``incoming: ignore`` never adopts the client's id."""
    assert policy(incoming="ignore").resolve([(b"x-request-id", b"abc")])[0] != "abc"


def test_traceparent_adopted_only_when_enabled() -> None:
    """The trace id is used when the setting asks and no id header is present."""
    headers = [(b"traceparent", b"00-" + HEX.encode() + b"-00f067aa0ba902b7-01")]
    assert policy(traceparent=True).resolve(headers)[0] == HEX
    assert policy().resolve(headers)[0] != HEX


def test_custom_generator_values_are_validated() -> None:
    """A generator that returns an invalid id fails loudly instead of leaking it."""
    p = policy(generator=lambda: "bad id\n")
    with pytest.raises(ValueError, match=r"correlation\.generator"):
        p.generate()


def test_generator_dotted_path_is_resolved() -> None:
    """``generator`` may name a callable by dotted path."""
    assert re.fullmatch(
        "[0-9a-f]{32}", policy(generator="seawall.context.correlation.uuid7_hex").generate()
    )


def test_environ_resolution_matches_headers() -> None:
    """The WSGI environ path applies the same rules, including comma-joined duplicates."""
    p = policy()
    assert p.resolve_environ({"HTTP_X_REQUEST_ID": "abc"})[0] == "abc"
    assert p.resolve_environ({"HTTP_X_REQUEST_ID": "a,b"})[1] is not None


def test_programmatic_set_validates_and_resets() -> None:
    """``set_correlation_id`` applies the same check and the token restores the old value."""
    assert get_correlation_id() is None
    with pytest.raises(ValueError, match=r"invalid correlation id"):
        set_correlation_id("bad\nid")
    token = set_correlation_id("abc")
    assert get_correlation_id() == "abc"
    reset_correlation_id(token)
    assert get_correlation_id() is None


def test_context_thread_and_executors_copy_the_id() -> None:
    """ContextThread, submit and run_in_executor see the caller's id; a plain thread does not."""
    seen: dict[str, str | None] = {}
    token = set_correlation_id("ctx-1")
    try:
        plain = threading.Thread(target=lambda: seen.__setitem__("plain", get_correlation_id()))
        copied = ContextThread(target=lambda: seen.__setitem__("thread", get_correlation_id()))
        for thread in (plain, copied):
            thread.start()
            thread.join()
        with ThreadPoolExecutor(2) as pool:
            seen["submit"] = submit(pool, get_correlation_id).result()
            seen["executor"] = asyncio.run(_in_executor(pool))
    finally:
        reset_correlation_id(token)
    assert seen == {"plain": None, "thread": "ctx-1", "submit": "ctx-1", "executor": "ctx-1"}


async def _in_executor(pool: ThreadPoolExecutor) -> str | None:
    token = set_correlation_id("ctx-1")
    try:
        return await run_in_executor(get_correlation_id, executor=pool)
    finally:
        reset_correlation_id(token)
