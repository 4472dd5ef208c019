"""PEP 475: a signal handler that raises ends select with its exception; one
that does not lets select go on waiting for what is left of the timeout
(or forever); Ctrl-C (SIGINT) ends a select(None) at once."""

import os
import signal
import socket
import threading
import time

import pytest

import io_selectors
from conftest import CLASSES

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")


@pytest.fixture
def alarm_handler():
    installed = []

    def install(handler):
        installed.append(signal.signal(signal.SIGALRM, handler))

    yield install
    signal.setitimer(signal.ITIMER_REAL, 0)
    for old in installed[:1]:
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_keyboard_interrupt_ends_select_none(cls, pair):
    a, _ = pair
    s = cls()
    s.register(a, io_selectors.EVENT_READ)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        s.select(None)
    assert time.monotonic() - start < 3
    s.close()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_quiet_handler_lets_select_none_wait_on(cls, pair, alarm_handler):
    a, b = pair
    s = cls()
    key = s.register(a, io_selectors.EVENT_READ)
    fired = []
    alarm_handler(lambda *_: fired.append(time.monotonic()))
    signal.setitimer(signal.ITIMER_REAL, 0.1, 0.05)  # again and again
    threading.Timer(0.6, b.send, (b"x",)).start()
    start = time.monotonic()
    assert s.select(None) == [(key, io_selectors.EVENT_READ)]
    assert time.monotonic() - start >= 0.5
    assert len(fired) >= 3
    s.close()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_quiet_handler_keeps_the_deadline(cls, pair, alarm_handler):
    a, _ = pair
    s = cls()
    s.register(a, io_selectors.EVENT_READ)
    alarm_handler(lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    start = time.monotonic()
    assert s.select(0.5) == []
    elapsed = time.monotonic() - start
    # Neither an early return nor a restart of the full timeout per signal.
    assert 0.5 <= elapsed < 2.0, elapsed
    s.close()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_handler_may_use_the_selector(cls, alarm_handler):
    a, b = socket.socketpair()
    s = cls()
    s.register(a, io_selectors.EVENT_READ)

    def handler(*_):
        s.register(b, io_selectors.EVENT_WRITE, "from the handler")

    alarm_handler(handler)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    [(key, events)] = s.select(5)  # the handler's registration is ready
    assert key.data == "from the handler" and events == io_selectors.EVENT_WRITE
    s.close()
    a.close()
    b.close()
