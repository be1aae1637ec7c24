#!/usr/bin/env python3
"""A synthetic trace of the kind where a learned cache fails without a safety net: a
Zipf(0.9) working set of 20,000 keys interrupted by long sequential runs of block
numbers, as a storage array sees (about one run per 6,000 working-set requests, each
2,000-40,000 blocks; seven runs in ten read new blocks, three re-read a recent region).
One integer key a line (prescient-sim --format lines).

    python3 scripts/synth_scanmix.py SEED REQUESTS OUT
    python3 scripts/synth_scanmix.py 1 2000000 /tmp/scanmix.txt
    build/release/tools/sim/prescient-sim --trace /tmp/scanmix.txt --format lines \\
        --ignore-size --sizes 2000,8000,40000
"""
import bisect
import random
import sys


def zipf_sampler(n, s, rng):
    weights = [1 / (i + 1) ** s for i in range(n)]
    total, acc, cdf = sum(weights), 0.0, []
    for w in weights:
        acc += w / total
        cdf.append(acc)
    return lambda: min(bisect.bisect_left(cdf, rng.random()), n - 1)


def generate(seed, n, hot=20000, s=0.9, run_every=6000):
    rng = random.Random(seed)
    draw = zipf_sampler(hot, s, rng)
    perm = list(range(hot))
    rng.shuffle(perm)
    next_block, out = 10**7, []
    while len(out) < n:
        if rng.random() < 1 / run_every:
            length = rng.randint(2000, 40000)
            start = next_block if rng.random() < 0.7 else max(10**7, next_block - rng.randint(length, 4 * length))
            out.extend(range(start, start + length))
            next_block = max(next_block, start + length)
        else:
            out.append(perm[draw()])
    return out[:n]


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    keys = generate(int(sys.argv[1]), int(sys.argv[2]))
    with open(sys.argv[3], "w") as f:
        f.write("\n".join(map(str, keys)) + "\n")
