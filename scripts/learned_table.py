#!/usr/bin/env python3
"""The learned policy's table: every trace and size that issue 4 names, replayed with
--ignore-size by prescient-sim, the heuristics once and `learned` once per seed.

    python3 scripts/learned_table.py                       # seeds 1-3, markdown table
    python3 scripts/learned_table.py --seeds 1-9 --params keep=8,guard=0

Prints a markdown table (every policy; for learned the mean over the seeds, their range,
and the share of the LRU-to-Belady gap closed) and a summary: on how many pairs the mean
is at or below the best of lru, arc, s3fifo, sieve and wtinylfu, the worst single run
relative to LRU, and the mean relative gap to the best of those heuristics.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PAIRS = [  # (trace file, format, sizes in objects)
    ("cache2k-orm-busy.trace.xz", "i32be", [1500, 7500]),
    ("cache2k-web07.trace.xz", "i32be", [400, 2000]),
    ("cache2k-web12.trace.xz", "i32be", [300, 1400]),
    ("lirs-multi2.trace.gz", "lines", [110, 560]),
    ("lirs-sprite.trace.gz", "lines", [140, 700]),
    ("lirs-2_pools.trace.gz", "lines", [200, 1000]),
    ("cloudphysics-io.oracleGeneral.bin.xz", "oracle-general", [500, 2500, 5000]),
]
HEURISTICS = ["lru", "arc", "s3fifo", "sieve", "wtinylfu"]  # the ones to beat
OTHERS = ["fifo", "lfu"]  # replayed and shown, not compared


def seeds_of(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def replay(sim, traces, trace, fmt, sizes, policies, params):
    cmd = [sim, "--trace", os.path.join(traces, trace), "--format", fmt, "--ignore-size",
           "--sizes", ",".join(map(str, sizes)), "--policies", policies, "--json", "--threads", "1"]
    if params:
        cmd += ["--param", params]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default=os.path.join(HERE, "..", "build", "release", "tools", "sim", "prescient-sim"))
    ap.add_argument("--traces", default=os.path.join(HERE, "..", "..", "shared", "traces"))
    ap.add_argument("--seeds", default="1-3", help="e.g. 1-3 or 1,4,7")
    ap.add_argument("--params", default="", help="learned's parameters, e.g. keep=8,guard=0")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--group", type=int, default=0, help="also count wins per group of this many seeds")
    args = ap.parse_args()
    if not os.path.exists(args.sim):
        sys.exit(f"learned_table: {args.sim} not found (build the release preset first)")
    seeds = seeds_of(args.seeds)

    heuristic = {}  # (trace, size) -> {policy: miss ratio}
    learned = {}    # (trace, size) -> [miss ratio per seed]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        jobs = [(None, t, pool.submit(replay, args.sim, args.traces, t, f, s, ",".join(HEURISTICS + OTHERS + ["belady"]), ""))
                for t, f, s in PAIRS]
        for seed in seeds:
            params = ",".join(p for p in [args.params, f"seed={seed}"] if p)
            jobs += [(seed, t, pool.submit(replay, args.sim, args.traces, t, f, s, "learned", "learned:" + params))
                     for t, f, s in PAIRS]
        for seed, trace, job in jobs:  # in seed order
            for r in job.result():
                key = (trace, r["size"])
                if seed is None:
                    heuristic.setdefault(key, {})[r["policy"]] = r["miss_ratio"]
                else:
                    learned.setdefault(key, []).append(r["miss_ratio"])

    print("| trace | size | LRU | ARC | S3-FIFO | SIEVE | W-TinyLFU | FIFO | LFU | learned (mean) | seeds | gap closed "
          "| Belady |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    wins, worst, gaps = 0, -1.0, []
    for trace, _, sizes in PAIRS:
        for size in sizes:
            h, runs = heuristic[(trace, size)], learned[(trace, size)]
            mean = sum(runs) / len(runs)
            best = min(h[p] for p in HEURISTICS)
            win = mean <= best
            wins += win
            gaps.append(mean / best - 1)
            worst = max(worst, max(runs) / h["lru"] - 1)
            gap = h["lru"] - h["belady"]
            closed = f"{(h['lru'] - mean) / gap * 100:.1f}%" if gap > 0 else "-"
            cell = f"**{mean:.4f}**" if win else f"{mean:.4f}"
            name = trace.split(".")[0]
            print(f"| {name} | {size:,} | " + " | ".join(f"{h[p]:.4f}" for p in HEURISTICS + OTHERS) +
                  f" | {cell} | {min(runs):.4f}-{max(runs):.4f} | {closed} | {h['belady']:.4f} |")
    pairs = sum(len(s) for _, _, s in PAIRS)
    for g in range(0, len(seeds), args.group) if args.group > 0 else []:
        group_wins, group_worst = 0, -1.0
        for key, runs in learned.items():
            part = runs[g:g + args.group]
            h = heuristic[key]
            group_wins += sum(part) / len(part) <= min(h[p] for p in HEURISTICS)
            group_worst = max(group_worst, max(part) / h["lru"] - 1)
        print(f"seeds {seeds[g]}-{seeds[min(g + args.group, len(seeds)) - 1]}: {group_wins} of {pairs} pairs, "
              f"worst single run {group_worst * 100:+.2f}% relative to LRU")
    print(f"\nseeds {args.seeds}, params '{args.params}': at or below the best heuristic on {wins} of {pairs} pairs; "
          f"worst single run {worst * 100:+.2f}% relative to LRU; mean gap to the best heuristic "
          f"{sum(gaps) / len(gaps) * 100:+.2f}%")


if __name__ == "__main__":
    main()
