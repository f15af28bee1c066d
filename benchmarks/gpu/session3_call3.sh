#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x4, carry []); results in docs/lab-notes.md.
# resources/model was then the stage-1 model: to repeat, check it out first (git checkout 658f856 -- resources/model).
# Session 3, GPU call 3 (x4): retrieval-supervised fine-tunes of resources/model (GPU0-2: all weights /
# retrieval projections only / retrieval + chunk encoder; GPU3: the encode benchmark, then all weights with the
# answer weight), then the chosen model's evaluation on all four GPUs. See docs/lab-notes.md.
S=$(date +%s); END=$((S+540))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
(CUDA_VISIBLE_DEVICES=3 timeout 100 python3 benchmarks/encode.py --skip-cpu --compile --out $L/encode.md > $L/encode.out 2>&1) &
BENCH=$!
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
T="python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+320)) --plan-minutes 4.2 --monitor-every 100 --monitor-samples 16 --warmup-steps 50 --seq-len 1024,4096,8192 --full-share 0.3 --task-share 0.4 --qa-share 0.2 --retrieval-weight 1"
CUDA_VISIBLE_DEVICES=0 $T --out .train/P --lr 3e-4 > $L/P.out 2>&1 &
CUDA_VISIBLE_DEVICES=1 $T --out .train/Q --lr 2e-3 --train-only 'w_retrieval|retrieval_norm|w_landmark' > $L/Q.out 2>&1 &
CUDA_VISIBLE_DEVICES=2 $T --out .train/R --lr 1e-3 --train-only 'w_retrieval|retrieval_norm|encoder\.' > $L/R.out 2>&1 &
(wait $BENCH 2>/dev/null; while kill -0 $BENCH 2>/dev/null; do sleep 1; done
 CUDA_VISIBLE_DEVICES=3 $T --out .train/U --lr 3e-4 --answer-weight 1 > $L/U.out 2>&1) &
wait
for r in P Q R U; do cp .train/$r/log.jsonl $L/$r.jsonl 2>/dev/null; done
M=(resources/model .train/P/model .train/Q/model .train/R/model)
for i in 0 1 2 3; do CUDA_VISIBLE_DEVICES=$i timeout 40 python3 -m model.train_loss --models ${M[$i]} --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/loss$i.md > $L/loss$i.out 2>&1 & done; wait
BEST=$(python3 - <<'PY'
import json, re
loss = {}
for i, name in enumerate(["base", "P", "Q", "R"]):
    m = re.search(r"\| [^|]+ \| hsa \| swiglu \| [^|]+ \| ([0-9.]+) \|", open(f".train/logs/loss{i}.md").read())
    loss[name] = float(m.group(1)) if m else 99.0
rank = []
for r in "PQR":
    mon = [json.loads(l) for l in open(f".train/{r}/log.jsonl") if '"monitor"' in l]
    if not mon:
        continue
    cited = min(v for k, v in mon[-1].items() if k.startswith("needle_cited@") and v is not None)
    # good retrieval first (>= 0.9 at both monitor lengths), then the smallest loss of the language model
    rank.append(((cited >= 0.9, -loss[r], cited), r))
print(json.dumps(loss), sorted(rank))
print(max(rank)[1] if rank else "none")
PY
)
echo "$BEST"; B=$(echo "$BEST" | tail -1); echo "$BEST" > $L/best.txt
if test -d .train/$B/model; then
  cp -r .train/$B/model .train/best; MB=.train/best; R=$((END-25-$(date +%s)))
  EL="python3 -m benchmarks.eval_long --model $MB --corpus .train/corpus --samples 20 --kinds single,multikey,multiquery,vartrack"
  (CUDA_VISIBLE_DEVICES=0 timeout $R $EL --lengths 4K,16K,64K --out $E/long-a.md > $E/a.out 2>&1) &
  (CUDA_VISIBLE_DEVICES=1 timeout $R $EL --lengths 256K --out $E/long-b.md > $E/b.out 2>&1) &
  (CUDA_VISIBLE_DEVICES=2 timeout $R $EL --lengths 1M --out $E/long-c.md > $E/c.out 2>&1) &
  (CUDA_VISIBLE_DEVICES=3 timeout $R python3 -m benchmarks.eval_code --model $MB --corpus .train/corpus --questions 10 --max-package-tokens 500000 --out $E/code.md > $E/code.out 2>&1) &
  wait
fi
grep -h '"monitor"' $L/[PQRU].jsonl | cut -c1-330 | tail -12; tail -n 3 $L/*.out $E/*.out | cut -c1-300; cat $L/encode.md $E/*.md 2>/dev/null | grep -v "^$" | head -60
tar cf - -C .train $(test -d .train/best && echo best) logs eval | split -b 15m - $OUT/bundle.tar.
ls -la $OUT
