"""Answers written by a GGUF chat model (llama-cpp-python) from the spans the HSA model chose.

    model = load_answer_model("~/models/qwen2.5-3b-instruct-q4_k_m.gguf")
    answer = ask_with_answer_model(engine, ["~/src/proj"], "Where is the config read?", model, on_token=print)

The embedded HSA model still reads the whole project: its retrieval picks the cited spans (`engine.ask`
with a short generation, the same citations `ask` shows). The GGUF model only writes: it gets the
question and those spans, numbered as the citations are ([1] is the highest-scored citation), fitted to
its context most relevant first, and is told to cite by those numbers, so [2] in its answer is citation 2.

llama-cpp-python and gguf are the optional extra `pip install ".[gguf]"`. GPU offload is used when the
installed llama.cpp was built with it (all layers), the CPU otherwise. Every failure a user can cause — the
extra missing, a file that is not GGUF or is damaged, a model larger than free memory, a context too small
for even one span — raises GgufError with one line that says what to do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.answer import Answer, Citation
from app.core.project import project_paths
from app.core.sessions import append_turn
from ingest.paths import project_db_path

log = logging.getLogger(__name__)

INSTALL_HINT = 'answering with a GGUF model needs llama-cpp-python: pip install ".[gguf]"'
MAX_CONTEXT = 8192  # tokens; a model trained for more still gets this much (its KV cache grows with it)
TEMPLATE_TOKENS = 48  # room for the chat template's own tokens around the messages
RUNTIME_BYTES = 256 << 20  # llama.cpp's compute buffers, roughly
ANSWER_SEED = 0  # sampling seed: the same question on the same spans gets the same answer
SYSTEM_PROMPT = (
    "You answer questions about the user's files using only the numbered sources below. Cite the sources "
    "you use by their numbers in square brackets, like [1] or [2][3]. If the sources do not contain the "
    "answer, say so."
)


class GgufError(Exception):
    """A GGUF model that cannot be used as asked; the message is one line for the user."""


class ContextOverflow(GgufError):
    """The prompt came out longer than the context (the chat template took more than estimated)."""


@dataclass(frozen=True)
class GgufInfo:
    """What the file's metadata says about the model (read before loading it)."""

    path: Path
    architecture: str
    name: str
    context_length: int  # trained context, tokens (0 when the file does not say)
    layers: int
    embedding: int
    heads: int
    kv_heads: int
    file_bytes: int

    def kv_cache_bytes(self, n_ctx: int) -> int:
        """K and V in f16 for every layer at this context length."""
        per_token = self.embedding * self.kv_heads // max(self.heads, 1)
        return 2 * self.layers * n_ctx * per_token * 2


@dataclass(frozen=True)
class SourceSpan:
    number: int  # the citation's number as the user sees it (1-based)
    label: str  # "contract.pdf p.7" / "pkg/mod.py:10-42", plus a topic for summaries
    text: str

    def render(self) -> str:
        return f"[{self.number}] {self.label}\n{self.text.strip()}"


@dataclass
class WrittenAnswer:
    text: str
    used: list[int]  # citation numbers given to the model
    stopped: bool = False
    timing: dict = field(default_factory=dict)  # ttft_ms, total_ms


def spans_from_citations(citations: Sequence[Citation],
                         topics: Sequence[str] | None = None) -> list[SourceSpan]:
    """Citations as numbered sources, [1] the first (highest-scored) one."""
    spans = []
    for number, citation in enumerate(citations, start=1):
        label = citation.label + (f" ({topics[number - 1]})" if topics else "")
        spans.append(SourceSpan(number, label, citation.text))
    return spans


def fit_spans(spans: Sequence[SourceSpan], budget: int,
              count_tokens: Callable[[str], int]) -> list[SourceSpan]:
    """The spans that fit in `budget` tokens, taken most relevant first; one too long for the room left is
    passed over for the next. Numbers are kept. Empty when not even one span fits."""
    chosen, used = [], 0
    for span in spans:
        cost = count_tokens(span.render() + "\n\n")
        if used + cost <= budget:
            chosen.append(span)
            used += cost
    return chosen


def user_message(question: str, spans: Sequence[SourceSpan]) -> str:
    sources = "\n\n".join(span.render() for span in spans)
    return f"Sources:\n\n{sources}\n\nQuestion: {question.strip()}"


