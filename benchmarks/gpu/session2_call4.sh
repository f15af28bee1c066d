#!/bin/bash
# Run from the repo root on the GPU machine (device tool, `carry` [".carry", ".gpu-wheels"]); see docs/lab-notes.md.
# GPU call 4 (x2): SwiGLU vs MoE feed-forward at equal steps and parameters (after the bf16-autocast MoE fix)
S=$(date +%s); export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs4 && L=.train/logs4
python3 -m model.data.build --out .train/corpus --limit-mb 100 --workers 32 > $L/build.log 2>&1 || { tail $L/build.log; exit 1; }
echo "corpus in $(( $(date +%s) - S )) s"
T="python3 -m model.train --corpus .train/corpus --seq-len 4096 --plan-steps 250 --max-steps 250 --monitor-every 0 --until $((S+200))"
CUDA_VISIBLE_DEVICES=0 $T --out .train/cmp-hsa --variant hsa > $L/cmp-hsa.out 2>&1 &
CUDA_VISIBLE_DEVICES=1 $T --out .train/cmp-moe --variant moe > $L/cmp-moe.out 2>&1 &
wait
M=""; for v in hsa moe; do test -f .train/cmp-$v/model/config.json && M="$M .train/cmp-$v/model"; done
CUDA_VISIBLE_DEVICES=0 timeout 40 python3 -m model.train_loss --models $M --corpus .train/corpus --seq-len 4096 --tokens 1000000 --out $L/cmp-loss.md > $L/loss.out 2>&1
for v in hsa moe; do cp .train/cmp-$v/log.jsonl $L/cmp-$v.jsonl; done
tail -n 2 $L/*.out; cat $L/cmp-loss.md
tar czf $OUT/logs4.tgz -C .train logs4
