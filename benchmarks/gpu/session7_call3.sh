#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 7, GPU call 3 (one H200): resources/model = L (session7_call2.sh brings it back; not in git).
# L's code and passage questions and needles, beside K's (session7_call2.sh).
S=$(date +%s); END=$((S+500))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > .train/logs/build.log 2>&1
M=resources/model
timeout 120 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --kinds passage --questions 80 --max-package-tokens 300000 --out $E/passL-80.md > $E/passL-80.out 2>&1 &
timeout 200 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 --out $E/codeL-80.md > $E/codeL-80.out 2>&1 &
timeout 100 python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/longL.md > $E/longL.out 2>&1
wait
R=$((END-30-$(date +%s)))
timeout $R python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --kinds single --lengths 1M,16M --out $E/longL-50.md > $E/longL-50.out 2>&1
for f in $E/*L*.md; do echo "== $f"; grep "^|" $f; done
tail -n 2 $E/*.out
tar cf - -C .train eval | split -b 15m - $OUT/e.tar.
ls -la $OUT
