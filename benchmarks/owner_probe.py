"""Which side loses a method's owner: the chunk's landmark or the question's retrieval query.

    python -m benchmarks.owner_probe --model resources/model --corpus .train/corpus \\
        --results 'docs/eval/results/code-*.json' --out docs/eval/owner-probe.md

Definition-lookup questions about a method whose name another class of the package also defines (asked
`Application.shutdown`, and `RequestHandler.shutdown` exists) are taken from kept eval_code results, which
say whether the model's citation was right. Each package is encoded as eval_code does; each question is read
as asked, its namesake is the one (defined directly in a class, in a chunk of its own) whose chunk the
question's queries score highest, and the question is read again with that namesake's owner named instead.
At the question's last token (whose retrieval serves the first answer token) every HSA layer's query scores
every chunk of the package. Per layer:
- margin: score of the asked definition's chunk minus the namesake's, in units of the scores' spread over
  the package's chunks (> 0: the asked one ranks higher);
- owner shift: the margin as asked minus the margin with the owner swapped (> 0: naming the owner moves the
  query toward that owner's chunk);
- cos(landmarks): of the two chunks, beside the asked chunk's median cos with every other chunk;
- cos(queries): as asked and swapped, beside the median cos between two different questions' queries.
Reading the misses: an owner shift near 0 with the two landmarks as alike as the queries allow says the chunks
do not tell the owners apart (the chunk side); near 0 with distinct landmarks and the two queries nearly the
same says the question's query does not carry the owner (the question side); a positive shift with a negative
margin says both carry it and a pull toward the namesake's chunk outweighs it.
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import shlex
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch

from benchmarks.eval_code import chunk_lines, defined_names
from model import checkpoint
from model.data.scopes import member_lines
from model.generate import read_question
from model.train_eval import DeviceMemory, encode_into, load_for_eval
from model.transformer import HSABlock


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.owner_probe", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True, help="build folder (its heldout/) or Corpus folder")
    p.add_argument("--results", required=True, help="glob of eval_code JSON files asked of this corpus")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", type=Path, help="write the table here (markdown) and the rows beside it (.json)")
    args = p.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    return args


def asked_samples(pattern: str) -> dict[str, list[dict]]:
    """Package -> the distinct definition-lookup samples of the result files the glob finds."""
    seen, by_package = set(), defaultdict(list)
    for name in sorted(glob.glob(pattern)):
        for s in json.loads(Path(name).read_text())["samples"]:
            key = (s["package"], s["path"], s["question"])
            if s["kind"] == "where" and key not in seen:
                seen.add(key)
                by_package[s["package"]].append(s)
    return dict(sorted(by_package.items()))


class Chunks:
    """The chunk of a document line, per document (chunk_lines over the document's tokens, cached)."""

    def __init__(self, tokenizer, corpus, chunk_size: int):
        self.tokenizer, self.corpus, self.chunk_size = tokenizer, corpus, chunk_size
        self._spans: dict[int, list[tuple[int, int]]] = {}

    def of(self, doc: int, line: int) -> int | None:
        if doc not in self._spans:
            text = self.corpus.text(doc)
            encoding = self.tokenizer.document(text)
            n = -(-len(encoding.offsets) // self.chunk_size)
            self._spans[doc] = [chunk_lines(encoding, text, c, self.chunk_size) for c in range(n)]
        return next((c for c, (a, b) in enumerate(self._spans[doc]) if a <= line <= b), None)


def capture_queries(model) -> list[list[torch.Tensor]]:
    """Patch every HSA layer to record its retrieval queries; returns one list of (Tq, Dl) per layer."""
    captured: list[list[torch.Tensor]] = []
    for layer in model.upper:
        if isinstance(layer, HSABlock):
            seen: list[torch.Tensor] = []
            captured.append(seen)
            original = layer.queries

            def queries(x, original=original, seen=seen):
                q, rq = original(x)
                seen.append(rq[0, :, 0].float())  # one KV head in hsa-mini; its queries (Tq, Dl)
                return q, rq

            layer.queries = queries
    return captured


def last_queries(model, memory, tokenizer, captured, question: str) -> list[torch.Tensor]:
    for seen in captured:
        seen.clear()
    read_question(model, memory, tokenizer.chat([("user", question)]))
    return [torch.cat(seen)[-1] for seen in captured]  # the question's last token, each layer


def probe(args: argparse.Namespace) -> dict:
    model, tokenizer, corpus = load_for_eval(args.model, args.corpus, args.device)
    if model.cfg.hsa_kv_heads != 1:
        raise SystemExit("owner_probe reads one KV head's queries; this model has "
                         f"{model.cfg.hsa_kv_heads}")
    captured = capture_queries(model)
    chunks = Chunks(tokenizer, corpus, model.cfg.chunk_size)
    scale = model.cfg.landmark_dim ** -0.5
    rows_out, query_pairs = [], defaultdict(list)
    for package, samples in asked_samples(args.results).items():
        docs = [i for i in range(len(corpus)) if corpus.package(i) == package]
        if not docs:
            print(f"{package}: not in this corpus, skipped", flush=True)
            continue
        keys = [f"{corpus.path(i)}#{n}" for n, i in enumerate(docs)]
        doc_of = dict(zip(keys, docs, strict=True))
        memory = DeviceMemory(model)
        encode_into(model, memory, [corpus.doc(i).astype("int64").tolist() for i in docs], keys)
        view = memory.landmarks(args.device)
        landmarks = view.landmarks[:, 0].float()  # (N, Dl)
        row_of = {(view.doc_keys[int(d)], int(c)): r
                  for r, (d, c) in enumerate(zip(view.doc_index, view.chunk_index, strict=True))}
        defined = defined_names(corpus, docs, keys)
        members = {(k, line + 1) for k in keys if corpus.path(doc_of[k]).endswith(".py")
                   for line in member_lines(corpus.source(doc_of[k]))}  # defined directly in a class
        name_at = {site: name for name, sites in defined.items() for site in sites if site in members}
        queries_seen = []
        for s in samples:
            key = next((k for k in keys if corpus.path(doc_of[k]) == s["path"]), None)
            if key is None:
                raise SystemExit(f"{s['path']} is not in {args.corpus}: results of another build")
            line = s["line"] + 1  # document line 1 is the path line
            asked = next((name_at[(key, n)] for n in range(line, line + 12) if (key, n) in name_at), None)
            own_chunk = chunks.of(doc_of[key], line)
            if asked is None or own_chunk is None:
                continue
            owner, short = asked.rsplit(".", 1)
            pattern = re.compile(rf"(?<![\w.]){re.escape(owner)}(?!\w)")
            if not pattern.search(s["question"]):
                continue  # the question does not name the owner as written
            others = []  # (name, row) of each namesake method in a chunk of its own
            for name, sites in defined.items():
                if name == asked or name.rsplit(".", 1)[-1] != short:
                    continue
                for other_key, other_line in sites:
                    other_chunk = chunks.of(doc_of[other_key], other_line)
                    if ((other_key, other_line) in members and other_chunk is not None
                            and (other_key, other_chunk) != (key, own_chunk)):
                        others.append((name, row_of[(other_key, other_chunk)]))
            if not others:
                continue
            own_row = row_of[(key, own_chunk)]
            as_asked = last_queries(model, memory, tokenizer, captured, s["question"])
            summed = sum(landmarks @ q for q in as_asked)  # every HSA layer's scores, as asked
            other, other_row = max(others, key=lambda o: float(summed[o[1]]))  # the strongest namesake
            at = pattern.search(s["question"])
            swapped = s["question"][:at.start()] + other.rsplit(".", 1)[0] + s["question"][at.end():]
            as_swapped = last_queries(model, memory, tokenizer, captured, swapped)
            queries_seen.append(as_asked)
            cos_all = torch.nn.functional.cosine_similarity(landmarks, landmarks[own_row][None], dim=-1)
            cos_others = torch.cat([cos_all[:own_row], cos_all[own_row + 1:]])
            cited = s.get("cited") or [None, 0, -1]
            row = {"package": package, "question": s["question"], "swapped": swapped, "asked": asked,
                   "namesake": other, "namesakes": len(others), "correct": bool(s["correct"]),
                   "cited_file": cited[0], "layers": []}
            for q, q_swapped in zip(as_asked, as_swapped, strict=True):
                scores, swapped_scores = landmarks @ q * scale, landmarks @ q_swapped * scale
                spread = float(scores.std()) or 1.0
                margin = float(scores[own_row] - scores[other_row]) / spread
                margin_swapped = float(swapped_scores[own_row] - swapped_scores[other_row]) / spread
                row["layers"].append({
                    "margin": margin, "owner_shift": margin - margin_swapped,
                    "rank": int((scores > scores[own_row]).sum()), "chunks": len(scores),
                    "cos_landmarks": float(cos_all[other_row]),
                    "cos_landmarks_others": float(cos_others.median()) if len(cos_others) else 0.0,
                    "cos_queries": float(torch.nn.functional.cosine_similarity(q, q_swapped, dim=0)),
                })
            rows_out.append(row)
        for a, b in zip(queries_seen, queries_seen[1:], strict=False):  # neighbouring questions, one package
            for layer, (qa, qb) in enumerate(zip(a, b, strict=True)):
                query_pairs[layer].append(float(torch.nn.functional.cosine_similarity(qa, qb, dim=0)))
        print(f"{package}: {sum(r['package'] == package for r in rows_out)} questions with a namesake",
              flush=True)
    return {"model": str(args.model), "fingerprint": checkpoint.fingerprint(model), "rows": rows_out,
            "cos_queries_between_questions": {str(k): v for k, v in query_pairs.items()},
            "command": "python -m benchmarks.owner_probe " + shlex.join(args.argv)}


def table(results: dict) -> str:
    def med(values) -> str:
        return f"{statistics.median(values):+.2f}" if values else "-"

    lines = ["| layer | citation | n | margin | margin > 0 | owner shift | shift > 0 | cos(landmarks) "
             "(others) | cos(queries) (other questions) | asked chunk's rank |", "|---" * 10 + "|"]
    rows = results["rows"]
    layers = len(rows[0]["layers"]) if rows else 0
    for layer in range(layers):
        between = results["cos_queries_between_questions"].get(str(layer), [])
        for label, correct in (("right", True), ("wrong", False)):
            cells = [r["layers"][layer] for r in rows if r["correct"] == correct]
            if not cells:
                continue
            n = len(cells)
            lines.append(
                f"| {layer} | {label} | {n} | {med([c['margin'] for c in cells])} | "
                f"{sum(c['margin'] > 0 for c in cells)} | {med([c['owner_shift'] for c in cells])} | "
                f"{sum(c['owner_shift'] > 0 for c in cells)} | {med([c['cos_landmarks'] for c in cells])} "
                f"({med([c['cos_landmarks_others'] for c in cells])}) | "
                f"{med([c['cos_queries'] for c in cells])} ({med(between)}) | "
                f"{statistics.median(c['rank'] for c in cells):.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = probe(args)
    text = table(results)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        args.out.write_text(f"# Owner probe\n\nModel `{results['model']}` (fingerprint "
                            f"{results['fingerprint']}), {len(results['rows'])} definition-lookup questions "
                            f"whose method another class of the package also defines. Medians; margins and "
                            f"shifts in units of the scores' spread over the package's chunks.\n\n{text}\n\n"
                            f"Command: `{results['command']}`\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
