#!/bin/bash
# Sourced by seeds_call.sh and session15_seeds.sh (device machine, repo root): builds the corpus unless the
# machine has it, then defines `el` (eval_long of resources/model, n = 50 per cell, at most EVAL_S seconds) and
# `far_cells SEED...` (per seed, in the background on GPU 0: the single needle at 1M, 4M and 16M and the
# multi-needle kinds at 1M; tables in .train/eval/{far,farthest,multi1M}-sSEED.md).
export PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
el() { timeout ${EVAL_S:-300} python3 -m benchmarks.eval_long --model resources/model --corpus .train/corpus --samples 50 "$@"; }
far_cells() {
  for seed in "$@"; do
    CUDA_VISIBLE_DEVICES=0 el --seed $seed --kinds single --lengths 1M,4M --out $E/far-s$seed.md > $E/far-s$seed.out 2>&1 &
    CUDA_VISIBLE_DEVICES=0 el --seed $seed --kinds single --lengths 16M --out $E/farthest-s$seed.md > $E/farthest-s$seed.out 2>&1 &
    CUDA_VISIBLE_DEVICES=0 el --seed $seed --kinds multikey,multiquery,vartrack --lengths 1M --out $E/multi1M-s$seed.md > $E/multi1M-s$seed.out 2>&1 &
  done
}
