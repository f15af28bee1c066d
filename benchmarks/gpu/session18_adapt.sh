#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in
# docs/lab-notes.md (session 18, call 7). Can the shipped model learn a 2,048-token window in a short stretch
# (the 512 read on half the steps, as WS was pre-trained), or does closing the loss gap need a new
# pre-training? ZP reshaped to the window (model.widen), every weight trained on plain text at 5e-4
# (cosine) until TRAIN_S seconds into the call, then its held-out loss beside ZP's (16K rows).
#   bash benchmarks/gpu/session18_adapt.sh
S=$(date +%s); TRAIN_S=${TRAIN_S:-150}
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs
python3 -m model.data.build --out .train/corpus --limit-mb 100 --workers 16 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
python3 -m model.widen --model resources/model --out .train/init-win/model --window 2048
PLAN=$(awk -v s=$(( TRAIN_S - ($(date +%s) - S) - 25 )) 'BEGIN { printf "%.2f", s / 60 }')
python3 -m model.train --corpus .train/corpus --init .train/init-win/model --window 2048 --short-window 512 \
  --short-share 0.5 --out .train/AW --plan-minutes $PLAN --until $((S + TRAIN_S)) --full-share 0 \
  --seq-len 16384 --task-share 0 --qa-share 0 --lr 5e-4 --lr-shape cosine --warmup-steps 30 \
  --monitor-every 0 --seed 41 > .train/logs/AW.out 2>&1
echo "trained $(( $(date +%s) - S )) s: $(grep -h '"event": "step"' .train/AW/log.jsonl | tail -1)"
python3 -m model.train_loss --models resources/model .train/AW/model --corpus .train/corpus --seq-len 16384 \
  --tokens 1000000 --out $OUT/loss-AW.md > $OUT/loss-AW.out 2>&1
cat $OUT/loss-AW.md; cp .train/AW/log.jsonl $OUT/AW.jsonl
echo "wall $(( $(date +%s) - S )) s"
