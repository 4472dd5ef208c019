#!/usr/bin/env python3
"""CPython's own test suites, with io_selectors as `selectors`, beside the stdlib.

Runs, unmodified and as installed with the interpreter:
- test.test_selectors (every test);
- the asyncio suites that drive a real selector: test_asyncio.test_events
  (its SelectEventLoopTests, PollEventLoopTests and EPollEventLoopTests),
  test_sock_lowlevel, test_sendfile, test_streams, test_server.

Each suite runs twice, each time in a fresh interpreter: once with the
standard library's selectors, once with `sys.modules["selectors"]` set to
io_selectors before the test module (and so asyncio) is imported. The
table shows both runs' counts side by side. Exit status 0 only if our
run has no failure or error in test_selectors, and the same counts as the
stdlib run in every suite.

usage: python cpython_suites.py [--only SUITE]...
       python cpython_suites.py --child stdlib|ours SUITE   (one run, JSON)
"""

import json
import os
import subprocess
import sys
import time
import unittest

# suite name -> (module, the test classes to run, or None for all of it)
SUITES = {
    "test_selectors": ("test.test_selectors", None),
    "test_events": ("test.test_asyncio.test_events",
                    ["SelectEventLoopTests", "PollEventLoopTests", "EPollEventLoopTests"]),
    "test_sock_lowlevel": ("test.test_asyncio.test_sock_lowlevel", None),
    "test_sendfile": ("test.test_asyncio.test_sendfile", None),
    "test_streams": ("test.test_asyncio.test_streams", None),
    "test_server": ("test.test_asyncio.test_server", None),
}

FIELDS = ["run", "failures", "errors", "skipped", "expected_failures",
          "unexpected_successes"]


def child(mode, suite):
    """One suite in this interpreter; prints its counts as JSON on the last line."""
    if mode == "ours":
        import io_selectors
        sys.modules["selectors"] = io_selectors
    module, classes = SUITES[suite]
    loader = unittest.TestLoader()
    mod = __import__(module, fromlist=["*"])
    if classes is None:
        tests = loader.loadTestsFromModule(mod)
    else:
        # A class for a selector the platform lacks (EPoll off Linux) is
        # not defined: the stdlib run lacks it just the same.
        tests = unittest.TestSuite(
            loader.loadTestsFromTestCase(getattr(mod, cls))
            for cls in classes if hasattr(mod, cls))
    import selectors
    if mode == "ours":
        assert selectors.__name__ == "io_selectors", selectors
        if "asyncio" in sys.modules:
            import asyncio.selector_events as se
            assert se.selectors.__name__ == "io_selectors", "asyncio uses the stdlib"
    else:
        assert selectors.__name__ == "selectors", selectors
    stream = sys.stderr
    result = unittest.TextTestRunner(stream=stream, verbosity=1).run(tests)
    counts = {
        "run": result.testsRun,
        "failures": len(result.failures),
        "errors": len(result.errors),
        "skipped": len(result.skipped),
        "expected_failures": len(result.expectedFailures),
        "unexpected_successes": len(result.unexpectedSuccesses),
        "failed": [t.id() for t, _ in result.failures + result.errors],
    }
    print(json.dumps(counts))


def run(mode, suite):
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, suite],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=900,
    )
    seconds = time.monotonic() - start
    lines = proc.stdout.strip().splitlines()
    try:
        counts = json.loads(lines[-1])
    except (IndexError, ValueError):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{suite} ({mode}): the run printed no counts (status {proc.returncode})")
    if counts["failures"] or counts["errors"]:
        sys.stderr.write(f"--- {suite} ({mode}) output ---\n{proc.stderr}\n")
    counts["seconds"] = seconds
    return counts


def main(argv):
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2])
        return 0
    only = [argv[i + 1] for i, a in enumerate(argv) if a == "--only"]
    suites = only or list(SUITES)
    ok = True
    rows = []
    for suite in suites:
        std = run("stdlib", suite)
        ours = run("ours", suite)
        same = all(std[f] == ours[f] for f in FIELDS)
        clean = not (ours["failures"] or ours["errors"]) if suite == "test_selectors" else True
        ok &= same and clean
        rows.append((suite, std, ours, same and clean))
        print(f"{suite}: stdlib {std['seconds']:.0f}s, ours {ours['seconds']:.0f}s", file=sys.stderr)
        for t in ours["failed"]:
            print(f"  ours failed: {t}", file=sys.stderr)
        for t in std["failed"]:
            print(f"  stdlib failed: {t}", file=sys.stderr)
    head = "run/fail/err/skip/xfail/xpass"
    tests_dir = os.path.join(os.path.dirname(os.path.dirname(unittest.__file__)), "test")
    print(f"\nPython {sys.version.split()[0]}, CPython's suites from {tests_dir}")
    print(f"| suite | stdlib selectors ({head}) | io_selectors ({head}) | same |")
    print("|---|---|---|---|")
    for suite, std, ours, good in rows:
        fmt = lambda c: "/".join(str(c[f]) for f in FIELDS)
        print(f"| {suite} | {fmt(std)} | {fmt(ours)} | {'yes' if good else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
