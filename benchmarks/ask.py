"""Time to first token and total time of `ask`: cold (ingest + encode + answer, i.e. recomputing from scratch)
against a follow-up (the memory reused), on projects of growing size made of real source files.

    python benchmarks/ask.py --sizes 10K,100K,1M --device cpu --out docs/bench-ask-cpu.md
    python benchmarks/ask.py --sizes 1M,4M,16M --device cuda --out docs/bench-ask-h200.md

Projects are copied from the Python standard library (and site-packages when that is not enough) until
they hold the asked number of tokens. The model is --model DIR, or random hsa-mini weights (speed only).
Rows: cold = a never-ingested folder, what a tool without a persistent memory pays for every question;
follow-up = the same question again (a scan that finds nothing changed, then the answer); follow-up
(watched) = refresh=False, as in the window where a watcher keeps the project fresh; re-ingest = `ingest`
of the unchanged tree.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import sysconfig
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from app.core.engine import Engine  # noqa: E402
from model.checkpoint import save  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.tokenizer import Tokenizer  # noqa: E402
from model.transformer import Transformer  # noqa: E402

QUESTION = "Where is the function that parses the configuration file defined, and what does it return?"


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * scale)


def source_files() -> list[Path]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts or "site-packages" in path.parts and root.name != "site-packages":
                continue
            try:
                if 200 < path.stat().st_size < 400_000:
                    files.append(path)
            except OSError:
                continue
    return files


def make_project(folder: Path, tokens: int, files: list[Path], tokenizer: Tokenizer) -> int:
    """Copy source files into folder until they hold `tokens` tokens; returns the count reached."""
    total = 0
    for i, path in enumerate(files):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        target = folder / f"f{i // 500:03d}" / f"{i:06d}_{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        total += len(tokenizer.encode(text)) + 2
        if total >= tokens:
            return total
    raise SystemExit(f"only {total:,} tokens of source text on this machine, {tokens:,} asked")


def timed_ask(engine: Engine, root: Path, refresh: bool, new_tokens: int) -> tuple[float, float, dict]:
    if engine.device == "cuda":
        torch.cuda.synchronize()
    answer = engine.ask([str(root)], QUESTION, max_new_tokens=new_tokens, refresh=refresh)
    return answer.timing["ttft_ms"], answer.timing["total_ms"], answer.memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10K,100K,1M")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--model", default=None, help="model folder (default: random hsa-mini weights)")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--out", default=None, help="write the markdown table here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="folio-ask-bench-"))
    os.environ["FOLIO_HOME"] = str(work / "home")
    tokenizer = Tokenizer.load()
    model_dir = args.model
    if model_dir is None:
        torch.manual_seed(0)
        model_dir = work / "model"
        save(Transformer(ModelConfig.from_name("hsa-mini")), model_dir, tokenizer, dtype=torch.bfloat16)
    started = time.perf_counter()
    engine = Engine(model_dir, device=args.device)
    load_s = time.perf_counter() - started
    files = source_files()
    rows = []
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        root = work / f"project-{size}"
        tokens = make_project(root, size, files, tokenizer)
        cold_ttft, cold_total, memory = timed_ask(engine, root, True, args.new_tokens)
        timed_ask(engine, root, True, args.new_tokens)  # warm-up of the follow-up path (kernels, caches)
        follow = [timed_ask(engine, root, True, args.new_tokens) for _ in range(3)]
        watched = [timed_ask(engine, root, False, args.new_tokens) for _ in range(3)]
        follow_ttft = sorted(f[0] for f in follow)[1]
        follow_total = sorted(f[1] for f in follow)[1]
        watched_ttft = sorted(w[0] for w in watched)[1]
        watched_total = sorted(w[1] for w in watched)[1]
        started = time.perf_counter()
        engine.refresh([str(root)])
        reingest_s = time.perf_counter() - started
        rows.append(
            (
                size,
                tokens,
                memory["chunks"],
                cold_ttft,
                cold_total,
                follow_ttft,
                follow_total,
                watched_ttft,
                watched_total,
                reingest_s,
            )
        )
        print(
            f"{tokens:>11,} tokens: cold {cold_ttft:,.0f} ms, follow-up {follow_ttft:,.1f} ms "
            f"(watched {watched_ttft:,.1f} ms), re-ingest {reingest_s:.2f} s",
            flush=True,
        )
        engine.forget([str(root)])
        shutil.rmtree(root, ignore_errors=True)

    device = torch.cuda.get_device_name(0) if engine.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    lines = [
        f"ask latency: {device}, model {engine.model_name} "
        f"({'random weights' if args.model is None else model_dir}), {args.new_tokens} new tokens, "
        f"{datetime.now(UTC):%Y-%m-%d}; model load {load_s:.1f} s (not in the rows)",
        f"command: python benchmarks/ask.py --sizes {args.sizes} --device {args.device}"
        f"{' --model ' + str(args.model) if args.model else ''}; Python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "",
        "| project tokens | chunks | cold TTFT ms | cold total ms | follow-up TTFT ms | follow-up total ms "
        "| watched TTFT ms | watched total ms | cold/follow-up TTFT | re-ingest unchanged s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, tokens, chunks, ct, ctot, ft, ftot, wt, wtot, ri in rows:
        lines.append(
            f"| {tokens:,} | {chunks:,} | {ct:,.0f} | {ctot:,.0f} | {ft:,.1f} | {ftot:,.1f} | {wt:,.1f} "
            f"| {wtot:,.1f} | {ct / ft:,.0f}x | {ri:.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
