#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (sessions 11 and 13). Two stretches side by side, one per GPU, each with its whole
# evaluation table (session9_stretch.sh), after one corpus build (skipped on a warm machine that has it):
#   [PICK=multi] bash benchmarks/gpu/session11_pair.sh "NAME_A ARGS..." "NAME_B ARGS..." [ENV_A] [ENV_B]
# ARGS are session9_stretch.sh's (NAME SEED PASSAGE_SHARE TRAIN_UNTIL_S LR ...); ENV_x are environment
# assignments for that stretch (e.g. "TRAIN_ONLY=", "INIT=.train/ZH/model").
# Only one model fits in what comes back (~64 MiB in all, 8 files): by default the one with the better
# definition lookup (session 11); PICK=multi: the one whose multi-query and variable-tracking answers at 1M
# hold more of their values (RULER; session 13, then session13_pair.sh). The other stays in .train/ while
# the machine is warm (a one-second call fetches it); every table and log comes back in evals.tar.
S=$(date +%s)
mkdir -p .train/logs
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
LEFT=$((${PAIR_S:-570} - ($(date +%s) - S)))  # PAIR_S: seconds for the whole pair (session 16)
env CUDA_VISIBLE_DEVICES=0 BUDGET=$LEFT PART=a $3 bash benchmarks/gpu/session9_stretch.sh $1 > .train/logs/pair-a.out 2>&1 &
env CUDA_VISIBLE_DEVICES=1 BUDGET=$LEFT PART=b $4 bash benchmarks/gpu/session9_stretch.sh $2 > .train/logs/pair-b.out 2>&1 &
wait
cat .train/logs/pair-a.out .train/logs/pair-b.out
A=${1%% *}; B=${2%% *}
# (a missing table, e.g. an evaluation that ran out of time, scores 0). Names must not end in one another
# (A and ZA): session9_stretch.sh bundles eval/*NAME.*
# definition lookup by the first chip; the RULER share of a 1M cell (the middle of "exact / RULER / cited")
code() { local v; v=$(grep -m1 "definition lookup (top" .train/eval/code$1.md 2>/dev/null | grep -o "[0-9]*%" | tr -d %); echo "${v:-0}"; }
ruler() { local v; v=$(grep -m1 "^| $2 " .train/eval/multi1M$1.md 2>/dev/null | cut -d'|' -f3 | cut -d/ -f2 | tr -dc 0-9); echo "${v:-0}"; }
score() { if [ "$PICK" = multi ]; then echo $(( $(ruler $1 multiquery) + $(ruler $1 vartrack) )); else code $1; fi; }
echo "pick ${PICK:-code}: $A $(score $A), $B $(score $B)"
if [ "$(score $A)" -ge "$(score $B)" ]; then rm -f $OUT/b.tar.*; else rm -f $OUT/a.tar.*; fi
tar cf $OUT/evals.tar -C .train eval logs/$A.jsonl logs/$B.jsonl logs/$A.out logs/$B.out $(cd .train && ls logs/*-plain.out 2>/dev/null)
ls -la $OUT
echo "wall $(( $(date +%s) - S )) s"
