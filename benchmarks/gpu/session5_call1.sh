#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 5, GPU call 1 (one H200): resources/model = D (shipped in session 4). E continues D with retrieval
# targets per answer token (each value of a multi-part answer points at its own needle; Row.retrieval_targets),
# copy targets for code answers, and "where" answers without line numbers; then E's loss and evaluation.
S=$(date +%s); END=$((S+565))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+370)) --plan-minutes 5.0 --monitor-every 200 --monitor-samples 16 --warmup-steps 30 --seq-len 1024,2048,4096 --full-share 0.04 --task-share 0.5 --qa-share 0.35 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --out .train/E > $L/E.out 2>&1
cp .train/E/log.jsonl $L/E.jsonl
timeout 40 python3 -m model.train_loss --models .train/E/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/lossE.md > $L/lossE.out 2>&1
R=$((END-15-$(date +%s)))
timeout $((R/2)) python3 -m benchmarks.eval_long --model .train/E/model --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longE.md > $E/longE.out 2>&1
R=$((END-15-$(date +%s)))
timeout $R python3 -m benchmarks.eval_code --model .train/E/model --corpus .train/corpus --questions 20 --max-package-tokens 300000 --out $E/codeE.md > $E/codeE.out 2>&1
grep -h '"monitor"' $L/E.jsonl | cut -c1-330 | tail -4
tail -2 $L/E.out; tail -1 $L/lossE.md; cat $E/longE.md $E/codeE.md 2>/dev/null | grep "^|"
tail -3 $E/longE.out $E/codeE.out
tar cf - -C .train E/model logs/E.jsonl logs/E.out logs/lossE.md eval/longE.md eval/codeE.md eval/longE.out eval/codeE.out | split -b 15m - $OUT/e.tar.
ls -la $OUT
