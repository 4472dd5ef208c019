#!/usr/bin/env python3
"""CPython's selectors on the scenarios of benches/select.rs; prints JSON.

Same groups and parameters as the Rust benchmark (idle, ready, chain,
churn-register, churn-modify, modify-select), same socketpair layout (fd i is
one end of pair i // 2), same fixed-seed xorshift64 for the ready fds.
Peers: cpython-epoll (selectors.DefaultSelector), cpython-poll, and
cpython-select only where every fd is below FD_SETSIZE (select.select()
raises ValueError for fds >= 1024). Each figure is the median over batches of
nanoseconds per operation. Stdlib only.

usage: python3 cpython_bench.py [--quick]
"""

import json
import platform
import resource
import selectors
import socket
import statistics
import sys
import time

QUICK = "--quick" in sys.argv[1:]
BATCH_SECONDS = 0.05 if QUICK else 0.2
BATCHES = 5 if QUICK else 11
FD_SETSIZE = 1024
MASK = (1 << 64) - 1

PEERS = [
    ("cpython-epoll", selectors.DefaultSelector),
    ("cpython-poll", selectors.PollSelector),
    ("cpython-select", selectors.SelectSelector),
]


class XorShift:
    """xorshift64, the seed and draws of selectors_bench::XorShift."""

    def __init__(self):
        self.x = 0x9E3779B97F4A7C15

    def next(self):
        x = self.x
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
        self.x = x
        return x

    def sample(self, n, k):
        taken, out = set(), []
        while len(out) < k:
            i = self.next() % n
            if i not in taken:
                taken.add(i)
                out.append(i)
        return out


def median_ns(op, per_call=1):
    """Median ns per operation of op(iters), over BATCHES timed batches."""
    iters = 1
    while True:  # calibrate: one batch takes about BATCH_SECONDS
        t = time.perf_counter_ns()
        op(iters)
        dt = time.perf_counter_ns() - t
        if dt >= BATCH_SECONDS * 1e9 / 4 or iters >= 1 << 24:
            break
        iters *= 2
    iters = max(1, int(iters * BATCH_SECONDS * 1e9 / max(dt, 1)))
    samples = []
    for _ in range(BATCHES):
        t = time.perf_counter_ns()
        op(iters)
        samples.append((time.perf_counter_ns() - t) / iters / per_call)
    return statistics.median(samples)


