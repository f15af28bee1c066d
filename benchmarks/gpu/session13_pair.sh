#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 13). Two stretches from INIT (default resources/model) side by side, one per GPU,
# each with its whole evaluation table (session9_stretch.sh), after one corpus build (skipped on a warm
# machine that has it):
#   bash benchmarks/gpu/session13_pair.sh "NAME_A ARGS..." "NAME_B ARGS..." [ENV_A] [ENV_B]
# As session11_pair.sh, but only one model fits in what comes back (~64 MiB): the one whose multi-query and
# variable-tracking answers at 1M hold more of their values (RULER); the other stays in .train/ while the
# machine is warm (a one-second call fetches it).
S=$(date +%s)
mkdir -p .train/logs
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
LEFT=$((570 - ($(date +%s) - S)))
env CUDA_VISIBLE_DEVICES=0 BUDGET=$LEFT PART=a $3 bash benchmarks/gpu/session9_stretch.sh $1 > .train/logs/pair-a.out 2>&1 &
env CUDA_VISIBLE_DEVICES=1 BUDGET=$LEFT PART=b $4 bash benchmarks/gpu/session9_stretch.sh $2 > .train/logs/pair-b.out 2>&1 &
wait
cat .train/logs/pair-a.out .train/logs/pair-b.out
A=${1%% *}; B=${2%% *}
# RULER share of a 1M cell (the middle of "exact / RULER / cited"); a missing table scores 0
ruler() { local v; v=$(grep -m1 "^| $2 " .train/eval/multi1M$1.md 2>/dev/null | cut -d'|' -f3 | cut -d/ -f2 | tr -dc 0-9); echo "${v:-0}"; }
score() { echo $(( $(ruler $1 multiquery) + $(ruler $1 vartrack) )); }
echo "pick: $A $(score $A), $B $(score $B)"
if [ "$(score $A)" -ge "$(score $B)" ]; then rm -f $OUT/b.tar.*; else rm -f $OUT/a.tar.*; fi
tar cf $OUT/evals.tar -C .train eval logs/$A.jsonl logs/$B.jsonl logs/$A.out logs/$B.out
ls -la $OUT
echo "wall $(( $(date +%s) - S )) s"
