#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 7, GPU call 4 (the warm H200 of call 3; resources/model = L): M continues L with the same recipe
# (--passage-share 0.3) on other rows (--seed 4): L's passage score rose 4% -> 19% in one stretch; then M's
# passage and code questions and needles at 4K / 64K.
S=$(date +%s); END=$((S+495))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+345)) --plan-minutes 5.2 --monitor-every 800 --monitor-samples 16 --warmup-steps 30 --seq-len 16384 --full-share 0 --task-share 0.3 --qa-share 0.6 --qa-per-row 16 --passage-share 0.3 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --seed 4 --out .train/M > $L/M.out 2>&1
cp .train/M/log.jsonl $L/M.jsonl
M=.train/M/model
timeout 110 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --kinds passage --questions 80 --max-package-tokens 300000 --out $E/passM-80.md > $E/passM-80.out 2>&1 &
timeout 110 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 --out $E/codeM-80.md > $E/codeM-80.out 2>&1 &
timeout 80 python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longM.md > $E/longM.out 2>&1
wait
grep -c '"skipped"' $L/M.jsonl
grep -h '"step"' $L/M.jsonl | tail -1 | cut -c1-330
for f in $E/*M*.md; do echo "== $f"; grep "^|" $f; done
tail -n 2 $E/*M*.out $L/M.out
tar cf - -C .train M/model logs/M.jsonl logs/M.out eval | split -b 15m - $OUT/m.tar.
ls -la $OUT
