"""Start-up times of the built app (and of the source checkout, for comparison), for docs/packaging.md.

    python packaging/measure.py [--model DIR] [--runs 3]

Measures, each as the median of --runs warm runs: `--version`; the time until the main window is shown
(QT_QPA_PLATFORM=offscreen, FOLIO_EXIT_AFTER_SHOW=1: packaging/folio_entry.py prints a line on the first
show and quits); and the first answer on the bundled sample (`ingest`, then `ask --json` in a new process:
its wall time and the answer's own time to first token). Without an embedded model, pass --model (a random
hsa-tiny folder times the machinery, not the real model). Writes dist/folio-startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "dist" / "folio" / "folio"
SAMPLE = ["resources/sample/textstats", "resources/sample/services-agreement.pdf"]
QUESTION = "What happens when the client pays an invoice late?"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    (home / "home").mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home / "home"), "FOLIO_HOME": str(home / "folio"),
            "LANG": "C.UTF-8", **extra}


def timed(command: list[str], env: dict[str, str], until: str | None = None) -> float:
    """Seconds until the process exits (or prints a line containing `until`)."""
    start = time.monotonic()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          cwd=env["HOME"]) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if until and until in line:
                elapsed = time.monotonic() - start
                process.wait(timeout=120)
                return elapsed
        if process.wait() != 0 or until:
            raise SystemExit(f"measure: {' '.join(command)} failed (exit status {process.returncode})")
    return time.monotonic() - start


def median_of(runs: int, measure) -> float:
    return round(statistics.median(measure() for _ in range(runs)), 2)


def first_answer(program: list[str], roots: list[str], model: list[str], scratch: Path) -> dict:
    env = clean_env(scratch)
    ingest_start = time.monotonic()
    subprocess.run([*program, "ingest", *roots, "--json", *model], env=env, check=True, capture_output=True,
                   cwd=env["HOME"])
    ingest_s = time.monotonic() - ingest_start
    ask_start = time.monotonic()
    out = subprocess.run([*program, "ask", roots[0], QUESTION, "--json", "--max-new-tokens", "32", *model],
                         env=env, check=True, capture_output=True, text=True, cwd=env["HOME"]).stdout
    answer = json.loads(out)
    return {"ingest_s": round(ingest_s, 2), "ask_process_s": round(time.monotonic() - ask_start, 2),
            "ttft_ms": answer["timing"]["ttft_ms"], "total_ms": answer["timing"]["total_ms"],
            "citations": len(answer["citations"])}


def measure(program: list[str], roots: list[str], model: list[str], runs: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        version = median_of(runs, lambda: timed([*program, "--version"], clean_env(base / "v")))
        window_env = clean_env(base / "w", QT_QPA_PLATFORM="offscreen", FOLIO_EXIT_AFTER_SHOW="1")
        window = median_of(runs, lambda: timed(program, window_env, until="folio: window shown"))
        answer = first_answer(program, roots, model, base / "a")
    return {"version_s": version, "window_shown_s": window, "first_answer": answer}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", metavar="DIR", help="model folder (default: the embedded one)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    model = ["--model", str(Path(args.model).resolve())] if args.model else []
    results = {"cores": os.cpu_count(), "model": args.model or "embedded", "runs": args.runs}
    if APP.is_file():
        bundle = APP.parent / "_internal"
        results["built"] = measure([str(APP)], [str(bundle / r) for r in SAMPLE], model, args.runs)
    source = [str(REPO / ".venv" / "bin" / "python"), str(REPO / "packaging" / "folio_entry.py")]
    results["source"] = measure(source, [str(REPO / r) for r in SAMPLE], model, args.runs)
    print(json.dumps(results, indent=1))
    (REPO / "dist").mkdir(exist_ok=True)
    (REPO / "dist" / "folio-startup.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
