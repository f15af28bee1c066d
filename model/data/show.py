"""Print one training row of a given kind, decoded, for a human to check.

    python -m model.data.show --corpus data/corpus/train --kind single [--seq-len 4096] [--seed 0]
    python -m model.data.show --corpus data/corpus/train --kind qa --passages   # a passage-question row
    python -m model.data.show --corpus data/corpus/train --kind qa --seq-len 16384 --questions 8 --chats
    python -m model.data.show --corpus data/corpus/train --kind qa --seq-len 16384 --questions 8 --twins 3

Each document of the row is shown with its length; long ones are elided in the middle. Text that is not
learnt (needles, the question) is shown inside [[...]].
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from model.data.corpus import Corpus
from model.data.stream import ROW_KINDS, TrainStream
from model.tokenizer import Tokenizer


def describe(stream: TrainStream, kind: str, edge: int = 300) -> str:
    row = stream.row(kind)
    tok = stream.tokenizer
    lines = [f"kind: {row.kind}  question: {row.question!r}  answer: {row.answer!r}"]
    lines += [f"twin copy {n + 1}, its classes renamed: {mapping}" for n, mapping in enumerate(row.twins)]
    for n in np.unique(row.doc_ids):
        at = np.flatnonzero(row.doc_ids == n)
        ids, mask = row.ids[at], row.mask[at]
        real = ids != tok.pad_id
        ids, mask = ids[real], mask[real]
        if not len(ids):
            continue  # padding after the last document
        text, start = [], 0
        for end in [*np.flatnonzero(np.diff(mask.astype(np.int8))) + 1, len(ids)]:
            piece = tok.decode(ids[start:end].tolist(), skip_special=False)
            text.append(piece if mask[start] else f"[[{piece}]]")
            start = end
        body = "".join(text)
        if len(body) > 2 * edge and "[[" not in body[edge:-edge]:
            body = f"{body[:edge]}\n   ... ({len(body) - 2 * edge} characters) ...\n{body[-edge:]}"
        lines.append(f"--- document {n}: {len(ids)} tokens in {len(at)} positions ---\n{body}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.show", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--kind", default="single", choices=ROW_KINDS)
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--passages", action="store_true", help="qa rows ask passage questions (prose.py)")
    parser.add_argument("--questions", type=int, default=1, help="questions per qa row")
    parser.add_argument("--chats", action="store_true", help="a qa row's questions are asked as chats")
    parser.add_argument("--namesakes", action="store_true",
                        help="a qa row asks about definitions another class shares a name with")
    parser.add_argument("--renamed", action="store_true", help="a qa row shows its package's classes renamed")
    parser.add_argument("--twins", type=int, default=0, choices=(0, 1, 2, 3),
                        help="a qa row shows the asked file again this many times, its classes renamed")
    parser.add_argument("--owner-first", action="store_true", help="methods' answers begin with the owner")
    args = parser.parse_args(argv)
    stream = TrainStream(Corpus.load(args.corpus), Tokenizer.load(), seq_len=args.seq_len, seed=args.seed,
                         passage_share=1.0 if args.passages else 0.0, questions_per_row=args.questions,
                         turns_share=1.0 if args.chats else 0.0, namesake_share=float(args.namesakes),
                         rename_share=float(args.renamed), twin_share=1.0 if args.twins else 0.0,
                         twin_copies=max(args.twins, 1), owner_first=args.owner_first)
    print(describe(stream, args.kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
