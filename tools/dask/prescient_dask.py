#!/usr/bin/python3
"""prescient_dask — the learned policy's dataset extracted and its model trained on a Dask cluster.

    /usr/bin/python3 tools/dask/prescient_dask.py --trace A.xz [--trace B.xz ...] --format i32be \\
        --size 1500 --model model.json [--scheduler tcp://HOST:8786 | --workers 2] [--partitions P] \\
        [--holdout 0.2] [--rounds 24] [--depth 6] [--prescient-train PATH] [--metrics-json FILE]

The files, in the order given, are one log: positions (the logical time every feature and
label is measured in) run across them. The pipeline (docs/distributed-training.md):

  map     one task per file, on a worker: `prescient-train --split-to` reads the file once
          and cuts its requests by the hash of their keys into P pieces (24-byte records,
          positions in the file). The pieces stay in the workers' memory.
  offsets the files' request counts (P small integers each) come to the client, which
          adds them up: file f's positions start at the sum of the counts before it.
  reduce  one task per partition, on a worker: its pieces (Dask moves them between
          workers), shifted to global positions, are piped to `prescient-train --format
          partition --partition p --rows-out -`, which streams the partition's rows back
          (72-byte records). The rows stay on that worker, split at the held-out time.
  train   the partitions' rows, as Dask arrays built from those futures, go to
          xgboost.dask (tree_method hist) as a DaskDMatrix: each worker trains on the rows
          it holds; nothing but row counts and the model reaches the client.
  score   xgboost.dask.predict scores the held-out rows where they are; each partition
          reduces its scores to counts (distinct scores with their reused / not-reused
          counts, the confusion matrix, squared errors) and only those reach the client,
          which computes RMSE, accuracy, precision, recall, F1 and AUC exactly as
          prescient-train --holdout does.
  save    the model in xgboost's JSON: prescient-sim --model and the learned policy load it.

Extraction calls the installed prescient-train on the worker rather than a Python binding:
the same binary, the same code as a single machine (tested to give the same rows), nothing
to compile for the worker's Python; a crash or a leak in extraction ends a child process,
not the worker, and its memory returns to the system when it exits; rows cross a pipe at
memory speed, which is small next to extracting them.

Debian packages only: python3-dask, python3-distributed, python3-xgboost, python3-numpy
(scripts/setup.sh). Run with /usr/bin/python3: a python3 earlier on PATH may not see them.
"""

import argparse
import json
import logging
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time

try:
    import numpy as np
except ImportError as e:  # before anything else needs it
    sys.stderr.write("prescient_dask: %s (Debian: python3-numpy python3-dask python3-distributed python3-xgboost; "
                     "bash scripts/setup.sh installs them; run with /usr/bin/python3)\n" % e)
    sys.exit(1)

REQUEST = np.dtype([("position", "<u8"), ("key", "<u8"), ("size", "<u8")])


def row_dtype(features):
    """tools/train/records.hpp's row record, with `features` columns."""
    return np.dtype([("time", "<u8"), ("key", "<u8"), ("label", "<f4"), ("reused", "u1"), ("kind", "u1"),
                     ("reserved", "<u2"), ("x", "<f4", (features,))])


def children_cpu():
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(cmd, stdin=None, into=None):
    """Runs a command; its stdout (bytes; with `into`, a writable byte buffer, the output is
    read into it and must fill it exactly), stderr (text) and CPU seconds. Raises with
    stderr on failure.

    `stdin` (a byte buffer) is written by a thread in one call while the output is read
    here, without copies: subprocess's communicate() writes in 512-byte pieces and
    collects the output in growing strings, which cost more than the extraction itself."""
    before = children_cpu()
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors = []

    def drain_stderr():
        errors.append(child.stderr.read())

    def feed():
        try:
            child.stdin.write(stdin)
        except BrokenPipeError:  # the child stopped reading: its exit status says why
            pass
        finally:
            try:
                child.stdin.close()
            except BrokenPipeError:
                pass

    helpers = [threading.Thread(target=drain_stderr)]
    if stdin is not None:
        helpers.append(threading.Thread(target=feed))
    for t in helpers:
        t.start()
    if into is None:
        out = child.stdout.read()
    else:
        filled = 0
        while filled < len(into):
            got = child.stdout.readinto(into[filled:])
            if not got:
                break
            filled += got
        extra = len(child.stdout.read())
        out = None
    for t in helpers:
        t.join()
    status = child.wait()
    err = errors[0].decode(errors="replace")
    if status != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), status, err.strip()))
    if into is not None and (filled != len(into) or extra):
        raise RuntimeError("%s wrote %d bytes, not the %d expected" % (" ".join(cmd), filled + extra, len(into)))
    return out, err, children_cpu() - before


