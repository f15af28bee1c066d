"""Plain questions about the sample contract, asked as a user asks them: does the answer quote the clause?

    python -m benchmarks.eval_contract [--model DIR] [--device cpu] [--out docs/eval/contract.md]

The sample project (resources/sample: the textstats package and services-agreement.pdf, the project
`make run` opens) is ingested into a temporary FOLIO_HOME, then each question below is asked through the
app's own path (`Engine.ask`, as `folio ask` and the window do). The questions were written by hand for
this contract, which no training row contains; each names the clause(s) that answer it by a phrase of
their text. A question counts as
- cited when the first citation is a passage of the contract holding one of those phrases,
- quoted when the answer itself holds one of them (whitespace and case aside);
and whether any of its citations (the chips a user can click) is a passage of the contract holding one, and
whether the lines the window quotes under the answer (app/core/snippets.py) hold one.
Then the same questions are asked again, in order, as follow-ups in one chat session (`ask --session`:
the earlier turns go into the question document), scored the same way, and an answer counts as a repeat
when it equals an earlier answer of that chat (whitespace and case aside): the model copying its last
answer instead of answering the new question.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from app.core.snippets import quotes

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "sample"
CONTRACT = "services-agreement.pdf"

# question -> phrases of the clause(s) that answer it (any one counts)
QUESTIONS: dict[str, tuple[str, ...]] = {
    "How many days does the client have to pay an invoice?": ("payable within thirty (30) days",),
    "What does the agreement say about the limitation of liability?": (
        "limits liability for death", "neither Party is liable for any loss of profit",
        "total liability arising"),
    "Which law governs the services agreement, and where are disputes heard?": (
        "governed by the laws of England and Wales", "courts of England and Wales have exclusive"),
    "How long is the initial term of the agreement?": ("initial term of twenty-four (24) months",),
    "How much notice stops the agreement from renewing?": ("ninety (90) days' written notice",),
    "What interest is charged on late payments?": ("Late payments bear interest",),
    "How long do the confidentiality obligations last after termination?": (
        "continue for five (5) years after termination",),
    "Who owns the intellectual property rights in the deliverables?": ("vest in the Client on payment",),
    "How soon must the provider report a personal data breach?": ("within thirty-six (36) hours",),
    "What availability does the hosted reporting service promise?": ("available 99.5% of each",),
    "Can a party assign the agreement to someone else?": ("Neither Party may assign",),
    "How must notices under the agreement be delivered?": ("delivered by hand, by recorded delivery",),
    "What is the cap on each party's total liability?": ("one hundred and twenty-five percent",),
    "Can the client end a statement of work for convenience?": (
        "terminate any Statement of Work for convenience",),
    "How often may the provider increase its rates?": ("increase its rates once per contract year",),
    "What happens to the client's personal data when the agreement ends?": (
        "delete all Client personal data",),
}


def flat(text: str) -> str:
    return " ".join(text.split()).lower().replace("’", "'")


def holds(text: str, phrases: tuple[str, ...]) -> bool:
    return any(flat(phrase) in flat(text) for phrase in phrases)


def repeats(answers: list[str]) -> list[bool]:
    """For each answer of one chat, in order: does it equal an earlier one (whitespace and case aside)?"""
    seen: set[str] = set()
    flags = []
    for answer in answers:
        flags.append(bool(flat(answer)) and flat(answer) in seen)  # an empty answer repeats nothing
        seen.add(flat(answer))
    return flags


def score(question: str, phrases: tuple[str, ...], answer) -> dict:
    first = answer.citations[0] if answer.citations else None
    shown = [q for q in quotes(answer.citations, question, answer.answer)
             if answer.citations[q.index].path == CONTRACT]
    sample = {
        "question": question, "answer": answer.answer, "phrases": list(phrases),
        "first_citation": first.label if first else None,
        "cited": bool(first and first.path == CONTRACT and holds(first.text, phrases)),
        "quoted": holds(answer.answer, phrases),
        "contract_cited": any(c.path == CONTRACT for c in answer.citations),
        "clause_cited": any(c.path == CONTRACT and holds(c.text, phrases) for c in answer.citations),
        # the lines the window quotes under the answer (app/core/snippets.py) hold the clause
        "clause_shown": any(holds(" ".join(q.lines), phrases) for q in shown),
        "citations": [{"label": c.label, "path": c.path, "score": round(c.score, 4), "text": c.text}
                      for c in answer.citations],
    }
    print(f"{sample['cited']:d} {sample['quoted']:d}  {question}\n    -> "
          f"{answer.answer[:160]!r}  [{sample['first_citation']}]", flush=True)
    return sample


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.eval_contract", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, help="model folder (default: the embedded model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--out", type=Path, help="write the table here (and the answers as .json beside it)")
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def evaluate(args: argparse.Namespace) -> dict:
    home = tempfile.mkdtemp(prefix="folio-eval-contract-")
    before = os.environ.get("FOLIO_HOME")
    os.environ["FOLIO_HOME"] = home  # the user's projects are never touched
    try:
        from app.core.engine import Engine
        from model.checkpoint import fingerprint

        project = Path(home) / "sample"
        shutil.copytree(SAMPLE, project)
        engine = Engine(args.model, device=args.device)
        engine.refresh([str(project)])

        def ask_all(session: str | None) -> list[dict]:
            return [score(question, phrases, engine.ask([str(project)], question, session=session,
                                                        max_new_tokens=args.max_new_tokens, refresh=False))
                    for question, phrases in QUESTIONS.items()]

        samples = ask_all(None)  # each question in a chat of its own
        chat = ask_all("eval-contract")  # then all of them, in order, in one chat
        for sample, repeat in zip(chat, repeats([s["answer"] for s in chat]), strict=True):
            sample["repeat"] = repeat
        # the loaded model's own fingerprint (the folder's, without reading its shards again)
        return {"model": str(args.model or "resources/model (embedded)"),
                "fingerprint": fingerprint(engine.model),
                "device": engine.device, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "samples": samples, "chat": chat,
                "command": "python -m benchmarks.eval_contract " + " ".join(args.argv)}
    finally:
        if before is None:
            os.environ.pop("FOLIO_HOME", None)
        else:
            os.environ["FOLIO_HOME"] = before
        shutil.rmtree(home, ignore_errors=True)


def table(results: dict) -> str:
    samples, chat = results["samples"], results["chat"]
    rows = [("first citation holds the answering clause", samples, "cited"),
            ("answer quotes the answering clause", samples, "quoted"),
            ("the answering clause among the citations", samples, "clause_cited"),
            ("the answering clause in the lines quoted under the answer", samples, "clause_shown"),
            ("the contract among the citations", samples, "contract_cited"),
            # the first answer of the chat has nothing earlier to repeat
            ("one chat: answer repeats an earlier answer of the chat", chat[1:], "repeat"),
            ("one chat: first citation holds the answering clause", chat, "cited"),
            ("one chat: the answering clause in the lines quoted under the answer", chat, "clause_shown"),
            ("one chat: answer quotes the answering clause", chat, "quoted")]
    return "\n".join(["| measure | share | of |", "|---|---|---|"] + [
        f"| {name} | {100 * sum(s[key] for s in some) / len(some):.0f}% | {len(some)} |"
        for name, some, key in rows])


def answers(samples: list[dict], chat: bool = False) -> str:
    rows = ["| question | answer | first citation | cited | quoted |" + (" repeat |" if chat else ""),
            "|---|---|---|---|---|" + ("---|" if chat else "")]
    for s in samples:
        text = re.sub(r"\s+", " ", s["answer"]).replace("|", "\\|")[:140]
        rows.append(f"| {s['question']} | {text} | {s['first_citation'] or '-'} | "
                    f"{'yes' if s['cited'] else 'no'} | {'yes' if s['quoted'] else 'no'} |"
                    + (f" {'yes' if s['repeat'] else 'no'} |" if chat else ""))
    return "\n".join(rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = evaluate(args)
    print(table(results))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
        r = results
        args.out.write_text(f"# Plain questions about the sample contract\n\nModel `{r['model']}` "
                            f"(fingerprint {r['fingerprint']}); {r['date']}, {r['machine']}, "
                            f"device {r['device']}.\n\n"
                            f"{table(r)}\n\n{answers(r['samples'])}\n\n"
                            "The same questions, in order, in one chat:\n\n"
                            f"{answers(r['chat'], chat=True)}\n\n"
                            f"Command: `{r['command']}`\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
