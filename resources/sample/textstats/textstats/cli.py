"""`python -m textstats FILE [--top N]`: a summary table and the most frequent words."""

import argparse
import sys

from textstats.counter import WordCounter
from textstats.readability import analyze


def format_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textstats", description=__doc__)
    parser.add_argument("file", help="a UTF-8 text file, or - for standard input")
    parser.add_argument("--top", type=int, default=10, help="how many frequent words to list")
    args = parser.parse_args(argv)

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except OSError as exc:
        print(f"textstats: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1

    report = analyze(text)
    counter = WordCounter()
    counter.add(text)
    print(f"words            {report.words}")
    print(f"sentences        {report.sentences}")
    print(f"reading ease     {format_score(report.reading_ease)}")
    print(f"grade level      {format_score(report.grade_level)}")
    print()
    for word, count in counter.most_common(args.top):
        print(f"{count:6d}  {word}")
    return 0
