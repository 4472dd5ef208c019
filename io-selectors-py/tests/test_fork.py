"""fork: a child can use the selector it inherited and new ones; the
parent's selector goes on working after the child closed its copy."""

import os
import socket

import pytest

import io_selectors
from conftest import CLASSES


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_fork(cls):
    s = cls()
    a, b = socket.socketpair()
    key = s.register(a, io_selectors.EVENT_READ, "a")
    b.send(b"x")
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status
        status = 1
        try:
            ready = s.select(5)
            assert [(k.data, ev) for k, ev in ready] == [("a", io_selectors.EVENT_READ)]
            assert ready[0][0].fileobj is a
            t = cls()
            c, d = socket.socketpair()
            t.register(c, io_selectors.EVENT_READ, "c")
            d.send(b"y")
            assert [k.data for k, _ in t.select(5)] == ["c"]
            t.close()
            s.close()  # the child's copy only
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert s.select(5) == [(key, io_selectors.EVENT_READ)]
    assert a.recv(1) == b"x"
    assert s.select(0) == []
    s.close()
    a.close()
    b.close()
