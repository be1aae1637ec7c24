#!/usr/bin/env python3
"""A synthetic trace of the kind a recommendation service sees: Zipf popularity over a
catalogue whose ranking drifts (every CHURN_EVERY requests, CHURN_SHARE of the catalogue
enters as new items at random ranks in the top fifth, pushing the items below them one
rank down), and a share of one-off lookups of keys never seen again. One integer key a
line (prescient-sim --format lines).

    python3 scripts/synth_drift.py SEED REQUESTS OUT [CATALOGUE S CHURN_EVERY CHURN_SHARE ONE_OFF]
    python3 scripts/synth_drift.py 3 2000000 /tmp/drift.txt      # 200000 0.9 100000 0.02 0.15
    build/release/tools/sim/prescient-sim --trace /tmp/drift.txt --format lines \\
        --ignore-size --sizes 2%,10%

Unlike synth_scanmix.py's working set, which never changes, popularity here moves: a
key's long-run frequency and its recent gaps disagree for the items that rise and sink,
and many keys come back only after more than a few cache turnovers.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth_scanmix import zipf_sampler  # noqa: E402


def generate(seed, n, catalogue=200000, s=0.9, churn_every=100000, churn_share=0.02, one_off=0.15):
    rng = random.Random(seed)
    draw = zipf_sampler(catalogue, s, rng)
    rank = list(range(catalogue))  # rank[r]: the item at popularity rank r
    rng.shuffle(rank)
    next_item, next_one_off, out = catalogue, 10**9, []
    while len(out) < n:
        if out and len(out) % churn_every == 0:
            for _ in range(int(churn_share * catalogue)):
                rank.insert(rng.randrange(catalogue // 5), next_item)
                next_item += 1
                rank.pop()
        if rng.random() < one_off:
            out.append(next_one_off)
            next_one_off += 1
        else:
            out.append(rank[draw()])
    return out


def main(argv):
    if len(argv) not in (4, 9):
        sys.exit(__doc__)
    seed, n, path = int(argv[1]), int(argv[2]), argv[3]
    extra = {}
    if len(argv) == 9:
        extra = dict(catalogue=int(argv[4]), s=float(argv[5]), churn_every=int(argv[6]),
                     churn_share=float(argv[7]), one_off=float(argv[8]))
    keys = generate(seed, n, **extra)
    with open(path, "w") as f:
        f.write("\n".join(map(str, keys)) + "\n")
    print(path, len(keys), "requests,", len(set(keys)), "unique keys")


if __name__ == "__main__":
    main(sys.argv)
