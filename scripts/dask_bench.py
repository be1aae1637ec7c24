#!/usr/bin/python3
"""Benchmark of the Dask driver (tools/dask/prescient_dask.py): extraction rows/s, training
time and peak memory per worker with 1 and 2 workers, against prescient-train on one machine.

    /usr/bin/python3 scripts/dask_bench.py [--prescient-train BIN] [--copies 3] [--workers 1,2]
                                           [--partitions 4] [--size 1500] [--json-out FILE]

The log is orm-busy (5M requests) given --copies times as files of one log (15M requests
by default: the issue's "at least 15M"). Every run uses the same partitions (--partitions),
so every run trains on the same rows; the one-machine line is prescient-train --partitions
P --holdout 0.2 on the same log (decompressed and piped, one process, one thread).
Figures go to stdout as a table (docs/distributed-training.md has the measured one).
"""

import argparse
import json
import lzma
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_train():
    for build in ("build/release", "build/h18"):
        path = os.path.join(ROOT, build, "tools/train/prescient-train")
        if os.path.exists(path):
            return path
    return "prescient-train"


def one_machine(args, trace):
    """prescient-train on the concatenated log through a pipe: extraction, training, memory."""
    cmd = [args.prescient_train, "--trace", "-", "--format", "i32be", "--size", str(args.size), "--partitions",
           str(args.partitions), "--holdout", "0.2", "--folds", "0"]
    print("$ (xz -dc orm-busy x%d) | %s" % (args.copies, " ".join(cmd)), flush=True)
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(args.copies):
        with lzma.open(trace) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                child.stdin.write(chunk)
    child.stdin.close()
    out = child.stdout.read().decode()
    if child.wait() != 0:
        sys.exit(out)
    wall = time.monotonic() - start
    print(out, flush=True)
    head = re.search(r": (\d+) requests -> (\d+) rows", out)
    ext = re.search(r"extracted in ([0-9.]+) s \(\d+ requests/s, (\d+) rows/s; peak memory (\d+) MiB\)", out)
    xgb = re.search(r"^xgboost .* ([0-9.]+)\s+\(([0-9.]+) s\)$", out, re.M)
    return {"requests": int(head.group(1)), "rows": int(head.group(2)), "extraction_seconds": float(ext.group(1)),
            "extraction_rows_per_second": float(ext.group(2)), "extraction_peak_mib": int(ext.group(3)),
            "train_seconds": float(xgb.group(2)), "auc": float(xgb.group(1)), "wall_seconds": wall,
            # The largest child so far: this one (it runs first). getrusage, not VmHWM: it
            # includes the pre-exec pages of this small script, a few MiB.
            "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0}


def on_dask(args, trace, workers, work):
    metrics = os.path.join(work, "metrics-%d.json" % workers)
    cmd = [sys.executable, os.path.join(ROOT, "tools/dask/prescient_dask.py")]
    for _ in range(args.copies):
        cmd += ["--trace", trace]
    cmd += ["--format", "i32be", "--size", str(args.size), "--workers", str(workers), "--partitions",
            str(args.partitions), "--model", os.path.join(work, "model-%d.json" % workers), "--prescient-train",
            args.prescient_train, "--metrics-json", metrics]
    print("$ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    subprocess.run(cmd, check=True)
    wall = time.monotonic() - start
    with open(metrics) as f:
        m = json.load(f)
    m["wall_seconds"] = wall
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prescient-train", default=default_train())
    ap.add_argument("--trace", default=os.path.join(ROOT, "data/traces/cache2k-orm-busy.trace.xz"))
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--size", type=int, default=1500)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    args.prescient_train = os.path.abspath(args.prescient_train) if os.sep in args.prescient_train else args.prescient_train

    results = {"one_machine": one_machine(args, args.trace), "dask": {}}
    with tempfile.TemporaryDirectory(prefix="prescient-dask-bench-") as work:
        for w in (int(x) for x in args.workers.split(",")):
            results["dask"][w] = on_dask(args, args.trace, w, work)

    one = results["one_machine"]
    print("\n%d requests (orm-busy x %d), %d rows, %d partitions by key hash, size %d; held out: the last 0.2"
          % (one["requests"], args.copies, one["rows"], args.partitions, args.size))
    print("load average at the end: %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    print("%-16s %9s %8s %10s %8s %8s %8s %7s  %s" % ("run", "extract s", "(CPU s)", "rows/s", "train s", "(CPU s)",
                                                       "total s", "AUC", "peak memory (MiB)"))
    print("%-16s %9.2f %8s %10.0f %8.2f %8s %8.2f %7.4f  %.0f (one process; %d at the end of extraction)"
          % ("one machine", one["extraction_seconds"], "-", one["extraction_rows_per_second"], one["train_seconds"],
             "-", one["wall_seconds"], one["auc"], one["peak_mib"], one["extraction_peak_mib"]))
    for w, m in sorted(results["dask"].items()):
        peaks = ", ".join("%.0f" % p["worker_mib"] for _, p in sorted(m["peak_memory"].items()))
        print("%-16s %9.2f %8.2f %10.0f %8.2f %8.2f %8.2f %7.4f  per worker %s; prescient-train map %d, reduce %d"
              % ("dask, %d worker%s" % (w, "s" if w > 1 else ""), m["extraction_seconds"],
                 m["extraction_cpu_seconds"], m["extraction_rows_per_second"], m["train_seconds"],
                 m["train_cpu_seconds"], m["wall_seconds"], m["held_out"]["auc"], peaks,
                 m["prescient_train_peak_mib"]["map"], m["prescient_train_peak_mib"]["reduce"]))
    print("extract s: wall time of the map and the reduce, (CPU s) prescient-train's CPU time in them, summed over "
          "the tasks;\ntrain s: one machine, training and scoring the held-out rows (one thread); Dask, building the "
          "DaskDMatrix and training, (CPU s) the workers' CPU time in it, summed")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
