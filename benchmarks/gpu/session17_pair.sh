#!/bin/bash
# Run from the repo root on the device machine (run tool, nvidia-h200-x2, carry []); results in
# docs/lab-notes.md (session 17, calls 1-3). Two stretches from resources/model with session 16's ZU recipe
# (its seed, so the same rows: ZU is the control), each on a start reshaped by model/widen.py with every
# chunk score unchanged, then session9_stretch.sh's whole table; the loss of both beside resources/model.
#   bash benchmarks/gpu/session17_pair.sh 1|2|3
# 1: ZX landmark 128 (does the retrieval's width limit definition lookup?), ZY window 1,024 (how much of the
#    loss gap to the dense baseline is the window?).
# 2: the landmark's two projections at ten times the learning rate (call 1's new dimensions hardly moved):
#    WA landmark 128, WB 64 (the control for the width).
# 3: a second chunk-encoder layer (the identity at the start), it and the projections at ten times the rate:
#    EA landmark 64, EB 128.
# One model comes back (session11_pair.sh: the better definition lookup, seed 0).
S=$(date +%s)
mkdir -p .train/logs
widen() { python3 -m model.widen --model resources/model --out .train/$1/model "${@:2}"; }
K=single,multikey,multikey,multivalue,multiquery,multiquery,vartrack,vartrack
COMMON="NEG=batch TRAIN_ONLY= NAMESAKE=1.0 BASE=resources/model"
case $1 in
  1) widen init-wide --landmark-dim 128; widen init-win --window 1024
     A=ZX; B=ZY; ENV_A="INIT=.train/init-wide/model LDIM=128"; ENV_B="INIT=.train/init-win/model WINDOW=1024" ;;
  2) widen init-wide --landmark-dim 128; COMMON="$COMMON LRSCALE=w_landmark|w_retrieval=10"
     A=WA; B=WB; ENV_A="INIT=.train/init-wide/model LDIM=128"; ENV_B="" ;;
  3) widen init-deep --encoder-layers 2; widen init-deepwide --encoder-layers 2 --landmark-dim 128
     COMMON="$COMMON ENCL=2 LRSCALE=encoder\.extra|w_landmark|w_retrieval=10"
     A=EA; B=EB; ENV_A="INIT=.train/init-deep/model"; ENV_B="INIT=.train/init-deepwide/model LDIM=128" ;;
  *) echo "usage: session17_pair.sh 1|2|3" >&2; exit 2 ;;
esac
PAIR_S=$((${PAIR_S:-570} - ($(date +%s) - S))) bash benchmarks/gpu/session11_pair.sh \
  "$A 38 0.3 330 1e-4 0.45 0.45 $K 2" "$B 38 0.3 330 1e-4 0.45 0.45 $K 2" "$COMMON $ENV_A" "$COMMON $ENV_B"
for m in $A $B; do  # how far the new parts grew (rms), against the old ones
  python3 -c "
from model import checkpoint
m, _ = checkpoint.load('.train/$m/model')
w = m.upper[0].w_retrieval.weight.detach()
print('$m retrieval rows rms: first 64 %.4f, the rest %.4f' % (w[:64].pow(2).mean().sqrt(),
      w[64:].pow(2).mean().sqrt() if len(w) > 64 else 0))
for e in m.encoder.extra:
    print('$m new encoder layer: wo rms %.4f, ffn w_out rms %.4f; first layer wo %.4f' % (
        e.attn.wo.weight.detach().pow(2).mean().sqrt(), e.ffn.w_out.weight.detach().pow(2).mean().sqrt(),
        m.encoder.attn.wo.weight.detach().pow(2).mean().sqrt()))"
done
echo "session17 wall $(( $(date +%s) - S )) s"
