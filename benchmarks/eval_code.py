"""Question answering on held-out packages: definition lookup by citation, description-to-function, passages.

    python -m benchmarks.eval_code --model resources/model --corpus .train/corpus --questions 100 \\
        --device cuda --out docs/eval-code.md
    python -m benchmarks.eval_code --model resources/model --corpus .train/corpus --cpu-smoke

Each held-out package is one project: all its files are encoded into the memory (one document per file, as
the app does), then questions about its Python files (model/data/codeqa.py) are asked as chat documents.
- where: "Where is X defined?" is correct when the top citation covers the definition's first line. The
  top citation is the app's first chip: the run of adjacent memory chunks of one document with the largest
  retrieval weight summed over the answer's tokens (and HSA layers and KV heads; model/chunk_runs.py),
  mapped to lines through the tokenizer's character offsets. The table also gives the median lines of those
  citations, and the score of the single top chunk (the score until session 9: a signature at the end of
  one chunk with its docstring in the next is cited, by the app, as one span). A second row also accepts a
  definition of the same qualified name elsewhere in the package (two classes RBFKernel in two modules, a
  property and its setter), which the question cannot tell apart; the first row stays the target's score.
- which: "Which function does this: <docstring summary>?" (RepoQA-style) is correct when the answer is the
  definition's name exactly (whitespace, quotes and a final period aside).
- passage (only when asked for, `--kinds passage`): a sentence of a prose file (README, LICENSE, docs) or
  a docstring, asked for by its words (model/data/prose.py); correct when the top citation (as above) covers
  the sentence's first line; "quoted" when the answer is the sentence (whitespace and a final period aside).
For "where" and "passage" it also reports how often a chunk covering the definition's (or sentence's)
first line was among the chunks the answer read at all (top-k of any answer token, any HSA layer): low
means retrieval never reaches it; high with a wrong top citation means it is read but outweighed.
"""

import argparse
import json
import random
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

from model import checkpoint
from model.chunk_runs import top_run
from model.data.codeqa import QA, code_questions
from model.data.prose import is_prose, passage_questions
from model.data.scopes import definition_lines
from model.generate import GeneratedToken, add_chunk_weights, read_question
from model.tokenizer import Encoding, Tokenizer
from model.train_eval import DeviceMemory, answer, apply_smoke, encode_into, load_for_eval, normalise

