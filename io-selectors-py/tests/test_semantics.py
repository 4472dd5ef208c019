"""What CPython's suites do not pin down: identity of keys and objects, the
mapping's interface, exception types and messages beside the stdlib's,
attribute assignment, subclassing, garbage collection."""

import collections.abc
import gc
import os
import selectors
import socket
import unittest.mock
import weakref

import pytest

import io_selectors
from conftest import CLASSES


def test_selector_key_is_the_stdlib_class(sel, pair):
    a, _ = pair
    key = sel.register(a, io_selectors.EVENT_READ, "data")
    assert io_selectors.SelectorKey is selectors.SelectorKey
    assert type(key) is selectors.SelectorKey
    assert key == selectors.SelectorKey(a, a.fileno(), io_selectors.EVENT_READ, "data")
    assert key.fileobj is a
    assert key._replace(data=1).data == 1
    assert isinstance(sel, selectors.BaseSelector)
    assert isinstance(sel, io_selectors.BaseSelector)


def test_select_returns_the_registered_objects(sel, pair):
    a, b = pair
    data = object()
    key = sel.register(a, io_selectors.EVENT_READ | io_selectors.EVENT_WRITE, data)
    b.send(b"x")
    [(got, events)] = sel.select(5)
    assert got is key
    assert got.fileobj is a and got.data is data
    assert events == io_selectors.EVENT_READ | io_selectors.EVENT_WRITE
    assert type(events) is int


def test_get_map_is_a_live_read_only_mapping(sel, pair):
    a, b = pair
    m = sel.get_map()
    assert isinstance(m, collections.abc.Mapping)
    assert len(m) == 0 and not m and list(m) == []
    ka = sel.register(a, io_selectors.EVENT_READ, 1)
    kb = sel.register(b.fileno(), io_selectors.EVENT_WRITE, 2)
    assert len(m) == 2
    assert sorted(m) == sorted([a.fileno(), b.fileno()])
    assert m[a] is ka and m[a.fileno()] is ka and m[b] is kb
    assert a in m and b.fileno() in m and 999999 not in m
    assert m.get(a) is ka and m.get(999999) is None and m.get(999999, "x") == "x"
    assert set(m.keys()) == {a.fileno(), b.fileno()}
    assert sorted(k.data for k in m.values()) == [1, 2]
    assert dict(m.items()) == {a.fileno(): ka, b.fileno(): kb}
    assert m == {a.fileno(): ka, b.fileno(): kb}
    assert m != {}
    with pytest.raises(KeyError):
        m[999999]
    with pytest.raises(TypeError):
        m[a] = None
    with pytest.raises(TypeError):
        del m[a]
    sel.unregister(a)
    assert len(m) == 1 and a not in m
    assert sel.get_map() is m
    sel.close()
    assert sel.get_map() is None
    assert len(m) == 0


def stdlib_twin(cls):
    return getattr(selectors, cls.__name__)


class Named:
    """An object with a stable repr and a `fileno()` that returns `fd`."""

    def __init__(self, fd=None):
        if fd is not None:
            self.fileno = lambda: fd

    def __repr__(self):
        return "Named()"


# Each case: a function of (selector, socket a, socket b) that raises; the
# exception's type and message must be the stdlib's.
ERROR_CASES = {
    "register empty events": lambda s, a, b: s.register(a, 0),
    "register unknown events": lambda s, a, b: s.register(a, 999999),
    "register negative events": lambda s, a, b: s.register(a, -1),
    "register huge events": lambda s, a, b: s.register(a, 2**70),
    "register negative fd": lambda s, a, b: s.register(-10, 1),
    "register object without fileno": lambda s, a, b: s.register(Named(), 1),
    "register fileno not an int": lambda s, a, b: s.register(Named("x"), 1),
    "register fileno negative": lambda s, a, b: s.register(Named(-3), 1),
    "register twice": lambda s, a, b: (s.register(a, 1), s.register(a, 1)),
    "register twice by fd": lambda s, a, b: (s.register(a, 1), s.register(a.fileno(), 2)),
    "unregister unknown": lambda s, a, b: s.unregister(a),
    "unregister twice": lambda s, a, b: (s.register(a, 1), s.unregister(a), s.unregister(a)),
    "unregister negative": lambda s, a, b: s.unregister(-1),
    "modify unknown": lambda s, a, b: s.modify(a, 1),
    "get_key unknown": lambda s, a, b: s.get_key(a),
    "get_key huge fd": lambda s, a, b: s.get_key(2**40),
    "get_key after close": lambda s, a, b: (s.register(a, 1), s.close(), s.get_key(a)),
    "map lookup after close": lambda s, a, b: (s.register(a, 1), s.get_map(), s.close(), s.get_key(b)),
    "select with a string": lambda s, a, b: s.select("1"),
    "select NaN": lambda s, a, b: s.select(float("nan")),
    "select infinity": lambda s, a, b: s.select(float("inf")),
}


@pytest.mark.parametrize("case", ERROR_CASES)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_exceptions_are_the_stdlibs(cls, case):
    outcomes = []
    for make in (stdlib_twin(cls), cls):
        a, b = socket.socketpair()
        s = make()
        try:
            with pytest.raises(Exception) as info:
                ERROR_CASES[case](s, a, b)
            outcomes.append((type(info.value), str(info.value)))
        finally:
            s.close()
            a.close()
            b.close()
    assert outcomes[1] == outcomes[0]


