#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# resources/model was then session 3's model: to repeat, git checkout 816b7d0 -- resources/model first.
# Session 4, GPU call 2 (one H200): two fine-tunes of resources/model with copy supervision (--copy-weight:
# the HSA heads' attention share on the needle token each answer token copies) on top of retrieval
# supervision, side by side on the one GPU: A all weights lr 3e-4; B the upper half and the chunk encoder,
# lr 6e-4. Then held-out loss of both and the base, the pick's needle evaluation, the GPU decode tests.
S=$(date +%s); END=$((S+570))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs .train/eval && L=.train/logs; E=.train/eval
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
T="python3 -m model.train --corpus .train/corpus --init resources/model --until $((S+390)) --plan-minutes 5.2 --monitor-every 100 --monitor-samples 16 --warmup-steps 30 --seq-len 1024,4096,8192 --full-share 0.1 --task-share 0.5 --qa-share 0.15 --retrieval-weight 1 --copy-weight 1 --answer-weight 1"
$T --out .train/A --lr 3e-4 > $L/A.out 2>&1 &
$T --out .train/B --lr 6e-4 --train-only 'upper\.|encoder\.' > $L/B.out 2>&1 &
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/model/test_gpu_decode.py > $L/gputests.out 2>&1
wait
for r in A B; do cp .train/$r/log.jsonl $L/$r.jsonl 2>/dev/null; done
M=(resources/model .train/A/model .train/B/model)
for i in 0 1 2; do timeout 45 python3 -m model.train_loss --models ${M[$i]} --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/loss$i.md > $L/loss$i.out 2>&1 & done; wait
BEST=$(python3 - <<'PY'
import json, re
loss = {}
for i, name in enumerate(["base", "A", "B"]):
    try:
        m = re.search(r"\| [^|]+ \| hsa \| swiglu \| [^|]+ \| ([0-9.]+) \|", open(f".train/logs/loss{i}.md").read())
    except OSError:
        m = None
    loss[name] = float(m.group(1)) if m else 99.0
rank = []
for r in "AB":
    try:
        mon = [json.loads(l) for l in open(f".train/{r}/log.jsonl") if '"monitor"' in l]
    except OSError:
        continue
    if not mon:
        continue
    acc = sum(v for k, v in mon[-1].items() if k.startswith("needle_acc@") and v is not None)
    # exact answers first, then the smaller loss of the language model
    rank.append(((round(acc, 2), -loss[r]), r))
print(json.dumps(loss), sorted(rank))
print(max(rank)[1] if rank else "none")
PY
)
echo "$BEST"; B=$(echo "$BEST" | tail -1); echo "$BEST" > $L/best.txt
if test -d .train/$B/model; then
  cp -r .train/$B/model .train/best; R=$((END-20-$(date +%s)))
  timeout $R python3 -m benchmarks.eval_long --model .train/best --corpus .train/corpus --samples 20 --kinds single,multiquery,vartrack,multikey --lengths 4K,16K,64K --out $E/long.md > $E/long.out 2>&1
fi
grep -h '"monitor"' $L/[AB].jsonl | cut -c1-400; grep -h '"step"' $L/[AB].jsonl | tail -4 | cut -c1-400
tail -2 $L/gputests.out; tail -2 $L/A.out $L/B.out | cut -c1-300; cat $E/long.md 2>/dev/null | tail -8
tar cf - -C .train $(test -d .train/best && echo best) logs eval | split -b 15m - $OUT/bundle.tar.
ls -la $OUT
