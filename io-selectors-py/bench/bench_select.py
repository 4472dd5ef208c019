#!/usr/bin/env python3
"""io_selectors against the Python floor and the standard library: issue 17's numbers.

In one process, with N fds registered for EVENT_READ (N = 100, 1,000,
10,000; fd i and fd i ^ 1 are the two ends of one socket pair) and k of
them readable (k = 0 "idle", 1, 100; a byte waits in each):

- select(0) with k ready, and idle: io_selectors' EpollSelector and
  PollSelector, the standard library's, and the floor, the bare
  `select.epoll().poll(0)` / `select.poll().poll(0)` from Python (which
  allocate an (fd, event) pair per event and look up no key);
- register + unregister of one more fd (an int, as asyncio passes),
  against the bare `epoll.register` + `epoll.unregister` (and poll's).

Each figure is the best (lowest), over BATCHES batches, of the mean ns
per call in a batch, as timeit recommends (a slower batch is another
process's doing). Batches are timed in this thread's CPU time (user +
system, CLOCK_THREAD_CPUTIME_ID), so that time spent preempted on a busy
machine is not counted; the peers' batches are interleaved, so that what
a load change does to caches hits all of them alike. Not a test: it prints a Markdown
table (and JSON with --json) for BENCHMARKS.md.

usage: python bench_select.py [--quick] [--json FILE]
"""

import json
import platform
import resource
import select
import selectors
import socket
import sys
import time

import io_selectors

QUICK = "--quick" in sys.argv
BATCHES = 7 if QUICK else 21
BATCH_SECONDS = 0.02 if QUICK else 0.05
SIZES = [100, 1000, 10000]
READY = [0, 1, 100]


def calibrate(op):
    """Calls of op per batch for a batch of about BATCH_SECONDS."""
    n = 1
    while True:
        t = time.thread_time_ns()
        op(n)
        dt = time.thread_time_ns() - t
        if dt > BATCH_SECONDS * 1e9 / 4:
            return max(1, int(n * BATCH_SECONDS * 1e9 / dt))
        n *= 2


def measure(ops):
    """{name: best ns per call} for {name: op(n)}, batches interleaved."""
    counts = {name: calibrate(op) for name, op in ops.items()}
    samples = {name: [] for name in ops}
    for _ in range(BATCHES):
        for name, op in ops.items():
            n = counts[name]
            t = time.thread_time_ns()
            op(n)
            samples[name].append((time.thread_time_ns() - t) / n)
    return {name: min(s) for name, s in samples.items()}


def select_loop(select_fn):
    def op(n):
        for _ in range(n):
            select_fn(0)
    return op


def churn_loop(register, unregister, fd, events):
    def op(n):
        for _ in range(n):
            register(fd, events)
            unregister(fd)
    return op


class Setup:
    """N registered fds, every peer set, for one primitive."""

    def __init__(self, n, kind):
        self.socks = []
        for _ in range(n // 2):
            self.socks.extend(socket.socketpair())
        self.fds = [s.fileno() for s in self.socks]
        if kind == "epoll":
            self.bare = select.epoll()
            self.std = selectors.EpollSelector()
            self.ours = io_selectors.EpollSelector()
            flag = select.EPOLLIN
        else:
            self.bare = select.poll()
            self.std = selectors.PollSelector()
            self.ours = io_selectors.PollSelector()
            flag = select.POLLIN
        self.flag = flag
        for fd in self.fds:
            self.bare.register(fd, flag)
            self.std.register(fd, selectors.EVENT_READ)
            self.ours.register(fd, io_selectors.EVENT_READ)
        self.spare = socket.socketpair()
        self.readable = []

    def make_ready(self, k):
        """Exactly k registered fds readable (spread over the range)."""
        for i in self.readable:
            self.socks[i].recv(16)
        step = max(1, len(self.socks) // max(k, 1))
        self.readable = [i for i in range(0, len(self.socks), step)][:k]
        for i in self.readable:
            self.socks[i ^ 1].send(b"x")
        time.sleep(0.01)
        for sel in (self.std, self.ours):
            assert len(sel.select(0)) == k, (len(sel.select(0)), k)
        assert len(self.bare.poll(0)) == k

    def close(self):
        for sel in (self.std, self.ours):
            sel.close()
        if hasattr(self.bare, "close"):
            self.bare.close()
        for s in self.socks + list(self.spare):
            s.close()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * max(SIZES) + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    rows = []
    for kind in ["epoll", "poll"]:
        for n in SIZES:
            setup = Setup(n, kind)
            for k in READY:
                setup.make_ready(k)
                res = measure({
                    "floor": select_loop(setup.bare.poll),
                    "stdlib": select_loop(setup.std.select),
                    "ours": select_loop(setup.ours.select),
                })
                rows.append({"primitive": kind, "scenario": "idle" if k == 0 else f"select(0), k={k}",
                             "n": n, **res})
                print(f"{kind} n={n} k={k}: {res}", file=sys.stderr)
            fd = setup.spare[0].fileno()
            res = measure({
                "floor": churn_loop(setup.bare.register, setup.bare.unregister, fd, setup.flag),
                "stdlib": churn_loop(setup.std.register, setup.std.unregister, fd, selectors.EVENT_READ),
                "ours": churn_loop(setup.ours.register, setup.ours.unregister, fd, io_selectors.EVENT_READ),
            })
            rows.append({"primitive": kind, "scenario": "register+unregister", "n": n, **res})
            print(f"{kind} n={n} churn: {res}", file=sys.stderr)
            setup.close()

    print(f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
          f"best of {BATCHES} batches, thread CPU ns per call\n")
    print("| primitive | scenario | N | floor (bare select module) | stdlib selectors | io_selectors "
          "| ours / floor | stdlib / ours |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['primitive']} | {r['scenario']} | {r['n']} | {r['floor']:.0f} | {r['stdlib']:.0f} "
              f"| {r['ours']:.0f} | {r['ours'] / r['floor']:.2f} | {r['stdlib'] / r['ours']:.2f} |")
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
