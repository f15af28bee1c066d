"""Average the weights of trained model folders of one shape (a "model soup").

    python -m model.average --models resources/model .train/PA/model --shares 0.5 0.5 --out .train/soup/model
    python -m model.calibrate --model .train/soup/model --corpus .train/corpus

Every floating tensor of the new model is the shares' weighted sum of the models' tensors (in fp32, saved
in bf16 as the shipped folders are). It makes sense for models that share a start: a fine-tune and the
model it was trained from, or two fine-tunes of one model (session 20: RB, whose task rows cost held-out
loss, and PA, the plain-text model it was trained from). The configs must match; the landmark centre (a
buffer, not config) is averaged like the weights, and model.calibrate measures it afresh for the new ones.
The folder is written beside the target and renamed into place, without trainer.json: it is no training
run's state. --only REGEX averages just the tensors whose names it finds (re.search) and takes every other
from the first model, e.g. `--only "^(embed|lower)\\."` for the layers below the chunk encoder alone (session
21: B40; the definition lookup fell with them all the same).
"""

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import torch

from model import checkpoint
from model.calibrate import replace_folder
from model.transformer import Transformer


def average(models: list[Transformer], shares: list[float], only: str | None = None) -> Transformer:
    """A new fp32 model whose tensors are sum(share * tensor), or, with `only`, just those whose names match
    it (the rest the first model's); ValueError if the shapes differ or `only` matches no tensor."""
    if len(models) < 2 or len(models) != len(shares):
        raise ValueError(f"give two or more models and one share each ({len(models)} models, "
                         f"{len(shares)} shares)")
    if any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6:
        raise ValueError(f"shares must be at least 0 and sum to 1, got {shares}")
    first = dataclasses.asdict(models[0].cfg)
    for model in models[1:]:
        other = dataclasses.asdict(model.cfg)
        differ = sorted(k for k in first if first[k] != other.get(k))
        if differ:
            key = differ[0]
            raise ValueError(f"the models differ in {key} ({first[key]} against {other.get(key)})")
    try:
        pattern = re.compile(only or "")
    except re.error as e:
        raise ValueError(f"--only {only!r} is not a regular expression ({e})") from None
    out = Transformer(models[0].cfg)
    states = [m.state_dict() for m in models]
    mixed = {name for name, t in out.state_dict().items() if t.is_floating_point() and pattern.search(name)}
    if not mixed:
        raise ValueError(f"--only {only!r} matches none of the model's tensors")
    with torch.no_grad():
        for name, tensor in out.state_dict().items():
            if name in mixed:
                tensor.copy_(sum(s * state[name].float() for s, state in zip(shares, states, strict=True)))
            else:
                tensor.copy_(states[0][name])
    return out.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, nargs="+", required=True, help="model folders of one shape")
    p.add_argument("--shares", type=float, nargs="+", help="one per model, summing to 1 (default: equal)")
    p.add_argument("--out", type=Path, required=True, help="the new model folder")
    p.add_argument("--only", help="average only the tensors whose names this regular expression finds")
    args = p.parse_args(argv)
    shares = args.shares or [1 / len(args.models)] * len(args.models)
    try:
        loaded = [checkpoint.load(folder) for folder in args.models]
        soup = average([model for model, _ in loaded], shares, args.only)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fingerprint = replace_folder(args.models[0], args.out, soup, loaded[0][1])
        (args.out / "trainer.json").unlink(missing_ok=True)  # the first model's step and data position
    except (checkpoint.CheckpointError, ValueError, OSError) as e:
        print(f"average: {e}", file=sys.stderr)
        return 1
    parts = ", ".join(f"{share:g} x {folder}" for share, folder in zip(shares, args.models, strict=True))
    where = f" (tensors matching {args.only!r}; the rest the first model's)" if args.only else ""
    print(f"{args.out}: {parts}{where}; fingerprint {fingerprint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
