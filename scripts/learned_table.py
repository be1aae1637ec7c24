#!/usr/bin/env python3
"""The learned policy's table: every trace on the trace path at 2% and 10% of its unique
keys, plus fifteen named pairs, replayed with --ignore-size by prescient-sim — the
heuristics and Belady once, `learned` once per seed.

    python3 scripts/learned_table.py                          # seeds 1-5, markdown table
    python3 scripts/learned_table.py --seeds 1-9 --params keep=8
    python3 scripts/learned_table.py --only named             # the fifteen named pairs
    python3 scripts/learned_table.py --seeds 1-9 --group 3    # also wins per group of seeds
    python3 scripts/learned_table.py --only large             # 25% and 50% of every trace's keys
    python3 scripts/learned_table.py --only large --synthetic /tmp/scanmix  # and two scan mixes

Per pair: every heuristic, the learned mean and range over the seeds, the best
heuristic (of lru, arc, s3fifo, sieve, wtinylfu), and G = (LRU - x) / (LRU - Belady),
the share of the LRU-to-Belady gap closed, for learned and for the best heuristic.
Summary: pairs where the learned mean is at or below the best heuristic, the worst
pair's relative excess over the best heuristic, the worst single run against LRU, and
the mean G of learned and of the best heuristic (pairs where LRU = Belady count 0).

`--only large` replays the same traces at 25% and 50% of their unique keys, sizes no
parameter was chosen on: caches that hold most of the working set, where the referee's
epochs (8 x the entries) and the turnover its guard allows are long against the run.
`--synthetic DIR` adds two synthetic traces at 2,000, 8,000 and 40,000 entries (10%,
40% and 200% of their working set) and at 2% and 10% of their unique keys: Zipf
working sets interrupted by long sequential runs, as a storage array sees
(scripts/synth_scanmix.py, seeds 1 and 2, 2M requests, written to DIR once).

`--compare BEFORE.json AFTER.json` reads two `--json-out` files of the same pairs (an
ablation: the same table under two builds or two `--params`) and prints each summary,
the pairs whose learned mean changed sides of the best heuristic, and those that moved
by more than `--threshold` percent — what docs/experiments.md reports for every try.

Traces are looked up as the tests do: the folders of PRESCIENT_TRACES (':'-separated),
then the repository's data/traces (--traces DIR adds a folder before them).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Every trace the tools know: (file, format, unique keys).
TRACES = [
    ("cache2k-orm-busy.trace.xz", "i32be", 76_349),
    ("cache2k-web07.trace.xz", "i32be", 20_484),
    ("cache2k-web12.trace.xz", "i32be", 13_756),
    ("corda-vaultservice.trace.gz", "i64be", 90_468),
    ("adaptsize-request.trace.xz", "time-key-size", 36_815),
    ("cloudphysics-io.oracleGeneral.bin.xz", "oracle-general", 48_974),
    ("lirs-2_pools.trace.gz", "lines", 9_939),
    ("lirs-cpp.trace.gz", "lines", 1_223),
    ("lirs-cs.trace.gz", "lines", 1_409),
    ("lirs-gli.trace.gz", "lines", 2_529),
    ("lirs-loop.trace.gz", "lines", 1_011),
    ("lirs-multi1.trace.gz", "lines", 2_606),
    ("lirs-multi2.trace.gz", "lines", 5_684),
    ("lirs-multi3.trace.gz", "lines", 7_454),
    ("lirs-ps.trace.gz", "lines", 3_083),
    ("lirs-sprite.trace.gz", "lines", 7_075),
]
NAMED = {  # the fifteen named pairs (sizes in objects)
    "cache2k-orm-busy.trace.xz": [1500, 7500],
    "cache2k-web07.trace.xz": [400, 2000],
    "cache2k-web12.trace.xz": [300, 1400],
    "lirs-multi2.trace.gz": [110, 560],
    "lirs-sprite.trace.gz": [140, 700],
    "lirs-2_pools.trace.gz": [200, 1000],
    "cloudphysics-io.oracleGeneral.bin.xz": [500, 2500, 5000],
}
# Sizes for the synthetic scan mixes: 10%, 40% and 200% of their 20,000-key working set,
# and 2% and 10% of their unique keys (most of them the scans' one-time blocks), the
# sizes unseen traces are judged at: at 10% the cache holds the recent runs that
# re-reads come back to, and LRU is the best heuristic.
SCANMIX_SIZES = [2000, 8000, 40000]
SCANMIX_UNIQUE = {1: 957_240, 2: 1_288_722}  # synth_scanmix.py's seeds 1 and 2, 2M requests
HEURISTICS = ["lru", "arc", "s3fifo", "sieve", "wtinylfu"]  # the ones to beat
OTHERS = ["fifo", "lfu"]  # replayed and shown, not compared


def seeds_of(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def trace_dirs():
    dirs = [d for d in os.environ.get("PRESCIENT_TRACES", "").split(":") if d]
    return dirs + [os.path.join(ROOT, "data", "traces")]


def find(name, dirs):
    for d in dirs:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    return None


def replay(sim, path, fmt, sizes, policies, params):
    cmd = [sim, "--trace", path, "--format", fmt, "--ignore-size", "--sizes", ",".join(map(str, sizes)),
           "--policies", policies, "--json", "--threads", "1"]
    if params:
        cmd += ["--param", params]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def summarize(rows):
    """rows: [(trace, size, heuristics {policy: miss ratio}, [learned miss ratio per seed])].
    Returns the summary's figures and, per pair, (name, size, learned mean, best name, best,
    G learned, G best)."""
    wins, worst_excess, worst_vs_lru, per_pair = 0, (-1.0, ""), -1.0, []
    for trace, size, h, runs in rows:
        mean = sum(runs) / len(runs)
        best_name = min(HEURISTICS, key=lambda p: h[p])
        best = h[best_name]
        wins += mean <= best
        name = trace.split(".")[0]
        excess = mean / best - 1 if best > 0 else 0.0
        if excess > worst_excess[0]:
            worst_excess = (excess, f"{name}@{size}")
        worst_vs_lru = max(worst_vs_lru, max(runs) / h["lru"] - 1)
        gap = h["lru"] - h["belady"]
        g_learned = (h["lru"] - mean) / gap if gap > 0 else 0.0
        g_best = (h["lru"] - best) / gap if gap > 0 else 0.0
        per_pair.append((name, size, mean, best_name, best, g_learned, g_best))
    n = max(len(rows), 1)
    return {"pairs": len(rows), "wins": wins, "worst_excess": worst_excess, "worst_vs_lru": worst_vs_lru,
            "g_learned": sum(p[5] for p in per_pair) / n, "g_best": sum(p[6] for p in per_pair) / n,
            "per_pair": per_pair}


def summary_line(label, s):
    w = s["wins"]
    return (f"{label}, {s['pairs']} pairs: learned at or below the best heuristic on {w} "
            f"({w / max(s['pairs'], 1) * 100:.0f}%); worst pair {s['worst_excess'][0] * 100:+.2f}% over the best heuristic "
            f"({s['worst_excess'][1]}); worst single run {s['worst_vs_lru'] * 100:+.2f}% relative to LRU; mean G "
            f"learned {s['g_learned']:.3f}, best heuristic {s['g_best']:.3f} (margin {s['g_learned'] - s['g_best']:+.3f})")


def load_rows(path):
    with open(path) as f:
        d = json.load(f)
    return d, [(p["trace"], p["size"], p["heuristics"], p["learned"]) for p in d["pairs"]]


def compare(before_path, after_path, threshold):
    (bd, before), (ad, after) = load_rows(before_path), load_rows(after_path)
    if [(t, s) for t, s, _, _ in before] != [(t, s) for t, s, _, _ in after]:
        sys.exit(f"learned_table: {before_path} and {after_path} do not hold the same pairs in the same order")
    sb, sa = summarize(before), summarize(after)
    print(summary_line(f"before ({before_path}: seeds {bd['seeds']}, params '{bd['params']}')", sb))
    print(summary_line(f"after ({after_path}: seeds {ad['seeds']}, params '{ad['params']}')", sa))
    print("\n| trace | size | best heuristic | learned before | learned after | move | sides |")
    print("|---|---|---|---|---|---|---|")
    def vs_best(x, best):
        return f"{x:.4f} ({(x / best - 1) * 100:+.2f}%)" if best > 0 else f"{x:.4f}"

    for (name, size, mb, best_name, best, *_), (_, _, ma, *_) in zip(sb["per_pair"], sa["per_pair"]):
        move = (ma / mb - 1) * 100 if mb > 0 else 0.0
        sides = "" if (mb <= best) == (ma <= best) else ("now at or below" if ma <= best else "now above")
        if abs(move) > threshold or sides:
            print(f"| {name} | {size:,} | {best_name} {best:.4f} | {vs_best(mb, best)} | {vs_best(ma, best)} | "
                  f"{move:+.2f}% | {sides} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default=os.path.join(ROOT, "build", "release", "tools", "sim", "prescient-sim"))
    ap.add_argument("--seeds", default="1-5", help="e.g. 1-5 or 1,4,7")
    ap.add_argument("--params", default="", help="learned's parameters, e.g. keep=8,guard=0")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", choices=["all", "named", "scaled", "large"], default="all",
                    help="named: the fifteen named pairs; scaled: 2%% and 10%% of every trace's keys; "
                         "large: 25%% and 50%% of every trace's keys")
    ap.add_argument("--synthetic", metavar="DIR",
                    help="also replay two synthetic scan mixes (generated into DIR once)")
    ap.add_argument("--json-out", help="also write every replay's figures to this file")
    ap.add_argument("--traces", help="a folder searched before the trace path")
    ap.add_argument("--group", type=int, default=0, help="also count wins per group of this many seeds")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                    help="compare two --json-out files of the same pairs (replays nothing)")
    ap.add_argument("--threshold", type=float, default=0.3,
                    help="with --compare: list pairs whose learned mean moved by more than this (percent)")
    args = ap.parse_args()
    if args.compare:
        compare(args.compare[0], args.compare[1], args.threshold)
        return
    if not os.path.exists(args.sim):
        sys.exit(f"learned_table: {args.sim} not found (build the release preset first)")
    seeds = seeds_of(args.seeds)
    dirs = ([args.traces] if args.traces else []) + trace_dirs()

    pairs = []  # (trace, format, path, [sizes])
    missing = []
    fractions = (0.25, 0.50) if args.only == "large" else (0.02, 0.10)
    for name, fmt, unique in TRACES:
        sizes = set()
        if args.only in ("all", "scaled", "large"):
            sizes |= {max(1, round(unique * f)) for f in fractions}
        if args.only in ("all", "named"):
            sizes |= set(NAMED.get(name, []))
        if not sizes:
            continue
        path = find(name, dirs)
        if path is None:
            missing.append(name)
            continue
        pairs.append((name, fmt, path, sorted(sizes)))
    if args.synthetic:
        os.makedirs(args.synthetic, exist_ok=True)
        for seed in (1, 2):
            path = os.path.join(args.synthetic, f"scanmix-{seed}.txt")
            if not os.path.isfile(path):  # written aside and renamed: an interrupted run leaves no half trace
                subprocess.run([sys.executable, os.path.join(HERE, "synth_scanmix.py"), str(seed), "2000000",
                                path + ".part"], check=True)
                os.replace(path + ".part", path)
            sizes = set(SCANMIX_SIZES) | {round(SCANMIX_UNIQUE[seed] * f) for f in (0.02, 0.10)}
            pairs.append((os.path.basename(path), "lines", path, sorted(sizes)))

    heuristic = {}  # (trace, size) -> {policy: miss ratio}
    learned = {}    # (trace, size) -> [miss ratio per seed]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        # Longest first: orm-busy dominates the wall time.
        jobs = []
        for seed in seeds:
            params = ",".join(p for p in [args.params, f"seed={seed}"] if p)
            jobs += [(seed, t, pool.submit(replay, args.sim, p, f, s, "learned", "learned:" + params))
                     for t, f, p, s in pairs]
        jobs += [(None, t, pool.submit(replay, args.sim, p, f, s, ",".join(HEURISTICS + OTHERS + ["belady"]), ""))
                 for t, f, p, s in pairs]
        for seed, trace, job in jobs:  # in seed order
            for r in job.result():
                key = (trace, r["size"])
                if seed is None:
                    heuristic.setdefault(key, {})[r["policy"]] = r["miss_ratio"]
                else:
                    learned.setdefault(key, []).append(r["miss_ratio"])
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"params": args.params, "seeds": seeds,
                       "pairs": [{"trace": t, "size": s, "heuristics": heuristic[(t, s)], "learned": learned[(t, s)]}
                                 for t, _, _, sizes in pairs for s in sizes]}, f, indent=1)

    print("| trace | size | LRU | ARC | S3-FIFO | SIEVE | W-TinyLFU | FIFO | LFU | Belady | learned (mean) | range "
          "| best heuristic | G learned | G best |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [(t, s, heuristic[(t, s)], learned[(t, s)]) for t, _, _, sizes in pairs for s in sizes]
    summary = summarize(rows)
    n = summary["pairs"]
    for (_, _, h, runs), (name, size, mean, best_name, best, gl, gb) in zip(rows, summary["per_pair"]):
        cell = f"**{mean:.4f}**" if mean <= best else f"{mean:.4f}"
        print(f"| {name} | {size:,} | " + " | ".join(f"{h[p]:.4f}" for p in HEURISTICS + OTHERS + ["belady"]) +
              f" | {cell} | {min(runs):.4f}-{max(runs):.4f} | {best_name} {best:.4f} | {gl:.3f} | {gb:.3f} |")
    for g in range(0, len(seeds), args.group) if args.group > 0 else []:
        group_wins = 0
        for key, runs in learned.items():
            part = runs[g:g + args.group]
            group_wins += sum(part) / len(part) <= min(heuristic[key][p] for p in HEURISTICS)
        print(f"seeds {seeds[g]}-{seeds[min(g + args.group, len(seeds)) - 1]}: {group_wins} of {n} pairs")
    print("\n" + summary_line(f"seeds {args.seeds}, params '{args.params}'", summary))
    if missing:
        print(f"not on the trace path (skipped): {', '.join(missing)}")


if __name__ == "__main__":
    main()
