#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 19, call 1). Can the shipped model (ZP) learn the 2,048-token window that closed
# the loss gap at pre-training (session 18) and keep its retrieval? ZP reshaped to the window (model.widen),
# then two stretches side by side with the task and question rows of its own recipe (namesake rows, ranked
# against the batch, every weight), the window layers reading 512 on half the steps:
#   AX: 3e-4 throughout;  AY: plain text at 5e-4 for the first 150 s (the window first), then 2e-4.
# Both with their whole evaluation table and their loss beside ZP's (session11_pair.sh, session9_stretch.sh).
#   bash benchmarks/gpu/session19_pair.sh
[ -d .train/init-win/model ] || python3 -m model.widen --model resources/model --out .train/init-win/model --window 2048
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
C="NEG=batch TRAIN_ONLY= NAMESAKE=1.0 INIT=.train/init-win/model WINDOW=2048 SHORTW=512 BASE=resources/model"
PAIR_S=${PAIR_S:-555} bash benchmarks/gpu/session11_pair.sh "AX 42 0.3 330 3e-4 0.45 0.45 $K 2" \
  "AY 43 0.3 330 2e-4 0.45 0.45 $K 2" "$C" "$C ADAPT_S=150"
