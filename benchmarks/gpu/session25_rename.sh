#!/bin/bash
# Run from the repo root on the device machine (run tool, carry []); results in docs/lab-notes.md (session 25
# built it; the first session with device time runs it). Owners renamed (model.train --rename-share, model/data/
# renames.py): F3's stretch again from F3 (resources/model of the tree), once with half the code-question
# rows renamed (R1) and once without (R0, the control: the same seed, recipe and time), so
# the lookup's change is the renames' and not one more stretch's.
#   bash benchmarks/gpu/session25_rename.sh        # nvidia-h200-x2: R1 and R0 side by side, each with its table
#   [A=R1 SHARE=0.5] bash benchmarks/gpu/session25_rename.sh one   # nvidia-h200: one arm, its loss and code
#   seeds 0-1 (R1 with SHARE=0.5, then, in a second call, A=R0 SHARE=0)
#   CODE_ONLY= A=R1 SHARE=0.5 bash benchmarks/gpu/session25_rename.sh one   # one arm with the whole table
#   (session 26: R1 so, to be shippable from one call; R0 code-only as its control; SEED: the stretch's seed)
# `one` builds the corpus before the stretch's clock starts, so a cold and a warm machine train alike long
# (session 26's R0 trained 940 steps against R1's 760: the warm machine skipped the build inside the window).
# Session 26 staged a pair from R1 on the renames (R3 SHARE=0.5 against R4 SHARE=0, SEED=64); session 27 ran
# instead, from R1 (resources/model as committed), an arm a call, the fusion loss against R1's recipe:
#   A=L1 SHARE=0.5 SEED=64 FUSIONW=1 bash benchmarks/gpu/session25_rename.sh one
#   A=R3 SHARE=0.5 SEED=64 bash benchmarks/gpu/session25_rename.sh one
# Staged for session 28 (docs/lab-notes.md, session 27's last entry), from R1, an arm a call:
#   CODE_ONLY= A=X1 SHARE=0.5 SEED=64 SEQ=65536 QPR=64 bash benchmarks/gpu/session25_rename.sh one   # 64K rows
#   A=X2 SHARE=0.5 SEED=64 SPARSEK=32 bash benchmarks/gpu/session25_rename.sh one   # 32 chunks a layer
# Session 28 ran X1 code-only (without CODE_ONLY=), X2, then the retrieval loss at four times its weight:
#   A=X3 SHARE=0.5 SEED=64 RETW=4 bash benchmarks/gpu/session25_rename.sh one
# Session 30 ran twins (TWIN: --twin-share, model/data/twins.py) from R1, then from T1 put in resources/model;
# T2 shipped:
#   A=T1 SHARE=0.5 SEED=64 TWIN=0.5 bash benchmarks/gpu/session25_rename.sh one
#   A=T2 SHARE=0.5 SEED=65 TWIN=0.5 bash benchmarks/gpu/session25_rename.sh one
# Session 31 ran, from T2, T3 and then on the warm machine T4 from T3 with three copies (shipped) and T5 from T4:
#   A=T3 SHARE=0.5 SEED=66 TWIN=0.5 bash benchmarks/gpu/session25_rename.sh one
#   INIT=.train/T3/model A=T4 SHARE=0.5 SEED=67 TWIN=0.5 TWINS=3 bash benchmarks/gpu/session25_rename.sh one
#   INIT=.train/T4/model A=T5 SHARE=0.5 SEED=68 TWIN=0.5 TWINS=3 bash benchmarks/gpu/session25_rename.sh one
# Staged for session 32, after benchmarks/gpu/fresh_seeds.sh and only if T4 falls short there, from T4
# (resources/model as committed): more twins (TWIN=0.5 twins 15-18% of code-question rows, TWIN=1.0 49%):
#   A=T6 SHARE=0.5 SEED=69 TWIN=1.0 TWINS=3 bash benchmarks/gpu/session25_rename.sh one
# (not run: T4 held 91.0% on the fresh questions in session 32)
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
C="NEG=batch TRAIN_ONLY= NAMESAKE=1.0 WINDOW=2048 SHORTW=512 ANSW=0.5 LSEF=1 LRSCALE=fusion_beta=100"
if [ "$1" = one ]; then
  [ -d .train/corpus/heldout ] || { mkdir -p .train/logs; python3 -m model.data.build --out .train/corpus --limit-mb 300 \
    --workers 16 > .train/logs/build.log 2>&1; }
  echo "corpus $(( $(date +%s) - S )) s"
  env $C CODE_ONLY=${CODE_ONLY-1} RENAME=${SHARE:-0.5} BUDGET=$((${CALL_S:-540} - ($(date +%s) - S))) PART=a \
    bash benchmarks/gpu/session9_stretch.sh ${A:-R1} ${SEED:-62} 0.3 330 1e-4 0.45 0.45 $K 2
else
  PAIR_S=$((${CALL_S:-560} - ($(date +%s) - S))) bash benchmarks/gpu/session11_pair.sh \
    "R1 62 0.3 330 1e-4 0.45 0.45 $K 2" "R0 62 0.3 330 1e-4 0.45 0.45 $K 2" "$C RENAME=${SHARE:-0.5}" "$C"
fi
for n in ${A:-R1} R0; do
  [ -f .train/logs/$n.jsonl ] && grep -h '"step"' .train/logs/$n.jsonl | tail -1 | cut -c1-200
done
echo "wall $(( $(date +%s) - S )) s"
