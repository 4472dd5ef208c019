"""Runs operation scripts through CPython's `selectors` for differential.rs.

Usage: python3 cpython_driver.py BACKEND BASE < scripts

BACKEND is select, poll or epoll. For each script, the driver builds the
same pool as the Rust side (io-selectors/tests/model: two socketpairs and a
pipe, non-blocking, at fds BASE..BASE+5), runs the script's lines with a
fresh selector, prints one result line per line, then "end". Standard
library only.

Script lines: "register FD EVENTS DATA", "modify FD EVENTS DATA",
"unregister FD", "select", "close SLOT", "dup SRC DST", "reopen SLOT", "write SLOT N",
"read SLOT N", "end". Result lines: "key FD EVENTS DATA", "ready
FD:EVENTS:DATA ..." (sorted by fd), "ValueError", "KeyError", "OSError
ERRNO", or "ok" for the pool operations.
"""

import os
import selectors
import socket
import sys

CLASSES = {
    "select": selectors.SelectSelector,
    "poll": selectors.PollSelector,
    "epoll": getattr(selectors, "EpollSelector", None),
}


def make_pool(base):
    objs = [*socket.socketpair(), *socket.socketpair()]
    fds = [s.fileno() for s in objs] + list(os.pipe())
    for slot, fd in enumerate(fds):
        os.dup2(fd, base + slot, inheritable=False)
        os.set_blocking(base + slot, False)
    for s in objs:
        s.close()
    for fd in fds[4:]:
        os.close(fd)
    return [True] * 6


def key_line(key):
    return "key %d %d %d" % (key.fd, key.events, key.data)


def run(cls, base, lines, out):
    open_slots = make_pool(base)
    sel = cls()
    try:
        for line in lines:
            op, *args = line.split()
            args = [int(a) for a in args]
            try:
                if op == "register":
                    out.append(key_line(sel.register(args[0], args[1], args[2])))
                elif op == "modify":
                    out.append(key_line(sel.modify(args[0], args[1], args[2])))
                elif op == "unregister":
                    out.append(key_line(sel.unregister(args[0])))
                elif op == "select":
                    ready = sorted((k.fd, ev, k.data) for k, ev in sel.select(0))
                    out.append(" ".join(["ready"] + ["%d:%d:%d" % r for r in ready]))
                elif op == "close":
                    os.close(base + args[0])
                    open_slots[args[0]] = False
                    out.append("ok")
                elif op == "dup":
                    os.dup2(base + args[0], base + args[1], inheritable=False)
                    open_slots[args[1]] = True
                    out.append("ok")
                elif op == "reopen":
                    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
                    os.dup2(null, base + args[0], inheritable=False)
                    os.close(null)
                    open_slots[args[0]] = True
                    out.append("ok")
                elif op == "write":
                    n = os.write(base + args[0], bytes([args[0]]) * args[1])
                    out.append("ok" if n == args[1] else "short write %d" % n)
                elif op == "read":
                    n = len(os.read(base + args[0], args[1]))
                    out.append("ok" if n == args[1] else "short read %d" % n)
                else:
                    raise SystemExit("unknown op " + op)
            except ValueError:
                out.append("ValueError")
            except KeyError:
                out.append("KeyError")
            except OSError as e:
                out.append("OSError %d" % e.errno)
    finally:
        sel.close()
        for slot, is_open in enumerate(open_slots):
            if is_open:
                os.close(base + slot)


def main():
    cls = CLASSES[sys.argv[1]]
    base = int(sys.argv[2])
    out = []
    script = []
    for line in sys.stdin:
        line = line.strip()
        if line == "end":
            run(cls, base, script, out)
            out.append("end")
            script = []
        elif line:
            script.append(line)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