class Pool:
    def __init__(self, pairs):
        self.pairs = []
        for _ in range(pairs):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self.pairs.append((a, b))

    def fd(self, i):
        return self.pairs[i // 2][i % 2].fileno()

    def peer(self, i):
        return self.pairs[i // 2][1 - i % 2]

    def sock(self, i):
        return self.pairs[i // 2][i % 2]

    def fits_select(self, fds):
        return max(fds, default=0) < FD_SETSIZE


def registered(cls, pool, n):
    sel = cls()
    for i in range(n):
        sel.register(pool.fd(i), selectors.EVENT_READ, i)
    return sel


def peers_for(fds):
    for name, cls in PEERS:
        if name == "cpython-select" and max(fds, default=0) >= FD_SETSIZE:
            continue
        yield name, cls


def bench_idle(pool, out):
    for n in (1, 100, 1000, 10000):
        for name, cls in peers_for([pool.fd(i) for i in range(n)]):
            sel = registered(cls, pool, n)
            assert sel.select(0) == []

            def op(iters, select=sel.select):
                for _ in range(iters):
                    select(0)

            out[f"idle/{name}/{n}"] = median_ns(op)
            sel.close()


def bench_ready(pool, out):
    for n in (100, 1000, 10000):
        for k in (1, 100):
            hot = XorShift().sample(n, k)
            for i in hot:
                pool.peer(i).send(b"e")
            for name, cls in peers_for([pool.fd(i) for i in range(n)]):
                sel = registered(cls, pool, n)
                assert len(sel.select(0)) == k

                def op(iters, select=sel.select):
                    for _ in range(iters):
                        select(0)

                out[f"ready/{name}/{n}-k{k}"] = median_ns(op)
                sel.close()
            for i in hot:
                assert pool.sock(i).recv(16) == b"e"


def chain_run(pool, sel, n, active, writes):
    """bench.c's run_once: returns the loop time in ns."""
    assert sel.select(0) == []
    space = n // active
    fired = 0
    for i in range(active):
        pool.pairs[i * space][1].send(b"e")
        fired += 1
    count = 0
    select = sel.select
    t = time.perf_counter_ns()
    while count != fired:
        for key, _ in select(0):
            idx = key.data
            count += len(pool.pairs[idx][0].recv(1))
            if writes:
                widx = idx + 1
                if widx >= n:
                    widx -= n
                pool.pairs[widx][1].send(b"e")
                writes -= 1
                fired += 1
    return time.perf_counter_ns() - t


def bench_chain(pool, out):
    for n in (100, 1000, 5000):
        for active in (1, 100):
            fds = [pool.pairs[p][0].fileno() for p in range(n)]
            for name, cls in peers_for(fds):
                sel = cls()
                for p in range(n):
                    sel.register(pool.pairs[p][0], selectors.EVENT_READ, p)
                runs = 3 if n >= 5000 and cls is not selectors.DefaultSelector else BATCHES
                if QUICK and n >= 5000:
                    runs = 1
                times = [chain_run(pool, sel, n, active, n) for _ in range(runs)]
                out[f"chain/{name}/{n}-a{active}"] = statistics.median(times)
                sel.close()


def bench_churn(pool, extra, out):
    for others in (0, 10000):
        fds = [pool.fd(i) for i in range(others)] + [extra.fileno()]
        for name, cls in peers_for(fds):
            sel = registered(cls, pool, others)

            def op(iters, reg=sel.register, unreg=sel.unregister):
                for _ in range(iters):
                    reg(extra, selectors.EVENT_READ, -1)
                    unreg(extra)

            out[f"churn-register/{name}/{others}"] = median_ns(op)
            sel.register(extra, selectors.EVENT_READ, -1)
            rw = selectors.EVENT_READ | selectors.EVENT_WRITE

            def op(iters, modify=sel.modify):
                for _ in range(iters):
                    modify(extra, rw, -1)
                    modify(extra, selectors.EVENT_READ, -1)

            out[f"churn-modify/{name}/{others}"] = median_ns(op)
            sel.close()


def bench_modify_select(pool, out):
    rw = selectors.EVENT_READ | selectors.EVENT_WRITE
    for n in (100, 10000):
        fd = pool.fd(0)
        for name, cls in peers_for([pool.fd(i) for i in range(n)]):
            sel = registered(cls, pool, n)

            def op(iters, modify=sel.modify, select=sel.select):
                for _ in range(iters):
                    modify(fd, rw, 0)
                    select(0)
                    modify(fd, selectors.EVENT_READ, 0)
                    select(0)

            sel.modify(fd, rw, 0)
            assert len(sel.select(0)) == 1
            sel.modify(fd, selectors.EVENT_READ, 0)
            assert sel.select(0) == []
            out[f"modify-select/{name}/{n}"] = median_ns(op)
            sel.close()


def main():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pool = Pool(5000)
    extra, _extra_peer = socket.socketpair()
    out = {}
    bench_idle(pool, out)
    bench_ready(pool, out)
    bench_chain(pool, out)
    bench_churn(pool, extra, out)
    bench_modify_select(pool, out)
    json.dump(
        {
            "python": platform.python_version(),
            "default_selector": selectors.DefaultSelector.__name__,
            "quick": QUICK,
            "unit": "ns",
            "results": out,
        },
        sys.stdout,
        indent=1,
        sort_keys=True,
    )
    print()


if __name__ == "__main__":
    main()
