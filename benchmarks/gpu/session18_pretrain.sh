#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 18). Is the loss gap to the dense baseline the 512-token window? Three models
# pre-trained from scratch on the same data stream and curriculum for the same STEPS (default 2,000 of
# 131,072 tokens; 4K full-k warm-up, then 4K, 8K, 16K at top-8):
#   GPU 0: WS, window 2,048, read with 512 in the warm-up and on half the later steps (--short-window);
#   GPU 1: the dense baseline (full attention), then H5, the window 512 of hsa-mini (the control).
# Call 1 starts all of it and saves at its deadline; call 2, on the still warm machine, resumes each run to
# its end, then measures every model's held-out loss in one run (16K rows, 1M tokens; by the position in the
# document too), with WS read at 512 and resources/model beside them.
#   bash benchmarks/gpu/session18_pretrain.sh 1|2
S=$(date +%s)
STEPS=${STEPS:-2000}
END=$((S + ${CALL_S:-565}))
mkdir -p .train/logs .train/eval
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
[ -d .train/corpus/heldout ] || { [ "$1" = 1 ] || echo "no corpus: a fresh machine (call 2 needs call 1's)";
  python3 -m model.data.build --out .train/corpus --limit-mb 300 --workers 32 > .train/logs/build.log 2>&1; }
echo "corpus ready $(( $(date +%s) - S )) s"
train() {  # NAME GPU ARGS...: run (or resume) NAME to STEPS, stopping by the deadline
  local resume=(); [ -d .train/$1/state ] && resume=(--resume .train/$1)
  CUDA_VISIBLE_DEVICES=$2 python3 -m model.train --corpus .train/corpus --out .train/$1 --plan-steps $STEPS \
    --max-steps $STEPS --monitor-every 0 --seed 0 --until $3 "${resume[@]}" "${@:4}" >> .train/logs/$1.out 2>&1
  echo "$1 stopped $(( $(date +%s) - S )) s: $(grep -h '"event": "step"' .train/$1/log.jsonl | tail -1)"
}
done_() { python3 -c "import json,sys; print(json.load(open('.train/$1/state/meta.json'))['step'] >= $STEPS)" \
  2>/dev/null | grep -q True; }
LOSS_S=${LOSS_S:-110}
[ "$1" = 2 ] && STOP=$((END - LOSS_S)) || STOP=$END
done_ WS || train WS 0 $STOP --window 2048 --short-window 512 --short-share 0.5 &
( done_ dense || train dense 1 $STOP --variant dense
  done_ dense && ! done_ H5 && train H5 1 $STOP ) &
wait
if [ "$1" = 2 ]; then
  mkdir -p .train/WS512 && cp .train/WS/model/* .train/WS512/ && \
    sed -i 's/"window": 2048/"window": 512/' .train/WS512/config.json
  M=""; for m in H5 dense WS; do done_ $m && M="$M .train/$m/model"; done; done_ WS && M="$M .train/WS512"
  timeout $((END - $(date +%s) + 25)) python3 -m model.train_loss --models $M resources/model --corpus .train/corpus \
    --seq-len 16384 --tokens 1000000 --out .train/eval/loss-s18.md > .train/eval/loss-s18.out 2>&1
  cat .train/eval/loss-s18.md; tail -n 3 .train/eval/loss-s18.out
  done_ WS && tar cf - -C .train/WS model | split -b 15M - $OUT/WS-model.tar.part-
fi
for m in WS dense H5; do cp .train/$m/log.jsonl .train/logs/$m.jsonl 2>/dev/null; done
tar cf $OUT/evals.tar -C .train eval logs
ls -la $OUT
echo "wall $(( $(date +%s) - S )) s"
