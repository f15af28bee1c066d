#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 23). Two things side by side, one per GPU:
#   bash benchmarks/gpu/session23_grow.sh 1   # PA in resources/model of the tree (W6's plain-text parent)
#     GPU 0: the dense baseline retrained (session20_dense.sh 1, until CALL_S);
#     GPU 1: PA grown by two layers below the chunk encoder (model.widen --lower-layers 6: they start as the
#     identity), then Z2's stretch (same rows, seed, rate, answer weight 0.5; the new layers at ten times the
#     rate) and its evaluations (session9_stretch.sh: loss beside PA, code seeds 0-1, every cell's seed 0).
#   bash benchmarks/gpu/session23_grow.sh 2   # (warm) W6 in resources/model of the tree
#     GPU 0: the dense model to 3,846 steps, then the loss of dense, W6 and G1 side by side in one run;
#     GPU 1: G1's code seeds 2-4 and its 1M / 4M / 16M cells on seeds 1-4.
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p .train/logs .train/eval && E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
if [ "$1" = 1 ]; then
  CALL_S=$((${CALL_S:-530} - ($(date +%s) - S))) bash benchmarks/gpu/session20_dense.sh 1 > .train/logs/dense1.out 2>&1 &
  python3 -m model.widen --model resources/model --out .train/G0/model --lower-layers 6 --seed 23
  CUDA_VISIBLE_DEVICES=1 BUDGET=$((${CALL_S:-530} - ($(date +%s) - S))) PART=g NEG=batch TRAIN_ONLY= NAMESAKE=1.0 \
    WINDOW=2048 SHORTW=512 ANSW=0.5 INIT=.train/G0/model BASE=resources/model NLAY=10 LOWER=6 \
    LRSCALE='lower\.[45]\.=10' bash benchmarks/gpu/session9_stretch.sh G1 61 0.3 330 1e-4 0.45 0.45 $K 2
  wait
  cat .train/logs/dense1.out
else
  MODELS="resources/model .train/G1/model" bash benchmarks/gpu/session20_dense.sh 2 > .train/logs/dense2.out 2>&1 &
  export CUDA_VISIBLE_DEVICES=1; M=.train/G1/model
  left() { local s=$((S + ${END_S:-470} - $(date +%s))); echo $((s > 1 ? s : 1)); }
  for s in 2 3 4; do timeout $(left) python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 --seed $s --out $E/code-s${s}G1.md > $E/code-s${s}G1.out 2>&1 & done
  for s in 1 2 3 4; do
    timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --seed $s --kinds single --lengths 1M,4M,16M --out $E/far-s${s}G1.md > $E/far-s${s}G1.out 2>&1 &
    timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --seed $s --kinds multikey,multiquery,vartrack --lengths 1M --out $E/multi1M-s${s}G1.md > $E/multi1M-s${s}G1.out 2>&1 &
  done
  wait
  cat .train/logs/dense2.out
  for f in $E/*-s[1-4]G1.md; do echo "== $f"; grep "^| [smvd]" $f; done
  tar cf $OUT/g1evals.tar -C .train eval
fi
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
