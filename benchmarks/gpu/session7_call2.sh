#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 7, GPU call 2 (one H200): resources/model = K (session7_call1.sh brings it back; not in git).
# L continues K with a third of its question rows asking passage questions (--passage-share 0.3: a sentence
# of a README, a license or a docstring, asked for by its words, found and copied; model/data/prose.py), so
# plain questions about prose (a contract) are answered with the clause. While L trains, K's code and passage
# questions and needles at 4K / 64K on the same GPU (K's passage score is the baseline L must beat).
S=$(date +%s); END=$((S+585))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+525)) --plan-minutes 6.9 --monitor-every 800 --monitor-samples 16 --warmup-steps 30 --seq-len 16384 --full-share 0 --task-share 0.3 --qa-share 0.6 --qa-per-row 16 --passage-share 0.3 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --seed 3 --out .train/L > $L/L.out 2>&1 &
TRAIN=$!
K=resources/model
timeout 200 python3 -m benchmarks.eval_code --model $K --corpus .train/corpus --questions 80 --max-package-tokens 300000 --out $E/codeK-80.md > $E/codeK-80.out 2>&1
timeout 200 python3 -m benchmarks.eval_code --model $K --corpus .train/corpus --kinds passage --questions 80 --max-package-tokens 300000 --out $E/passK-80.md > $E/passK-80.out 2>&1
timeout 80 python3 -m benchmarks.eval_long --model $K --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longK.md > $E/longK.out 2>&1
wait $TRAIN
cp .train/L/log.jsonl $L/L.jsonl
grep -c '"skipped"' $L/L.jsonl
grep -h '"monitor"' $L/L.jsonl | cut -c1-330 | tail -1
grep -h '"step"' $L/L.jsonl | tail -1 | cut -c1-330
for f in $E/*.md; do echo "== $f"; grep "^|" $f; done
tail -n 2 $E/*.out $L/L.out
tar cf - -C .train L/model logs/L.jsonl logs/L.out eval | split -b 15m - $OUT/l.tar.
ls -la $OUT
