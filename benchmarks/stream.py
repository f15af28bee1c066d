"""Training-stream speed: batches per second the data side makes, and what locating an answer costs.

    .venv/bin/python benchmarks/stream.py --corpus .train/corpus [--seconds 20] [--no-write]

The trainer takes its batches from one background thread (model/train_data.py); the GPU trains 131,072
tokens in ~0.18-0.28 s (2026-11-29 logs: 0.47-0.74 M tokens/s), so the stream must make >= 5 batches/s or
the GPU waits. Rows as the session-6 to -8 fine-tunes mix them (30% tasks, 60% question rows, in session 7
30% of those asking passage questions: model/data/prose.py; in session 8 half of the question rows asked
as chats, --turns-share 0.5). The second table
times the two ways to find, for a code answer, the tokens of its file that hold its characters: mapping
through the stored tokens' byte lengths (TrainStream.token_positions, what the stream does) against
re-tokenizing the file (Tokenizer.document(text).token_at, what it did before session 6), on the same
questions in one run. Replaces the "## Training stream" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.sections import replace_section  # noqa: E402
from model.data.corpus import Corpus  # noqa: E402
from model.data.stream import TrainStream, definition_chars, verbatim_chars  # noqa: E402
from model.tokenizer import Tokenizer  # noqa: E402

SECTION = "## Training stream"
BATCH_TOKENS = 131072
# (row length, questions per row, share of question rows asking passage questions, share asked as chats)
CONFIGS = [(4096, 1, 0.0, 0.0), (16384, 1, 0.0, 0.0), (16384, 8, 0.0, 0.0), (16384, 16, 0.0, 0.0),
           (16384, 16, 0.3, 0.0), (16384, 16, 0.3, 0.5)]


def stream_rate(corpus, tokenizer, seq_len: int, per_row: int, passages: float, chats: float,
                seconds: float) -> tuple[float, float]:
    """(batches/s, answer tokens per batch) over `seconds`, after one warm-up batch."""
    stream = TrainStream(corpus, tokenizer, seq_len=seq_len, seed=0, task_share=0.3, qa_share=0.6,
                         questions_per_row=per_row, passage_share=passages, turns_share=chats)
    rows = BATCH_TOKENS // seq_len
    stream.next_batch(rows, answers=True)
    start, batches, answers = time.perf_counter(), 0, 0
    while time.perf_counter() - start < seconds:
        batch = stream.next_batch(rows, answers=True)
        batches += 1
        answers += int((batch[4] >= 0).sum())
    return batches / (time.perf_counter() - start), answers / max(batches, 1)


def locate_times(corpus, tokenizer, questions: int) -> tuple[float, float, int]:
    """(ms per question via stored tokens, ms via re-tokenizing, questions) over the same questions."""
    stream = TrainStream(corpus, tokenizer, seq_len=4096, seed=0)
    work = []
    for doc in stream.qa_docs[:400]:
        for qa in stream.questions(int(doc))[:2]:
            text = corpus.text(int(doc))
            definition = definition_chars(text, qa)
            held = verbatim_chars(qa.answer, text, definition)
            work.append((int(doc), text, [definition[0], *held.values()]))
        if len(work) >= questions:
            break
    t0 = time.perf_counter()
    mapped = [stream.token_positions(doc, text, chars).tolist() for doc, text, chars in work]
    t1 = time.perf_counter()
    tokenized = []
    for _, text, chars in work:
        encoding = tokenizer.document(text)
        tokenized.append([encoding.token_at(c) for c in chars])
    t2 = time.perf_counter()
    if mapped != tokenized:
        raise SystemExit("token_positions disagrees with the tokenizer's offsets")
    return 1000 * (t1 - t0) / len(work), 1000 * (t2 - t1) / len(work), len(work)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, required=True, help="build folder (its train/) or a Corpus folder")
    p.add_argument("--seconds", type=float, default=20.0, help="per configuration")
    p.add_argument("--questions", type=int, default=300)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    folder = args.corpus / "train" if (args.corpus / "train").is_dir() else args.corpus
    corpus, tokenizer = Corpus.load(folder), Tokenizer.load()
    lines = ["| rows | questions per row | passage share | chat share | batches/s (131,072 tokens) "
             "| answer tokens per batch |",
             "|---|---|---|---|---|---|"]
    for seq_len, per_row, passages, chats in CONFIGS:
        rate, answers = stream_rate(corpus, tokenizer, seq_len, per_row, passages, chats, args.seconds)
        lines.append(f"| {seq_len:,} | {per_row} | {passages:.0%} | {chats:.0%} | {rate:.1f} "
                     f"| {answers:.0f} |")
        print(lines[-1], flush=True)
    mapped, tokenized, n = locate_times(corpus, tokenizer, args.questions)
    lines += ["", "| locating a code answer's tokens in its file | ms per question |", "|---|---|",
              f"| stored tokens' byte lengths (`token_positions`) | {mapped:.2f} |",
              f"| re-tokenizing the file (`Tokenizer.document` + `token_at`) | {tokenized:.2f} "
              f"({tokenized / mapped:.0f}x) |"]
    table = "\n".join(lines)
    print(table)
    body = "\n".join([
        SECTION, "",
        f"`python benchmarks/stream.py --corpus {args.corpus}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; corpus {folder} "
        f"({len(corpus):,} documents). One thread, {args.seconds:.0f} s per configuration; 30% task rows, "
        f"60% question rows; {n} questions located both ways, same answers. The GPU trains a batch "
        "in 0.18-0.28 s, so >= 5 batches/s keeps it fed.", "", table, ""])
    if not args.no_write:
        replace_section(args.out, SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
