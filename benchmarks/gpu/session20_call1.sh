#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 20, call 1). resources/model was DZ then (the 2,048-token window, session 19).
# GPU 0: the issue-4 encode benchmark at the shipped window, then at 512 (side by side), then PB.
# GPU 1: PA. Both from DZ, every weight at 5e-4 (cosine to a tenth), the window layers reading 512 on half
# the steps, until TRAIN_S seconds into the call:
#   PA: plain text only (the longer plain phase session 19 asked for; AY's ran 410 steps);
#   PB: plain text with a fifth of the rows its task and question rows (the session-9 recipe's supervision),
#       so that retrieval is not unlearnt while the window is.
# Then the held-out loss of DZ, PA and PB side by side (16K rows, 1M tokens) and definition lookup and the
# 1M multi-needle cells of each (seed 0). The model with the lower loss comes back (15M pieces); both stay
# in .train/ while the machine is warm.
#   bash benchmarks/gpu/session20_call1.sh
S=$(date +%s); TRAIN_S=${TRAIN_S:-440}; END_S=${END_S:-560}
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > $L/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
. benchmarks/gpu/stretch_lib.sh  # stretch, lowest_loss
(
  export CUDA_VISIBLE_DEVICES=0
  python3 benchmarks/encode.py --skip-cpu > $L/encode2048.out 2>&1; cp docs/benchmarks.md $L/bench2048.md
  python3 benchmarks/encode.py --skip-cpu --window 512 > $L/encode512.out 2>&1; cp docs/benchmarks.md $L/bench512.md
  echo "encode $(( $(date +%s) - S )) s"; grep -h "NVIDIA H200" $L/encode*.out
  stretch PB 51 0.1 0.1 2 1 2
) &
CUDA_VISIBLE_DEVICES=1 stretch PA 50 0 0 2 1 2 &
wait
left() { local s=$((S + END_S - $(date +%s))); echo $((s > 1 ? s : 1)); }
ec() { timeout $(left) python3 -m benchmarks.eval_code --model .train/$1/model --corpus .train/corpus --questions 80 --max-package-tokens 300000 --out $E/code$1.md > $E/code$1.out 2>&1; }
el() { timeout $(left) python3 -m benchmarks.eval_long --model .train/$1/model --corpus .train/corpus --samples 50 --kinds single,multiquery,vartrack --lengths 1M --out $E/multi1M$1.md > $E/multi1M$1.out 2>&1; }
CUDA_VISIBLE_DEVICES=0 timeout $(left) python3 -m model.train_loss --models resources/model .train/PA/model .train/PB/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $E/lossP.md > $E/lossP.out 2>&1 &
CUDA_VISIBLE_DEVICES=0 ec PA & CUDA_VISIBLE_DEVICES=1 ec PB &
CUDA_VISIBLE_DEVICES=1 el PA & CUDA_VISIBLE_DEVICES=1 el PB &
wait
for f in $E/*P[AB].md $E/lossP.md; do echo "== $f"; grep "^|" $f; done
tail -n 12 $E/lossP.out
PICK=$(lowest_loss .train/eval/lossP.md PA PB); PICK=${PICK:-PA}  # the lower held-out loss comes back
echo "back: $PICK"
tar cf - -C .train $PICK/model | split -b 15m - $OUT/model.tar.
tar cf $OUT/logs.tar -C .train eval logs
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
