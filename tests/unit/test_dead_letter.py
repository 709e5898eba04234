"""The dead-letter queue: what an entry keeps, replays, retention, on SQLite and on Redis."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from seawall.config.schema import DeadLetterSettings, SettingsError
from seawall.config.settings import Settings
from seawall.context.correlation import CORRELATION_ID
from seawall.dead_letter import DeadLetters
from seawall.dead_letter.entry import backoff
from seawall.dead_letter.queue import REPLAYING
from tests import dead_letter_target as target
from tests.services import Service, redis_server


class Wall:
    """A wall clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def calls() -> list[tuple[object, ...]]:
    """The calls the target module recorded in this process."""
    return target.CALLS


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with redis_server(tmp_path_factory.mktemp("redis")) as service:
        yield service


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeadLetters]:
    """A queue on each backend, with a wall clock the test moves (``queue.wall``)."""
    if request.param == "redis":
        service: Service = request.getfixturevalue("redis")
        import redis as redis_py

        redis_py.Redis(port=service.port).flushall()
        settings = DeadLetterSettings(backend="redis", url=f"redis://127.0.0.1:{service.port}/0")
    else:
        settings = DeadLetterSettings(path=str(tmp_path / "dlq.sqlite3"))
    dead = DeadLetters(settings, wall=Wall())
    target.CALLS.clear()
    yield dead
    dead.close()


def _wall(queue: DeadLetters) -> Wall:
    assert isinstance(queue.wall, Wall)
    return queue.wall


def test_put_keeps_payload_error_and_ids(queue: DeadLetters) -> None:
    """The payload as given, the error as class + redacted message, the request's id."""
    token = CORRELATION_ID.set("req-42")
    try:
        entry = queue.put(
            "mailer",
            {"to": "ann@example.com", "body": "hi"},
            error=ConnectionError("login password=hunter2 failed"),
        )
    finally:
        CORRELATION_ID.reset(token)
    stored = queue.get(entry.id)
    assert stored == entry
    assert stored.payload == {"to": "ann@example.com", "body": "hi"}
    assert stored.first_error is not None
    assert stored.last_error == stored.first_error
    assert stored.first_error.type == "ConnectionError"
    assert "hunter2" not in stored.first_error.message
    assert "login" in stored.first_error.message
    assert stored.correlation_id == "req-42"
    assert len(stored.idempotency_key) == 32
    assert stored.created == stored.next_attempt == _wall(queue).now
    assert queue.put("mailer", 1, idempotency_key="k-1").idempotency_key == "k-1"


def test_show_redacts_the_payload_unless_raw(queue: DeadLetters) -> None:
    entry = queue.put("mailer", {"to": "ann@example.com", "password": "hunter2"})
    shown = queue.show(entry)
    assert "hunter2" not in str(shown)
    assert "ann@example.com" not in str(shown)
    assert queue.show(entry, raw=True)["payload"]["password"] == "hunter2"


def test_arguments_that_cannot_be_stored_keep_an_unreplayable_entry(queue: DeadLetters) -> None:
    """The entry stays, with why; a replay of everything leaves it alone."""
    entry = queue.record_call(
        "mailer", target.remember, (object(),), {}, attempts=3,
        first_error=TimeoutError("t"), last_error=ConnectionError("c"),
    )  # fmt: skip
    assert entry is not None
    stored = queue.get(entry.id)
    assert stored is not None
    assert not stored.replayable
    assert stored.reason is not None
    assert "not JSON-serialisable" in stored.reason
    assert stored.attempts == 3
    assert stored.first_error is not None
    assert stored.first_error.type == "TimeoutError"
    assert stored.last_error is not None
    assert stored.last_error.type == "ConnectionError"
    assert queue.replay() == type(queue.replay())(0, 0, 0)
    assert calls() == []


def test_a_local_function_cannot_be_replayed(queue: DeadLetters) -> None:
    def local() -> None: ...

    entry = queue.record_call("q", local, (), {}, attempts=1, first_error=None, last_error=None)
    assert entry is not None
    assert not entry.replayable
    assert entry.reason is not None
    assert "no importable dotted path" in entry.reason


def test_replay_runs_the_call_once_with_its_idempotency_key_and_removes_it(
    queue: DeadLetters,
) -> None:
    entry = queue.record_call(
        "mailer", target.remember, ("ann", 3), {}, attempts=3, first_error=None, last_error=None
    )
    assert entry is not None
    assert entry.target == "tests.dead_letter_target.remember"
    report = queue.replay(queue="mailer")
    assert (report.succeeded, report.failed, report.skipped) == (1, 0, 0)
    assert [("ann", 3, entry.idempotency_key)] == target.CALLS
    assert queue.get(entry.id) is None
    assert queue.replay().succeeded == 0


