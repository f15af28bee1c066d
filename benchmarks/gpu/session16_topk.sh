#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 16). How much of the in-domain loss gap to the dense baseline is the number of
# chunks each HSA layer reads: resources/model with its own hsa_top_k (8) and copies of its folder with 16,
# 32 and 64 in config.json, side by side on the text without scope comments (GPU 0), and the copy with 32 on
# the 1M cells of seed 0 (GPU 1), to see what more chunks cost the retrieval tasks.
#   bash benchmarks/gpu/session16_topk.sh
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval .train/k; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > .train/logs/build.log 2>&1 &
[ -d .train/plain/heldout ] || python3 -m model.data.build --out .train/plain --limit-mb 300 --workers 16 --no-scope-comments > .train/logs/plain.log 2>&1 &
for k in 16 32 64; do
  rm -rf .train/k/k$k; cp -r resources/model .train/k/k$k
  sed -i "s/\"hsa_top_k\": [0-9]*/\"hsa_top_k\": $k/" .train/k/k$k/config.json
done
wait
echo "corpora $(( $(date +%s) - S )) s"
CUDA_VISIBLE_DEVICES=1 timeout 300 python3 -m benchmarks.eval_long --model .train/k/k32 --corpus .train/corpus --samples 50 \
  --kinds single,multiquery,vartrack --lengths 1M --out $E/k32-1M.md > $E/k32-1M.out 2>&1 &
CUDA_VISIBLE_DEVICES=0 timeout 400 python3 -m model.train_loss --models resources/model .train/k/k16 .train/k/k32 .train/k/k64 \
  --corpus .train/plain --seq-len 16384 --tokens 1000000 --out $E/loss-topk.md > $E/loss-topk.out 2>&1
wait
for f in $E/*.md; do echo "== $f"; grep "^| [smvr.]" $f; done
tail -n 4 $E/loss-topk.out
tar cf $OUT/evals.tar -C .train eval
echo "wall $(( $(date +%s) - S )) s"
