#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x4, carry [".gpu-wheels"] (ingest dependencies for benchmarks/ask.py)); results in docs/lab-notes.md.
# resources/model was then the stage-1 model: to repeat, check it out first (git checkout 658f856 -- resources/model).
# Session 3, GPU call 2 (x4): three fine-tunes of resources/model with retrieval supervision (GPU0-2);
# encode / ask benchmarks and the base model's needle numbers on GPU3. See docs/lab-notes.md.
S=$(date +%s); END=$((S+565))
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p .train/logs && L=.train/logs
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu-wheels/*.whl > $L/pip.log 2>&1
python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > $L/build.log 2>&1
T="python3 -m model.train --corpus .train/corpus --init resources/model --until $((END-80)) --plan-minutes 6.6 --monitor-every 100 --monitor-samples 16 --warmup-steps 50 --seq-len 1024,4096,8192 --full-share 0.3 --task-share 0.4 --qa-share 0.2 --answer-weight 1"
CUDA_VISIBLE_DEVICES=0 $T --out .train/E --lr 3e-4 --retrieval-weight 1 > $L/E.out 2>&1 &
CUDA_VISIBLE_DEVICES=1 $T --out .train/F --lr 3e-4 --retrieval-weight 4 > $L/F.out 2>&1 &
CUDA_VISIBLE_DEVICES=2 $T --out .train/G --lr 1e-3 --retrieval-weight 1 > $L/G.out 2>&1 &
(export CUDA_VISIBLE_DEVICES=3 PYTHONPATH=/tmp/site
 timeout 150 python3 benchmarks/encode.py --skip-cpu --compile --out $L/encode.md > $L/encode.out 2>&1
 timeout 170 python3 benchmarks/ask.py --sizes 1M,4M --device cuda --out $L/ask-h200.md > $L/ask.out 2>&1
 timeout $((END-90-$(date +%s))) python3 -m benchmarks.eval_long --model resources/model --corpus .train/corpus --samples 25 --kinds single,multikey --lengths 4K,16K --out $L/base-long.md > $L/base-long.out 2>&1) &
wait
for r in E F G; do cp .train/$r/log.jsonl $L/$r.jsonl; done
for i in 0 1 2 3; do M=(resources/model .train/E/model .train/G/model .train/F/model); CUDA_VISIBLE_DEVICES=$i timeout 50 python3 -m model.train_loss --models ${M[$i]} --corpus .train/corpus --seq-len 16384 --tokens 1000000 --out $L/loss$i.md > $L/loss$i.out 2>&1 & done; wait
BEST=$(python3 - <<'PY'
import json, re
loss = {}
for i, name in enumerate(["base", "E", "G", "F"]):
    m = re.search(r"\| [^|]+ \| hsa \| swiglu \| [^|]+ \| ([0-9.]+) \|", open(f".train/logs/loss{i}.md").read())
    loss[name] = float(m.group(1)) if m else 99.0
best = None
for r in "EFG":
    mon = [json.loads(l) for l in open(f".train/{r}/log.jsonl") if '"monitor"' in l]
    if not mon or loss[r] > loss["base"] * 1.05:
        continue
    m = mon[-1]
    cited = sum(v for k, v in m.items() if k.startswith("needle_cited@") and v is not None)
    acc = sum(v for k, v in m.items() if k.startswith("needle_acc@") and v is not None)
    key = (cited + acc, -loss[r])
    if best is None or key > best[0]:
        best = (key, r)
print(json.dumps(loss))
print(best[1] if best else "none")
PY
)
echo "$BEST"; echo "$BEST" > $L/best.txt; B=$(echo "$BEST" | tail -1)
grep -h '"monitor"' $L/[EFG].jsonl | cut -c1-330; tail -3 $L/*.out | cut -c1-300; cat $L/encode.md $L/ask-h200.md $L/base-long.md 2>/dev/null | head -60
test -d .train/$B/model && cp -r .train/$B/model .train/best
tar cf - -C .train $(test -d .train/best && echo best) logs | split -b 15m - $OUT/bundle.tar.
ls -la $OUT
