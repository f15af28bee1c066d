#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200, carry []); results in docs/lab-notes.md.
# Session 29: the owner probe (benchmarks/owner_probe.py) of the shipped model on the questions of its kept
# results (docs/eval/results/code-*.json), over the same corpus build the results were asked of.
#   bash benchmarks/gpu/session29_owner.sh
S=$(date +%s)
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p .train/logs
[ -d .train/corpus/heldout ] || python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 16 > .train/logs/build.log 2>&1
echo "corpus $(( $(date +%s) - S )) s"
python3 -m benchmarks.owner_probe --model resources/model --corpus .train/corpus \
    --results 'docs/eval/results/code-*.json' --out $OUT/owner-probe.md
echo "probe $(( $(date +%s) - S )) s"
