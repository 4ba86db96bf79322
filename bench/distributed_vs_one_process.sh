#!/bin/sh
# Interleaved rounds of `densenet-io bench` training: `mpirun -np 2` (one worker thread per rank)
# against one process using every core, both with float64 sums, and one process with its default
# (tensorflow) sums, for each batch size; prints the load average before each run
# (docs/distributed.md, "Measured here").
# Usage: bench/distributed_vs_one_process.sh [rounds] [batch sizes…]   (release build first:
# swift build -c release --product densenet-io)
set -eu
rounds=${1:-5}
[ $# -gt 0 ] && shift
batches=${*:-64 128}
binary=.build/release/densenet-io
common="--model densenet-mini --steps 20 --repeats 3 --dataset-size 4096 --load-model="
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for round in $(seq "$rounds"); do
    for batch in $batches; do
        echo "round $round batch $batch load $(cut -d' ' -f1-3 /proc/loadavg)"
        mpirun --oversubscribe -np 2 "$binary" bench $common "" --batch-size "$batch" --json 2>/dev/null | sed 's/^/  mpirun-np2 /'
        echo "  load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$binary" bench $common "" --batch-size "$batch" --sums float64 --json | sed 's/^/  one-process /'
        "$binary" bench $common "" --batch-size "$batch" --json | sed 's/^/  one-process-default /'
    done
done
