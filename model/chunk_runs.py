"""Runs of adjacent memory chunks: the app cites a run as one span (app/core/answer.py), and eval_code scores
the app's first chip. Plain Python, so that the app's citation code and the evaluations share it without
importing torch or ingest."""

from collections.abc import Mapping


def merge_runs(chunks: Mapping[int, float]) -> list[tuple[int, int, float]]:
    """Runs of consecutive chunk indices of one document: (first, last, summed weight)."""
    runs: list[tuple[int, int, float]] = []
    for index in sorted(chunks):
        if runs and runs[-1][1] == index - 1:
            first, _, weight = runs[-1]
            runs[-1] = (first, index, weight + chunks[index])
        else:
            runs.append((index, index, chunks[index]))
    return runs


def runs_by_document(weights: Mapping[tuple[str, int], float]) -> dict[str, list[tuple[int, int, float]]]:
    """merge_runs of each document, from weights per (document key, chunk index)."""
    by_doc: dict[str, dict[int, float]] = {}
    for (key, chunk), weight in weights.items():
        by_doc.setdefault(key, {})[chunk] = weight
    return {key: merge_runs(chunks) for key, chunks in by_doc.items()}


def top_run(weights: Mapping[tuple[str, int], float]) -> tuple[str, int, int] | None:
    """(document key, first chunk, last chunk) of the run holding the largest summed weight, from weights per
    (document key, chunk index); None when there is none."""
    runs = [(weight, key, first, last) for key, doc_runs in runs_by_document(weights).items()
            for first, last, weight in doc_runs]
    return max(runs)[1:] if runs else None
