#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 24). LSE fusion (model.widen --lse-fusion: the chunks fused by softmax(score +
# beta * in-chunk log-sum-exp), beta 0 at the start) grown into PA, then Z2's stretch exactly (seed 61, the
# same rows, answer weight 0.5), two arms side by side (session11_pair.sh) that differ in beta's learning
# rate (BETA_A, BETA_B times the stretch's), each with its table (loss beside PA, code seeds 0-1, needles):
#   bash benchmarks/gpu/session24_fusion.sh   # PA in resources/model of the tree
#   [A=NAME] bash benchmarks/gpu/session24_fusion.sh one   # (nvidia-h200) arm A (default F1) alone, its loss
#   and code seeds 0-1, after the LSE fusion's gpu test.
# The betas of the models are printed at the end (F1 was built with one beta per KV head and the log-sum-exp
# in PyTorch; F3 on, one beta per query head and the log-sum-exp from the kernels).
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
python3 -m model.widen --model resources/model --out .train/F0/model --lse-fusion
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
C="NEG=batch TRAIN_ONLY= NAMESAKE=1.0 WINDOW=2048 SHORTW=512 ANSW=0.5 INIT=.train/F0/model BASE=resources/model LSEF=1"
if [ "$1" = one ]; then
  python3 -m pytest -q -m gpu tests/kernels/test_lse_fusion.py 2>&1 | tail -n 3
  env $C CODE_ONLY=1 LRSCALE=fusion_beta=${BETA_A:-100} BUDGET=$((${CALL_S:-520} - ($(date +%s) - S))) PART=a \
    bash benchmarks/gpu/session9_stretch.sh ${A:-F1} 61 0.3 330 1e-4 0.45 0.45 $K 2
else
  PAIR_S=$((${CALL_S:-520} - ($(date +%s) - S))) bash benchmarks/gpu/session11_pair.sh \
    "F1 61 0.3 330 1e-4 0.45 0.45 $K 2" "F2 61 0.3 330 1e-4 0.45 0.45 $K 2" \
    "$C LRSCALE=fusion_beta=${BETA_A:-100}" "$C LRSCALE=fusion_beta=${BETA_B:-20}"
fi
for n in F1 F2 F3; do
  [ -d .train/$n/model ] || continue
  python3 -c "import sys; from model import checkpoint; m, _ = checkpoint.load(sys.argv[1]); print(sys.argv[1], 'betas', [[round(float(b), 3) for b in l.fusion_beta] for l in m.upper if getattr(l, 'fusion_beta', None) is not None])" .train/$n/model
  grep -h '"step"' .train/logs/$n.jsonl | tail -1 | cut -c1-200
done
echo "wall $(( $(date +%s) - S )) s"
