#!/bin/bash
# Run from the repo root on the GPU machine (device tool, `carry` [".carry", ".gpu-wheels"]); see docs/lab-notes.md.
# GPU call 1 (x4): corpus; main HSA run (GPU0) and dense baseline (GPU1), both planned over 16 training
# minutes in two stretches; short equal-step comparison at 4K: MoE (GPU2) vs SwiGLU HSA (GPU3), then dense.
S=$(date +%s); END=$((S+560))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs
nvidia-smi --query-gpu=index,name,memory.total --format=csv > .train/logs/gpu.txt
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > .train/logs/build.log 2>&1 || { tail -30 .train/logs/build.log; exit 1; }
echo "corpus built in $(( $(date +%s) - S )) s"; tail -5 .train/logs/build.log
T="python3 -m model.train --corpus .train/corpus"
CUDA_VISIBLE_DEVICES=0 $T --out .train/run --plan-minutes 16 --until $END --export .train/export > .train/logs/main.out 2>&1 &
CUDA_VISIBLE_DEVICES=1 $T --out .train/dense --variant dense --plan-minutes 16 --until $END --export .train/dense-export > .train/logs/dense.out 2>&1 &
C="--seq-len 4096 --plan-steps 400 --max-steps 400 --monitor-every 0"
(CUDA_VISIBLE_DEVICES=2 $T --out .train/cmp-moe --variant moe $C --until $((END-75)) > .train/logs/cmp-moe.out 2>&1) &
(CUDA_VISIBLE_DEVICES=3 $T --out .train/cmp-hsa --variant hsa $C --until $((END-75)) > .train/logs/cmp-hsa.out 2>&1;
 CUDA_VISIBLE_DEVICES=3 $T --out .train/cmp-dense --variant dense $C --until $((END-75)) > .train/logs/cmp-dense.out 2>&1) &
sleep 60; tail -3 .train/logs/*.out
wait
M=""; for v in hsa moe dense; do test -f .train/cmp-$v/model/config.json && M="$M .train/cmp-$v/model"; done
test -n "$M" && CUDA_VISIBLE_DEVICES=2 timeout 60 python3 -m model.train_loss --models $M --corpus .train/corpus --seq-len 4096 --tokens 1000000 --out .train/logs/cmp-loss.md > .train/logs/cmp-loss.out 2>&1
for d in run dense cmp-moe cmp-hsa cmp-dense; do cp .train/$d/log.jsonl .train/logs/$d.jsonl 2>/dev/null; done
cp .train/corpus/split.json .train/logs/ 2>/dev/null
tail -4 .train/logs/*.out; cat .train/logs/cmp-loss.md 2>/dev/null
tar cf - -C .train export dense-export logs | split -b 15m - $OUT/bundle.tar.
ls -la $OUT
