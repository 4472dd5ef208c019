"""Shared fixtures: the selector classes to run on, and socket pairs that close."""

import select
import socket

import pytest

import io_selectors

CLASSES = [io_selectors.SelectSelector, io_selectors.PollSelector]
if hasattr(select, "epoll"):
    CLASSES.append(io_selectors.EpollSelector)


@pytest.fixture(params=CLASSES, ids=lambda c: c.__name__)
def sel(request):
    s = request.param()
    yield s
    s.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()
