"""RULER-style long-context evaluation of a model folder on held-out text.

    python -m benchmarks.eval_long --model resources/model --corpus .train/corpus \\
        --lengths 4K,16K,64K,256K,1M,4M,16M --samples 50 --kinds single,multikey,multiquery,vartrack \\
        --device cuda --out docs/eval-long.md
    python -m benchmarks.eval_long --model resources/model --corpus .train/corpus --cpu-smoke

Per length, held-out documents fill the context (the corpus is cycled when it is smaller; the table says so)
and are encoded once into a memory on the device; each sample re-encodes only the documents its needles go
into, asks the question as its own chat document and generates the answer greedily. A sample is correct when
the answer matches exactly (whitespace, quotes and a final period aside); its RULER score is the share of
the expected values the answer holds in any order (RULER's string_match_all, with which the paper's numbers
and the issue's targets are scored; for a single needle, whether the answer holds the value; a multi-query
answer names each key before its value, and only the values count); it is cited
when the chunk with the largest retrieval weight summed over the answer's tokens (the app's first citation)
holds the needle's value (for variable tracking, the chain's first variable). Needle depths are spread
evenly over the context: sample s of n at depth (s + 0.5) / n. Writes a markdown table to --out and the
cells as JSON beside it, every wrong answer included (--merge adds to an earlier run's cells, so lengths can
be run in separate calls).
"""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from model import checkpoint
from model.data.tasks import KINDS
from model.train_eval import Haystack, apply_smoke, load_for_eval, needle_samples

SMOKE = dict(lengths="2K,4K", samples=10, device="cpu")
UNITS = {"K": 1024, "M": 1024**2}


def parse_length(text: str) -> int:
    text = text.strip().upper()
    if text and text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def length_name(n: int) -> str:
    for unit in ("M", "K"):
        if n % UNITS[unit] == 0:
            return f"{n // UNITS[unit]}{unit}"
    return str(n)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.eval_long", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True, help="model folder (config.json, shards)")
    p.add_argument("--corpus", type=Path, required=True,
                   help="build folder (its heldout/) or a Corpus folder")
    p.add_argument("--lengths", default="4K,16K,64K,256K,1M,4M,16M")
    p.add_argument("--samples", type=int, default=50, help="samples per kind and length")
    p.add_argument("--kinds", default="single,multikey,multiquery,vartrack")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="markdown table (and .json beside it)")
    p.add_argument("--merge", action="store_true", help="keep the cells of --out's JSON not run now")
    p.add_argument("--cpu-smoke", action="store_true", help=f"short CPU run: {SMOKE}")
    args = p.parse_args(argv)
    apply_smoke(args, argv if argv is not None else sys.argv[1:], SMOKE)
    unknown = [k for k in args.kinds.split(",") if k not in KINDS]
    if unknown:
        p.error(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
    return args


def evaluate(args: argparse.Namespace) -> dict:
    model, tokenizer, corpus = load_for_eval(args.model, args.corpus, args.device)
    kinds = args.kinds.split(",")
    results = {"model": str(args.model), "fingerprint": checkpoint.fingerprint(model), "cells": {},
               "haystacks": {}, "command": "python -m benchmarks.eval_long " + shlex.join(args.argv)}
    if args.merge and args.out is not None and args.out.with_suffix(".json").is_file():
        earlier = json.loads(args.out.with_suffix(".json").read_text())
        results["cells"], results["haystacks"] = earlier["cells"], earlier["haystacks"]
    for length in (parse_length(x) for x in args.lengths.split(",")):
        start = time.monotonic()
        haystack = Haystack.from_corpus(corpus, length, model.cfg.chunk_size, args.seed)
        name = length_name(length)
        results["haystacks"][name] = {"documents": len(haystack.texts), "tokens": haystack.tokens,
                                      "repeats": haystack.repeats}
        for kind in kinds:
            t0 = time.monotonic()
            samples = needle_samples(model, tokenizer, haystack, [kind], args.samples, args.seed)
            correct = sum(s.correct for s in samples)
            cited = sum(s.cited for s in samples)
            ruler = sum(s.ruler for s in samples)
            results["cells"][f"{kind}@{name}"] = {
                "kind": kind, "length": name, "tokens": length, "correct": correct, "cited": cited,
                "ruler": round(ruler, 3), "n": len(samples),
                "seconds": round(time.monotonic() - t0, 1),
                "examples": [{"expected": s.expected, "got": s.got} for s in samples[:3]],
                "misses": [{"depth": round(s.depth, 3), "expected": s.expected, "got": s.got,
                            "cited": s.cited} for s in samples if not s.correct]}
            seconds = time.monotonic() - t0
            print(f"{kind:>10} @ {name:>4}: {correct}/{len(samples)} exact, "
                  f"RULER {100 * ruler / len(samples):.0f}%, {cited} cited ({seconds:.1f} s)", flush=True)
        print(f"length {name}: {time.monotonic() - start:.1f} s, haystack {results['haystacks'][name]}",
              flush=True)
        if args.out is not None:
            write(results, args.out)
    return results


def table(results: dict) -> str:
    cells = results["cells"].values()
    kinds = [k for k in KINDS if any(c["kind"] == k for c in cells)]
    lengths = sorted({(c["tokens"], c["length"]) for c in cells})
    lines = ["| task | " + " | ".join(name for _, name in lengths) + " |",
             "|---|" + "---|" * len(lengths)]
    for kind in kinds:
        row = []
        for _, name in lengths:
            cell = results["cells"].get(f"{kind}@{name}")
            if cell is None:
                row.append("")
                continue
            ruler = f" / {100 * cell['ruler'] / cell['n']:.0f}%" if "ruler" in cell else ""
            cited = f" / {100 * cell['cited'] / cell['n']:.0f}%" if "cited" in cell else ""
            row.append(f"{100 * cell['correct'] / cell['n']:.0f}%{ruler}{cited} (n={cell['n']})")
        lines.append(f"| {kind} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def write(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    hay = "\n".join(f"- {name}: {h['documents']} documents, {h['tokens']:,} memory tokens"
                    + (f", a held-out document up to {h['repeats'] + 1}x" if h["repeats"] else "")
                    for name, h in results["haystacks"].items())
    out.write_text(f"# Long-context retrieval (RULER-style)\n\nModel `{results['model']}` (fingerprint "
                   f"{results['fingerprint']}); per task and context length: exact-match accuracy of the "
                   f"answer / RULER's score (the share of the expected values the answer holds, in any "
                   f"order) / share of answers whose top chunk (the first citation) holds the needle.\n\n"
                   f"{table(results)}\n\nHaystacks (held-out text):\n{hay}\n\n"
                   f"Command: `{results['command']}`\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    results = evaluate(args)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
