# Sourced by benchmarks/gpu/session20_call1.sh (not run alone). The caller sets S (its
# start, Unix seconds), TRAIN_S (seconds from S by which a stretch ends), L (the log folder) and K (the task
# kinds).

# stretch NAME SEED TASK_SHARE QA_SHARE ANSWER_W RETRIEVAL_W COPY_W: resources/model trained on every weight at
# 5e-4 (cosine to a tenth) until S + TRAIN_S, the window layers reading 512 on half the steps, on plain text
# with TASK_SHARE / QA_SHARE of the rows task and question rows (both 0: plain text only, and the weights do
# nothing); then its landmark centre recalibrated. The model lands in .train/NAME/model, its log in L.
stretch() {
  python3 -m model.train --corpus .train/corpus --init resources/model --until $((S + TRAIN_S)) \
    --plan-minutes $(awk -v s=$(( TRAIN_S - ($(date +%s) - S) - 25 )) 'BEGIN { printf "%.2f", s / 60 }') \
    --lr-shape cosine --warmup-steps 30 --monitor-every 0 --seq-len 16384 --full-share 0 --window 2048 \
    --short-window 512 --task-share $3 --qa-share $4 --task-kinds $K --qa-per-row 16 --passage-share 0.3 \
    --turns-share 0.5 --retrieval-weight $6 --retrieval-negatives batch --namesake-share 1.0 --copy-weight $7 \
    --answer-weight $5 --lr 5e-4 --train-only "" --seed $2 --out .train/$1 > $L/$1.out 2>&1
  cp .train/$1/log.jsonl $L/$1.jsonl
  python3 -m model.calibrate --model .train/$1/model --corpus .train/corpus >> $L/$1.out 2>&1
  echo "$1 trained $(( $(date +%s) - S )) s: $(grep -h '"event": "step"' .train/$1/log.jsonl | tail -1 | cut -c1-240)"
}

# lowest_loss TABLE NAME...: of the models .train/NAME/model in model.train_loss's table, the one with the
# lowest held-out loss (nothing if the table is missing or holds none of them).
lowest_loss() {
  python3 - "$@" <<'EOF'
import os
import sys
table, names = sys.argv[1], sys.argv[2:]
loss = {}
for line in open(table).read().splitlines() if os.path.exists(table) else []:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 7 and cells[0].startswith(".train/") and cells[0].split("/")[1] in names:
        loss[cells[0].split("/")[1]] = float(cells[4])
print(min(loss, key=loss.get) if loss else "")
EOF
}
