#!/usr/bin/env python3
"""What the sensor's BPF programs cost in the kernel, per workload and backend.

Counts, with the kernel's own BPF statistics (kernel.bpf_stats_enabled), how
many times the sensor's programs ran and how long they took in total during
each workload, and divides by the number of calls the workload made. Unlike a
wall-clock ratio, this does not depend on where the sensor's consumer runs or
on emulation noise: a program that does not run costs nothing, and one that
does is timed by the kernel itself.

usage: prog_cost.py --sensor PATH [--backends tracepoint,rich] [--calls N]
Needs root and bpftool. Restores kernel.bpf_stats_enabled.
"""

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def programs():
    """run_cnt and run_time_ns of every loaded program named ps_*, by id."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], check=True,
                         capture_output=True, text=True).stdout
    progs = {}
    for p in json.loads(out):
        if p.get("name", "").startswith("ps_"):
            progs[p["id"]] = (p["name"], p.get("run_cnt", 0), p.get("run_time_ns", 0))
    return progs


def delta(before, after):
    """Per program name: runs and ns between two snapshots."""
    d = {}
    for pid, (name, cnt, ns) in after.items():
        _, cnt0, ns0 = before.get(pid, (name, 0, 0))
        runs, total = d.get(name, (0, 0))
        d[name] = (runs + cnt - cnt0, total + ns - ns0)
    return d


def unrelated(n, path):
    """getpid, stat, open + close /dev/null, a 4 KiB pwrite: the benchmark's
    unrelated workload, calls that change no permission."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    buf = b"x" * 4096
    for _ in range(n):
        os.getpid()
        os.stat(path)
        os.close(os.open("/dev/null", os.O_RDONLY))
        os.pwrite(fd, buf, 0)
    os.close(fd)
    return 5 * n


def chmods(n, path):
    """chmod, alternating between two modes: every call a real change."""
    for i in range(n):
        os.chmod(path, 0o600 if i % 2 else 0o640)
    return n


def measure(sensor, backend, calls, work):
    ready = os.path.join(work, "ready")
    err = open(os.path.join(work, f"{backend}.err"), "w")
    p = subprocess.Popen([sensor, "run", "--backend", backend, "--ready-file", ready],
                         stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 900
    while not os.path.exists(ready):
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            p.wait()
            lines = open(err.name).read().strip().splitlines()
            print(f"{backend:<11} cannot run here: {lines[-1] if lines else 'no ready file'}")
            return []
        time.sleep(0.05)
    rows = []
    target = os.path.join(work, "target")
    open(target, "w").close()
    for name, fn in (("unrelated", unrelated), ("chmod", chmods)):
        before = programs()
        made = fn(calls, target)
        d = delta(before, programs())
        runs = sum(r for r, _ in d.values())
        ns = sum(t for _, t in d.values())
        top = sorted(((t, n) for n, (_, t) in d.items() if t >= made / 2), reverse=True)[:3]
        rows.append((name, made, runs, ns, top))
    p.send_signal(signal.SIGINT)
    p.wait(timeout=300)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--backends", default="tracepoint,rich")
    ap.add_argument("--calls", type=int, default=20000)
    a = ap.parse_args()
    old = open(STATS).read().strip()
    with open(STATS, "w") as f:
        f.write("1")
    try:
        with tempfile.TemporaryDirectory(prefix="permsentry-progcost-") as work:
            print(f"BPF cost per call (kernel.bpf_stats_enabled; {a.calls} rounds per workload; "
                  f"kernel {os.uname().release})")
            print(f"{'backend':<11} {'workload':<10} {'calls':>7} {'program runs/call':>18} "
                  f"{'BPF ns/call':>12}  most time in")
            for backend in a.backends.split(","):
                for name, made, runs, ns, top in measure(a.sensor, backend, a.calls, work):
                    where = ", ".join(f"{n} {t / made:.0f}" for t, n in top) or "-"
                    print(f"{backend:<11} {name:<10} {made:>7} {runs / made:>18.2f} "
                          f"{ns / made:>12.0f}  {where}")
    finally:
        with open(STATS, "w") as f:
            f.write(old)


if __name__ == "__main__":
    main()
