"""Summarize a generated 300-page contract with known clause pages: share of topics cited on the right page.

    python benchmarks/summarize.py [--pages 300] [--device auto|cpu|cuda] [--model DIR | --random hsa-mini]

The contract comes from benchmarks/contract300.py (nine key articles at fixed fractions of the length between
long operational articles, the parties in the preamble on page 1). The script ingests and encodes it into a
fresh project (timed), then summarizes it twice on that memory: with the lexical check's own section search
(what `summarize` does by default) and model-only (`--model-only`: only passages the model's retrieval
picked, kept when they name the topic). A topic counts as right when its first citation lies on a page of
its article. Prints a table and rewrites the "## Summarize" section of docs/benchmarks.md.

Without the embedded model (resources/model), pass --model DIR or --random NAME (random weights: the
model-only column then measures chance, not the model).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.contract300 import build_contract  # noqa: E402

SECTION = "## Summarize"
TARGET = 0.9


def right_page(result, truth: list[tuple[int, int]]) -> bool:
    return result.found and any(a <= result.citations[0].page <= b for a, b in truth)


def random_model(name: str, folder: Path) -> Path:
    from model.checkpoint import save
    from model.config import ModelConfig
    from model.tokenizer import Tokenizer
    from model.transformer import Transformer

    torch.manual_seed(0)
    save(Transformer(ModelConfig.from_name(name)), folder, Tokenizer.load())
    return folder


def run(args: argparse.Namespace, work: Path) -> tuple[str, dict]:
    os.environ["FOLIO_HOME"] = str(work / "home")
    from app.core.engine import Engine
    from app.core.summarize import summarize

    contract = build_contract(args.pages)
    path = work / "contract300.pdf"
    path.write_bytes(contract.data)
    model_dir = args.model or (random_model(args.random, work / "model") if args.random else None)
    t0 = time.perf_counter()
    engine = Engine(model_dir, device=args.device)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = engine.refresh([str(path)])
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    combined = summarize(engine, path)
    combined_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model_only = summarize(engine, path, lexical=False)
    model_only_s = time.perf_counter() - t0

    rows = ["| topic | article pages | default: first citation | right page | model-only: first citation "
            "| right page |", "|---|---|---|---|---|---|"]
    right = {"default": 0, "model-only": 0}
    for a, b in zip(combined.topics, model_only.topics, strict=True):
        truth = contract.truth[a.topic]
        pages = ", ".join(f"{x}-{y}" if x != y else str(x) for x, y in truth)
        cells = []
        for key, result in (("default", a), ("model-only", b)):
            ok = right_page(result, truth)
            right[key] += ok
            first = result.citations[0] if result.found else None
            where = (f"p.{first.page} ({'retrieval' if first.score > 0 else 'lexical search'})" if first
                     else "not found")
            cells += [where, "yes" if ok else "no"]
        rows.append(f"| {a.topic} | {pages} | " + " | ".join(cells) + " |")
    total = len(combined.topics)
    model_name = f"{engine.model_name} ({'random weights' if args.random else engine.model_dir})"
    facts = {
        "pages": contract.pages, "tokens": report.encode.tokens, "load_s": load_s, "read_s": read_s,
        "combined_s": combined_s, "model_only_s": model_only_s, "total": total,
        "right": right, "model": model_name, "device": engine.device,
        "outline": len(combined.outline),
    }
    return "\n".join(rows), facts


def machine(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return (f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads, shared with other work), "
            f"torch {torch.__version__}, Python {platform.python_version()}")


def section(table: str, facts: dict, command: str) -> str:
    share = {k: v / facts["total"] for k, v in facts["right"].items()}
    verdict = "meets" if share["default"] >= TARGET else "misses"
    return "\n".join([
        SECTION, "",
        f"`{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine(facts['device'])}; model "
        f"{facts['model']}). A generated {facts['pages']}-page contract ({facts['tokens']:,} tokens in "
        f"memory, {facts['outline']} outline entries from its TOC) with its key clauses at known pages "
        "(benchmarks/contract300.py). A topic is right when its first citation lies on a page of its "
        "article.",
        "",
        "| measure | value |", "|---|---|",
        f"| topics cited on the right page, default (retrieval + lexical check + section search) | "
        f"{facts['right']['default']}/{facts['total']} ({share['default']:.0%}; target >= {TARGET:.0%}: "
        f"{verdict}) |",
        f"| topics cited on the right page, model-only (retrieval + lexical check) | "
        f"{facts['right']['model-only']}/{facts['total']} ({share['model-only']:.0%}) |",
        f"| load the model | {facts['load_s']:.1f} s |",
        f"| read the PDF + encode it into the memory (once per document) | {facts['read_s']:.1f} s |",
        f"| summarize on that memory: {facts['total']} topic questions, default | "
        f"{facts['combined_s']:.1f} s |",
        f"| summarize on that memory, model-only | {facts['model_only_s']:.1f} s |",
        "", table, "",
        "\"retrieval\": the first citation is a chunk the model's retrieval picked for the topic question "
        "and the lexical check kept; \"lexical search\": no retrieved chunk passed the check, and the "
        "section whose heading names the topic (or the densest place its phrases occur) was cited instead "
        "(score 0). The model-only row measures the model's own retrieval; with random weights (`--random`) "
        "it measures chance.",
        "",
    ])


def wrap(text: str) -> str:
    """Paragraphs (not tables or headings) wrapped at 110 columns, as the rest of docs/benchmarks.md."""
    blocks = text.split("\n\n")
    return "\n\n".join(block if block.startswith(("|", "#")) else textwrap.fill(block, 110)
                       for block in blocks)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["# Benchmarks", ""]
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    new = text.rstrip("\n").splitlines()
    if start is None:
        lines += ["", *new]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = [*new, ""] if end < len(lines) else new
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model folder (default: the embedded one)")
    parser.add_argument("--random", metavar="NAME", default=None, help="random weights of this preset")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    command = "python benchmarks/summarize.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="folio-summarize-") as tmp:
        table, facts = run(args, Path(tmp))
    text = wrap(section(table, facts, command.strip()))
    print(text)
    if not args.no_write:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
