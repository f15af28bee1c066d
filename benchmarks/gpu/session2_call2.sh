#!/bin/bash
# Run from the repo root on the GPU machine (device tool, `carry` [".carry", ".gpu-wheels"]); see docs/lab-notes.md.
# GPU call 2 (x4): main run's second stretch (GPU0), dense baseline's (GPU1), ask latency (GPU2), GPU tests (GPU3)
S=$(date +%s); END=$((S+560))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs2 && L=.train/logs2
echo "warm: $(test -d .train/run/state && echo yes || echo no)"
test -f .train/corpus/split.json || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu-wheels/*.whl > $L/pip.log 2>&1
T="python3 -m model.train --corpus .train/corpus"
CUDA_VISIBLE_DEVICES=0 $T --out .train/run --plan-minutes 16 --resume .train/run .carry/model   --until $((END-50)) --export .train/export2 > $L/main.out 2>&1 &
(test -d .train/dense/state && CUDA_VISIBLE_DEVICES=1 $T --out .train/dense --variant dense --plan-minutes 16 --resume .train/dense --until $((END-50)) --export .train/dense-export2 > $L/dense.out 2>&1) &
(CUDA_VISIBLE_DEVICES=2 PYTHONPATH=/tmp/site timeout 480 python3 benchmarks/ask.py --sizes 100K,1M,4M,16M --device cuda --out $L/ask-h200.md > $L/ask.out 2>&1) &
(CUDA_VISIBLE_DEVICES=3 PYTHONPATH=/tmp/site:. timeout 420 python3 -m pytest tests/kernels tests/model -m gpu -q -p no:cacheprovider -x > $L/gpu-tests.out 2>&1) &
wait
M=.train/export2; test -f .train/dense-export2/config.json && M="$M .train/dense-export2"
CUDA_VISIBLE_DEVICES=1 timeout 40 python3 -m model.train_loss --models $M --corpus .train/corpus --seq-len 16384 --tokens 2000000 --out $L/loss.md > $L/loss.out 2>&1
for d in run dense; do cp .train/$d/log.jsonl $L/$d.jsonl 2>/dev/null; done
tail -3 $L/*.out; cat $L/loss.md $L/ask-h200.md 2>/dev/null
tar cf - -C .train export2 logs2 | split -b 15m - $OUT/bundle.tar.
ls -la $OUT