def scratch_dir():
    """The worker's local directory (its spill space), else the system's temporary one."""
    try:
        from distributed import get_worker
        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


# ---- tasks that run on the workers -------------------------------------------------------

def child_peak_mib(text):
    """The peak memory prescient-train reports for itself (its VmHWM), or None."""
    found = re.search(r"peak memory (\d+) MiB", text)
    return int(found.group(1)) if found else None


def map_file(path, fmt, partitions, train_bin):
    """Reads one log file once; its requests by key-hash partition (positions in the file)."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prescient-map-", dir=scratch_dir()) as d:
        out, _, cpu = run([train_bin, "--trace", path, "--format", fmt, "--partitions", str(partitions),
                           "--split-to", d])
        pieces = [np.fromfile(os.path.join(d, "part-%05d.req" % p), dtype=REQUEST) for p in range(partitions)]
    return {"count": int(sum(len(p) for p in pieces)), "pieces": pieces, "seconds": time.monotonic() - start,
            "peak_mib": child_peak_mib(out.decode(errors="replace")), "cpu_seconds": cpu}


def pick(result, name):
    return result[name]


def map_summary(result):
    return {k: v for k, v in result.items() if k != "pieces"}


def piece(result, p):
    return result["pieces"][p]


def row_shape(train_bin, extract):
    """prescient-train's row: (features, window, horizon), from an empty partition."""
    _, err, _ = run([train_bin, "--trace", "/dev/null", "--format", "partition", "--partitions", "1", "--folds", "0",
                     "--rows-out", "-"] + extract)
    found = re.search(r"rows x (\d+) features \(window (\d+), horizon (\d+) requests\)", err)
    if not found:
        raise RuntimeError("prescient-train did not say what a row holds: " + err)
    return tuple(int(g) for g in found.groups())


def reduce_partition(p, partitions, offsets, split, extract, every, features, train_bin, *pieces):
    """Extracts partition p's rows from its pieces (one per file, in log order)."""
    start = time.monotonic()
    requests = np.empty(sum(len(part) for part in pieces), dtype=REQUEST)
    at = 0
    for offset, part in zip(offsets, pieces):  # to global positions, in one copy
        requests[at:at + len(part)] = part
        requests["position"][at:at + len(part)] += np.uint64(offset)
        at += len(part)
    # Two rows per sampled request (position mod every = 0): the output's size is known.
    rows = np.empty(2 * int(np.count_nonzero(requests["position"] % np.uint64(every) == 0)), dtype=row_dtype(features))
    _, err, cpu = run([train_bin, "--trace", "-", "--format", "partition", "--partitions", str(partitions),
                       "--partition", str(p), "--folds", "0", "--rows-out", "-"] + extract,
                      stdin=requests.view(np.uint8), into=rows.view(np.uint8))
    n_requests = len(requests)
    del requests
    held_from = int(np.searchsorted(rows["time"], np.uint64(split)))  # a partition's rows are in time order
    train, held = rows[:held_from], rows[held_from:]
    result = {
        "Xtr": np.ascontiguousarray(train["x"]), "ytr": np.ascontiguousarray(train["label"]),
        "Xte": np.ascontiguousarray(held["x"]), "yte": np.ascontiguousarray(held["label"]),
        "rte": np.ascontiguousarray(held["reused"]),
        "summary": {"partition": p, "requests": n_requests, "rows": len(rows), "train_rows": len(train),
                    "held_rows": len(held), "train_label_sum": float(train["label"].astype(np.float64).sum()),
                    "seconds": time.monotonic() - start, "peak_mib": child_peak_mib(err), "cpu_seconds": cpu},
    }
    return result


