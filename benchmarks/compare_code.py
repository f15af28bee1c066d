"""Compare models on the same code questions: totals per seed and paired counts, from eval_code's JSON files.

    python -m benchmarks.compare_code R1='eval/code*R1.json' L1='eval/code*L1.json' [--out docs/eval/x.md]

Each argument NAME=PATTERN names a model and the glob of its eval_code result files (one per question seed;
the seed is read from the command each file records). Questions are matched by seed, package, file, kind and
text, so the models must have been asked the same questions (the same corpus build and seeds). The first
model is the reference: for every other one the table gives the questions only it got right and those only
the reference got right, and the two-sided sign test's p over those (exact binomial): how often a difference
this large arises between two models that are alike.
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import sys
from math import comb
from pathlib import Path

KIND_NAMES = {"where": "definition lookup", "which": "description to function", "passage": "passages"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compare_code", description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+", metavar="NAME=PATTERN",
                   help="a model's name and the glob of its eval_code JSON files; the first is the reference")
    p.add_argument("--out", type=Path, help="also write the table here (markdown)")
    return p.parse_args(argv)


def file_seed(results: dict) -> int:
    found = re.search(r"--seed[ =](\d+)", results.get("command", ""))
    return int(found.group(1)) if found else 0


def load(pattern: str) -> dict[tuple, bool]:
    """{(seed, package, path, kind, question): correct} over the files the pattern finds."""
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise SystemExit(f"no eval_code results match {pattern!r}")
    answers: dict[tuple, bool] = {}
    for path in paths:
        try:
            results = json.loads(Path(path).read_text())
            seed = file_seed(results)
            for sample in results["samples"]:
                key = (seed, sample["package"], sample["path"], sample["kind"], sample["question"])
                answers[key] = bool(sample["correct"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"{path}: not an eval_code result ({e})") from None
    return answers


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: P(a split at least this uneven | both sides equally likely)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare(models: dict[str, dict[tuple, bool]]) -> str:
    names = list(models)
    reference = models[names[0]]
    for name in names[1:]:
        if models[name].keys() != reference.keys():
            shared = len(models[name].keys() & reference.keys())
            raise SystemExit(f"{name} was asked other questions than {names[0]} ({shared} of "
                             f"{len(reference)} in common): compare results of one corpus build and seeds")
    seeds = sorted({key[0] for key in reference})
    asked = {key[3] for key in reference}
    kinds = [k for k in KIND_NAMES if k in asked] + sorted(asked - KIND_NAMES.keys())
    lines = []
    for kind in kinds:
        keys = [key for key in reference if key[3] == kind]
        title = f"{KIND_NAMES.get(kind, kind)} ({len(keys)} questions, seeds {', '.join(map(str, seeds))})"
        lines += [f"### {title}", "",
                  f"| model | right | per seed | only this / only {names[0]} | sign test p |",
                  "|---|---|---|---|---|"]
        for name in names:
            answers = models[name]
            per_seed = " / ".join(str(sum(answers[k] for k in keys if k[0] == s)) for s in seeds)
            right = sum(answers[k] for k in keys)
            if name == names[0]:
                paired = p = "—"
            else:
                wins = sum(answers[k] and not reference[k] for k in keys)
                losses = sum(reference[k] and not answers[k] for k in keys)
                paired, p = f"{wins} / {losses}", f"{sign_test(wins, losses):.2f}"
            share = f"{100 * right / len(keys):.1f}%"
            lines.append(f"| {name} | {right} ({share}) | {per_seed} | {paired} | {p} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    models = {}
    for spec in args.models:
        name, sep, pattern = spec.partition("=")
        if not sep or not name or not pattern:
            raise SystemExit(f"expected NAME=PATTERN, got {spec!r}")
        if name in models:
            raise SystemExit(f"model name {name!r} given twice")
        models[name] = load(pattern)
    table = compare(models)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
