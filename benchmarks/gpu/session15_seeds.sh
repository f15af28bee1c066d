#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 15). resources/model's cells on more seeds, its code questions on more seeds, and
# its held-out loss on the files' text alone (no scope comments: the text every loss before session 15 was
# measured on, the dense baseline's included):
#   FAR="1 2" CODE="2" [CODE_ARGS=--weights] bash benchmarks/gpu/session15_seeds.sh
# GPU 0: for each seed in FAR, the single needle at 1M, 4M and 16M and the multi-needle kinds at 1M. GPU 1: for
# each seed in CODE, benchmarks/eval_code.py (definition lookup, description to function); the loss.
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false EVAL_S=${EVAL_S:-400}
source benchmarks/gpu/far_cells.sh
python3 -m model.data.build --out .train/plain --limit-mb 300 --workers 32 --no-scope-comments > .train/logs/plain.log 2>&1 &
echo "corpus $(( $(date +%s) - S )) s"
far_cells $FAR
for seed in $CODE; do
  CUDA_VISIBLE_DEVICES=1 timeout 400 python3 -m benchmarks.eval_code --model resources/model --corpus .train/corpus \
    --questions 80 --max-package-tokens 300000 --seed $seed $CODE_ARGS --out $E/code-s$seed.md > $E/code-s$seed.out 2>&1 &
done
wait  # the plain corpus too
CUDA_VISIBLE_DEVICES=1 timeout 200 python3 -m model.train_loss --models resources/model --corpus .train/plain \
  --seq-len 16384 --tokens 1000000 --out $E/loss-plain.md > $E/loss-plain.out 2>&1
for f in $E/*.md; do echo "== $f"; grep "^| [smvdr.]" $f; done
tail -n 3 .train/logs/plain.log
tar cf $OUT/evals.tar -C .train eval
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
