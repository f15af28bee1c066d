#!/bin/bash
# Run from the repo root on the GPU machine (device tool, `carry` [".carry", ".gpu-wheels"]); see docs/lab-notes.md.
# GPU call 3 (x4): evaluation of the trained model (export2) on held-out text, lengths spread over 4 GPUs
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/eval && E=.train/eval; M=.train/export2
test -f $M/config.json || { echo "no model on this machine"; exit 1; }
EL="timeout 400 python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --kinds single,multikey,multiquery,vartrack"
(CUDA_VISIBLE_DEVICES=0 $EL --lengths 4K,16K,64K --out $E/long-a.md > $E/a.out 2>&1) &
(CUDA_VISIBLE_DEVICES=1 $EL --lengths 256K --out $E/long-b.md > $E/b.out 2>&1) &
(CUDA_VISIBLE_DEVICES=2 $EL --lengths 1M --out $E/long-c.md > $E/c.out 2>&1) &
(CUDA_VISIBLE_DEVICES=3 timeout 200 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 100 --out $E/code.md > $E/code.out 2>&1;
 CUDA_VISIBLE_DEVICES=3 timeout 190 python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --kinds single --lengths 4M --out $E/long-d.md > $E/d.out 2>&1) &
wait
tail -5 $E/*.out; cat $E/*.md
tar czf $OUT/eval.tgz -C .train eval
