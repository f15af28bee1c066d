#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 6, GPU call 2 (one H200): resources/model = H (session6_call1.sh brings it back; not in git).
# J continues H with the same recipe on other rows (--seed 1; a continuation with seed 0 repeated H's rows and
# its weights became NaN at step ~365: the trainer now skips a step whose gradient is not finite). While J
# trains, H's long-context cells are measured on the same GPU; then J's code QA and needles.
S=$(date +%s); END=$((S+565))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+345)) --plan-minutes 4.6 --monitor-every 500 --monitor-samples 16 --warmup-steps 30 --seq-len 16384 --full-share 0 --task-share 0.3 --qa-share 0.6 --qa-per-row 16 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --seed 1 --out .train/J > $L/J.out 2>&1 &
TRAIN=$!
H=resources/model
timeout 90 python3 -m benchmarks.eval_long --model $H --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 16K --out $E/longH-16K.md > $E/longH-16K.out 2>&1
timeout 150 python3 -m benchmarks.eval_long --model $H --corpus .train/corpus --samples 20 --kinds single --lengths 256K,4M --out $E/longH-big.md > $E/longH-big.out 2>&1
timeout 120 python3 -m benchmarks.eval_long --model $H --corpus .train/corpus --samples 50 --kinds single --lengths 1M,16M --out $E/longH-50.md > $E/longH-50.out 2>&1
wait $TRAIN
cp .train/J/log.jsonl $L/J.jsonl
grep -c '"skipped"' $L/J.jsonl
timeout 75 python3 -m benchmarks.eval_code --model .train/J/model --corpus .train/corpus --questions 30 --max-package-tokens 300000 --out $E/codeJ.md > $E/codeJ.out 2>&1
timeout 60 python3 -m benchmarks.eval_long --model .train/J/model --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longJ.md > $E/longJ.out 2>&1
R=$((END-15-$(date +%s)))
timeout $R python3 -m benchmarks.eval_long --model $H --corpus .train/corpus --samples 20 --kinds multiquery,vartrack --lengths 1M --out $E/longH-1M.md > $E/longH-1M.out 2>&1
grep -h '"step"' $L/J.jsonl | tail -1 | cut -c1-330
for f in $E/*.md; do echo "== $f"; grep "^|" $f; done
tail -2 $E/*.out $L/J.out
tar cf - -C .train J/model logs/J.jsonl logs/J.out eval | split -b 15m - $OUT/j.tar.
ls -la $OUT
