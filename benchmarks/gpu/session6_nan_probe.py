"""Session 6 probe: which module first turns a training forward non-finite (run J's setup: H + seed 1).

    python3 benchmarks/gpu/session6_nan_probe.py --until UNIX_TIME --out DIR -- <model.train arguments>

Trains as model.train would; at the first step whose loss is not finite it runs that batch again row by row
with forward hooks, prints the rows and the modules (in call order) whose outputs are first non-finite,
repeats the bad row with the PyTorch reference HSA instead of the Triton kernels, and saves the batch.
"""
import functools
import sys
import time

import torch

import model.transformer as transformer
from model.train import Trainer, parse_args


def finite(out) -> bool:
    tensors = out if isinstance(out, tuple | list) else (out,)
    return all(torch.isfinite(t).all() for t in tensors
               if isinstance(t, torch.Tensor) and t.is_floating_point())


def first_bad_modules(model, idx, doc_ids, targets, limit=8):
    bad, hooks = [], []
    for name, module in model.named_modules():
        hooks.append(module.register_forward_hook(
            lambda m, i, o, name=name: bad.append(name) if len(bad) < limit and not finite(o) else None))
    try:
        with torch.no_grad(), torch.autocast("cuda", torch.bfloat16):
            _, loss = model(idx, doc_ids, targets)
    finally:
        for h in hooks:
            h.remove()
    return bad, float(loss)


def diagnose(trainer, batch, out_dir):
    model = trainer.model
    idx, doc_ids, targets, answer, wanted, copies = (t.to(trainer.device) for t in batch)
    torch.save([t.cpu() for t in batch], f"{out_dir}/nan_batch.pt")
    trainer.cfg.hsa_top_k = trainer.phase.top_k
    for r in range(idx.shape[0]):
        bad, loss = first_bad_modules(model, idx[r:r + 1], doc_ids[r:r + 1], targets[r:r + 1])
        print(f"row {r}: loss {loss} answers {int(answer[r].sum())} "
              f"retrieval targets {int((wanted[r] >= 0).sum())} docs {int(doc_ids[r].max()) + 1} "
              f"first non-finite modules {bad}", flush=True)
        if bad:
            with torch.no_grad(), torch.autocast("cuda", torch.bfloat16):
                logits, _ = model(idx[r:r + 1], doc_ids[r:r + 1])
            where = (~torch.isfinite(logits[0].float())).any(-1).nonzero().flatten()
            print(f"  non-finite positions {len(where)}: {where[:12].tolist()} doc ids there "
                  f"{doc_ids[r, where[:12]].tolist()} tokens {idx[r, where[:12]].tolist()}", flush=True)
            original = transformer.hsa_attention
            transformer.hsa_attention = functools.partial(original, impl="reference")
            try:
                bad_ref, loss_ref = first_bad_modules(model, idx[r:r + 1], doc_ids[r:r + 1], targets[r:r + 1])
            finally:
                transformer.hsa_attention = original
            print(f"  with the reference HSA: loss {loss_ref} first non-finite modules {bad_ref}", flush=True)


def main():
    split = sys.argv.index("--")
    own, rest = sys.argv[1:split], sys.argv[split + 1:]
    until, out_dir = float(own[own.index("--until") + 1]), own[own.index("--out") + 1]
    trainer = Trainer(parse_args(rest))
    step = trainer.train_step

    def checked(batch):
        result = step(batch)
        if not torch.isfinite(result[0]):
            print(f"step {trainer.step + 1}: loss {float(result[0])}", flush=True)
            diagnose(trainer, batch, out_dir)
            trainer.stop_requested = True
        elif time.time() > until:
            trainer.stop_requested = True
        return result

    trainer.train_step = checked
    trainer.run()


if __name__ == "__main__":
    main()
