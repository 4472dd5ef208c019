"""20,000 fds (as many as RLIMIT_NOFILE's hard limit allows) on poll and epoll,
and select(2) far above FD_SETSIZE, which CPython's SelectSelector refuses."""

import os
import resource
import select
import socket

import pytest

import io_selectors

SCALABLE = [io_selectors.PollSelector]
if hasattr(select, "epoll"):
    SCALABLE.append(io_selectors.EpollSelector)


@pytest.fixture
def fd_budget():
    """Raises the soft fd limit to the hard one (at most 20,000); returns how
    many more fds this process may open, with room for the test's own."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 20_000:
        pytest.skip(f"RLIMIT_NOFILE's hard limit is {hard}, below 20,000")
    target = 20_000
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    in_use = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 64
    yield target - in_use - 16  # the selector's own fd, pytest's, spares
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_pairs(n):
    pairs = []
    try:
        for _ in range(n):
            pairs.append(socket.socketpair())
    except OSError:
        for a, b in pairs:
            a.close()
            b.close()
        raise
    return pairs


@pytest.mark.parametrize("cls", SCALABLE, ids=lambda c: c.__name__)
def test_twenty_thousand_fds(cls, fd_budget):
    pairs = open_pairs(fd_budget // 2)
    total = 2 * len(pairs)
    assert total >= 19_900, total
    s = cls()
    try:
        for a, b in pairs:
            s.register(a, io_selectors.EVENT_READ, ("reader", b))
            s.register(b, io_selectors.EVENT_WRITE, ("writer", a))
        assert len(s.get_map()) == total
        # Every writer is writable, no reader readable.
        ready = s.select(5)
        assert len(ready) == len(pairs)
        assert all(key.data[0] == "writer" and ev == io_selectors.EVENT_WRITE for key, ev in ready)
        # Readers with a byte waiting, spread over the whole fd range.
        chosen = pairs[::97]
        for a, b in chosen:
            s.unregister(b)
            b.send(b"x")
        ready = s.select(5)
        readers = {key.fileobj for key, ev in ready if ev == io_selectors.EVENT_READ}
        assert readers == {a for a, _ in chosen}
        assert len(ready) == len(pairs)  # the others' writers, the chosen readers
        for key, _ in ready:
            assert s.get_key(key.fileobj) is key
        highest = max(key.fd for key, _ in ready)
        assert highest > 19_900, highest
    finally:
        s.close()
        for a, b in pairs:
            a.close()
            b.close()


def test_select_selector_above_fd_setsize(fd_budget):
    # CPython's SelectSelector raises ValueError for fds >= 1024; the Rust
    # select(2) backend sizes its fd sets by the highest fd.
    pairs = open_pairs(min(fd_budget // 2, 1500))
    s = io_selectors.SelectSelector()
    try:
        high = [p for p in pairs if p[0].fileno() > 1024][:50]
        assert high
        for a, b in high:
            s.register(a, io_selectors.EVENT_READ)
        for a, b in high[::5]:
            b.send(b"x")
        ready = s.select(5)
        assert {key.fileobj for key, _ in ready} == {a for a, _ in high[::5]}
    finally:
        s.close()
        for a, b in pairs:
            a.close()
            b.close()
