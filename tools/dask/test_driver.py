#!/usr/bin/python3
"""ctest prescient_dask.local_cluster: the Dask driver against single-machine prescient-train.

    test_driver.py --prescient-train BIN --prescient-sim BIN --workdir DIR TRACE_A TRACE_B

The log is TRACE_A then TRACE_B (two files, i32be). The driver runs on a LocalCluster of
two worker processes with two partitions; prescient-train then builds the same rows on one
machine (--partitions 2, the concatenated log) and trains with the same parameters. Checks:
  1. the same log: requests, rows, held-out split and row counts agree;
  2. held-out AUC and F1 of the driver's model within 0.01 of the single machine's;
  3. prescient-train --evaluate (the model compiled, as prescient-sim loads it) scores the
     held-out rows with the same metrics the driver computed from its partitions' counts;
  4. the compiled forest's scores equal xgboost's (Python, the same model file) bit for
     bit on every held-out row;
  5. prescient-sim --model starts the learned policy from the model, which evicts.
Exits 77 (skipped), saying why, when the Debian Python packages are not installed.
"""

import argparse
import json
import lzma
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
SIZE, HOLDOUT, TOLERANCE = 400, 0.2, 0.01


def skip_without_packages():
    missing = []
    for module, package in (("numpy", "python3-numpy"), ("dask", "python3-dask"),
                            ("distributed", "python3-distributed"), ("xgboost", "python3-xgboost")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        print("prescient_dask.local_cluster: skipped: %s not installed for %s (bash scripts/setup.sh installs them)"
              % (", ".join(missing), sys.executable))
        sys.exit(SKIP)


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    print(done.stdout, flush=True)
    if done.returncode != 0:
        sys.exit("FAILED: exit %d" % done.returncode)
    return done.stdout


def table_row(text, name):
    m = re.search(r"^%s +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+)" % name,
                  text, re.M)
    if not m:
        sys.exit("FAILED: no '%s' line in:\n%s" % (name, text))
    keys = ("rmse", "baseline_rmse", "accuracy", "precision", "recall", "f1", "auc")
    return dict(zip(keys, map(float, m.groups())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prescient-train", required=True)
    ap.add_argument("--prescient-sim", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("traces", nargs=2)
    args = ap.parse_args()
    skip_without_packages()
    import numpy as np
    import xgboost as xgb

    here = os.path.dirname(os.path.abspath(__file__))
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    model = os.path.join(work, "dask-model.json")
    metrics_file = os.path.join(work, "dask-metrics.json")
    failures = []

    def check(ok, what):
        print(("ok: " if ok else "FAILED: ") + what, flush=True)
        if not ok:
            failures.append(what)

    # The driver: a LocalCluster of 2 worker processes, 2 partitions, the two files as one log.
    run([sys.executable, os.path.join(here, "prescient_dask.py"), "--trace", args.traces[0], "--trace", args.traces[1],
         "--format", "i32be", "--size", str(SIZE), "--workers", "2", "--holdout", str(HOLDOUT), "--model", model,
         "--prescient-train", args.prescient_train, "--metrics-json", metrics_file])
    with open(metrics_file) as f:
        dask = json.load(f)
    check(dask["workers"] == 2 and dask["partitions"] == 2, "2 workers, 2 partitions")

    # One machine: the same log (the files concatenated), the same rows (--partitions 2),
    # the same parameters (prescient-train's defaults, which the driver's defaults copy).
    log = os.path.join(work, "log.i32be")
    with open(log, "wb") as out:
        for t in args.traces:
            with lzma.open(t) as f:
                shutil.copyfileobj(f, out)
    rows_file, scores_file = os.path.join(work, "rows.bin"), os.path.join(work, "scores.bin")
    single = run([args.prescient_train, "--trace", log, "--format", "i32be", "--size", str(SIZE), "--partitions", "2",
                  "--holdout", str(HOLDOUT), "--folds", "0", "--evaluate", model, "--scores-out", scores_file,
                  "--rows-out", rows_file])
    m = re.search(r": (\d+) requests -> (\d+) rows x (\d+) features", single)
    h = re.search(r"held out: the rows of requests (\d+)-\d+ .*: (\d+) rows; trained on the (\d+) before", single)
    requests, rows, features = map(int, m.groups())
    split, held_rows, train_rows = map(int, h.groups())
    check((requests, rows, split, held_rows, train_rows) ==
          (dask["requests"], dask["rows"], dask["split"], dask["held_rows"], dask["train_rows"]),
          "the same log and rows: %d requests, %d rows, held out from %d: %d rows, %d to train on"
          % (requests, rows, split, held_rows, train_rows))

    mine, theirs = table_row(single, "xgboost"), dask["held_out"]
    for k in ("auc", "f1"):
        check(abs(theirs[k] - mine[k]) <= TOLERANCE,
              "held-out %s: Dask %.4f, one machine %.4f (within %.2f)" % (k.upper(), theirs[k], mine[k], TOLERANCE))

    evaluated = table_row(single, "evaluate")
    for k in ("rmse", "accuracy", "precision", "recall", "f1", "auc"):
        check(abs(evaluated[k] - theirs[k]) <= 0.00005 + 1e-9,
              "%s of the Dask model: %.4f from the partitions' counts, %.4f by prescient-train --evaluate"
              % (k, theirs[k], evaluated[k]))

    # The compiled forest (prescient-train --evaluate's scores) against xgboost on the same rows.
    dtype = np.dtype([("time", "<u8"), ("key", "<u8"), ("label", "<f4"), ("reused", "u1"), ("kind", "u1"),
                      ("reserved", "<u2"), ("x", "<f4", (features,))])
    all_rows = np.fromfile(rows_file, dtype=dtype)
    held = all_rows[all_rows["time"] >= np.uint64(split)]
    compiled = np.fromfile(scores_file, dtype="<f4")
    booster = xgb.Booster(model_file=model)
    reference = booster.predict(xgb.DMatrix(held["x"], missing=np.nan))
    with_missing = int(np.isnan(held["x"]).any(axis=1).sum())
    check(len(compiled) == len(held) == held_rows and np.array_equal(compiled, reference),
          "compiled forest = xgboost %s bit for bit on %d held-out rows (%d with missing values; largest difference %g)"
          % (xgb.__version__, len(held), with_missing, float(np.abs(compiled - reference).max()) if len(held) else 0))

    # prescient-sim starts the learned policy from the model, unchanged.
    sim = run([args.prescient_sim, "--trace", args.traces[0], "--format", "i32be", "--ignore-size", "--sizes", str(SIZE),
               "--limit", "40000", "--policies", "lru,learned", "--param", "learned:mode=off", "--model", model])
    check(re.search(r"learned at %d: [1-9][0-9]* evictions by the model" % SIZE, sim) is not None,
          "prescient-sim --model loads the Dask model and the learned policy evicts with it")

    if failures:
        sys.exit("prescient_dask.local_cluster: %d check(s) failed" % len(failures))
    shutil.rmtree(work, ignore_errors=True)
    print("prescient_dask.local_cluster: passed")


if __name__ == "__main__":
    main()
