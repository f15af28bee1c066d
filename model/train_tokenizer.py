"""Train Folio's byte-level BPE tokenizer on local code and prose; writes resources/tokenizer.json.

    python -m model.train_tokenizer [--out resources/tokenizer.json] [--max-mb 100] [--vocab 16384]

The corpus is whatever this machine holds: Python sources of the installed packages and of the standard
library, and the .md/.rst/.txt documentation under /usr/share/doc and the same trees. Files that are not
valid UTF-8 are skipped (the trainer aborts on them otherwise). Selection is deterministic (sorted paths, a
hash decides which files fit under the cap), so a rerun on the same machine gives the same tokenizer.
"""

import argparse
import hashlib
import logging
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from model.tokenizer import SPECIAL_TOKENS

log = logging.getLogger("train_tokenizer")

CODE_SUFFIXES = (".py",)
PROSE_SUFFIXES = (".md", ".rst", ".txt")
MAX_FILE_BYTES = 512 * 1024  # one huge generated file should not dominate the merges
# GPT-4 style split: contractions, words with one leading non-letter, numbers of up to 3 digits, punctuation
# runs, newlines, then other whitespace (indentation stays one pre-token).
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def build_empty_tokenizer() -> Tokenizer:
    """A BPE tokenizer with Folio's pre-tokenizer and decoder and no merges yet."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def default_roots() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    return [site, stdlib, Path("/usr/share/doc")]


def candidate_files(roots: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    files = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix not in CODE_SUFFIXES + PROSE_SUFFIXES or not path.is_file():
                continue
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            files.append(path)
    return files


def read_utf8(path: Path) -> str | None:
    try:
        data = path.read_bytes()[:MAX_FILE_BYTES]
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError):  # a cut inside a multi-byte character also lands here: skip it
        return None


def corpus(files: list[Path], max_bytes: int, prose_share: float) -> Iterator[str]:
    """Yield file texts, prose first up to its share, then code, until max_bytes of UTF-8 text."""
    prose = [f for f in files if f.suffix in PROSE_SUFFIXES]
    code = [f for f in files if f.suffix in CODE_SUFFIXES]
    budget = {"prose": int(max_bytes * prose_share), "code": 0}
    total = 0
    for kind, group in (("prose", prose), ("code", code)):
        if kind == "code":
            budget["code"] = max_bytes - total
        # a stable shuffle: sampling spreads over all packages instead of the alphabetically first ones
        group = sorted(group, key=lambda p: hashlib.blake2b(str(p).encode(), digest_size=8).digest())
        used = 0
        for path in group:
            text = read_utf8(path)
            if not text:
                continue
            size = len(text.encode("utf-8"))
            if used + size > budget[kind]:
                continue
            used += size
            yield text
        total += used
        log.info("%s: %.1f MB", kind, used / 1e6)


def train(out: Path, max_mb: float, vocab_size: int, prose_share: float, roots: list[Path]) -> Tokenizer:
    files = candidate_files(roots)
    log.info("%d candidate files under %s", len(files), ", ".join(map(str, roots)))
    texts = list(corpus(files, int(max_mb * 1e6), prose_share))
    tok = build_empty_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),  # first ids, in this order: pad is 0
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte is a token: lossless on any input
        show_progress=False,
    )
    t0 = time.time()
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    log.info("trained %d tokens on %d files in %.1fs", tok.get_vocab_size(), len(texts), time.time() - t0)
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out))
    return tok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "resources"
                        / "tokenizer.json")
    parser.add_argument("--max-mb", type=float, default=100.0, help="UTF-8 text to train on")
    parser.add_argument("--vocab", type=int, default=16384, help="vocabulary size including special tokens")
    parser.add_argument("--prose-share", type=float, default=0.3, help="share of the corpus taken from prose")
    parser.add_argument("--root", type=Path, action="append", help="corpus roots (default: local packages)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train(args.out, args.max_mb, args.vocab, args.prose_share, args.root or default_roots())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
