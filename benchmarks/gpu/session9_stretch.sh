#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 9: one stretch from the model in resources/model whose learning rate falls by a cosine from --lr to
# a tenth over the whole stretch (an anneal: O and P ended at their peak, docs/lab-notes.md session 8), then
# its evaluations as parallel processes on the one GPU (the whole eval_long table at n = 50 and the code and
# passage questions at n = 80 take ~1 minute so), all ending by the call's deadline.
#   bash benchmarks/gpu/session9_stretch.sh NAME SEED PASSAGE_SHARE TRAIN_UNTIL_S LR [TASK_SHARE QA_SHARE KINDS
#   COPY_WEIGHT]
# Call 1: Q from P (Q 8 0.3 340 4e-4: stage 7's mix); call 2 (warm): Q's other long cells, by hand
# (docs/lab-notes.md); call 3: R from Q with more multi-needle rows (KINDS may repeat a kind to weight it):
# R 9 0.3 400 3e-4 0.45 0.45 single,multikey,multivalue,multiquery,multiquery,vartrack,vartrack; call 4: S from
# Q with twice the copy weight (S 10 0.3 400 2e-4 0.3 0.6 single,multikey,multivalue,multiquery,vartrack 2).
# The held-out loss of the start and of the new model is measured side by side alongside the evaluations.
# Session 10: SEQ (row length, default 16384), QPR (questions per qa row, default 16) and TRAIN_ONLY (the
# trainable parameters' pattern, default the upper half and the chunk encoder; empty: every weight) from the
# environment; call 1: T from S with multi-query answers that name their keys (T 11 0.3 400 2e-4 0.3 0.6 <S's
# kinds> 2); call 2: U from S on 64K rows (SEQ=65536 QPR=64 ... U 12 0.3 400 2e-4 0.3 0.6 <S's kinds> 2).
# Session 11: BUDGET (seconds from the script's start by which everything has ended, default 575) and PART (the
# name of the bundle's pieces in $OUT, default x) from the environment, so that session11_pair.sh runs two
# stretches side by side, one per GPU.
# Session 12: INIT (the start model, default resources/model) from the environment; the new model's landmark
# centre is recalibrated after training (model/calibrate.py); TRAIN_UNTIL_S 0 trains nothing and evaluates INIT
# (no loss comparison, no model in the bundle).
# Session 14: NEG (--retrieval-negatives: row, the default, or batch) from the environment.
# Session 15: NAMESAKE (--namesake-share, default 0) from the environment.
# Session 17: LDIM and WINDOW (--landmark-dim, --window: the shape of an INIT made by model/widen.py) and BASE
# (the first model of the loss comparison, default INIT) from the environment; LRSCALE (--lr-scale), ENCL
# (--encoder-layers).
# Session 18: SHORTW (--short-window: the window layers read with it on half the steps; a long-window INIT).
# Session 19: ADAPT_S (seconds from the start): first every weight of INIT on plain text at ADAPT_LR (default
# 5e-4, cosine; the window learned before the task rows, session18_adapt.sh), then the stretch from there, the
# loss still beside BASE (default the first INIT).
# Session 22: ANSW (--answer-weight, default 2: the answer tokens' extra weight, most of the supervised gradient).
# Session 23: NLAY and LOWER (--n-layers, --lower-layers: the shape of an INIT grown by model.widen --lower-layers).
# Session 24: LSEF (non-empty: --lse-fusion, an INIT widened by model.widen --lse-fusion); CODE_ONLY (non-empty:
# of the evaluations only the code questions on seeds 0-1 and the loss, for a stretch on one GPU).
# Session 25: RENAME (--rename-share, default 0: code-question rows whose package's classes are renamed).
# Session 26: CODE_ONLY evaluates the code questions on seeds 0-4 (400 lookups, ~40 s on the warm GPU).
# Session 27: FUSIONW (--fusion-weight, default 0: the fusion softmax's cross-entropy toward the retrieval target).
# SPARSEK (--sparse-top-k: chunks read per HSA layer in training; model.train writes it into the new model's
# config.json, so its evaluations and the model that comes back read what it was trained with).
# Session 28: RETW (--retrieval-weight, default 1: the landmark ranking's cross-entropy on answer tokens).
# Session 29: OWNERF (non-empty: --owner-first in training and in the code questions' evaluation).
# Session 30: TWIN (--twin-share, default 0: code-question rows that show the asked file twice, its classes
# renamed in the second copy, and ask by owner about both; model/data/twins.py); TWINS (--twin-copies, default 1:
# renamed copies per twin row).
SEQ=${SEQ:-16384}; QPR=${QPR:-16}; BUDGET=${BUDGET:-575}; PART=${PART:-x}; UPPER='upper\.|encoder\.'; TRAIN_ONLY=${TRAIN_ONLY-$UPPER}
INIT=${INIT:-resources/model}
NAME=$1; SEED=$2; PASSAGES=$3; UNTIL=$4; LR=$5; TASKS=${6:-0.3}; QA=${7:-0.6}
KINDS=${8:-single,multikey,multivalue,multiquery,vartrack}; COPY=${9:-1}
S=$(date +%s); END=$((S + BUDGET))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
M=.train/$NAME/model
if [ -n "$ADAPT_S" ]; then
BASE=${BASE:-$INIT}
python3 -m model.train --corpus .train/corpus --init $INIT --until $((S+ADAPT_S)) --plan-minutes $(awk -v u=$ADAPT_S -v e=$(( $(date +%s) - S )) 'BEGIN { printf "%.2f", (u - e - 25) / 60 }') --lr-shape cosine --warmup-steps 30 --monitor-every 0 --seq-len $SEQ --full-share 0 --task-share 0 --qa-share 0 ${WINDOW:+--window $WINDOW} ${SHORTW:+--short-window $SHORTW} --lr ${ADAPT_LR:-5e-4} --seed $SEED --out .train/$NAME-plain > $L/$NAME-plain.out 2>&1
INIT=.train/$NAME-plain/model
echo "plain text $(( $(date +%s) - S )) s: $(grep -h '"event": "step"' .train/$NAME-plain/log.jsonl | tail -1 | cut -c1-200)"
fi
if [ "$UNTIL" -gt 0 ]; then
python3 -m model.train --corpus .train/corpus --init $INIT --until $((S+UNTIL)) --plan-minutes $(awk -v u=$UNTIL -v e=$(( $(date +%s) - S )) 'BEGIN { printf "%.2f", (u - e - 60) / 60 }') --lr-shape cosine --monitor-every 800 --monitor-samples 16 --warmup-steps 30 --seq-len $SEQ --full-share 0 --task-share $TASKS --qa-share $QA --task-kinds $KINDS --qa-per-row $QPR --passage-share $PASSAGES --turns-share 0.5 --retrieval-weight ${RETW:-1} --retrieval-negatives ${NEG:-row} --namesake-share ${NAMESAKE:-0} --rename-share ${RENAME:-0} --twin-share ${TWIN:-0} --twin-copies ${TWINS:-1} --fusion-weight ${FUSIONW:-0} ${SPARSEK:+--sparse-top-k $SPARSEK} ${LDIM:+--landmark-dim $LDIM} ${WINDOW:+--window $WINDOW} ${LRSCALE:+--lr-scale $LRSCALE} ${ENCL:+--encoder-layers $ENCL} ${NLAY:+--n-layers $NLAY} ${LOWER:+--lower-layers $LOWER} ${SHORTW:+--short-window $SHORTW} ${LSEF:+--lse-fusion} ${OWNERF:+--owner-first} --copy-weight $COPY --answer-weight ${ANSW:-2} --lr $LR --train-only "$TRAIN_ONLY" --seed $SEED --out .train/$NAME > $L/$NAME.out 2>&1
cp .train/$NAME/log.jsonl $L/$NAME.jsonl
echo "trained $(( $(date +%s) - S )) s"
python3 -m model.calibrate --model $M --corpus .train/corpus >> $L/$NAME.out 2>&1
tail -n 1 $L/$NAME.out
else
M=$INIT; : > $L/$NAME.jsonl; : > $L/$NAME.out
fi
left() { local s=$((END - $(date +%s))); echo $((s > 1 ? s : 1)); }  # timeout 0 would mean none
ec() { timeout $(left) python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 ${OWNERF:+--owner-first} "$@"; }
el() { timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 "$@"; }
ec --out $E/code$NAME.md > $E/code$NAME.out 2>&1 &
ec --seed 1 --out $E/codeseed1$NAME.md > $E/codeseed1$NAME.out 2>&1 &
if [ -z "$CODE_ONLY" ]; then
ec --kinds passage --out $E/pass$NAME.md > $E/pass$NAME.out 2>&1 &
el --kinds single --lengths 4K,16K,64K,256K --out $E/near$NAME.md > $E/near$NAME.out 2>&1 &
el --kinds single --lengths 1M,4M --out $E/far$NAME.md > $E/far$NAME.out 2>&1 &
el --kinds single --lengths 16M --out $E/farthest$NAME.md > $E/farthest$NAME.out 2>&1 &
for n in 4K 64K; do
  el --kinds multikey,multiquery,vartrack --lengths $n --out $E/multi$n$NAME.md > $E/multi$n$NAME.out 2>&1 &
done
el --kinds multikey,multiquery,vartrack --lengths 1M --out $E/multi1M$NAME.md > $E/multi1M$NAME.out 2>&1 &
else
for s in 2 3 4; do ec --seed $s --out $E/codeseed$s$NAME.md > $E/codeseed$s$NAME.out 2>&1 & done
fi
[ "$UNTIL" -gt 0 ] && timeout $(left) python3 -m model.train_loss --models ${BASE:-$INIT} $M --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $E/loss$NAME.md > $E/loss$NAME.out 2>&1 &
wait
grep -c '"skipped"' $L/$NAME.jsonl
grep -h '"step"' $L/$NAME.jsonl | tail -1 | cut -c1-330
for f in $E/*$NAME.md; do echo "== $f"; grep "^|" $f; done
tail -n 2 $L/$NAME.out; tail -n 8 $E/loss$NAME.out
[ "$UNTIL" -gt 0 ] && tar cf - -C .train $NAME/model logs/$NAME.jsonl logs/$NAME.out $(cd .train && ls eval/*$NAME.*) | split -b 15m - $OUT/$PART.tar.
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
