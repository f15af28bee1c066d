#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 6, GPU call 1 (one H200): resources/model = G (shipped at the start of session 6).
# H continues G on 16K rows where a code-question row is a package read once and asked up to 16 things
# (--qa-per-row 16: several question documents at the end, each about a file >= 2K tokens before them), so
# the definition's chunk is chosen among ~250 chunks of its own package, as in a project; then H's loss,
# code QA and needles at 4K / 64K.
S=$(date +%s); END=$((S+570))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+340)) --plan-minutes 4.7 --monitor-every 400 --monitor-samples 16 --warmup-steps 30 --seq-len 16384 --full-share 0 --task-share 0.3 --qa-share 0.6 --qa-per-row 16 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --out .train/H > $L/H.out 2>&1
cp .train/H/log.jsonl $L/H.jsonl
timeout 35 python3 -m model.train_loss --models .train/H/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/lossH.md > $L/lossH.out 2>&1
timeout 75 python3 -m benchmarks.eval_code --model .train/H/model --corpus .train/corpus --questions 30 --max-package-tokens 300000 --out $E/codeH.md > $E/codeH.out 2>&1
R=$((END-15-$(date +%s)))
timeout $R python3 -m benchmarks.eval_long --model .train/H/model --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longH.md > $E/longH.out 2>&1
grep -h '"monitor"' $L/H.jsonl | cut -c1-330 | tail -1
grep -h '"step"' $L/H.jsonl | tail -1 | cut -c1-330
tail -1 $L/lossH.md; cat $E/codeH.md $E/longH*.md 2>/dev/null | grep "^|"
tail -2 $E/*.out $L/H.out
tar cf - -C .train H/model logs/H.jsonl logs/H.out logs/lossH.md eval | split -b 15m - $OUT/h.tar.
ls -la $OUT
