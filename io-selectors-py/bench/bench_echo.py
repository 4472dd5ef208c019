#!/usr/bin/env python3
"""asyncio echo server on three event loops: requests per second.

The server (a child process) is asyncio's SelectorEventLoop with the
standard library's EpollSelector, the same loop with io_selectors'
EpollSelector, or uvloop (the outside reference, if installed:
`pip install uvloop`). It echoes with a Protocol (`data_received` ->
`transport.write`), so that the loop, not stream machinery, is what is
measured. The client (this process) is a plain select.epoll loop, the
same for every server: N connections on 127.0.0.1, each with one
SIZE-byte request in flight; a request counts when its echo is back.
Each figure is the median of ROUNDS runs of SECONDS, after a warm-up:
requests per second, and the server's CPU time (user + system, from
/proc) per request, which a busy machine disturbs less than the rate.
Not a test: it prints a Markdown table for BENCHMARKS.md.

usage: python bench_echo.py [--quick]
       python bench_echo.py --server stdlib|ours|uvloop   (the child)
"""

import asyncio
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import time

QUICK = "--quick" in sys.argv
SECONDS = 1.0 if QUICK else 3.0
WARMUP = 0.3 if QUICK else 1.0
ROUNDS = 1 if QUICK else 3
SIZE = 100
CLIENTS = [100, 1000]


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)


def server(kind):
    if kind == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    elif kind == "ours":
        import io_selectors
        loop = asyncio.SelectorEventLoop(io_selectors.EpollSelector())
    else:
        import selectors
        loop = asyncio.SelectorEventLoop(selectors.EpollSelector())
    srv = loop.run_until_complete(loop.create_server(Echo, "127.0.0.1", 0, backlog=4096))
    print(srv.sockets[0].getsockname()[1], flush=True)
    loop.run_forever()


def cpu_seconds(pid):
    """User + system CPU time of process pid so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(port, n, pid):
    """(requests per second, server CPU seconds per request) over SECONDS,
    with n connections."""
    ep = select.epoll()
    msg = b"x" * SIZE
    socks = {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    got = dict.fromkeys(socks, 0)
    for s in socks.values():
        s.send(msg)
    count = 0
    start = time.monotonic()
    counting_from = start + WARMUP
    end = counting_from + SECONDS
    counted = None
    while True:
        now = time.monotonic()
        if counted is None and now >= counting_from:
            counted, count, cpu = now, 0, cpu_seconds(pid)
        if now >= end:
            break
        for fd, _ in ep.poll(1):
            s = socks[fd]
            data = s.recv(65536)
            if not data:
                raise SystemExit("the server closed a connection")
            got[fd] += len(data)
            while got[fd] >= SIZE:
                got[fd] -= SIZE
                count += 1
                s.send(msg)
    rate = count / (time.monotonic() - counted)
    cpu = (cpu_seconds(pid) - cpu) / count
    for s in socks.values():
        s.close()
    ep.close()
    return rate, cpu


def run(kind, n):
    proc = subprocess.Popen([sys.executable, __file__, "--server", kind],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        return client(port, n, proc.pid)
    finally:
        proc.kill()
        proc.wait()


def main():
    if sys.argv[1:2] == ["--server"]:
        return server(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * max(CLIENTS) + 100), hard))
    kinds = ["stdlib", "ours"]
    try:
        import uvloop  # noqa: F401
        kinds.append("uvloop")
    except ImportError:
        print("uvloop is not installed: pip install uvloop", file=sys.stderr)
    results = {}
    for n in CLIENTS:
        for _ in range(ROUNDS):
            for kind in kinds:  # interleaved, so load changes hit all alike
                rate, cpu = run(kind, n)
                results.setdefault((kind, n), []).append(rate)
                results.setdefault((kind, n, "cpu"), []).append(cpu)
                print(f"{kind} n={n}: {rate:.0f} req/s, {cpu * 1e6:.1f} us CPU/request",
                      file=sys.stderr)
    print(f"Python {sys.version.split()[0]}, {SIZE}-byte requests, median of {ROUNDS} x {SECONDS:.0f} s\n")
    names = {"stdlib": "asyncio + selectors.EpollSelector", "ours": "asyncio + io_selectors.EpollSelector",
             "uvloop": "uvloop"}
    print("| clients | measure | " + " | ".join(names[k] for k in kinds) + " | ours vs stdlib |")
    print("|---:|---|" + "---:|" * len(kinds) + "---:|")
    for n in CLIENTS:
        med = {k: statistics.median(results[(k, n)]) for k in kinds}
        cpu = {k: statistics.median(results[(k, n, "cpu")]) for k in kinds}
        print(f"| {n} | requests/s | " + " | ".join(f"{med[k]:,.0f}" for k in kinds)
              + f" | {med['ours'] / med['stdlib']:.2f}x |")
        print(f"| {n} | server CPU us/request | " + " | ".join(f"{cpu[k] * 1e6:.1f}" for k in kinds)
              + f" | {cpu['ours'] / cpu['stdlib']:.2f}x |")


if __name__ == "__main__":
    main()
