"""Build the training and held-out corpora from this machine's installed packages and standard library.

    python -m model.data.build --out data/corpus [--limit-mb N] [--held-out 0.1] [--seed 0] [--workers N]

Writes OUT/train and OUT/heldout (Corpus folders) and OUT/split.json (the package lists).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from model.data.corpus import Corpus, find_sources, package_hash, split_packages
from model.tokenizer import Tokenizer


def limit_files(files: dict[str, list[Path]], limit_bytes: int, seed: int) -> dict[str, list[Path]]:
    """A deterministic sample of files across all packages, up to `limit_bytes` in all."""
    ranked = sorted(((package_hash(str(path), seed), package, path) for package, paths in files.items()
                     for path in paths))
    kept: dict[str, list[Path]] = {}
    total = 0
    for _, package, path in ranked:
        if total >= limit_bytes:
            break
        kept.setdefault(package, []).append(path)
        total += path.stat().st_size
    return {package: sorted(paths) for package, paths in sorted(kept.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.build", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--limit-mb", type=float, default=None, help="sample at most this much text")
    parser.add_argument("--held-out", type=float, default=0.1, help="share of packages held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-scope-comments", dest="scopes", action="store_false",
                        help="Python files as they are, without the scope comments the app's documents carry "
                             "(model/data/scopes.py): the text the held-out losses before session 15 were on")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = find_sources()
    if args.limit_mb is not None:
        files = limit_files(files, int(args.limit_mb * 1e6), args.seed)
    found = time.perf_counter()
    train_packages, held_packages = split_packages(list(files), args.held_out, args.seed)
    print(f"found {sum(map(len, files.values()))} files in {len(files)} packages ({found - started:.1f} s); "
          f"holding out {len(held_packages)} packages")
    tokenizer = Tokenizer.load()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, packages in (("train", train_packages), ("heldout", held_packages)):
        t0 = time.perf_counter()
        corpus = Corpus.build(files, tokenizer, packages, workers=args.workers, scopes=args.scopes)
        corpus.save(args.out / name)
        print(f"{name}: {len(corpus)} documents, {corpus.num_tokens:,} tokens, "
              f"{len(corpus.text_bytes) / 1e6:.1f} MB text ({time.perf_counter() - t0:.1f} s)")
    split = {"seed": args.seed, "held_out": args.held_out, "train": train_packages, "heldout": held_packages}
    (args.out / "split.json").write_text(json.dumps(split, indent=1))
    print("held-out packages: " + ", ".join(held_packages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
