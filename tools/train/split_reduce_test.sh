#!/bin/sh
# The map and the reduce through prescient-train's command line (ctest
# prescient_train.split_reduce): the trace split into N partitions (--split-to), each
# partition's rows extracted from its request records (--format partition, from a file
# and from a pipe), pooled, are the rows a single run builds with --partitions N, as a
# multiset of row records (24 + 4 × features bytes, the count read from the run's
# summary line); that single run writes them in time order.
#   split_reduce_test.sh PRESCIENT_TRAIN TRACE FORMAT SIZE PARTITIONS WORKDIR
set -eu
train=$1 trace=$2 format=$3 size=$4 n=$5 dir=$6
rm -rf "$dir" && mkdir -p "$dir"
"$train" --trace "$trace" --format "$format" --partitions "$n" --split-to "$dir/map"
# A record's bytes (tools/train/records.hpp), from the features a run reports.
features=$("$train" --trace "$trace" --format "$format" --size "$size" --folds 0 --limit 1000 2>&1 |
  sed -nE 's/.* rows x ([0-9]+) features .*/\1/p' | head -n 1)
[ -n "$features" ] || { echo "split_reduce: no 'rows x N features' line from $train" >&2; exit 1; }
width=$((24 + 4 * features))
# One record per line, as hex text (od), for sort and comm.
records() { od -An -v -tx1 -w"$width" "$1" | tr -d ' '; }
total=0
p=0
while [ "$p" -lt "$n" ]; do
  part=$(printf '%s/map/part-%05d.req' "$dir" "$p")
  total=$((total + $(stat -c %s "$part") / 24))
  "$train" --trace "$part" --format partition --partitions "$n" --partition "$p" --size "$size" --folds 0 \
    --rows-out "$dir/rows-$p.bin"
  # The same partition through a pipe (--trace -, --rows-out -): the same bytes.
  cat "$part" | "$train" --trace - --format partition --partitions "$n" --partition "$p" --size "$size" --folds 0 \
    --rows-out - > "$dir/piped-$p.bin" 2> "$dir/piped-$p.log"
  cmp "$dir/rows-$p.bin" "$dir/piped-$p.bin"
  # And from the trace itself, skipping the other partitions' requests: the same bytes.
  "$train" --trace "$trace" --format "$format" --partitions "$n" --partition "$p" --size "$size" --folds 0 \
    --rows-out "$dir/direct-$p.bin" > /dev/null
  cmp "$dir/rows-$p.bin" "$dir/direct-$p.bin"
  records "$dir/rows-$p.bin" >> "$dir/pooled.txt"
  p=$((p + 1))
done
"$train" --trace "$trace" --format "$format" --partitions "$n" --size "$size" --folds 0 --rows-out "$dir/single.bin"
records "$dir/single.bin" > "$dir/single.txt"
# Time order in the single run: the first 8 bytes (time, little-endian), then the kind.
od -An -v -tu8 -w"$width" "$dir/single.bin" | awk '{ print $1 }' > "$dir/times.txt"
sort -n -c "$dir/times.txt"
sort "$dir/pooled.txt" > "$dir/pooled.sorted"
sort "$dir/single.txt" > "$dir/single.sorted"
cmp "$dir/pooled.sorted" "$dir/single.sorted"
rows=$(wc -l < "$dir/single.txt")
[ "$rows" -gt 0 ]
echo "split_reduce: $total requests in $n partitions -> $rows rows, pooled = single run"
rm -rf "$dir"
