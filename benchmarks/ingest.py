"""Ingest speed: scan, read+hash, parse (tree-sitter), store, unchanged rescan, PDF pages/s.

    .venv/bin/python benchmarks/ingest.py [--tree DIR] [--generated 50000] [--pdf-pages 500] [--no-write]

Measures on a large real tree nobody here wrote (default: this venv's site-packages), on a generated tree
of small files (the rescan floor is stated for 50,000 files) and on a generated PDF. Prints a table and
replaces the "## Ingest" section of docs/benchmarks.md (other sections are kept).
Floors (issue 2): tree-sitter >= 10 MB/s per core; unchanged rescan of 50,000 files < 10 s;
PDF >= 100 pages/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.languages import CODE_LANGUAGES, detect_language, parser_for  # noqa: E402
from ingest.parse import is_pdf, parse_file  # noqa: E402
from ingest.pdf import parse_pdf  # noqa: E402
from ingest.pdf_worker import PdfWorker  # noqa: E402
from ingest.pipeline import content_hash, ingest, read_file  # noqa: E402
from ingest.records import ParseError  # noqa: E402
from ingest.scan import ScanEntry, resolve_roots, scan  # noqa: E402
from ingest.store import Store  # noqa: E402

DEFAULT_TREE = (
    REPO / ".venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
)
MB = 1024 * 1024


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds on the clock
    cpu: float  # CPU seconds of this process (all its threads): immune to other processes on the machine


def timed(fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def _parse_one(item: tuple[bytes, str]):
    data, relpath = item
    try:
        return parse_file(data, relpath)
    except ParseError:
        return None


Row = tuple[str, str, str, str]  # stage, wall, cpu, rate / notes


def row(stage: str, timing: Timing | None, note: str) -> Row:
    if timing is None:
        return stage, "", "", note
    cpu = f"{timing.cpu:.2f} s" if timing.cpu == timing.cpu else "n/a"  # NaN: CPU of another process
    return stage, f"{timing.wall:.2f} s", cpu, note


def measure_tree(tree: Path, sample: int, rows: list[Row]) -> str:
    roots = resolve_roots([tree])
    items, scan_t = timed(lambda: list(scan(roots)))
    entries = [i for i in items if isinstance(i, ScanEntry)]
    total_bytes = sum(e.size for e in entries)
    kept = f"{len(entries):,} files, {total_bytes / MB:.0f} MB kept of {len(items):,} seen"
    rows.append(row("scan (os.scandir + stat + ignore rules)", scan_t, kept))

    def read_all():
        files = []
        for e in entries:
            data, _ = read_file(e.abspath)
            content_hash(data)
            files.append((data, e.relpath))
        return files

    files, read_t = timed(read_all)
    rows.append(row("read + blake2b hash", read_t, f"{total_bytes / MB / read_t.cpu:.0f} MB/s per core"))

    # The per-stage rates below use every `sample`-th file; the end-to-end rows use the whole tree.
    texts = [(d, r) for d, r in files[::sample] if not is_pdf(r, d)]
    text_bytes = sum(len(d) for d, _ in texts)
    rows.append(
        row(f"*stages below: 1 file in {sample}*", None, f"{len(texts):,} files, {text_bytes / MB:.0f} MB")
    )
    languages = [detect_language(r, d[:200].decode("utf-8", "replace")) for d, r in texts]
    code = [(d, r, lang) for (d, r), lang in zip(texts, languages, strict=True) if lang in CODE_LANGUAGES]
    code_bytes = sum(len(d) for d, _, _ in code)
    for language in {lang for _, _, lang in code}:  # load each grammar and query outside the timings
        _parse_one(next((d, r) for d, r, lang in code if lang == language))

    _, raw_t = timed(lambda: [parser_for(lang).parse(d) for d, _, lang in code])
    rows.append(
        row(
            "tree-sitter parse only",
            raw_t,
            f"{code_bytes / MB / raw_t.cpu:.1f} MB/s per core on {len(code):,} code files "
            f"({code_bytes / MB:.0f} MB); {'meets' if code_bytes / MB / raw_t.cpu >= 10 else 'MISSES'} "
            "the 10 MB/s floor",
        )
    )
    by_language: dict[str, list[float]] = {}  # language -> [bytes, CPU seconds]
    for data, _, language in code:
        started = time.process_time()
        parser_for(language).parse(data)
        entry = by_language.setdefault(language, [0.0, 0.0])
        entry[0] += len(data)
        entry[1] += time.process_time() - started
    biggest = sorted(by_language.items(), key=lambda item: -item[1][0])[:6]
    rates = ", ".join(
        f"{lang} {size / MB / max(cpu, 1e-9):.1f} ({size / MB:.0f} MB)" for lang, (size, cpu) in biggest
    )
    rows.append(row("tree-sitter parse only, by language", None, f"MB/s per core: {rates}"))

    docs, parse_t = timed(lambda: [_parse_one(item) for item in texts])
    rows.append(
        row(
            "parse_file: tree-sitter + queries + spans",
            parse_t,
            f"{text_bytes / MB / parse_t.cpu:.1f} MB/s per core",
        )
    )

    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_parse_one, texts[:50]))  # start the workers before timing
        _, pool_t = timed(lambda: list(pool.map(_parse_one, texts, chunksize=64)))
    rows.append(
        row(
            f"parse_file in a pool of {workers} processes",
            pool_t,
            f"{text_bytes / MB / pool_t.wall:.1f} MB/s on the clock vs {text_bytes / MB / parse_t.wall:.1f} "
            "in one process (CPU column: the parent unpickling results)",
        )
    )

    with tempfile.TemporaryDirectory() as scratch:
        with Store(Path(scratch) / "bench.db") as store:
            [root_id] = store.set_roots(roots)

            def store_all():
                for start in range(0, len(docs), 200):
                    with store.batch():
                        for i, doc in enumerate(docs[start : start + 200], start):
                            if doc is not None:
                                store.put_document(root_id, texts[i][1], len(texts[i][0]), 0, "h", doc)

            _, store_t = timed(store_all)
        db_mb = (Path(scratch) / "bench.db").stat().st_size / MB
    stored = sum(d is not None for d in docs)
    rows.append(
        row("store (SQLite, 200 files per transaction)", store_t, f"{stored:,} documents, {db_mb:.0f} MB")
    )

    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "project.db"
        cold, cold_t = timed(ingest, [tree], db_path=db)
        note = (
            f"{cold.parsed:,} parsed, {cold.skipped} skipped, {cold.failed} failed, "
            f"{cold.definitions:,} definitions"
        )
        rows.append(row("**cold ingest, whole tree, end to end**", cold_t, note))
        warm, warm_t = timed(ingest, [tree], db_path=db)
        rows.append(
            row("**rescan, unchanged**", warm_t, f"{warm.unchanged:,} unchanged, {warm.parsed} parsed")
        )
    # Scale the sampled stages to the whole tree by bytes, then compare with the measured cold ingest (CPU).
    scale = total_bytes / max(text_bytes, 1)
    shares = {
        "parsing (tree-sitter, queries, line spans)": parse_t.cpu * scale,
        "storing in SQLite": store_t.cpu * scale,
        "reading and hashing": read_t.cpu,
        "scanning": scan_t.cpu,
    }
    shares["everything else (per-file bookkeeping, sampling error)"] = max(
        cold_t.cpu - sum(shares.values()), 0
    )
    parts = ", ".join(f"{name} ~{100 * t / cold_t.cpu:.0f}%" for name, t in shares.items())
    return (
        f"Where the time goes in a cold ingest of this tree ({cold_t.cpu:.0f} CPU s; sampled stages scaled "
        f"up by bytes): {parts}. Raw tree-sitter parsing is {100 * raw_t.cpu / parse_t.cpu:.0f}% of "
        "`parse_file`; the rest is the definition queries, decoding and building line spans. An unchanged "
        "rescan reads no file: it is the scan plus one query of the stored sizes and mtimes."
    )


def measure_generated(count: int, rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "generated"
        per_dir = 100
        for i in range(count):
            folder = tree / f"pkg{i // per_dir:04d}"
            if i % per_dir == 0:
                folder.mkdir(parents=True)
            (folder / f"mod{i % per_dir:03d}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
        db = Path(scratch) / "project.db"
        cold, cold_t = timed(ingest, [tree], db_path=db)
        rows.append(
            row(
                f"cold ingest, {count:,} generated files",
                cold_t,
                f"{cold.parsed / cold_t.cpu:,.0f} files/s per core",
            )
        )
        warm, warm_t = timed(ingest, [tree], db_path=db)
        assert warm.unchanged == count and warm.parsed == 0
        verdict = "meets" if warm_t.wall < 10 else "MISSES"
        rows.append(
            row(
                f"**rescan, {count:,} unchanged files**", warm_t, f"{verdict} the < 10 s floor (on the clock)"
            )
        )


def measure_pdf(pages: int, rows: list[Row]) -> None:
    import pymupdf

    pdf = pymupdf.open()
    for number in range(1, pages + 1):
        page = pdf.new_page()
        page.insert_text((72, 60), f"Chapter {number}", fontsize=16)
        body = "\n".join(
            f"Line {line} of page {number}: the quick brown fox jumps over the lazy dog."
            for line in range(1, 41)
        )
        page.insert_textbox(pymupdf.Rect(72, 80, 540, 780), body, fontsize=10)
    data = pdf.tobytes()
    doc, inline_t = timed(parse_pdf, data, "book.pdf")
    assert doc.pages == pages
    verdict = "meets" if pages / inline_t.cpu >= 100 else "MISSES"
    rows.append(
        row(
            f"PDF text + line boxes, {pages} pages (parse_pdf)",
            inline_t,
            f"{pages / inline_t.cpu:.0f} pages/s per core, {len(doc.spans):,} line boxes; "
            f"{verdict} the 100 pages/s floor",
        )
    )
    with PdfWorker() as worker:
        worker.parse(data, "warmup.pdf")
        doc, worker_t = timed(worker.parse, data, "book.pdf")
    rows.append(
        row(
            "same PDF through the PdfWorker process",
            Timing(worker_t.wall, float("nan")),
            f"{pages / worker_t.wall:.0f} pages/s on the clock (CPU is the child's, not measured here)",
        )
    )


def write_docs(table: str, command: str) -> None:
    path = REPO / "docs" / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Ingest"), None)
    section = table if table.endswith("\n") else table + "\n"
    if start is None:
        new = old.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + section + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
    path.parent.mkdir(exist_ok=True)
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=DEFAULT_TREE)
    parser.add_argument("--generated", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=5, help="stage rates on every Nth file of the tree")
    parser.add_argument("--pdf-pages", type=int, default=500)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    where_time_goes = measure_tree(args.tree, args.sample, rows)
    if args.generated:
        measure_generated(args.generated, rows)
    measure_pdf(args.pdf_pages, rows)

    load_after = os.getloadavg()[0]
    busy = max(load_before, load_after) > (os.cpu_count() or 1) + 0.5
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (`nproc`), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    table = "\n".join(
        [
            "## Ingest",
            "",
            f"Machine: {machine}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Command: `{command}`.",
            f"Tree: `{args.tree}`. Load average (1 min): {load_before:.1f} at start, {load_after:.1f} at end"
            + (" (other work shared the cores: the rates are lower bounds)." if busy else "."),
            "",
            "Per-core rates divide by this process's CPU time, which other processes do not inflate.",
            "",
            "| stage | wall | CPU | rate / notes |",
            "|---|---|---|---|",
            *[f"| {stage} | {wall} | {cpu} | {note} |" for stage, wall, cpu, note in rows],
            "",
            where_time_goes,
            "",
        ]
    )
    print(table)
    if not args.no_write:
        write_docs(table, command)


if __name__ == "__main__":
    main()
