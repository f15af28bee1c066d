"""Pool eval_long runs of one model over seeds: the model card's long-context table, its counts and its seeds.

    python -m benchmarks.pool_long '.train/eval/near-s*.json' '.train/eval/far-s*.json' \\
        '.train/eval/multi1M-s*.json' .train/eval/single16K.json [--out docs/eval/pooled.md]

Each argument is a glob of eval_long's JSON files (`--out X.md` writes X.json beside it). A cell (a kind at a
length) pools every seed that ran it: its answers right, cited and RULER scores are summed over the runs, so
a cell of five seeds of 50 reads n=250. The seed of a file is the one its recorded command names (0 when
none). Files of different models, or one seed's cell found twice, are refused: a pooled figure must be one
model's, each sample counted once.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

from benchmarks.compare_code import file_seed
from benchmarks.eval_long import table
from model.data.tasks import KINDS

EXACT_KINDS = ("single", "multikey")  # the per-seed table gives these exact and the others by RULER's score


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pool_long", description=__doc__.split("\n")[0])
    p.add_argument("patterns", nargs="+", metavar="PATTERN", help="a glob of eval_long JSON files")
    p.add_argument("--out", type=Path, help="also write the tables here (markdown)")
    return p.parse_args(argv)


def load(patterns: list[str]) -> tuple[dict, dict[tuple[str, int], dict]]:
    """(the first file's results, {(cell name, seed): cell}) over every file the patterns find."""
    paths = sorted({path for pattern in patterns for path in glob.glob(pattern)})
    if not paths:
        raise SystemExit(f"no eval_long results match {' '.join(patterns)}")
    first, runs = None, {}
    for path in paths:
        try:
            results = json.loads(Path(path).read_text())
            cells = results["cells"]
            if not isinstance(cells, dict):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError):
            raise SystemExit(f"{path}: not an eval_long result") from None
        first = first or results
        if results.get("fingerprint") != first.get("fingerprint"):
            raise SystemExit(f"{path}: another model ({results.get('fingerprint')}) than "
                             f"{first.get('fingerprint')}")
        seed = file_seed(results)
        for name, cell in cells.items():
            if (name, seed) in runs:
                raise SystemExit(f"{path}: {name} at seed {seed} is already in another file")
            runs[name, seed] = cell
    return first, runs


def pooled(runs: dict[tuple[str, int], dict]) -> dict[str, dict]:
    cells: dict[str, dict] = {}
    for (name, _), cell in sorted(runs.items()):
        start = {key: cell[key] for key in ("kind", "length", "tokens")} | {"correct": 0, "n": 0}
        into = cells.setdefault(name, start)
        for key in ("correct", "n", "cited", "ruler"):
            if key in cell:
                into[key] = into.get(key, 0) + cell[key]
    return cells


def counts(cells: dict[str, dict]) -> str:
    lines = ["| task | length | exact | RULER | cited |", "|---|---|---|---|---|"]
    for cell in sorted(cells.values(), key=lambda c: (KINDS.index(c["kind"]), c["tokens"])):
        n = cell["n"]
        ruler = f"{100 * cell['ruler'] / n:.1f}%" if "ruler" in cell else ""
        cited = f"{cell['cited']} of {n}" if "cited" in cell else ""
        lines.append(f"| {cell['kind']} | {cell['length']} | {cell['correct']} of {n} "
                     f"({100 * cell['correct'] / n:.1f}%) | {ruler} | {cited} |")
    return "\n".join(lines)


def per_seed(runs: dict[tuple[str, int], dict], cells: dict[str, dict]) -> str:
    kinds = [k for k in KINDS if any(c["kind"] == k for c in cells.values())]
    lengths = {kind: sorted({(c["tokens"], c["length"]) for c in cells.values() if c["kind"] == kind})
               for kind in kinds}
    head = [f"{k} {'exact' if k in EXACT_KINDS else 'RULER'} " + " / ".join(name for _, name in lengths[k])
            for k in kinds]
    lines = ["| seed | " + " | ".join(head) + " |", "|---|" + "---|" * len(kinds)]
    for seed in sorted({seed for _, seed in runs}):
        row = []
        for kind in kinds:
            values = []
            for _, length in lengths[kind]:
                cell = runs.get((f"{kind}@{length}", seed))
                if cell is None:
                    values.append("-")
                    continue
                score = cell["correct"] if kind in EXACT_KINDS else cell.get("ruler", cell["correct"])
                values.append(f"{100 * score / cell['n']:.0f}")
            row.append(" / ".join(values))
        lines.append(f"| {seed} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    first, runs = load(args.patterns)
    cells = pooled(runs)
    text = (f"Model `{first.get('model')}` (fingerprint {first.get('fingerprint')}), {len(runs)} runs of a "
            f"cell pooled into {len(cells)} cells; exact / RULER / cited, as eval_long writes them:\n\n"
            f"{table({'cells': cells})}\n\nIn counts:\n\n{counts(cells)}\n\n"
            f"Per seed (exact for {' and '.join(EXACT_KINDS)}, RULER's score for the others; - not run):\n\n"
            f"{per_seed(runs, cells)}\n")
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
