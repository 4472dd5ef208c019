"""The GIL is released while select waits; threads on different selectors
run concurrently; one selector used from two threads at once is refused
with a RuntimeError, never a crash."""

import socket
import threading
import time

import pytest

import io_selectors
from conftest import CLASSES


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_select_releases_the_gil(cls):
    s = cls()
    a, b = socket.socketpair()
    s.register(a, io_selectors.EVENT_READ, "a")
    result = []
    waiter = threading.Thread(target=lambda: result.append(s.select(30)))
    waiter.start()
    # Python code runs in this thread while the other one waits.
    spins = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        spins += 1
    assert waiter.is_alive() and spins > 1000
    b.send(b"x")
    waiter.join(10)
    assert not waiter.is_alive()
    [(key, events)] = result[0]
    assert key.data == "a" and events == io_selectors.EVENT_READ
    s.close()
    a.close()
    b.close()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_threads_select_and_register_on_their_own_selectors(cls):
    errors = []

    def worker(n):
        try:
            s = cls()
            pairs = [socket.socketpair() for _ in range(8)]
            for round_ in range(150):
                for i, (a, b) in enumerate(pairs):
                    s.register(a, io_selectors.EVENT_READ, (n, i, round_))
                for a, b in pairs[::2]:
                    b.send(b"x")
                ready = s.select(5)
                got = sorted(key.data[1] for key, _ in ready)
                assert got == list(range(0, 8, 2)), got
                assert all(key.data == (n, key.data[1], round_) for key, _ in ready)
                for a, b in pairs:
                    s.unregister(a)
                for a, b in pairs[::2]:
                    a.recv(1)
                assert s.select(0) == []
            s.close()
            for a, b in pairs:
                a.close()
                b.close()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def test_a_selector_busy_in_another_threads_select_says_so():
    s = io_selectors.EpollSelector()
    a, b = socket.socketpair()
    s.register(a, io_selectors.EVENT_READ)
    waiter = threading.Thread(target=s.select, args=(30,))
    waiter.start()
    time.sleep(0.2)
    with pytest.raises(RuntimeError, match="the selector is busy"):
        s.register(b, io_selectors.EVENT_READ)
    b.send(b"x")
    waiter.join(10)
    s.register(b, io_selectors.EVENT_READ)  # free again
    s.close()
    a.close()
    b.close()