def read_info(path: str | os.PathLike[str]) -> GgufInfo:
    """The model's metadata; GgufError for a file that is missing, not GGUF, or damaged."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GgufError(f"GGUF model {path} does not exist")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GgufError(f"{path.name} is not a GGUF model file "
                            "(it does not start with the GGUF signature)")
    try:
        import gguf
    except ImportError:
        raise GgufError(INSTALL_HINT) from None
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, IndexError, OSError, KeyError) as error:
        raise GgufError(f"{path.name} is a damaged GGUF file ({error}): download it again") from None

    def field_value(key: str, default=None):
        found = reader.get_field(key)
        return found.contents() if found is not None else default

    arch = field_value("general.architecture")
    if not arch:
        raise GgufError(f"{path.name} is a damaged GGUF file (no general.architecture): download it again")
    embedding = int(field_value(f"{arch}.embedding_length", 0) or 0)
    heads = int(field_value(f"{arch}.attention.head_count", 1) or 1)
    return GgufInfo(path=path, architecture=arch, name=str(field_value("general.name", path.stem)),
                    context_length=int(field_value(f"{arch}.context_length", 0) or 0),
                    layers=int(field_value(f"{arch}.block_count", 0) or 0), embedding=embedding, heads=heads,
                    kv_heads=int(field_value(f"{arch}.attention.head_count_kv", heads) or heads),
                    file_bytes=path.stat().st_size)


def available_memory() -> int | None:
    """Bytes of memory free for a new model (MemAvailable on Linux), or None when it cannot be told."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: int) -> str:
    return f"{n / (1 << 30):.1f} GB"


