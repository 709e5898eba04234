"""TokenLock: the hot-path mutex of bulkheads and breakers excludes like threading.Lock."""

from __future__ import annotations

import sys
import threading

import pytest

from seawall.resilience.locks import TokenLock


@pytest.fixture
def switch_often() -> object:
    """Let the interpreter switch threads every microsecond so a broken lock shows at once."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield None
    sys.setswitchinterval(before)


def test_token_lock_excludes_many_threads(switch_often: object) -> None:
    lock = TokenLock()
    inside = 0
    most = 0
    total = 0
    start = threading.Barrier(16)

    def worker(hot: bool) -> None:
        nonlocal inside, most, total
        start.wait()
        for _ in range(2000):
            if hot:  # the bulkhead's and breaker's way: bound C methods, the token handed back
                lock.acquire()
            else:
                lock.__enter__()
            try:
                inside += 1
                most = max(most, inside)
                value = total
                value += 1  # a read-modify-write that other holders would interleave with
                total = value
                inside -= 1
            finally:
                if hot:
                    lock.hand_back(True)
                else:
                    lock.__exit__(None, None, None)

    threads = [threading.Thread(target=worker, args=(n % 2 == 0,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert most == 1
    assert total == 16 * 2000
    assert not lock.locked()


def test_token_lock_blocks_until_released() -> None:
    lock = TokenLock()
    assert lock.acquire() is True
    assert lock.locked()
    got = threading.Event()

    def waiter() -> None:
        with lock:
            got.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not got.wait(0.2)  # the token is held: the waiter stays blocked
    lock.release()
    assert got.wait(30)
    thread.join(30)
    assert not lock.locked()
