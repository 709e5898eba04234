"""The structure walk's shortcuts: dicts copied whole with only changed values replaced, keys that
redact handing over mid-dict, scalars passed as they are, the processor's test for seawall's own
events, and the shared caches under many threads."""

from __future__ import annotations

import threading
from typing import Any

from seawall.observability.chain import logged
from seawall.observability.redaction import RedactingProcessor, Redactor

EMAIL = "ann.smith@example.com"
TOKEN = "ghp_" + "N7xq2Lk9Vb4Rt6Yp1Zs8Wm3Jc5Hd0Fg2Ea4U"
HIDDEN = Redactor().text(TOKEN)  # the token's placeholder, whatever its detector calls it


def test_the_token_has_a_placeholder() -> None:
    """The token these tests plant is one the text scanner hides."""
    assert HIDDEN.startswith("[REDACTED:")
    assert TOKEN[8:16] not in HIDDEN


def test_values_before_a_key_that_redacts_stay_redacted() -> None:
    """A key that is itself a secret, after values that changed, keeps those values redacted."""
    event = {
        "note": f"mail {EMAIL}",
        "count": 2,
        "items": [TOKEN],
        "bob@example.org": 3,
        "z": TOKEN,
    }
    assert Redactor().redact(event) == {
        "note": "mail [REDACTED:email]",
        "count": 2,
        "items": [HIDDEN],
        "[REDACTED:email]": 3,
        "z": HIDDEN,
    }


def test_keys_that_are_not_strings_are_logged_as_their_redacted_repr() -> None:
    """Non-string keys become their repr, in their place, with the values around them redacted."""
    assert Redactor().redact({"a": EMAIL, 7: "ok", "b": {None: TOKEN}}) == {
        "a": "[REDACTED:email]",
        "7": "ok",
        "b": {"None": HIDDEN},
    }


def test_a_dict_comes_back_as_a_new_dict_and_the_input_stays_as_it_was() -> None:
    """Even a dict with nothing to redact is a copy: changing the output leaves the input alone."""
    event: dict[str, Any] = {"event": "order placed", "items": 3, "total": 59.97, "ok": True}
    out = Redactor().redact(event)
    assert out == event
    assert out is not event
    out["event"] = "changed"
    assert event["event"] == "order placed"
    secret = {"password": "hunter2", "note": EMAIL, "n": 1}
    assert Redactor().redact(secret) == {
        "password": "[REDACTED:password]",
        "note": "[REDACTED:email]",
        "n": 1,
    }
    assert secret == {"password": "hunter2", "note": EMAIL, "n": 1}


def test_only_scalars_pass_as_they_are_and_every_container_is_walked() -> None:
    """ints, floats, bools and None pass; lists, tuples, sets, dicts and subclasses of scalars are
    looked into or rendered, so a secret inside any of them is caught."""

    class Code(int):
        def __repr__(self) -> str:
            return EMAIL

    event = {
        "n": 1, "x": 1.5, "ok": False, "none": None, "big": 10**30,
        "list": [EMAIL], "tuple": (TOKEN,), "set": {EMAIL}, "dict": {"k": TOKEN},
        "frozen": frozenset({TOKEN}), "bytes": EMAIL.encode(), "code": Code(3),
    }  # fmt: skip
    out = Redactor().redact(event)
    assert out == {
        "n": 1, "x": 1.5, "ok": False, "none": None, "big": 10**30,
        "list": ["[REDACTED:email]"], "tuple": [HIDDEN],
        "set": ["[REDACTED:email]"], "dict": {"k": HIDDEN},
        "frozen": [HIDDEN], "bytes": "[REDACTED:email]", "code": Code(3),
    }  # fmt: skip
    assert type(out["code"]) is Code  # an int subclass is an int, left as it is


def test_repeated_records_are_redacted_alike_from_the_caches() -> None:
    """A record seen before (keys and short values cached) redacts as it did the first time."""
    redactor = Redactor()
    record = {"event": f"login {EMAIL}", "user_token": TOKEN, "level": "info", "n": 1}
    first = redactor.redact(dict(record))
    assert first == {
        "event": "login [REDACTED:email]",
        "user_token": "[REDACTED:token]",
        "level": "info",
        "n": 1,
    }
    assert all(redactor.redact(dict(record)) == first for _ in range(3))


def test_processor_passes_seawall_fields_only_for_the_event_seawall_is_logging() -> None:
    """Outside seawall's own event every field is redacted; inside it, the fields seawall
    redacted already pass, and only for that event's error id."""
    processor = RedactingProcessor()
    fields = {"error_id": "e-1", "message": f"mail {EMAIL}", "other": f"mail {EMAIL}"}
    assert processor(None, "error", dict(fields))["message"] == "mail [REDACTED:email]"
    seen: list[Any] = []

    def log(**event: Any) -> None:
        seen.append(processor(None, "error", event))
        seen.append(processor(None, "error", {**event, "error_id": "e-2"}))

    logged(log, dict(fields), safe=("message",))
    assert seen[0] == {
        "message": f"mail {EMAIL}",
        "error_id": "e-1",
        "other": "mail [REDACTED:email]",
    }
    assert seen[1]["message"] == "mail [REDACTED:email]"


def test_many_threads_share_one_redactor_while_its_caches_fill_and_clear() -> None:
    """Sixteen threads redact distinct records through one redactor (more keys and values than
    the caches hold, so they are cleared while others read them); every output is right."""
    redactor = Redactor()
    barrier = threading.Barrier(16)
    wrong: list[Any] = []

    def work(thread: int) -> None:
        barrier.wait()
        for n in range(400):
            key = f"field_{thread}_{n}"
            record = {key: f"v{n} {EMAIL}", f"secret_{thread}_{n}": "x", "n": n, key + "_ok": "ok"}
            expected = {
                key: f"v{n} [REDACTED:email]",
                f"secret_{thread}_{n}": "[REDACTED:secret]",
                "n": n,
                key + "_ok": "ok",
            }
            out = redactor.redact(record)
            if out != expected:
                wrong.append(out)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert wrong == []
