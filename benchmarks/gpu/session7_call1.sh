#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 7, GPU call 1 (one H200): resources/model = J (shipped in session 6).
# K continues J with stage 5's recipe (16K project rows, 16 questions each) on rows not seen yet (--seed 2),
# now with no skipped steps (chunk_weights mended); a longer stretch than H's and J's (7.6-minute plan).
# While K trains: J's variable tracking and multi-query at 4K with n = 50 (is session 6's drop real?).
S=$(date +%s); END=$((S+585))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+540)) --plan-minutes 7.6 --monitor-every 800 --monitor-samples 16 --warmup-steps 30 --seq-len 16384 --full-share 0 --task-share 0.3 --qa-share 0.6 --qa-per-row 16 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --seed 2 --out .train/K > $L/K.out 2>&1 &
TRAIN=$!
timeout 120 python3 -m benchmarks.eval_long --model resources/model --corpus .train/corpus --samples 50 --kinds vartrack,multiquery --lengths 4K --out $E/longJ-4K-50.md > $E/longJ-4K-50.out 2>&1
wait $TRAIN
cp .train/K/log.jsonl $L/K.jsonl
grep -c '"skipped"' $L/K.jsonl
grep -h '"monitor"' $L/K.jsonl | cut -c1-330 | tail -2
grep -h '"step"' $L/K.jsonl | tail -1 | cut -c1-330
for f in $E/*.md; do echo "== $f"; grep "^|" $f; done
tail -2 $E/*.out $L/K.out
tar cf - -C .train K/model logs/K.jsonl logs/K.out eval | split -b 15m - $OUT/k.tar.
ls -la $OUT
