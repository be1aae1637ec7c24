#!/usr/bin/env python3
"""prescient-sim against libCacheSim's cachesim, whole processes, on the same files.

Each round runs every command once, in turn (prescient, libCacheSim, next policy...),
so that both tools see the same machine load; the figures are medians over the rounds,
with the range (min-max). A process is timed from spawn to exit (wall), with its CPU
time and peak RSS from wait4(2). Requests/s = requests / wall.

  python3 scripts/side_by_side.py --sim build/h19/tools/sim/prescient-sim \\
      --cachesim /tmp/lcs/bin/cachesim --rounds 9 \\
      --trace 5M=/tmp/orm-busy.oracleGeneral.bin

With several --trace LEN=FILE (e.g. 1M, 2M, 5M, 15M: orm-busy cut and concatenated by
scripts/to_oracle_general.py IN OUT [limit] [repeat]) it also prints the cost
per request and the peak RSS at each length. --i32be LEN=FILE adds prescient-only runs
of Belady on a big-endian key file (next-access positions computed by a first pass at
4 bytes per request), to measure that memory.

Policies (prescient / libCacheSim): lru/LRU, sieve/Sieve, s3fifo/S3FIFO,
learned/GLCache, belady/Belady; --policies picks among them. One thread each
(prescient-sim --threads 1 also has its reading thread; its CPU time shows it).
"""
import argparse
import atexit
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PAIRS = {"lru": "LRU", "sieve": "Sieve", "s3fifo": "S3FIFO", "learned": "GLCache", "belady": "Belady"}


# cachesim writes its results beside the working directory (TRACE.cachesim): every
# command runs in a scratch directory, with absolute paths.
SCRATCH = tempfile.mkdtemp(prefix="side_by_side.")
atexit.register(shutil.rmtree, SCRATCH, True)


def run(cmd):
    """Runs cmd; returns (wall s, cpu s, peak RSS MiB, stdout)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=SCRATCH)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out.decode(errors="replace")


def sim_cmd(a, policy, trace, fmt="oracle-general"):
    return [a.sim, "--trace", trace, "--format", fmt, "--ignore-size", "--sizes", str(a.size), "--policies",
            policy, "--threads", "1"]


def lcs_cmd(a, policy, trace):
    return [a.cachesim, trace, "oracleGeneral", PAIRS[policy], str(a.size), "--ignore-obj-size", "1",
            "--num-thread", "1"]


def miss_ratio(tool, out):
    if tool == "prescient":
        m = re.search(r"^\d+\s+\S+\s+([0-9.]+)", out, re.M)
    else:
        m = re.search(r"miss ratio ([0-9.]+)", out)
    return float(m.group(1)) if m else float("nan")


def summary(xs, fmt="{:.2f}"):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--cachesim", required=True)
    ap.add_argument("--trace", action="append", required=True, help="LEN=FILE, LEN like 5M (oracleGeneral)")
    ap.add_argument("--i32be", action="append", default=[], help="LEN=FILE: prescient Belady on i32be keys")
    ap.add_argument("--policies", default="lru,sieve,s3fifo,learned")
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    a.sim, a.cachesim = os.path.abspath(a.sim), os.path.abspath(a.cachesim)

    def length(spec):
        n, f = spec.split("=", 1)
        f = os.path.abspath(f)
        mult = {"K": 1e3, "M": 1e6, "G": 1e9}.get(n[-1].upper(), 1)
        return (float(n[:-1]) if n[-1].upper() in "KMG" else float(n)) * mult, n, f

    traces = [length(t) for t in a.trace]
    i32 = [length(t) for t in a.i32be]
    policies = a.policies.split(",")
    cmds = []  # (label, tool, policy, len name, requests, cmd)
    for req, name, f in traces:
        for p in policies:
            cmds.append(("prescient", p, name, req, sim_cmd(a, p, f)))
            cmds.append(("libCacheSim", p, name, req, lcs_cmd(a, p, f)))
    for req, name, f in i32:
        cmds.append(("prescient-i32be", "belady", name, req, sim_cmd(a, "belady", f, "i32be")))
    results = {}
    for r in range(a.warmup + a.rounds):
        for tool, p, name, req, cmd in cmds:
            wall, cpu, rss, out = run(cmd)
            if r >= a.warmup:
                results.setdefault((tool, p, name), []).append((wall, cpu, rss, miss_ratio(tool.split("-")[0], out)))
        print(f"round {r + 1 - a.warmup} of {a.rounds}" if r >= a.warmup else "warm-up done", file=sys.stderr)

    print(f"# {a.rounds} interleaved rounds, size {a.size}, one thread; medians (min-max)\n")
    for req, name, _ in traces:
        print(f"## {name} requests\n")
        print("| policy (prescient / libCacheSim) | prescient M req/s | libCacheSim M req/s | ratio of medians "
              "| ratio per round | CPU s prescient / libCacheSim | peak RSS MiB prescient / libCacheSim "
              "| miss ratio prescient / libCacheSim |")
        print("|---|---|---|---|---|---|---|---|")
        for p in policies:
            ps, ls = results[("prescient", p, name)], results[("libCacheSim", p, name)]
            pr = [req / 1e6 / x[0] for x in ps]
            lr = [req / 1e6 / x[0] for x in ls]
            per_round = [x / y for x, y in zip(pr, lr)]
            print(f"| {p} / {PAIRS[p]} | {summary(pr)} | {summary(lr)} | {statistics.median(pr) / statistics.median(lr):.2f} "
                  f"| {summary(per_round)} | {statistics.median([x[1] for x in ps]):.2f} / "
                  f"{statistics.median([x[1] for x in ls]):.2f} | {statistics.median([x[2] for x in ps]):.0f} / "
                  f"{statistics.median([x[2] for x in ls]):.0f} | {ps[0][3]:.4f} / {ls[0][3]:.4f} |")
        print()
    if len(traces) > 1:
        print("## cost per request (whole process, ns; medians) and peak RSS (MiB) by length\n")
        print("| policy | tool | " + " | ".join(n for _, n, _ in traces) + " |")
        print("|---|---|" + "---|" * len(traces))
        for p in policies:
            for tool in ("prescient", "libCacheSim"):
                cells = []
                for req, name, _ in traces:
                    xs = results[(tool, p, name)]
                    cells.append(f"{statistics.median([x[0] for x in xs]) / req * 1e9:.0f} ns, "
                                 f"{statistics.median([x[2] for x in xs]):.0f} MiB")
                print(f"| {p} | {tool} | " + " | ".join(cells) + " |")
        print()
    if i32:
        print("## prescient Belady on i32be (next-access positions from a first pass)\n")
        print("| length | wall s | peak RSS MiB |")
        print("|---|---|---|")
        for req, name, _ in i32:
            xs = results[("prescient-i32be", "belady", name)]
            print(f"| {name} | {summary([x[0] for x in xs])} | {summary([x[2] for x in xs], '{:.0f}')} |")


if __name__ == "__main__":
    main()
