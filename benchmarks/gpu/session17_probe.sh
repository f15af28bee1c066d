#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in
# docs/lab-notes.md (session 17, call 4): benchmarks/retrieval_probe.py on resources/model.
S=$(date +%s)
mkdir -p .train/logs
python3 -m model.data.build --out .train/corpus --limit-mb 100 --workers 16 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
python3 -m benchmarks.retrieval_probe --model resources/model --corpus .train/corpus --train-rows ${TRAIN_ROWS:-240} \
  --eval-rows ${EVAL_ROWS:-60} --epochs 6 --out $OUT/probe.md
echo "wall $(( $(date +%s) - S )) s"
