#!/usr/bin/env bash
# The project's long measurements, one sweep after another: MinAtar and Atari 100k (issue 43, run
# first because it was already under way; about 8 hours here), then, in the issues' order, CrossQ's critic with the flow and the
# diffusion chain (issue 39: mujoco-100k-pairings.yaml, about 17 hours), then the rest of the 100k
# MuJoCo suite (issue 45: mujoco-100k.yaml, DiffWPO, then WPO; about 11 hours). Each sweep resumes
# its interrupted trials and skips what is finished or kept, so after any stop (a killed job, a new
# machine) the script is started again as it was:
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
sweep benchmarks/mujoco-100k-pairings.yaml sweep-mujoco-100k-pairings benchmarks/results/mujoco-100k
sweep benchmarks/mujoco-100k.yaml sweep-mujoco-100k benchmarks/results/mujoco-100k
echo "== $(date -u '+%F %T') queue finished"
