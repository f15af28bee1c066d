#!/bin/bash
# Run from the repo root on the device machine (run tool, carry []); results in docs/lab-notes.md (session 25
# built it; the first session with device time runs it). Owners renamed (model.train --rename-share, model/data/
# renames.py): F3's stretch again from F3 (resources/model of the tree), once with half the code-question
# rows renamed (R1) and once without (R0, the control: the same seed, recipe and time), so
# the lookup's change is the renames' and not one more stretch's.
#   bash benchmarks/gpu/session25_rename.sh        # nvidia-h200-x2: R1 and R0 side by side, each with its table
#   [A=R1 SHARE=0.5] bash benchmarks/gpu/session25_rename.sh one   # nvidia-h200: one arm, its loss and code
#   seeds 0-1 (R1 with SHARE=0.5, then, in a second call, A=R0 SHARE=0)
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
C="NEG=batch TRAIN_ONLY= NAMESAKE=1.0 WINDOW=2048 SHORTW=512 ANSW=0.5 LSEF=1 LRSCALE=fusion_beta=100"
if [ "$1" = one ]; then
  env $C CODE_ONLY=1 RENAME=${SHARE:-0.5} BUDGET=$((${CALL_S:-540} - ($(date +%s) - S))) PART=a \
    bash benchmarks/gpu/session9_stretch.sh ${A:-R1} 62 0.3 330 1e-4 0.45 0.45 $K 2
else
  PAIR_S=$((${CALL_S:-560} - ($(date +%s) - S))) bash benchmarks/gpu/session11_pair.sh \
    "R1 62 0.3 330 1e-4 0.45 0.45 $K 2" "R0 62 0.3 330 1e-4 0.45 0.45 $K 2" "$C RENAME=${SHARE:-0.5}" "$C"
fi
for n in R1 R0; do
  [ -f .train/logs/$n.jsonl ] && grep -h '"step"' .train/logs/$n.jsonl | tail -1 | cut -c1-200
done
echo "wall $(( $(date +%s) - S )) s"
