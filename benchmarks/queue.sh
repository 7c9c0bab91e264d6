#!/usr/bin/env bash
# The project's long measurements, one sweep after another, shortest question first: MinAtar and
# Atari 100k (about 8 hours here), the rest of the 100k MuJoCo suite (mujoco-100k.yaml: DiffWPO,
# about 3-4 hours a trial, and WPO; about 11 hours), then CrossQ's critic with the flow and the
# diffusion chain (mujoco-100k-pairings.yaml, about 17 hours). Each sweep resumes its interrupted trials and skips what is finished or kept, so after
# any stop (a killed job, a new machine) the script is started again as it was:
#   nohup bash benchmarks/queue.sh >> runs/queue.log 2>&1 &
# RLAI_RUNS (default: runs) holds the sweeps' folders; finished trials are copied, without their
# checkpoints, to benchmarks/results/ (to commit). Two trials at a time, one thread each.
set -u
runs=${RLAI_RUNS:-runs}
sweep() {  # spec, sweep folder, kept folder: a failed trial is reported and the queue goes on
    echo "== $(date -u '+%F %T') rlai sweep $1"
    rlai sweep "$1" --out "$runs/$2" --keep "$3" --max-concurrent 2 || echo "== $1 ended with exit code $?"
}
sweep benchmarks/minatar.yaml sweep-minatar benchmarks/results/minatar
sweep benchmarks/atari-100k.yaml sweep-atari-100k benchmarks/results/atari-100k
sweep benchmarks/mujoco-100k.yaml sweep-mujoco-100k benchmarks/results/mujoco-100k
sweep benchmarks/mujoco-100k-pairings.yaml sweep-mujoco-100k-pairings benchmarks/results/mujoco-100k
echo "== $(date -u '+%F %T') queue finished"
