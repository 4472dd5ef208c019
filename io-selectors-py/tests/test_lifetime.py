"""fd reuse, and references: a registration holds its file object and data
exactly until unregister or close, and select's results hold no extra."""

import gc
import os
import socket
import sys

import pytest

import io_selectors


def test_unregister_after_close_then_reuse_the_number(sel):
    a, b = socket.socketpair()
    fd = a.fileno()
    sel.register(a, io_selectors.EVENT_READ, "old")
    a.close()
    b.close()
    c, d = socket.socketpair()
    assert fd in (c.fileno(), d.fileno())  # the lowest free number comes back
    new = c if c.fileno() == fd else d
    peer = d if new is c else c
    # The old registration still owns the number.
    with pytest.raises(KeyError, match="is already registered"):
        sel.register(new, io_selectors.EVENT_READ, "new")
    assert sel.unregister(fd).data == "old"
    key = sel.register(new, io_selectors.EVENT_READ, "new")
    peer.send(b"x")
    assert sel.select(5) == [(key, io_selectors.EVENT_READ)]
    c.close()
    d.close()


def test_dup2_over_a_registered_fd(sel):
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    fd = a.fileno()
    sel.register(fd, io_selectors.EVENT_READ, "a")
    os.dup2(c.fileno(), fd)  # fd now names c's socket
    assert sel.unregister(fd).data == "a"
    key = sel.register(fd, io_selectors.EVENT_READ, "c")
    d.send(b"x")
    assert sel.select(5) == [(key, io_selectors.EVENT_READ)]
    for s in (a, b, c, d):
        s.close()


def refs(*objs):
    gc.collect()
    return [sys.getrefcount(o) for o in objs]


def test_references_come_back_after_unregister_modify_and_close(sel):
    a, b = socket.socketpair()
    data, data2 = object(), object()
    before = refs(a, data, data2)
    key = sel.register(a, io_selectors.EVENT_READ | io_selectors.EVENT_WRITE, data)
    del key
    assert refs(a, data, data2)[:2] == [before[0] + 1, before[1] + 1]
    for _ in range(100):
        ready = sel.select(0)
        assert len(ready) == 1
    del ready
    assert refs(a, data, data2)[:2] == [before[0] + 1, before[1] + 1]
    sel.modify(a, io_selectors.EVENT_READ, data2)  # data replaced
    sel.modify(a, io_selectors.EVENT_WRITE, data2)  # events changed
    assert refs(a, data, data2) == [before[0] + 1, before[1], before[2] + 1]
    sel.unregister(a)
    assert refs(a, data, data2) == before
    for _ in range(100):
        sel.register(a, io_selectors.EVENT_READ, data)
        sel.unregister(a)
    assert refs(a, data, data2) == before
    sel.register(a, io_selectors.EVENT_READ, data)
    sel.register(b, io_selectors.EVENT_WRITE, data)
    sel.get_map()
    sel.close()
    assert refs(a, data, data2) == before
    a.close()
    b.close()


def test_refused_registrations_hold_nothing(tmp_path):
    s = io_selectors.EpollSelector()
    data = object()
    with open(tmp_path / "f", "w") as f:
        before = refs(f, data)
        for _ in range(10):
            with pytest.raises(PermissionError):
                s.register(f, io_selectors.EVENT_READ, data)
        assert refs(f, data) == before
    s.close()


def test_dropping_a_selector_frees_everything():
    a, b = socket.socketpair()
    data = object()
    before = refs(a, data)
    s = io_selectors.EpollSelector()
    s.register(a, io_selectors.EVENT_READ, data)
    fd = s.fileno()
    del s  # no cycle: freed at once
    assert refs(a, data) == before
    with pytest.raises(OSError):
        os.fstat(fd)
    a.close()
    b.close()