def score_counts(score, label, reused, threshold, train_mean):
    """One partition's held-out scores reduced to what the metrics need."""
    score = np.asarray(score, dtype=np.float32)
    label = np.asarray(label, dtype=np.float32)
    reused = np.asarray(reused).astype(bool)
    values, inverse = np.unique(score, return_inverse=True)
    positives = np.bincount(inverse, weights=reused, minlength=len(values))
    negatives = np.bincount(inverse, weights=~reused, minlength=len(values))
    predicted = score <= np.float32(threshold)
    return {
        "values": values, "positives": positives, "negatives": negatives,
        "tp": int((predicted & reused).sum()), "fp": int((predicted & ~reused).sum()),
        "fn": int((~predicted & reused).sum()), "tn": int((~predicted & ~reused).sum()),
        "sse": float(((score.astype(np.float64) - label) ** 2).sum()),
        "sse_mean": float(((train_mean - label.astype(np.float64)) ** 2).sum()), "n": int(len(score)),
    }


def process_cpu():
    """This worker process's CPU seconds (user + system, every thread)."""
    t = os.times()
    return t.user + t.system


def peak_memory():
    """This worker process's peak resident memory in MiB (Linux VmHWM; else getrusage's maxrss)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return {"worker_mib": int(line.split()[1]) / 1024.0}
    except OSError:
        pass
    return {"worker_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


# ---- the client ---------------------------------------------------------------------------

def metrics_from_counts(parts):
    """prescient-train's metrics (tools/train/main.cpp: evaluate, auc) from partitions' counts."""
    n = sum(c["n"] for c in parts)
    tp, fp, fn, tn = (sum(c[k] for c in parts) for k in ("tp", "fp", "fn", "tn"))
    values = np.concatenate([c["values"] for c in parts])
    pos = np.concatenate([c["positives"] for c in parts])
    neg = np.concatenate([c["negatives"] for c in parts])
    distinct, inverse = np.unique(values, return_inverse=True)
    pos = np.bincount(inverse, weights=pos, minlength=len(distinct))[::-1]  # highest score first
    neg = np.bincount(inverse, weights=neg, minlength=len(distinct))[::-1]
    # Mann-Whitney with tied ranks averaged, ranks 1.. from the highest score (as main.cpp).
    counts = pos + neg
    ends = np.cumsum(counts)
    mids = (ends - counts + ends + 1) / 2.0
    positives, negatives = pos.sum(), neg.sum()
    if positives == 0 or negatives == 0:
        auc = 0.5
    else:
        auc = ((mids * pos).sum() - positives * (positives + 1) / 2) / (positives * negatives)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "rows": n,
        "rmse": math.sqrt(sum(c["sse"] for c in parts) / max(n, 1)),
        "baseline_rmse": math.sqrt(sum(c["sse_mean"] for c in parts) / max(n, 1)),
        "accuracy": (tp + tn) / max(n, 1), "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0, "auc": float(auc),
    }


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="prescient_dask.py",
        description="Extracts the learned policy's rows by key-hash partition and trains its xgboost model on a "
                    "Dask cluster (docs/distributed-training.md).")
    ap.add_argument("--trace", action="append", required=True, metavar="FILE",
                    help="a log file, readable at this path on every worker; repeat: the files in order are one log")
    ap.add_argument("--format", required=True, help="the files' format (prescient-train --format)")
    ap.add_argument("--size", type=int, required=True, metavar="N", help="cache size in entries (prescient-train --size)")
    ap.add_argument("--model", required=True, metavar="FILE.json", help="where to write the model (xgboost JSON)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786); default: a LocalCluster")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2, one thread each)")
    ap.add_argument("--partitions", type=int, metavar="P",
                    help="key-hash partitions (default: the workers' count; the rows depend on it)")
    ap.add_argument("--holdout", type=float, default=0.2, metavar="F",
                    help="score the rows of the log's last F (by position), train on the rest (default 0.2)")
    ap.add_argument("--sample-every", type=int, default=4, metavar="K")
    ap.add_argument("--rounds", type=int, default=24)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--eta", type=float, default=0.3)
    ap.add_argument("--min-child-weight", type=float, default=100)
    ap.add_argument("--max-bin", type=int, default=64)
    ap.add_argument("--prescient-train", default="prescient-train", metavar="PATH",
                    help="prescient-train as the workers find it (default: on their PATH)")
    ap.add_argument("--metrics-json", metavar="FILE", help="write the figures (metrics, timings, memory) as JSON")
    args = ap.parse_args(argv)
    if not args.model.endswith(".json"):
        ap.error("--model must end in .json (xgboost writes its deprecated binary format otherwise)")
    if not 0 < args.holdout < 1:
        ap.error("--holdout must be in (0, 1)")
    for name in ("size", "workers", "sample_every", "rounds", "depth", "max_bin"):
        if getattr(args, name) < 1:
            ap.error("--%s must be at least 1" % name.replace("_", "-"))
    if args.partitions is not None and args.partitions < 1:
        ap.error("--partitions must be at least 1")
    return args


def table_line(name, m, seconds):
    return "%-8s %8.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f   (%.2f s)" % (
        name, m["rmse"], m["baseline_rmse"], m["accuracy"], m["precision"], m["recall"], m["f1"], m["auc"], seconds)


def main(argv):
    args = parse_args(argv)
    import dask
    import dask.array as da
    import xgboost as xgb
    from distributed import Client, LocalCluster, wait

    logging.getLogger("distributed").setLevel(logging.WARNING)  # the scheduler's INFO lines are noise here

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        workers = client.scheduler_info()["workers"]
        threads = sum(w["nthreads"] for w in workers.values())
        partitions = args.partitions or max(len(workers), 1)
        train_bin = args.prescient_train
        if os.path.sep in train_bin:
            train_bin = os.path.abspath(train_bin)
        traces = [os.path.abspath(t) for t in args.trace]
        print("cluster: %d workers, %d threads; %d files, %d partitions by key hash"
              % (len(workers), threads, len(traces), partitions), flush=True)

        # map: each file read once, its requests cut by key hash.
        t0 = time.monotonic()
        mapped = [client.submit(map_file, path, args.format, partitions, train_bin, pure=False) for path in traces]
        map_summaries = client.gather([client.submit(map_summary, m) for m in mapped])
        counts = [m["count"] for m in map_summaries]
        pieces = [[client.submit(piece, m, p) for m in mapped] for p in range(partitions)]
        wait([f for row in pieces for f in row])
        map_seconds = time.monotonic() - t0
        del mapped  # the pieces hold what is needed
        offsets = [int(sum(counts[:f])) for f in range(len(counts))]
        total = int(sum(counts))
        if total == 0:
            raise RuntimeError("the log is empty: " + ", ".join(traces))
        split = int(math.floor(total * (1.0 - args.holdout)))
        print("map: %d requests in %.2f s; held out: the rows of requests %d-%d (the log's last %g)"
              % (total, map_seconds, split, total - 1, args.holdout), flush=True)

        # reduce: each partition's rows extracted where its pieces meet.
        t1 = time.monotonic()
        extract = ["--size", str(args.size), "--sample-every", str(args.sample_every)]
        features, _, horizon = client.submit(row_shape, train_bin, extract, pure=False).result()
        reduced = [client.submit(reduce_partition, p, partitions, offsets, split, extract, args.sample_every, features,
                                 train_bin, *pieces[p], pure=False) for p in range(partitions)]
        summaries = client.gather([client.submit(pick, r, "summary") for r in reduced])
        reduce_seconds = time.monotonic() - t1
        del pieces
        rows = sum(s["rows"] for s in summaries)
        n_train = sum(s["train_rows"] for s in summaries)
        n_held = sum(s["held_rows"] for s in summaries)
        if n_train == 0 or n_held == 0:
            raise RuntimeError("--holdout %g leaves no rows %s" % (args.holdout, "to train on" if n_train == 0 else "to score"))
        extraction_seconds = map_seconds + reduce_seconds
        extraction_cpu = sum(m["cpu_seconds"] for m in map_summaries) + sum(s["cpu_seconds"] for s in summaries)
        print("reduce: %d rows x %d features in %.2f s (partitions: %s); extraction %.2f s, %.0f rows/s "
              "(prescient-train's CPU time, summed over the tasks: %.2f s)"
              % (rows, features, reduce_seconds, ", ".join(str(s["rows"]) for s in summaries), extraction_seconds,
                 rows / extraction_seconds, extraction_cpu), flush=True)

        # Each partition's arrays as futures on its worker (empty partitions left out),
        # then as Dask arrays: one block per partition.
        def blocks(results, name, key):
            return [(client.submit(pick, r, name), s[key]) for r, s in zip(results, summaries) if s[key] > 0]

        def dask_array(parts, columns, dtype):
            return da.concatenate([da.from_delayed(f, shape=(n,) + columns, dtype=dtype) for f, n in parts])

        x_train = dask_array(blocks(reduced, "Xtr", "train_rows"), (features,), np.float32)
        y_train = dask_array(blocks(reduced, "ytr", "train_rows"), (), np.float32)
        x_held = dask_array(blocks(reduced, "Xte", "held_rows"), (features,), np.float32)
        y_held_blocks = [f for f, _ in blocks(reduced, "yte", "held_rows")]
        r_held_blocks = [f for f, _ in blocks(reduced, "rte", "held_rows")]
        del reduced  # the arrays picked out of each partition's result stay where they are

        # train: hist on the rows where they are.
        params = {"tree_method": "hist", "objective": "reg:squarederror", "max_depth": args.depth, "eta": args.eta,
                  "lambda": 1.0, "min_child_weight": args.min_child_weight, "subsample": 1.0,
                  "max_bin": args.max_bin, "seed": 0}
        t2 = time.monotonic()
        cpu_before = client.run(process_cpu)
        dtrain = xgb.dask.DaskDMatrix(client, x_train, y_train, missing=np.nan)
        booster = xgb.dask.train(client, params, dtrain, num_boost_round=args.rounds)["booster"]
        train_seconds = time.monotonic() - t2
        train_cpu = sum(c - cpu_before.get(w, 0.0) for w, c in client.run(process_cpu).items())
        del dtrain, x_train, y_train  # the training rows can go
        booster.save_model(args.model)
        print("train: xgboost.dask %s, %d rounds, depth %d on %d rows in %.2f s (the workers' CPU time: %.2f s); "
              "saved %s" % (xgb.__version__, args.rounds, args.depth, n_train, train_seconds, train_cpu, args.model),
              flush=True)

        # score: the held-out rows, reduced to counts per partition.
        t3 = time.monotonic()
        # A score at or below log1p(horizon) predicts "requested again within the horizon".
        threshold = np.float32(math.log1p(horizon))
        train_mean = sum(s["train_label_sum"] for s in summaries) / n_train
        scores = xgb.dask.predict(client, booster, x_held).to_delayed().ravel()
        counted = [dask.delayed(score_counts)(s, y, r, threshold, train_mean)
                   for s, y, r in zip(scores, y_held_blocks, r_held_blocks)]
        held = metrics_from_counts(client.gather(client.compute(counted)))
        score_seconds = time.monotonic() - t3
        print("\nheld out: the rows of requests %d-%d (the log's last %g): %d rows; trained on the %d before"
              % (split, total - 1, args.holdout, n_held, n_train))
        print("%-8s %8s %9s %9s %9s %9s %9s %9s" % ("model", "RMSE", "(mean)", "accuracy", "precision", "recall",
                                                    "F1", "AUC"))
        print(table_line("xgboost", held, score_seconds), flush=True)

        memory = client.run(peak_memory)
        for address, m in sorted(memory.items()):
            print("worker %s: peak %.0f MiB" % (address, m["worker_mib"]))
        child_peaks = {"map": max((m["peak_mib"] or 0) for m in map_summaries),
                       "reduce": max((s["peak_mib"] or 0) for s in summaries)}
        print("prescient-train on the workers: peak %d MiB in a map, %d MiB in a reduce"
              % (child_peaks["map"], child_peaks["reduce"]))
        if args.metrics_json:
            with open(args.metrics_json, "w") as out:
                json.dump({
                    "workers": len(workers), "threads": threads, "partitions": partitions, "files": traces,
                    "requests": total, "rows": rows, "train_rows": n_train, "held_rows": n_held, "split": split,
                    "features": features, "map_seconds": map_seconds, "reduce_seconds": reduce_seconds,
                    "extraction_seconds": extraction_seconds, "extraction_rows_per_second": rows / extraction_seconds,
                    "extraction_cpu_seconds": extraction_cpu,
                    "train_seconds": train_seconds, "train_cpu_seconds": train_cpu, "score_seconds": score_seconds,
                    "held_out": held,
                    "map_summaries": map_summaries, "partition_summaries": summaries, "peak_memory": memory,
                    "prescient_train_peak_mib": child_peaks, "params": params,
                    "rounds": args.rounds, "model": os.path.abspath(args.model), "xgboost": xgb.__version__,
                }, out, indent=1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ImportError as e:
        sys.stderr.write("prescient_dask: %s (Debian: python3-dask python3-distributed python3-xgboost "
                         "python3-numpy; bash scripts/setup.sh installs them; run with /usr/bin/python3)\n" % e)
        sys.exit(1)
    except (RuntimeError, OSError) as e:
        sys.stderr.write("prescient_dask: %s\n" % e)
        sys.exit(1)
