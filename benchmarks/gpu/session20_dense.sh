#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 20, calls 3-4). The dense baseline of hsa-mini's pre-training (3,846 steps,
# the stage-1 stream, seed 0), retrained so that the shipped candidate's loss is measured beside it in one
# run rather than chained across sessions (session 12 trained it last; its weights were not kept).
#   bash benchmarks/gpu/session20_dense.sh 1   # GPU 0: the dense model until CALL_S; GPU 1: RB's other seeds
#   bash benchmarks/gpu/session20_dense.sh 2   # (warm) the dense model to 3,846, then its loss beside DZ, RB
# Session 22: MODELS (the models measured beside the dense one in step 2, default "resources/model
# .train/RB/model") from the environment; step 1 evaluates RB only when .train/RB/model is there.
S=$(date +%s); STEPS=3846; END=$((S + ${CALL_S:-450}))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > $L/build.log 2>&1
resume=(); [ -d .train/dense/state ] && resume=(--resume .train/dense)
stop=$END; [ "$1" = 2 ] && stop=$((END - 60))
CUDA_VISIBLE_DEVICES=0 python3 -m model.train --corpus .train/corpus --out .train/dense --variant dense \
  --plan-steps $STEPS --max-steps $STEPS --monitor-every 0 --seed 0 --until $stop "${resume[@]}" >> $L/dense.out 2>&1 &
if [ "$1" = 1 ] && [ -d .train/RB/model ]; then
  M=.train/RB/model; left() { echo $((END - $(date +%s))); }
  for s in 2 3 4; do CUDA_VISIBLE_DEVICES=1 timeout $(left) python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 --seed $s --out $E/codeseed${s}RB.md > $E/codeseed${s}RB.out 2>&1 & done
  for s in 1 2 3 4; do
    CUDA_VISIBLE_DEVICES=1 timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --seed $s --kinds single --lengths 1M,4M,16M --out $E/farseed${s}RB.md > $E/farseed${s}RB.out 2>&1 &
    CUDA_VISIBLE_DEVICES=1 timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --seed $s --kinds single,multikey,multiquery,vartrack --lengths 4K,64K,256K --out $E/nearseed${s}RB.md > $E/nearseed${s}RB.out 2>&1 &
    CUDA_VISIBLE_DEVICES=1 timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 --seed $s --kinds multikey,multiquery,vartrack --lengths 1M --out $E/multi1Mseed${s}RB.md > $E/multi1Mseed${s}RB.out 2>&1 &
  done
fi
wait
echo "dense stopped $(( $(date +%s) - S )) s: $(grep -h '"event": "step"' .train/dense/log.jsonl | tail -1 | cut -c1-200)"
if [ "$1" = 2 ]; then
  timeout $((END - $(date +%s) + 30)) python3 -m model.train_loss --models .train/dense/model ${MODELS:-resources/model .train/RB/model} \
    --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $E/loss-dense.md > $E/loss-dense.out 2>&1
  tail -n 12 $E/loss-dense.out
fi
for f in $E/*seed[1-4]RB.md; do [ -f "$f" ] && { echo "== $f"; grep "^|" "$f"; }; done  # none without RB
cp .train/dense/log.jsonl $L/dense.jsonl
tar cf $OUT/evals$1.tar -C .train eval logs
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