KINDS = ("where", "which", "passage")
CITED_KINDS = ("where", "passage")  # scored by the top citation
SMOKE = dict(questions=6, device="cpu", max_package_tokens=40_000)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.eval_code", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True,
                   help="build folder (its heldout/) or a Corpus folder")
    p.add_argument("--questions", type=int, default=100, help="questions per kind")
    p.add_argument("--kinds", default="where,which", help=f"question kinds, of {', '.join(KINDS)}")
    p.add_argument("--max-package-tokens", type=int, default=4_000_000, help="skip larger packages")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    p.add_argument("--weights", action="store_true",
                   help="keep the chunk weights of each answer and question token in the JSON (for offline "
                        "studies of citation rules)")
    p.add_argument("--owner-first", action="store_true",
                   help="expect methods' definition answers to begin with the qualified name (a model "
                        "trained with model.train --owner-first): the same questions, longer answers")
    p.add_argument("--cpu-smoke", action="store_true", help=f"short CPU run: {SMOKE}")
    args = p.parse_args(argv)
    apply_smoke(args, argv if argv is not None else sys.argv[1:], SMOKE)
    args.kinds = args.kinds.split(",")
    if unknown := sorted(set(args.kinds) - set(KINDS)):
        p.error(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
    return args


def pick_questions(corpus, args) -> dict[str, list[tuple[int, QA]]]:
    """Package -> [(document, question)]: up to --questions per kind over the held-out packages, seeded."""
    sizes: dict[str, int] = defaultdict(int)
    for i in range(len(corpus)):
        sizes[corpus.package(i)] += int(corpus.lengths[i])
    candidates = {kind: [] for kind in args.kinds}
    code = bool({"where", "which"} & set(args.kinds))
    for i in random.Random(args.seed).sample(range(len(corpus)), len(corpus)):
        if min(len(found) for found in candidates.values()) >= 4 * args.questions:
            break  # enough to choose from: parsing every held-out file would take minutes
        path = corpus.path(i)
        if sizes[corpus.package(i)] > args.max_package_tokens or not (path.endswith(".py") or is_prose(path)):
            continue
        rng = random.Random(f"{args.seed}:{path}")
        found = code_questions(corpus.source(i), path, rng, owner_first=args.owner_first) \
            if code and path.endswith(".py") else []
        if "passage" in candidates:
            found += passage_questions(corpus.source(i), path, rng)
        for qa in found:
            if qa.kind in candidates:
                candidates[qa.kind].append((i, qa))
    chosen: dict[str, list[tuple[int, QA]]] = defaultdict(list)
    for kind in args.kinds:
        random.Random(f"{args.seed}:{kind}").shuffle(candidates[kind])
        for i, qa in candidates[kind][:args.questions]:
            chosen[corpus.package(i)].append((i, qa))
    return dict(sorted(chosen.items()))


def chunk_lines(encoding: Encoding, text: str, chunk: int, chunk_size: int) -> tuple[int, int]:
    """First and last line (1-based, of the document text) that a chunk's tokens come from; encoding is
    tokenizer.document(text)."""
    offsets = encoding.offsets
    first, last = chunk * chunk_size, min((chunk + 1) * chunk_size, len(offsets)) - 1
    if first > last:  # padding after the document's end
        return 0, -1
    start, end = offsets[first][0], max(offsets[last][1], offsets[first][0])
    return text.count("\n", 0, start) + 1, text.count("\n", 0, max(end - 1, start)) + 1


def token_weights(tokenizer: Tokenizer, tokens: list[GeneratedToken], prompt: list[GeneratedToken],
                  target: str, encoding: Encoding, text: str, chunk_size: int) -> dict:
    """The answer's tokens with the chunks each drew on, for studies of other citation rules offline:
    "pieces" (each token's text), "weights" (per token [[chunk id, weight], ...]), the same of the question's
    tokens ("prompt_pieces", "prompt_weights"; generate.read_question), "chunks" ([memory key, chunk index]
    per id) and "lines" (chunk index -> [first, last line] for the question's own file)."""
    ids: dict[tuple[str, int], int] = {}

    def chunk_weights(token) -> list:
        read: dict[tuple[str, int], float] = {}
        add_chunk_weights(read, token)
        return [[ids.setdefault(key, len(ids)), round(w, 5)] for key, w in read.items()]

    weights = [chunk_weights(token) for token in tokens]
    prompt_weights = [chunk_weights(token) for token in prompt]
    lines = {chunk: chunk_lines(encoding, text, chunk, chunk_size) for key, chunk in ids if key == target}
    return {"pieces": [tokenizer.decode([t.token_id]) for t in tokens], "weights": weights,
            "prompt_pieces": [tokenizer.decode([t.token_id], skip_special=False) for t in prompt],
            "prompt_weights": prompt_weights,
            "chunks": [list(key) for key in ids], "lines": {str(c): list(v) for c, v in lines.items()},
            "target": target}


def defined_names(corpus, docs: list[int], keys: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Qualified name -> [(memory key, document line)] of every definition in the package's Python files: a
    name defined in two places (RBFKernel in kernels/ and kernels/keops/, a property and its setter) is a
    question the asker cannot have meant one of them by."""
    defined: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, key in zip(docs, keys, strict=True):
        if corpus.path(i).endswith(".py"):
            for line, name in definition_lines(corpus.source(i)).items():
                defined[name].append((key, line + 1))  # document line 1 is the path line
    return defined


def evaluate(args: argparse.Namespace) -> dict:
    model, tokenizer, corpus = load_for_eval(args.model, args.corpus, args.device)
    results = {"model": str(args.model), "fingerprint": checkpoint.fingerprint(model), "packages": {},
               "samples": [], "command": "python -m benchmarks.eval_code " + shlex.join(args.argv)}
    chosen = pick_questions(corpus, args)
    if not chosen:
        raise SystemExit(f"{args.corpus}: no documented Python definitions in the held-out packages "
                         f"of at most {args.max_package_tokens:,} tokens")
    for package, questions in chosen.items():
        start = time.monotonic()
        docs = [i for i in range(len(corpus)) if corpus.package(i) == package]
        keys = [f"{corpus.path(i)}#{n}" for n, i in enumerate(docs)]  # unique even if two paths coincide
        doc_of = dict(zip(keys, docs, strict=True))
        key_of = dict(zip(docs, keys, strict=True))
        memory = DeviceMemory(model)
        encode_into(model, memory, [corpus.doc(i).astype("int64").tolist() for i in docs], keys)
        defined = defined_names(corpus, docs, keys) if any(qa.kind == "where" for _, qa in questions) else {}
        for i, qa in questions:
            line = qa.start_line + 1  # document line 1 is the path line: source line n is document line n + 1
            max_new = len(tokenizer.encode(qa.answer)) + 8
            got, tokens = answer(model, tokenizer, memory, qa.question, max_new)
            sample = {"package": package, "path": corpus.path(i), "kind": qa.kind, "question": qa.question,
                      "expected": qa.answer, "got": got, "line": qa.start_line}
            if qa.kind in CITED_KINDS:
                read: dict[tuple[str, int], float] = {}
                for token in tokens:
                    add_chunk_weights(read, token)
                text = corpus.text(i)
                encoding = tokenizer.document(text)  # once: the file's chunks among those read
                sample["cited"], sample["correct"], sample["chunk_correct"] = None, False, False
                if (cited := top_run(read)) is not None:
                    key, first, last = cited
                    cited_text = text if key == key_of[i] else corpus.text(doc_of[key])
                    cited_encoding = encoding if key == key_of[i] else tokenizer.document(cited_text)
                    lines = (chunk_lines(cited_encoding, cited_text, first, model.cfg.chunk_size)[0],
                             chunk_lines(cited_encoding, cited_text, last, model.cfg.chunk_size)[1])
                    sample["cited"] = [corpus.path(doc_of[key]), *lines]
                    sample["correct"] = key == key_of[i] and lines[0] <= line <= lines[1]
                    if qa.kind == "where":
                        sample["namesakes"] = [[corpus.path(doc_of[k]), n - 1] for k, n in defined[qa.name]
                                               if (k, n) != (key_of[i], line)]
                        sample["namesake_correct"] = sample["correct"] or any(
                            k == key and lines[0] <= n <= lines[1] for k, n in defined[qa.name])
                    top_key, top = max(read, key=read.get)  # the single chunk: the score until session 9
                    first, last = chunk_lines(encoding, text, top, model.cfg.chunk_size)
                    sample["chunk_correct"] = top_key == key_of[i] and first <= line <= last
                spans = [chunk_lines(encoding, text, chunk, model.cfg.chunk_size)
                         for key, chunk in read if key == key_of[i]]
                sample["read"] = any(first <= line <= last for first, last in spans)
                if args.weights:
                    prompt = read_question(model, memory, tokenizer.chat([("user", qa.question)]))
                    sample.update(token_weights(tokenizer, tokens, prompt, key_of[i], encoding, text,
                                                model.cfg.chunk_size))
                if qa.kind == "passage":
                    sample["quoted"] = normalise(got) == normalise(qa.answer)
                    sample["prose"] = is_prose(corpus.path(i))
            else:
                sample["correct"] = normalise(got) == qa.name
            results["samples"].append(sample)
        results["packages"][package] = {"documents": len(docs), "tokens": int(sum(corpus.lengths[docs])),
                                        "questions": len(questions),
                                        "seconds": round(time.monotonic() - start, 1)}
        print(f"{package}: {len(questions)} questions, {results['packages'][package]}", flush=True)
    return results


def table(results: dict) -> str:
    names = {"where": "definition lookup (top citation covers the definition)",
             "which": "description to function (exact name, RepoQA-style)",
             "passage": "passage (top citation covers the sentence)"}

    def row(name: str, hits: list) -> str:
        return f"| {name} | {100 * sum(hits) / len(hits):.0f}% | {len(hits)} |"

    lines = ["| task | accuracy | n |", "|---|---|---|"]
    for kind in KINDS:
        done = [s for s in results["samples"] if s["kind"] == kind]
        if done:
            lines.append(row(names[kind], [s["correct"] for s in done]))
        if kind == "where" and done and all("chunk_correct" in s for s in done):
            lines.append(row("definition lookup: the single top chunk covers it (the score until session 9)",
                             [s["chunk_correct"] for s in done]))
            if all("namesake_correct" in s for s in done if s["cited"]):
                ambiguous = sum(bool(s.get("namesakes")) for s in done)
                lines.append(row(f"definition lookup, a definition of the same qualified name accepted "
                                 f"(questions naming one defined more than once: {ambiguous})",
                                 [bool(s.get("namesake_correct")) for s in done]))
            sizes = sorted(s["cited"][2] - s["cited"][1] + 1 for s in done if s["cited"])
            if sizes:
                lines.append(f"| definition lookup: lines of the top citation, median (largest) | "
                             f"{sizes[len(sizes) // 2]} ({sizes[-1]}) | {len(sizes)} |")
    passages = [s for s in results["samples"] if s["kind"] == "passage"]
    if passages:
        lines.append(row("passage: the answer is the sentence", [s["quoted"] for s in passages]))
        for prose, source in ((True, "prose files"), (False, "docstrings")):
            some = [s["correct"] for s in passages if s["prose"] == prose]
            if some:
                lines.append(row(f"passage, sentences of {source} (top citation)", some))
    for kind, what in zip(CITED_KINDS, ("definition's", "passage: the sentence's"), strict=True):
        read = [s["read"] for s in results["samples"] if s["kind"] == kind]
        if read:
            lines.append(row(f"{what} chunk among the chunks the answer read (diagnostic)", read))
    return "\n".join(lines)


def write(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    packages = "\n".join(f"- {name}: {p['documents']} files, {p['tokens']:,} tokens, "
                         f"{p['questions']} questions" for name, p in results["packages"].items())
    out.write_text(f"# Question answering on held-out packages\n\nModel `{results['model']}` "
                   f"(fingerprint {results['fingerprint']}).\n\n{table(results)}\n\n"
                   f"Projects (held-out packages):\n{packages}\n\nCommand: `{results['command']}`\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    results = evaluate(args)
    if args.out is not None:
        write(results, args.out)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
