#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 4, GPU call 4 (one H200): resources/model was then run C of call 3 (session4_call3.sh brings it back;
# not in git). A short
# continuation D with every task kind and more code questions at 1K-4K, then D's loss and evaluation.
S=$(date +%s); END=$((S+470))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+295)) --plan-minutes 3.9 --monitor-every 100 --monitor-samples 16 --warmup-steps 30 --seq-len 1024,2048,4096 --full-share 0.05 --task-share 0.55 --qa-share 0.25 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --out .train/D > $L/D.out 2>&1
cp .train/D/log.jsonl $L/D.jsonl
timeout 40 python3 -m model.train_loss --models .train/D/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/lossD.md > $L/lossD.out 2>&1
R=$((END-15-$(date +%s)))
timeout $((R*3/5)) python3 -m benchmarks.eval_long --model .train/D/model --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longD.md > $E/longD.out 2>&1
R=$((END-15-$(date +%s)))
timeout $R python3 -m benchmarks.eval_code --model .train/D/model --corpus .train/corpus --questions 10 --max-package-tokens 300000 --out $E/codeD.md > $E/codeD.out 2>&1
grep -h '"monitor"' $L/D.jsonl | cut -c1-330 | tail -4
cat $L/lossD.md | tail -1; cat $E/longD.md $E/codeD.md 2>/dev/null | grep "^|"
tar cf - -C .train D/model logs/D.jsonl logs/lossD.md eval/longD.md eval/codeD.md | split -b 15m - $OUT/d.tar.
ls -la $OUT
