#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 5, GPU call 2 (one H200): resources/model = E (session5_call1.sh brings it back; not in git).
# F continues E on code answers that a chunk can give: "where" answers are the signature line and summary
# (no path: the citation says where), and code-question rows are filled with their package's other files.
S=$(date +%s); END=$((S+540))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+360)) --plan-minutes 4.9 --monitor-every 250 --monitor-samples 16 --warmup-steps 30 --seq-len 1024,2048,4096 --full-share 0.04 --task-share 0.4 --qa-share 0.45 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --out .train/F > $L/F.out 2>&1
cp .train/F/log.jsonl $L/F.jsonl
timeout 40 python3 -m model.train_loss --models .train/F/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/lossF.md > $L/lossF.out 2>&1
R=$((END-15-$(date +%s)))
timeout $((R/2)) python3 -m benchmarks.eval_code --model .train/F/model --corpus .train/corpus --questions 30 --max-package-tokens 300000 --out $E/codeF.md > $E/codeF.out 2>&1
R=$((END-15-$(date +%s)))
timeout $R python3 -m benchmarks.eval_long --model .train/F/model --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longF.md > $E/longF.out 2>&1
grep -h '"monitor"' $L/F.jsonl | cut -c1-330 | tail -2
tail -1 $L/lossF.md; cat $E/codeF.md $E/longF.md 2>/dev/null | grep "^|"
tar cf - -C .train F/model logs/F.jsonl logs/F.out logs/lossF.md eval | split -b 15m - $OUT/f.tar.
ls -la $OUT