def test_a_failed_replay_counts_an_attempt_and_backs_off(queue: DeadLetters) -> None:
    entry = queue.record_call(
        "billing", target.fail, (1,), {}, attempts=3, first_error=TimeoutError("x"), last_error=None
    )
    assert entry is not None
    _wall(queue).now += 5
    report = queue.replay(ids=[entry.id])
    assert (report.succeeded, report.failed) == (0, 1)
    again = queue.get(entry.id)
    assert again is not None
    assert again.attempts == 4
    assert again.next_attempt == _wall(queue).now + backoff(4)
    assert again.last_error is not None
    assert again.last_error.type == "ConnectionError"
    assert "hunter2" not in again.last_error.message
    assert again.first_error == entry.first_error
    assert queue.replay(due=True).failed == 0  # not due yet
    _wall(queue).now = again.next_attempt
    assert queue.replay(due=True).failed == 1


def test_a_failure_inside_a_replay_is_not_stored_again(queue: DeadLetters) -> None:
    """The replay reschedules its own entry; the decorated call must not add a copy."""
    entry = queue.put("q", 1)
    token = REPLAYING.set(entry)
    try:
        assert (
            queue.record_call(
                "q", target.fail, (), {}, attempts=1, first_error=None, last_error=None
            )
            is None
        )
    finally:
        REPLAYING.reset(token)
    assert [e.id for e in queue.entries()] == [entry.id]


def test_put_entries_replay_through_the_queue_replayer(queue: DeadLetters) -> None:
    entry = queue.put("webhooks", {"event": "paid"})
    assert queue.replay().failed == 1  # no replayer yet: kept, with why
    kept = queue.get(entry.id)
    assert kept is not None
    assert kept.last_error is not None
    assert kept.last_error.type == "LookupError"
    seen: list[object] = []
    queue.replayer("webhooks")(
        lambda payload, idempotency_key: seen.append((payload, idempotency_key))
    )
    assert queue.replay(ids=[entry.id]).succeeded == 1
    assert seen == [({"event": "paid"}, entry.idempotency_key)]


def test_a_leased_entry_is_skipped_by_another_replayer(queue: DeadLetters) -> None:
    entry = queue.put("q", 1)
    assert queue.store.claim(entry.id, now=_wall(queue).now, lease=60) is not None
    assert queue.store.claim(entry.id, now=_wall(queue).now, lease=60) is None
    queue.replayer("q")(lambda payload: None)
    assert queue.replay().skipped == 1


def test_purge_by_age_and_depths(queue: DeadLetters) -> None:
    queue.put("a", 1)
    _wall(queue).now += 100
    queue.put("a", 2)
    queue.put("b", 3)
    assert queue.depths() == {"a": 2, "b": 1}
    assert queue.purge(older_than=50) == 1
    assert queue.depths() == {"a": 1, "b": 1}
    _wall(queue).now += DeadLetterSettings().retention + 1
    assert queue.purge() == 2
    assert queue.entries() == []


def test_sqlite_keeps_at_most_max_entries(tmp_path: Path) -> None:
    """The oldest go first once the store passes ``max_entries``."""
    dead = DeadLetters(DeadLetterSettings(path=str(tmp_path / "d.sqlite3"), max_entries=20))
    for number in range(100):
        dead.put("q", number)
    payloads = [entry.payload for entry in dead.entries()]
    assert len(payloads) <= 22
    assert payloads[-1] == 99
    assert 0 not in payloads
    dead.close()


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    path = tmp_path / "dlq.sqlite3"
    dead = DeadLetters(DeadLetterSettings(path=str(path)))
    dead.put("q", 1)
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    dead.close()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"backend": "sqs"}, r"dead_letter\.backend"),
        ({"backend": "redis"}, r"dead_letter\.url: the redis backend needs"),
        ({"backend": "redis", "url": "http://x"}, r"dead_letter\.url: expected a redis://"),
        ({"url": "redis://x"}, r"dead_letter\.url: is read by the redis backend only"),
        ({"retention": 0}, r"dead_letter\.retention"),
        ({"max_entries": 0}, r"dead_letter\.max_entries"),
        ({"path": ""}, r"dead_letter\.path"),
        ({"size": 3}, r"dead_letter"),
    ],
)
def test_bad_settings_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_mapping({"dead_letter": data})


def test_a_record_names_every_field_of_an_entry(queue: DeadLetters) -> None:
    """The hand-written record stays in step with the dataclass: a new field must be stored."""
    import dataclasses

    entry = queue.put("q", [1], error=ValueError("v"))
    assert set(entry.to_record()) == {f.name for f in dataclasses.fields(entry)} - {"id"}


def test_replayers_at_once_run_each_entry_exactly_once(queue: DeadLetters) -> None:
    """Eight replayers, each with its own connection to the same store, over 300 entries."""
    import threading
    from collections import Counter

    for number in range(300):
        queue.record_call(
            "q", target.remember, (number,), {}, attempts=1, first_error=None, last_error=None
        )
    settings = queue.settings
    replayers = [DeadLetters(settings, wall=queue.wall) for _ in range(8)]
    start = threading.Barrier(len(replayers))
    reports = []

    def run(replayer: DeadLetters) -> None:
        start.wait()
        reports.append(replayer.replay())

    threads = [threading.Thread(target=run, args=(r,)) for r in replayers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for replayer in replayers:
        replayer.close()
    assert sum(report.succeeded for report in reports) == 300
    assert Counter(call[0] for call in calls()) == Counter(range(300))
    assert queue.entries() == []
