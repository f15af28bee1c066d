#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 8: one training stretch from the model in resources/model, then its evaluations.
#   bash benchmarks/gpu/session8_stretch.sh NAME SEED PASSAGE_SHARE TRAIN_UNTIL_S [LONG: 1 = single 1M/16M]
# Call 1: N from M (N 5 0.4 395, with --plan-minutes 5.7); call 2: O from N (O 6 0.5 350 1); call 3: P from O
# (P 7 0.3 320 1). Calls 4-6: further eval_long cells of P (docs/lab-notes.md).
# Chats (--turns-share 0.5: a long row's questions asked as follow-ups in one question document) and passage
# questions in a user's forms (prose.py varied) are new this session; the rest is session 7's stage-6 recipe.
# The plan leaves 60 s for loading, the last needle check and the export, so the learning rate decays to
# its end; calls 2 and 3 ran with (UNTIL - elapsed) / 60 rounded down + 0.4 minutes, too long: O and P
# stopped before their decay (docs/lab-notes.md).
NAME=$1; SEED=$2; PASSAGES=$3; UNTIL=$4; LONG=${5:-0}
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+UNTIL)) --plan-minutes $(awk -v u=$UNTIL -v e=$(( $(date +%s) - S )) 'BEGIN { printf "%.2f", (u - e - 60) / 60 }') --monitor-every 800 --monitor-samples 16 --warmup-steps 30 --seq-len 16384 --full-share 0 --task-share 0.3 --qa-share 0.6 --qa-per-row 16 --passage-share $PASSAGES --turns-share 0.5 --retrieval-weight 1 --copy-weight 1 --answer-weight 2 --lr 4e-4 --train-only 'upper\.|encoder\.' --seed $SEED --out .train/$NAME > $L/$NAME.out 2>&1
cp .train/$NAME/log.jsonl $L/$NAME.jsonl
M=.train/$NAME/model
timeout 110 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --kinds passage --questions 80 --max-package-tokens 300000 --out $E/pass$NAME-80.md > $E/pass$NAME-80.out 2>&1 &
timeout 110 python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 --out $E/code$NAME-80.md > $E/code$NAME-80.out 2>&1 &
timeout 80 python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack --lengths 4K,64K --out $E/long$NAME.md > $E/long$NAME.out 2>&1
wait
[ "$LONG" = 1 ] && timeout 90 python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --kinds single --lengths 1M,16M --out $E/far$NAME.md > $E/far$NAME.out 2>&1
grep -c '"skipped"' $L/$NAME.jsonl
grep -h '"step"' $L/$NAME.jsonl | tail -1 | cut -c1-330
for f in $E/*$NAME*.md; do echo "== $f"; grep "^|" $f; done
tail -n 2 $E/*$NAME*.out $L/$NAME.out
tar cf - -C .train $NAME/model logs/$NAME.jsonl logs/$NAME.out eval | split -b 15m - $OUT/x.tar.
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
