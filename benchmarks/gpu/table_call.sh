#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results go to
# docs/lab-notes.md (session 21). The whole evaluation table of the model in resources/model, as the model
# card reports it, in one call (a candidate is put in resources/model of the working tree before the call,
# or M names a model folder a call before left on the warm machine):
#   [M=.train/NAME/model] bash benchmarks/gpu/table_call.sh
# On an nvidia-h200 (one GPU), G1=0 puts GPU 1's share on GPU 0 as well (session 24).
# GPU 0: the held-out loss (the dense baseline measured 1.6487 on these rows in session 20: the same corpus
# build and command give the same rows), the code questions on seeds 0-4, the passage questions (seed 0),
# the near cells (4K, 64K, 256K, every kind) on seeds 0-4 and 16K (seed 0). GPU 1: the single needle at 1M,
# 4M and 16M and the multi-needle kinds at 1M on seeds 0-4. Every evaluation stops by END_S.
S=$(date +%s); END_S=${END_S:-540}; M=${M:-resources/model}
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p .train/logs .train/eval && E=.train/eval
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
left() { local s=$((S + END_S - $(date +%s))); echo $((s > 1 ? s : 1)); }
ec() { local name=$1; shift; timeout $(left) python3 -m benchmarks.eval_code --model $M --corpus .train/corpus --questions 80 --max-package-tokens 300000 "$@" --out $E/$name.md > $E/$name.out 2>&1; }
el() { local name=$1; shift; timeout $(left) python3 -m benchmarks.eval_long --model $M --corpus .train/corpus --samples 50 "$@" --out $E/$name.md > $E/$name.out 2>&1; }
(
  export CUDA_VISIBLE_DEVICES=0
  timeout $(left) python3 -m model.train_loss --models $M --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $E/loss.md > $E/loss.out 2>&1
  echo "loss $(( $(date +%s) - S )) s"
  for s in 0 1 2 3 4; do ec code-s$s --seed $s & done
  ec pass-s0 --kinds passage &
  el single16K --kinds single --lengths 16K &
  for s in 0 1 2 3 4; do el near-s$s --seed $s --kinds single,multikey,multiquery,vartrack --lengths 4K,64K,256K & done
  wait
) &
export CUDA_VISIBLE_DEVICES=${G1:-1}
for s in 0 1 2 3 4; do
  el far-s$s --seed $s --kinds single --lengths 1M,4M,16M &
  el multi1M-s$s --seed $s --kinds multikey,multiquery,vartrack --lengths 1M &
done
wait
tail -n 12 $E/loss.out
for f in $E/*.md; do echo "== $f"; grep "^| [smvdp]" $f; done
tar cf $OUT/evals.tar -C .train eval
ls -la $OUT; echo "wall $(( $(date +%s) - S )) s"
