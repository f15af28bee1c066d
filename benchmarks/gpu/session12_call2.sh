#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []) right after
# session12_call1.sh, while the machine is warm; results in docs/lab-notes.md (session 12).
# - GPU 0: a stretch from call 1's model (INIT, default .train/ZC/model; resources/model on a fresh machine);
# - GPU 1: the dense baseline resumed to its 3,846 steps, then the held-out loss of resources/model, call 1's
#   model and the dense baseline in one run (16K rows, 1M held-out tokens).
#   bash benchmarks/gpu/session12_call2.sh "NAME ARGS..." "ENV"
S=$(date +%s)
mkdir -p .train/logs .train/eval
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
INIT=${INIT:-.train/ZC/model}; [ -f $INIT/config.json ] || { echo "no $INIT: a fresh machine"; INIT=resources/model; }
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
LEFT=$((570 - ($(date +%s) - S)))
env CUDA_VISIBLE_DEVICES=0 BUDGET=$LEFT PART=a INIT=$INIT $2 bash benchmarks/gpu/session9_stretch.sh $1 > .train/logs/pair-a.out 2>&1 &
export CUDA_VISIBLE_DEVICES=1
if [ -d .train/dense/state ]; then
  python3 -m model.train --corpus .train/corpus --out .train/dense --variant dense --plan-steps 3846 --max-steps 3846 \
    --monitor-every 0 --seed 0 --resume .train/dense --until $((S + 480)) >> .train/logs/dense.out 2>&1
  echo "dense stopped $(( $(date +%s) - S )) s"; grep -h '"step"' .train/dense/log.jsonl | tail -1
  M="resources/model .train/dense/model"; [ "$INIT" != resources/model ] && M="resources/model $INIT .train/dense/model"
  timeout $((580 - ($(date +%s) - S))) python3 -m model.train_loss --models $M --corpus .train/corpus --seq-len 16384 \
    --tokens 1000000 --out .train/eval/loss-dense.md > .train/eval/loss-dense.out 2>&1
  cat .train/eval/loss-dense.md; tail -n 3 .train/eval/loss-dense.out
else
  echo "no dense state: a fresh machine"
fi
wait
cat .train/logs/pair-a.out; tail -n 2 .train/logs/dense.out
cp .train/dense/log.jsonl .train/logs/dense.jsonl 2>/dev/null
tar cf $OUT/evals.tar -C .train eval logs
ls -la $OUT
echo "wall $(( $(date +%s) - S )) s"