class AnswerModel:
    """A loaded GGUF chat model that writes answers from numbered spans. Use from one thread at a time."""

    def __init__(self, llama, info: GgufInfo, gpu_layers: int):
        self.llama = llama
        self.info = info
        self.gpu_layers = gpu_layers
        self.device = "gpu" if gpu_layers else "cpu"

    @property
    def context_size(self) -> int:
        return self.llama.n_ctx()

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        self.llama.close()

    def prompt_spans(self, question: str, spans: Sequence[SourceSpan], max_new_tokens: int,
                     system: str = SYSTEM_PROMPT) -> list[SourceSpan]:
        """The spans this model's context can take beside the question and the answer's room."""
        fixed = self.count_tokens(system) + self.count_tokens(user_message(question, [])) + TEMPLATE_TOKENS
        answer_room = min(max_new_tokens, self.context_size // 2)
        fitted = fit_spans(spans, self.context_size - fixed - answer_room, self.count_tokens)
        if spans and not fitted:
            smallest = min(self.count_tokens(span.render()) for span in spans)
            raise GgufError(
                f"{self.info.path.name}: its context ({self.context_size} tokens) is too small for the "
                f"question and even one cited span (the shortest needs {smallest} tokens beside "
                f"{fixed + answer_room} for the question and the answer): use a model with a larger context "
                "or a shorter question")
        return fitted

    def stream(self, question: str, spans: Sequence[SourceSpan], *, max_new_tokens: int = 512,
               system: str = SYSTEM_PROMPT) -> Iterator[str]:
        """Pieces of the answer as the model writes them (close the iterator to stop it)."""
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": user_message(question, spans)}]
        chunks = self.llama.create_chat_completion(messages, max_tokens=max_new_tokens, stream=True,
                                                   temperature=0.2, seed=ANSWER_SEED)
        try:
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except ValueError as error:  # llama-cpp-python reports a prompt longer than the context this way
            raise ContextOverflow(f"{self.info.path.name}: {error}") from None
        finally:
            chunks.close()  # a stopped answer ends llama.cpp's generation here

    def write(self, question: str, citations: Sequence[Citation], *, topics: Sequence[str] | None = None,
              max_new_tokens: int = 512, on_token: Callable[[str], None] | None = None,
              should_stop: Callable[[], bool] | None = None, system: str = SYSTEM_PROMPT) -> WrittenAnswer:
        """The answer to `question` from the citations (numbered 1.. in their order), streamed to on_token."""
        started = time.perf_counter()
        spans = self.prompt_spans(question, spans_from_citations(citations, topics), max_new_tokens, system)
        pieces: list[str] = []
        ttft, stopped = None, False
        while True:
            pieces_iter = self.stream(question, spans, max_new_tokens=max_new_tokens, system=system)
            try:
                for piece in pieces_iter:
                    if ttft is None:
                        ttft = time.perf_counter() - started
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
                    if should_stop is not None and should_stop():
                        stopped = True
                        break
                break
            except ContextOverflow:
                if pieces or len(spans) < 2:
                    raise
                spans = spans[:-1]  # the template was longer than estimated: leave the least relevant out
            finally:
                pieces_iter.close()
        total = time.perf_counter() - started
        timing = {"ttft_ms": round((ttft if ttft is not None else total) * 1000, 1),
                  "total_ms": round(total * 1000, 1)}
        return WrittenAnswer("".join(pieces).strip(), [span.number for span in spans], stopped, timing)


def _check_memory(info: GgufInfo, context: int) -> None:
    needed = info.file_bytes + info.kv_cache_bytes(context) + RUNTIME_BYTES
    free = available_memory()
    if free is not None and needed > free:
        raise GgufError(
            f"{info.path.name} needs about {_gb(needed)} of memory (weights {_gb(info.file_bytes)}, "
            f"context of {context} tokens {_gb(info.kv_cache_bytes(context))}) but only {_gb(free)} is "
            "free: choose a smaller (more quantised) model or close other programs")


def load_answer_model(path: str | os.PathLike[str], *, n_ctx: int | None = None, gpu: bool | None = None,
                      n_threads: int | None = None) -> AnswerModel:
    """Load a GGUF chat model. n_ctx: the context to allocate (default: the model's, at most MAX_CONTEXT);
    gpu None: offload every layer when llama.cpp can, else run on the CPU."""
    info = read_info(path)
    try:
        import llama_cpp
    except ImportError:
        raise GgufError(INSTALL_HINT) from None
    offload = llama_cpp.llama_supports_gpu_offload() if gpu is None else gpu
    context = n_ctx or min(info.context_length or 4096, MAX_CONTEXT)
    attempts = [-1, 0] if offload and gpu is None else [-1 if offload else 0]
    failure: Exception | None = None
    for gpu_layers in attempts:
        if gpu_layers == 0:
            _check_memory(info, context)  # on the CPU the weights and the context live in RAM
        try:
            llama = llama_cpp.Llama(model_path=str(info.path), n_ctx=context, n_gpu_layers=gpu_layers,
                                    n_threads=n_threads, verbose=False)
            return AnswerModel(llama, info, gpu_layers)
        except (ValueError, RuntimeError) as error:
            log.info("llama.cpp failed to load %s with n_gpu_layers=%d: %s", info.path, gpu_layers, error)
            failure = error  # on the GPU (e.g. too little GPU memory) the CPU is tried next
    raise GgufError(f"llama.cpp cannot load {info.path.name} ({failure}): the file may be damaged, its "
                    f"architecture ({info.architecture}) unknown to this llama.cpp, or memory too short")


def ask_with_answer_model(engine, paths: Sequence[str], question: str, model: AnswerModel, *,
                          session: str | None = None, max_new_tokens: int = 512, retrieve_tokens: int = 8,
                          on_token: Callable[[str], None] | None = None,
                          should_stop: Callable[[], bool] | None = None) -> Answer:
    """`ask`, with the HSA model choosing the cited spans and the GGUF model writing the answer."""
    started = time.perf_counter()
    chosen = engine.ask(paths, question, max_new_tokens=retrieve_tokens, should_stop=should_stop)
    if chosen.stopped:
        return Answer("", chosen.citations, chosen.timing, chosen.memory, True, chosen.notices)
    written = model.write(question, chosen.citations, max_new_tokens=max_new_tokens, on_token=on_token,
                          should_stop=should_stop)
    elapsed = time.perf_counter() - written.timing["total_ms"] / 1000 - started
    timing = {"ttft_ms": round(elapsed * 1000 + written.timing["ttft_ms"], 1),
              "total_ms": round((time.perf_counter() - started) * 1000, 1)}
    if session and not written.stopped:
        db_path = project_db_path(project_paths(paths)[0])
        append_turn(db_path, session, question, written.text, chosen.citations)
    return Answer(written.text, chosen.citations, timing, chosen.memory, written.stopped, chosen.notices)


SUMMARY_SYSTEM = (
    "You summarise one document for a reader, using only the numbered passages below; each is labelled with "
    "where it is and what it is about. Write one or two sentences per topic, citing the passages by their "
    "numbers in square brackets, like [1]. Add nothing that is not in the passages."
)


def write_summary(model: AnswerModel, summary, *, max_new_tokens: int = 512,
                  on_token: Callable[[str], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> WrittenAnswer | None:
    """Have the GGUF model write `summary.text` (app/core/summarize.Summary) from its cited passages: the best
    passage of each topic found, or each definition's documentation for a code file. [n] in the text is
    `summary.text_citations[n - 1]`. None when the summary has no passage to write from."""
    citations: list[Citation] = []
    labels: list[str] = []
    for topic in summary.topics:
        if topic.found:
            citations.append(topic.citations[0])
            labels.append(topic.topic)
    for definition in summary.definitions or []:
        citations.append(definition.citation)
        labels.append(f"{definition.kind} {definition.qualified_name}")
    if not citations:
        return None
    what = "what the code defines and does" if summary.definitions else "its key terms, topic by topic"
    written = model.write(f"Summarise {summary.path}: {what}.", citations, topics=labels,
                          max_new_tokens=max_new_tokens, on_token=on_token, should_stop=should_stop,
                          system=SUMMARY_SYSTEM)
    summary.text, summary.text_citations = written.text, citations
    summary.stopped = summary.stopped or written.stopped
    return written
