#!/usr/bin/env python3
"""Writes a trace of big-endian int32 keys (cache2k's format, xz or plain) as libCacheSim's
oracleGeneral records: 24 bytes each, little-endian — uint32 time, uint64 key, uint32
size (1), int64 virtual time of the key's next request (requests counted from 1; -1: never) — optionally cut to the
first LIMIT requests and repeated REPEAT times (the repeats continue the time and the
next-request positions, so the same keys come back).

    python3 scripts/to_oracle_general.py data/traces/cache2k-orm-busy.trace.xz \\
        /tmp/orm-5M.oracleGeneral.bin [LIMIT] [REPEAT]
"""
import lzma
import struct
import sys
from array import array


def read_keys(path, limit):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rb") as f:
        data = f.read(4 * limit if limit else -1)
    if len(data) % 4:
        sys.exit(f"{path}: {len(data)} bytes is not a whole number of 4-byte keys")
    keys = array("i", data)
    if sys.byteorder == "little":
        keys.byteswap()
    return keys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    keys = list(read_keys(src, limit)) * repeat
    nxt = [-1] * len(keys)
    last = {}
    for i in range(len(keys) - 1, -1, -1):  # backwards: each key's next request
        nxt[i] = last.get(keys[i], -1)
        last[keys[i]] = i + 1  # request i has virtual time i + 1
    record = struct.Struct("<IQIq")
    with open(out, "wb") as f:
        for i, k in enumerate(keys):
            f.write(record.pack(i & 0xFFFFFFFF, k & 0xFFFFFFFFFFFFFFFF, 1, nxt[i]))


if __name__ == "__main__":
    main()
