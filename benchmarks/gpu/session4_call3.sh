#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 4, GPU call 3 (one H200): resources/model was then run B of call 2 (session4_call2.sh brings it back
# as .train/best; it is not in git). Continue it
# on the whole GPU at short lengths (1K-2K: eight times the answers per step of 8K rows), answer weight 2,
# then held-out loss, needle evaluation at 4K-64K and single needles at 256K-1M.
S=$(date +%s); END=$((S+575))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+380)) --plan-minutes 5.4 --monitor-every 100 --monitor-samples 16 --warmup-steps 30 --seq-len 1024,2048 --full-share 0.05 --task-share 0.6 --qa-share 0.1 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 6e-4 --train-only 'upper\.|encoder\.' --out .train/C > $L/C.out 2>&1
cp .train/C/log.jsonl $L/C.jsonl
timeout 45 python3 -m model.train_loss --models .train/C/model --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/lossC.md > $L/lossC.out 2>&1
R=$((END-25-$(date +%s)))
timeout $((R*2/3)) python3 -m benchmarks.eval_long --model .train/C/model --corpus .train/corpus --samples 20 --kinds single,multiquery,vartrack,multikey --lengths 4K,16K,64K --out $E/longC.md > $E/longC.out 2>&1
R=$((END-25-$(date +%s)))
timeout $R python3 -m benchmarks.eval_long --model .train/C/model --corpus .train/corpus --samples 20 --kinds single --lengths 256K,1M --out $E/longC2.md > $E/longC2.out 2>&1
grep -h '"monitor"' $L/C.jsonl | cut -c1-330; grep -h '"step"' $L/C.jsonl | tail -2 | cut -c1-330
cat $L/lossC.md | tail -3; cat $E/longC.md $E/longC2.md 2>/dev/null | grep "^|"
rm -rf .train/best && cp -r .train/C/model .train/best  # (the run itself lacked the rm: the bundle nested two models)
tar cf - -C .train best logs eval | split -b 15m - $OUT/bundle.tar.
ls -la $OUT
