#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 12). After one corpus build:
# - GPU 0: a stretch from the model in resources/model (session9_stretch.sh with its whole evaluation table);
# - GPU 1: that start model's evaluation table alone (ZAc: ZA with its landmark centre, model/calibrate.py),
#   then the dense baseline from scratch (`--variant dense`, the same data stream, curriculum and number of steps
#   as hsa-mini's pre-training: 3,846 steps of 131,072 tokens, 4K -> 8K -> 16K), saved at the deadline;
#   session12_call2.sh, on the still warm machine, finishes it and measures the losses side by side.
#   bash benchmarks/gpu/session12_call1.sh "NAME ARGS..." "ENV"
S=$(date +%s)
mkdir -p .train/logs .train/eval
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
LEFT=$((570 - ($(date +%s) - S)))
env CUDA_VISIBLE_DEVICES=0 BUDGET=$LEFT PART=a $2 bash benchmarks/gpu/session9_stretch.sh $1 > .train/logs/pair-a.out 2>&1 &
export CUDA_VISIBLE_DEVICES=1
BUDGET=150 bash benchmarks/gpu/session9_stretch.sh ZAc 0 0.3 0 > .train/logs/ZAc-evals.out 2>&1
echo "ZAc evaluated $(( $(date +%s) - S )) s"
python3 -m model.train --corpus .train/corpus --out .train/dense --variant dense --plan-steps 3846 --max-steps 3846 \
  --monitor-every 0 --seed 0 --until $((S + 575)) > .train/logs/dense.out 2>&1
echo "dense stopped $(( $(date +%s) - S )) s"; grep -h '"step"' .train/dense/log.jsonl | tail -1
wait
cat .train/logs/pair-a.out .train/logs/ZAc-evals.out; tail -n 2 .train/logs/dense.out
cp .train/dense/log.jsonl .train/logs/dense.jsonl 2>/dev/null; tar cf $OUT/evals.tar -C .train eval logs
ls -la $OUT
echo "wall $(( $(date +%s) - S )) s"
