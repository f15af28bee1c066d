#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 14). More samples of resources/model's cells, then the `gpu` tests and the encode
# benchmark at this tree:
#   FAR="3 4" NEAR="1 2 3 4" MULTI="1 2" bash benchmarks/gpu/seeds_call.sh
# GPU 0: for each seed in FAR, the single needle at 1M, 4M and 16M and multi-key, multi-query and variable
# tracking at 1M. GPU 1: for each seed in NEAR, the single needle at 4K-256K; for each in MULTI, the multi-needle
# kinds at 4K and 64K; beside them `pytest tests/kernels tests/model -m gpu`, then benchmarks/encode.py
# --skip-cpu alone on it. Tables come back in evals.tar, the encode section in benchmarks.md.
S=$(date +%s)
source benchmarks/gpu/far_cells.sh
echo "corpus $(( $(date +%s) - S )) s"
far_cells $FAR
(
  export CUDA_VISIBLE_DEVICES=1
  for seed in $NEAR; do
    el --seed $seed --kinds single --lengths 4K,16K,64K,256K --out $E/near-s$seed.md > $E/near-s$seed.out 2>&1 &
  done
  for seed in $MULTI; do
    el --seed $seed --kinds multikey,multiquery,vartrack --lengths 4K,64K --out $E/multi-s$seed.md > $E/multi-s$seed.out 2>&1 &
  done
  # test_embedded_model.py imports app.core, whose sqlite_utils the GPU machine lacks (it has no gpu tests)
  timeout 300 python3 -m pytest tests/kernels tests/model -m gpu -q -p no:cacheprovider \
    --ignore tests/model/test_embedded_model.py > $E/gpu-tests.out 2>&1 &
  wait
  cp docs/benchmarks.md $OUT/benchmarks.md
  timeout 150 python3 benchmarks/encode.py --skip-cpu --out $OUT/benchmarks.md > $E/encode.out 2>&1
) &
wait
for f in $E/*.md; do echo "== $f"; grep "^| [smv]" $f; done
tail -n 3 $E/gpu-tests.out; tail -n 6 $E/encode.out
tar cf $OUT/evals.tar -C .train eval
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
