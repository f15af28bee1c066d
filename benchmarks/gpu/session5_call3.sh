#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 5, GPU call 3 (one H200): resources/model = F (session5_call2.sh brings it back; not in git).
# G continues F with code questions that name a definition as its line does (" name", the tokens of
# "def name("), code questions 60% of rows; then G's loss and the whole evaluation, 4K to 16M.
S=$(date +%s); END=$((S+575))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+315)) --plan-minutes 4.2 --monitor-every 300 --monitor-samples 16 --warmup-steps 30 --seq-len 1024,2048,4096 --full-share 0.04 --task-share 0.3 --qa-share 0.6 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --out .train/G > $L/G.out 2>&1
cp .train/G/log.jsonl $L/G.jsonl
timeout 35 python3 -m model.train_loss --models .train/G/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/lossG.md > $L/lossG.out 2>&1
timeout 70 python3 -m benchmarks.eval_code --model .train/G/model --corpus .train/corpus --questions 30 --max-package-tokens 300000 --out $E/codeG.md > $E/codeG.out 2>&1
timeout 60 python3 -m benchmarks.eval_long --model .train/G/model --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longG.md > $E/longG.out 2>&1
R=$((END-20-$(date +%s)))
timeout $((R*2/3)) python3 -m benchmarks.eval_long --model .train/G/model --corpus .train/corpus --samples 20 --kinds single --lengths 256K,1M,4M,16M --out $E/longG-big.md > $E/longG-big.out 2>&1
R=$((END-20-$(date +%s)))
timeout $R python3 -m benchmarks.eval_long --model .train/G/model --corpus .train/corpus --samples 20 --kinds multiquery,vartrack --lengths 1M --out $E/longG-1M.md > $E/longG-1M.out 2>&1
grep -h '"monitor"' $L/G.jsonl | cut -c1-330 | tail -1
tail -1 $L/lossG.md; cat $E/codeG.md $E/longG*.md 2>/dev/null | grep "^|"
tail -2 $E/*.out
tar cf - -C .train G/model logs/G.jsonl logs/G.out logs/lossG.md eval | split -b 15m - $OUT/g.tar.
ls -la $OUT