def test_register_refused_by_the_kernel_is_the_stdlibs_oserror(tmp_path):
    # epoll refuses regular files with EPERM; nothing stays registered.
    with open(tmp_path / "f", "w") as f:
        for cls in (selectors.EpollSelector, io_selectors.EpollSelector):
            s = cls()
            with pytest.raises(PermissionError) as info:
                s.register(f, io_selectors.EVENT_READ)
            assert info.value.errno == 1 and info.value.args == (1, os.strerror(1))
            assert len(s.get_map()) == 0
            s.close()


def test_closed_socket_is_found_by_identity(sel):
    a, b = socket.socketpair()
    sel.register(a, io_selectors.EVENT_READ)
    fd = a.fileno()
    a.close()  # fileno() is now -1
    assert sel.get_key(a).fd == fd
    assert sel.unregister(a).fd == fd
    with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
        sel.unregister(a)
    b.close()


def test_modify_changes_events_and_data_without_register(sel, pair):
    a, _ = pair
    key = sel.register(a, io_selectors.EVENT_READ, "one")
    sel.register = unittest.mock.Mock()
    sel.unregister = unittest.mock.Mock()
    assert sel.modify(a, io_selectors.EVENT_READ, "one") is key  # nothing changed
    key2 = sel.modify(a, io_selectors.EVENT_WRITE, "two")
    assert (key2.fileobj, key2.events, key2.data) == (a, io_selectors.EVENT_WRITE, "two")
    assert sel.get_key(a) is key2
    assert not sel.register.called and not sel.unregister.called
    [(got, events)] = sel.select(5)
    assert got is key2 and events == io_selectors.EVENT_WRITE


def test_instances_take_attributes_and_classes_subclass():
    for cls in CLASSES:
        class Mine(cls):
            def __init__(self):
                super().__init__()
                self.extra = 1

        s = Mine()
        s.other = 2
        assert (s.extra, s.other) == (1, 2)
        assert isinstance(s, cls) and isinstance(s, selectors.BaseSelector)
        with s:
            assert s.select(0) == []
        with pytest.raises(RuntimeError, match="Selector is closed"):
            s.get_key(0)


def test_context_manager_calls_close(sel):
    sel.close = unittest.mock.Mock()
    with sel as entered:
        assert entered is sel
    sel.close.assert_called_once_with()


def test_epoll_fileno_and_closed_epoll():
    s = io_selectors.EpollSelector()
    fd = s.fileno()
    assert isinstance(fd, int) and fd >= 0
    os.fstat(fd)
    s.close()
    with pytest.raises(OSError):
        os.fstat(fd)  # the epoll fd is closed
    with pytest.raises(ValueError, match="closed epoll object"):
        s.fileno()
    with pytest.raises(ValueError, match="closed epoll object"):
        s.select(0)
    assert not hasattr(io_selectors.PollSelector(), "fileno")


def test_poll_and_select_work_on_after_close_as_cpythons(pair):
    a, _ = pair
    for cls in (io_selectors.SelectSelector, io_selectors.PollSelector):
        s = cls()
        s.register(a, io_selectors.EVENT_WRITE)
        s.close()
        assert s.select(0) == []  # the registration is gone
        key = s.register(a, io_selectors.EVENT_WRITE)
        assert s.select(0) == [(key, io_selectors.EVENT_WRITE)]
        s.close()


def test_a_selector_in_a_cycle_is_collected():
    s = io_selectors.EpollSelector()
    a, b = socket.socketpair()
    s.register(a, io_selectors.EVENT_READ, [s])  # data -> selector
    s.get_map()  # selector <-> mapping
    fd = s.fileno()
    gone = weakref.ref(s)
    del s
    gc.collect()
    assert gone() is None
    with pytest.raises(OSError):
        os.fstat(fd)
    a.close()
    b.close()


def test_replaced_selector_cls_is_driven_like_cpython(pair):
    a, _ = pair
    calls = []

    class Recorder:
        def __init__(self):
            self.real = __import__("select").epoll()

        def register(self, fd, mask):
            calls.append(("register", fd, mask))
            self.real.register(fd, mask)

        def modify(self, fd, mask):
            calls.append(("modify", fd, mask))
            self.real.modify(fd, mask)

        def unregister(self, fd):
            calls.append(("unregister", fd))
            self.real.unregister(fd)

        def poll(self, timeout, maxevents):
            calls.append(("poll", timeout, maxevents))
            return self.real.poll(timeout, maxevents)

        def close(self):
            self.real.close()

        def fileno(self):
            return self.real.fileno()

    class Mine(io_selectors.EpollSelector):
        _selector_cls = Recorder

    s = Mine()
    fd = a.fileno()
    key = s.register(a, io_selectors.EVENT_READ | io_selectors.EVENT_WRITE)
    assert s.select(0.0011) == [(key, io_selectors.EVENT_WRITE)]
    s.modify(a, io_selectors.EVENT_READ)
    s.unregister(a)
    assert s.fileno() == s.fileno()
    s.close()
    assert calls == [("register", fd, 5), ("poll", 0.002, 1), ("modify", fd, 1), ("unregister", fd)]
