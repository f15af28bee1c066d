"""The training stream: rows of whole documents packed to chunk multiples, with tasks and code QA mixed in.

A row is seq_len tokens: documents one after another, each padded to whole chunks (as pack_documents
does; doc_ids number them 0.. within the row), the last body document cut to fit. Three kinds of rows:
- plain: corpus documents in a shuffled order, epoch after epoch;
- task (task_share): a RULER-style task (tasks.py); its needles are spliced in token space at line
  boundaries of haystack documents, and the question document (chat format + answer) comes last;
- qa (qa_share): a Python file early in the row among the other files of its package (at least `far`
  tokens before the end), then a code question about it (codeqa.py) with its answer; with
  questions_per_row > 1 a long row ends in several question documents, about the row's files that end at
  least `far` tokens before them (a project read once, asked many things). With passage_share, that share
  of qa rows asks passage questions instead (prose.py: a sentence of a prose file or docstring, found by
  its words and copied), about a prose file or a Python file and the row's other files. With turns_share,
  that share of the long qa rows joins its questions into chats of 2-5 turns (one question document, the
  earlier (question, answer) turns before the last question, as Engine.ask builds a follow-up), so that
  the answer follows the last question rather than the ones before it. With namesake_share, that share of
  the long code-question rows asks first about definitions whose name another definition of the row's
  files has too (`post` of two classes): only the scope comment and their own lines tell them apart. With
  rename_share, that share of code-question rows shows the asked file's package with its classes renamed
  (renames.py), so owners are matched as written, not known from earlier stretches. With twin_share, that
  share of code-question rows shows the asked file a second time under a sibling path with its classes
  renamed (twins.py), and asks about the two copies' members by owner: namesakes told apart by the owner
  alone; with twin_copies n, n such copies, each renamed its own way.
Targets are next-token ids inside a document, IGNORE (-100) elsewhere: on padding, at document ends, on the
needle sentences and on the question; in a question document only the answer (and <|end_turn|>) is learnt.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from model.data.codeqa import QA, code_questions
from model.data.corpus import Corpus
from model.data.prose import is_prose, passage_questions
from model.data.renames import RenamedCorpus, class_names, renaming, word_pool
from model.data.rows import (
    CHUNK,
    Row,
    definition_chars,
    namesake_names,
    padded,
    verbatim_chars,
    visible_starts,
)
from model.data.tasks import KINDS, plan_needles
from model.data.twins import TwinCorpus, folder_word, twin_mappings, twin_path
from model.tokenizer import Tokenizer

IGNORE = -100
ROW_KINDS = ("plain", "qa", *KINDS)
QA_CACHE_SIZE = 50_000
MAX_QA_SOURCE = 4096  # tokens: parsing larger files on the fly would slow the stream down
QUESTION_SPACE = 128  # tokens a long qa row reserves for each question beyond its first


class TrainStream:
    def __init__(self, corpus: Corpus, tokenizer: Tokenizer, *, seq_len: int, seed: int,
                 task_share: float = 0.25, qa_share: float = 0.15, packages: Sequence[str] | None = None,
                 task_kinds: Sequence[str] = KINDS, questions_per_row: int = 1, passage_share: float = 0.0,
                 turns_share: float = 0.0, namesake_share: float = 0.0, rename_share: float = 0.0,
                 owner_first: bool = False, twin_share: float = 0.0, twin_copies: int = 1):
        if seq_len % CHUNK or seq_len < 4 * CHUNK:
            raise ValueError(f"seq_len must be a multiple of {CHUNK} and at least {4 * CHUNK}, got {seq_len}")
        self.corpus, self.tokenizer = corpus, tokenizer
        self.seq_len, self.seed = seq_len, seed
        self.task_share, self.qa_share = task_share, qa_share
        unknown = sorted(set(task_kinds) - set(KINDS))
        if unknown or not task_kinds:
            raise ValueError(f"unknown task kinds {unknown}; known: {', '.join(KINDS)}")
        self.task_kinds = tuple(task_kinds)
        if questions_per_row < 1:
            raise ValueError(f"questions_per_row must be at least 1, got {questions_per_row}")
        shares = dict(passage_share=passage_share, turns_share=turns_share, namesake_share=namesake_share,
                      rename_share=rename_share, twin_share=twin_share)
        for name, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {share}")
        self.passage_share, self.turns_share, self.namesake_share = passage_share, turns_share, namesake_share
        self.rename_share, self.twin_share = rename_share, twin_share
        if not 1 <= twin_copies <= 3:
            raise ValueError(f"twin_copies must be 1, 2 or 3, got {twin_copies}")
        self.twin_copies = twin_copies
        self.word_pool = word_pool(tokenizer) if rename_share > 0 or twin_share > 0 else []
        self.owner_first = owner_first  # methods' "where" answers begin with the qualified name (codeqa)
        self._classes: dict[str, list[str]] = {}  # package -> the class names its Python files define
        # a question per 1K tokens at most: a short row stays mostly file
        self.questions_per_row = min(questions_per_row, max(1, seq_len // 1024))
        wanted = None if packages is None else set(packages)
        self.docs = np.array([i for i in range(len(corpus)) if corpus.lengths[i] > 2
                              and (wanted is None or corpus.package(i) in wanted)], dtype=np.int64)
        if not len(self.docs):
            raise ValueError("the stream has no documents (empty corpus or no matching packages)")
        self.far = 2048 if seq_len >= 4096 else seq_len // 4  # question-to-source distance in QA rows
        max_source = min(seq_len - 4 * CHUNK - self.far, MAX_QA_SOURCE)
        self.qa_docs = np.array([i for i in self.docs if corpus.path(i).endswith(".py")
                                 and padded(int(corpus.lengths[i])) <= max_source], dtype=np.int64)
        self.prose_docs = np.array([i for i in self.docs if is_prose(corpus.path(i))
                                    and padded(int(corpus.lengths[i])) <= max_source], dtype=np.int64)
        # tokens that end a line ("Ċ"/"č" are the byte-level spellings of \n and \r)
        spellings = [tokenizer.hf.id_to_token(i) or "" for i in range(tokenizer.vocab_size)]
        self.line_end = np.array([s.endswith(("Ċ", "č")) for s in spellings])
        self.line_end[list(tokenizer.special_ids.values())] = False
        # bytes of text per token (one per character of a byte-level spelling; none for a special token)
        self.token_bytes = np.array([len(s) for s in spellings], dtype=np.int64)
        self.token_bytes[list(tokenizer.special_ids.values())] = 0
        self._qa_cache: dict[tuple[int, bool], list[QA]] = {}
        packages_of = np.array([corpus.package(int(i)) for i in self.docs])
        self.neighbours = {name: self.docs[packages_of == name] for name in np.unique(packages_of)}
        self.epoch, self.pos = 0, 0
        self.rng = np.random.default_rng(seed)
        self.py_rng = random.Random(seed)
        self.order = self._permutation()

    # ------------------------------------------------------------------------------------- state
    def _permutation(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.docs)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "rng": self.rng.bit_generator.state,
                "py_rng": self.py_rng.getstate(), "seed": self.seed, "seq_len": self.seq_len}

    def load_state_dict(self, state: dict) -> None:
        if state["seed"] != self.seed or state["seq_len"] != self.seq_len:
            raise ValueError(f"stream state is for seed {state['seed']} / seq_len {state['seq_len']}, "
                             f"this stream has {self.seed} / {self.seq_len}")
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self.rng.bit_generator.state = state["rng"]
        version, internal, gauss = state["py_rng"]  # JSON turns the tuples into lists
        self.py_rng.setstate((version, tuple(internal), gauss))
        self.order = self._permutation()

    # ------------------------------------------------------------------------------------ batches
    def next_batch(self, batch_size: int, answers: bool = False) -> tuple[torch.Tensor, ...]:
        """(idx, doc_ids, targets), each (B, T) int64; targets IGNORE where there is no loss. answers=True
        adds a fourth (B, T) int64 tensor, 1 where the target is an answer token of a question document, and
        a fifth (B, T) int64: at the inputs of answer tokens, the chunk to retrieve there (-1 elsewhere;
        Row.retrieval_targets), and a sixth (B, T) int64: at the inputs of copied answer tokens, the row
        position of the needle's or the file's token that holds the text (-1 elsewhere; Row.copy_sources)."""
        rows = [self.row(self._pick_kind()) for _ in range(batch_size)]
        ids = np.stack([r.ids for r in rows])
        docs = np.stack([r.doc_ids for r in rows])
        mask = np.stack([r.mask for r in rows])
        targets = np.full_like(ids, IGNORE)
        learnt = (docs[:, 1:] == docs[:, :-1]) & mask[:, 1:]
        targets[:, :-1] = np.where(learnt, ids[:, 1:], IGNORE)
        batch = (torch.from_numpy(ids), torch.from_numpy(docs), torch.from_numpy(targets))
        if not answers:
            return batch
        starts = np.array([[r.answer_from if r.answer_from >= 0 else self.seq_len] for r in rows])
        in_answer = np.zeros_like(ids)
        in_answer[:, :-1] = learnt & (np.arange(1, self.seq_len)[None, :] >= starts)
        wanted = np.full_like(ids, -1)
        copies = np.full_like(ids, -1)
        for n, r in enumerate(rows):
            for at, chunk in r.retrieval_targets(np.flatnonzero(in_answer[n])).items():
                wanted[n, at] = chunk
            for at, src in r.copy_sources.items():
                copies[n, at] = src
        return (*batch, torch.from_numpy(in_answer), torch.from_numpy(wanted), torch.from_numpy(copies))

    def _pick_kind(self) -> str:
        draw = self.py_rng.random()
        if draw < self.task_share:
            return self.py_rng.choice(self.task_kinds)
        if draw < self.task_share + self.qa_share and len(self.qa_docs):
            return "qa"
        return "plain"

    def row(self, kind: str) -> Row:
        """One row of the given kind ("plain", "qa" or a task kind)."""
        if kind == "plain":
            return self._pack(self._fill(self.seq_len, []), [], "plain")
        if kind == "qa":
            return self._qa_row()
        if kind in KINDS:
            return self._task_row(kind)
        raise ValueError(f"unknown row kind {kind!r}; known: {', '.join(ROW_KINDS)}")

    # ------------------------------------------------------------------------------------ pieces
    def _next_doc(self) -> int:
        if self.pos >= len(self.order):
            self.epoch, self.pos = self.epoch + 1, 0
            self.order = self._permutation()
        self.pos += 1
        return int(self.order[self.pos - 1])

    def _line_starts(self, toks: np.ndarray) -> np.ndarray:
        """Token positions that start a line of the document's text."""
        starts = np.flatnonzero(self.line_end[toks[:-1]]) + 1
        first = 1 if toks[0] == self.tokenizer.doc_start_id else 0
        return np.concatenate([[first], starts[starts > first]])

    def _piece(self, doc: int, space: int):
        """(tokens, mask, doc) of a corpus document; a longer one is cut to `space`, from its start or from a
        random line start (so a cut piece, too, begins on a line)."""
        toks = self.corpus.doc(doc)
        if len(toks) > space and self.rng.random() < 0.5:
            starts = self._line_starts(toks)
            starts = starts[starts <= len(toks) - space]
            if len(starts) > 1:
                toks = toks[int(self.rng.choice(starts[1:])):]
        toks = np.asarray(toks[:space], dtype=np.int64)
        return toks, np.ones(len(toks), dtype=bool), doc

    def _fill(self, space: int, pieces: list, first: list[int] | None = None) -> list:
        """Append corpus documents covering exactly `space` tokens (padded); the last one is cut to fit.
        Documents are popped from `first` while it lasts, then taken in the stream's order."""
        while space > 0:
            piece = self._piece(first.pop() if first else self._next_doc(), space)
            pieces.append(piece)
            space -= padded(len(piece[0]))
        return pieces

    def _pack(self, body: list, tails: list, kind: str, question: str = "", answer: str = "") -> Row:
        """Body pieces then the tail pieces (question documents) into exactly seq_len tokens; the last body
        piece is cut to fit. answer_from is where the first tail piece starts."""
        T = self.seq_len
        ids = np.full(T, self.tokenizer.pad_id, dtype=np.int64)
        docs = np.zeros(T, dtype=np.int64)
        mask = np.zeros(T, dtype=bool)
        end = T - sum(padded(len(t[0])) for t in tails)
        at, n, sources, answer_from = 0, 0, [], -1
        for i, (toks, piece_mask, doc) in enumerate([*body, *tails]):
            limit = end if i < len(body) else T  # (not n: a body piece skipped when full must not shift it)
            if at >= limit:
                continue
            if tails and toks is tails[0][0]:
                answer_from = at
            length = min(len(toks), limit - at)
            ids[at:at + length] = toks[:length]
            mask[at:at + length] = piece_mask[:length]
            span = min(padded(length), limit - at)
            docs[at:at + span] = n
            at, n = at + span, n + 1
            if doc >= 0:
                sources.append(doc)
        docs[at:] = n  # padding after a short body (or tail) forms a document of its own
        return Row(ids, docs, mask, kind, question, answer, sources, answer_from)

    def _question_piece(self, question: str, answer: str, encoded: tuple[list[int], list[int]] | None = None):
        """The question document: tokenizer.chat([("user", question)]), then the answer and <|end_turn|>."""
        tok = self.tokenizer
        q_ids, a_ids = encoded or (tok.encode(question), tok.encode(answer))
        prompt = [tok.doc_start_id, tok.role_ids["user"], *q_ids, tok.end_turn_id, tok.role_ids["assistant"]]
        reply = [*a_ids, tok.end_turn_id]
        toks = np.array(prompt + reply, dtype=np.int64)
        mask = np.concatenate([np.zeros(len(prompt), dtype=bool), np.ones(len(reply), dtype=bool)])
        return toks, mask, -1

    # ------------------------------------------------------------------------------------- tasks
    def _task_row(self, kind: str) -> Row:
        for _ in range(4):  # a crowded short row may push a needle past its end: draw again
            row = self._try_task_row(kind)
            if row is not None:
                return row
        return self.row("plain")

    def _try_task_row(self, kind: str) -> Row | None:
        plan = plan_needles(kind, self.py_rng, self.py_rng.random())
        texts = [plan.question, plan.answer, *(s + "\n" for s in plan.sentences)]
        encodings = self.tokenizer.encode_batch(texts)
        encoded = [e.ids for e in encodings]
        tail = self._question_piece(plan.question, plan.answer, (encoded[0], encoded[1]))
        needles = [np.array(ids, dtype=np.int64) for ids in encoded[2:]]
        body_space = self.seq_len - padded(len(tail[0]))
        # insertions grow their documents (padding included) by at most this much
        growth = sum(len(n) for n in needles) + (CHUNK - 1) * len(needles)
        usable = max(body_space - growth, body_space // 2)
        pieces = self._fill(body_space, [])
        starts = np.cumsum([0] + [padded(len(p[0])) for p in pieces])
        inserts: dict[int, list[tuple[int, int]]] = {}
        for seq, position in enumerate(plan.positions):
            target = int(position * (usable - 1))
            p = int(np.searchsorted(starts, target, side="right")) - 1
            toks = pieces[p][0]
            lines = self._line_starts(toks)
            offset = min(target - int(starts[p]), len(toks) - 1)
            at = int(lines[max(int(np.searchsorted(lines, offset, side="right")) - 1, 0)])
            inserts.setdefault(p, []).append((at, seq))
        needle_end = {}  # piece -> end of its last needle in the new tokens
        needle_at = {}  # needle -> (piece, its first token in the new tokens)
        for p, places in inserts.items():
            toks, mask, doc = pieces[p]
            parts_t, parts_m, prev, length = [], [], 0, 0
            for at, seq in sorted(places):
                parts_t += [toks[prev:at], needles[seq]]
                parts_m += [mask[prev:at], np.zeros(len(needles[seq]), dtype=bool)]
                needle_at[seq] = (p, length + at - prev)
                length += at - prev + len(needles[seq])
                prev = at
            needle_end[p] = length
            pieces[p] = (np.concatenate([*parts_t, toks[prev:]]),
                         np.concatenate([*parts_m, mask[prev:]]), doc)
        new_starts = np.cumsum([0] + [padded(len(p[0])) for p in pieces])
        if any(new_starts[p] + end > body_space for p, end in needle_end.items()):
            return None
        row = self._pack(pieces, [tail], kind, plan.question, plan.answer)
        # the answer's source: the first needle holding the first answer part, at that part's first token
        first = plan.answer_parts[0]
        seq = next(i for i, sentence in enumerate(plan.sentences) if first in sentence)
        p, start = needle_at[seq]
        token = encodings[2 + seq].token_at(texts[2 + seq].index(first))
        row.source_chunk = int(new_starts[p] + start + token) // CHUNK
        # every answer token inside an answer part copies the needle token holding its first visible character
        prompt = len(tail[0]) - len(encoded[1]) - 1  # the question document before the answer
        after = 0
        for part in plan.answer_parts:
            in_answer = plan.answer.index(part, after)
            after = in_answer + len(part)
            seq = next(i for i, sentence in enumerate(plan.sentences) if part in sentence)
            p, start = needle_at[seq]
            in_needle = texts[2 + seq].index(part)
            for j, char in visible_starts(plan.answer, encodings[1].offsets):
                if in_answer <= char < after:
                    token = encodings[2 + seq].token_at(in_needle + char - in_answer)
                    row.copy_sources[row.answer_from + prompt - 1 + j] = int(new_starts[p] + start + token)
        return row

    # ---------------------------------------------------------------------------------------- qa
    def questions(self, doc: int, passages: bool = False) -> list[QA]:
        """The code questions of a corpus document, or its passage questions (deterministic per document,
        cached; in a renamed row, with the names its text has there; in a twin row, of the two copies only
        those that tell them apart)."""
        corpus = self.corpus
        if isinstance(corpus, TwinCorpus):
            if corpus.is_copy(doc):
                return corpus.questions_of(doc, self._questions_in(corpus.base, corpus.of, passages))
            corpus = corpus.base
        return self._questions_in(corpus, doc, passages)

    def _questions_in(self, corpus, doc: int, passages: bool) -> list[QA]:
        renamed = corpus if isinstance(corpus, RenamedCorpus) else None
        base = renamed.base if renamed is not None else corpus
        key = (doc, passages)
        if key not in self._qa_cache:
            if len(self._qa_cache) >= QA_CACHE_SIZE:
                self._qa_cache.clear()
            rng = random.Random(self.seed * 1_000_003 + doc)
            source, path = base.source(doc), base.path(doc)
            # passage questions in a user's forms too (prose.py, varied); eval_code asks the plain forms
            self._qa_cache[key] = passage_questions(source, path, rng, varied=True) if passages \
                else code_questions(source, path, rng, owner_first=self.owner_first)
        found = self._qa_cache[key]
        return renamed.rename_questions(doc, found) if renamed is not None else found

    def _askable(self, doc: int, passages: bool) -> bool:
        path = self.corpus.path(doc)
        return path.endswith(".py") or (passages and is_prose(path))

    def _qa_row(self) -> Row:
        # a passage row (drawn only when asked for: the default stream's rows stay as they were) is about a
        # prose file half the time: they are rare among the documents
        passages = self.passage_share > 0 and self.rng.random() < self.passage_share
        prose = passages and len(self.prose_docs) > 0 and self.rng.random() < 0.5
        pool = self.prose_docs if prose else self.qa_docs
        for _ in range(8):
            doc = int(pool[self.rng.integers(len(pool))])
            found = self.questions(doc, passages)
            if found:
                break
        else:
            return self.row("plain")
        base, renamed, twins, asked_doc, partners = self.corpus, None, None, doc, []
        try:  # the row's own view of the corpus: its package renamed, the asked file twinned
            if self.rename_share > 0 and not passages and self.rng.random() < self.rename_share:
                renamed = self._renamed(doc)
                self.corpus = renamed or self.corpus
            if self.twin_share > 0 and not passages and self.rng.random() < self.twin_share:
                twins = self._twinned(doc)
                if twins is not None:
                    self.corpus, partners = twins, list(twins.twins)
                    if len(partners) == 1:  # (one draw, as the stream of session 30 drew it)
                        if self.rng.random() < 0.5:  # either copy is the one asked first
                            asked_doc, partners = partners[0], [doc]
                    else:
                        copies = [doc, *partners]
                        asked_doc = copies.pop(int(self.rng.integers(len(copies))))
                        partners = copies
            if self.corpus is not base:
                asked = self.questions(asked_doc)
                row = self._qa_row_about(asked_doc, asked, passages, partners) if asked else None
                if row is not None:
                    row.renames = renamed.mapping if renamed is not None else {}
                    row.twins = list(twins.mappings.values()) if twins is not None else []
                    return row
        finally:
            self.corpus = base
        return self._qa_row_about(doc, found, passages)

    def _renamed(self, doc: int) -> RenamedCorpus | None:
        """The corpus with the classes of the document's package renamed for one row (None: it has none)."""
        package = self.corpus.package(doc)
        if package not in self._classes:
            self._classes[package] = sorted(set().union(*(
                class_names(self.corpus.text(int(i))) for i in self.neighbours[package]
                if self.corpus.path(int(i)).endswith(".py"))))
        rng = random.Random(int(self.rng.integers(2**32)))
        mapping = renaming(self._classes[package], self.word_pool, rng)
        return RenamedCorpus(self.corpus, self.tokenizer, package, mapping, self.line_end,
                             self.token_bytes) if mapping else None

    def _twinned(self, doc: int) -> TwinCorpus | None:
        """The corpus with twin_copies twins of the document (twins.py), or None: no class of it is renamed in
        every copy, or the copies and the questions would not fit a row."""
        rng = random.Random(int(self.rng.integers(2**32)))
        mappings = twin_mappings(self.corpus.text(doc), self.word_pool, rng, self.twin_copies)
        folders: list[str] = []
        for _ in mappings:  # a folder of its own for each copy
            folder = folder_word(self.word_pool, rng)
            folders.append(folder + str(len(folders)) if folder in folders else folder)
        path = self.corpus.path(doc)
        twins = TwinCorpus(self.corpus, self.tokenizer, doc,
                           [(twin_path(path, f), m) for f, m in zip(folders, mappings, strict=True)])
        if not twins.told_apart:
            return None  # (before the copies are tokenized: the lengths below are the first to need them)
        room = self.seq_len - self.far - self.questions_per_row * QUESTION_SPACE
        fits = sum(padded(int(twins.lengths[i])) for i in [doc, *twins.twins]) <= room
        return twins if fits else None

    def _qa_row_about(self, doc: int, found: list[QA], passages: bool, partners: Sequence[int] = ()
                      ) -> Row | None:
        """A qa row asking first one of `found` (the questions of `doc`), then more about the row's files;
        `partners`: other documents shown whole beside it, in a shuffled order (its twins; None when they do
        not fit the row at the questions' distance)."""
        qa = found[int(self.rng.integers(len(found)))]
        question, answer = self.tokenizer.encode_batch([qa.question, qa.answer])
        first = self._question_piece(qa.question, qa.answer, (question.ids, answer.ids))
        source = self._piece(doc, self.seq_len)
        shown = [source, *(self._piece(partner, self.seq_len) for partner in partners)]
        if len(shown) == 2 and self.rng.random() < 0.5:  # (one draw, as the stream of session 30 drew it)
            shown.reverse()
        elif len(shown) > 2:
            shown = [shown[int(n)] for n in self.rng.permutation(len(shown))]
        reserve = (self.questions_per_row - 1) * QUESTION_SPACE
        body_space = self.seq_len - padded(len(first[0])) - reserve
        span = sum(padded(len(piece[0])) for piece in shown)
        if partners and span > body_space - self.far:
            return None  # the copies and a long first question do not fit: the caller asks a plain row
        slack = max(body_space - span - self.far, 0)
        before = int(self.rng.integers(0, slack // CHUNK + 1)) * CHUNK
        # the rest of the row: the file's package first, as in a project (the hard negatives of a code
        # question: the same names called and imported in other files)
        others = [int(i) for i in self.rng.permutation(self.neighbours[self.corpus.package(doc)])
                  if i != doc and i not in partners]
        pieces = self._fill(before, [], others)
        ahead = next(n for n, piece in enumerate(shown) if piece is source)  # copies placed before the source
        start = before + sum(padded(len(piece[0])) for piece in shown[:ahead])
        pieces = self._fill(body_space - before - span, [*pieces, *shown], others)
        asked = [(doc, start, qa, answer, first)]
        if reserve:
            asked += self._more_questions(pieces, body_space, reserve, {(doc, qa.name)}, passages)
        # chats (drawn only when asked for): runs of 2-5 questions become one question document
        chats = self._chats(len(asked)) if len(asked) > 1 and self.turns_share > 0 \
            and self.rng.random() < self.turns_share else [[n] for n in range(len(asked))]
        tails, bases = [], []  # a tail per chat; per question, where its piece starts within its tail
        for chat in chats:
            toks, mask = [], []
            for n in chat:
                piece_toks, piece_mask, _ = asked[n][4]
                skip = 1 if toks else 0  # a later turn continues the document: no second <|doc_start|>
                bases.append(sum(map(len, toks)) - skip)
                toks.append(piece_toks[skip:])
                mask.append(piece_mask[skip:])
            tails.append((np.concatenate(toks), np.concatenate(mask), -1))
        row = self._pack(pieces, tails, "qa", qa.question, qa.answer)
        at, n = row.answer_from, 0  # where each question document starts
        for chat, tail in zip(chats, tails, strict=True):
            for _ in chat:
                file, start, asked_qa, encoded, piece = asked[n]
                prompt = len(piece[0]) - len(encoded.ids) - 1  # the question document before the answer
                self._locate(row, file, start, asked_qa, encoded, at + bases[n] + prompt - 1)
                row.asked.append((asked_qa.question, asked_qa.answer))
                n += 1
            at += padded(len(tail[0]))
        row.source_chunk = row.definitions[0][1]
        return row

    def _chats(self, count: int) -> list[list[int]]:
        """Questions 0..count-1 split into runs of 2-5 (a last single question stays on its own)."""
        chats, n = [], 0
        while n < count:
            size = int(self.rng.integers(2, 6))
            chats.append(list(range(n, min(n + size, count))))
            n += size
        return chats

    def _more_questions(self, pieces: list, body_space: int, reserve: int, exclude: set,
                        passages: bool = False) -> list:
        """Further questions for a long qa row (of the row's kind: code or passage questions): about the whole
        Python (or, for passages, prose) files among `pieces` that end at least
        `far` tokens before the questions, one definition each, up to questions_per_row - 1 of them in
        `reserve` tokens.
        [(document, its row position, QA, answer encoding, question piece)]"""
        starts = np.cumsum([0] + [padded(len(p[0])) for p in pieces])
        count = Counter(doc for *_, doc in pieces)
        files = [(doc, int(starts[n])) for n, (toks, _, doc) in enumerate(pieces)
                 if doc >= 0 and count[doc] == 1 and len(toks) == self.corpus.lengths[doc] <= MAX_QA_SOURCE
                 and starts[n + 1] <= body_space - self.far and self._askable(doc, passages)]
        candidates = [(doc, start, qa) for doc, start in files for qa in self.questions(doc, passages)]
        order = [int(n) for n in self.rng.permutation(len(candidates))]
        if not passages and self.namesake_share > 0 and self.rng.random() < self.namesake_share:
            namesakes = namesake_names([qa.name for *_, qa in candidates])
            order.sort(key=lambda n: candidates[n][2].name not in namesakes)  # stable: still shuffled within
        chosen = []
        for n in order:
            doc, start, qa = candidates[n]
            if (doc, qa.name) in exclude:
                continue
            question, answer = self.tokenizer.encode_batch([qa.question, qa.answer])
            piece = self._question_piece(qa.question, qa.answer, (question.ids, answer.ids))
            if padded(len(piece[0])) > reserve:
                continue
            reserve -= padded(len(piece[0]))
            exclude.add((doc, qa.name))
            chosen.append((doc, start, qa, answer, piece))
            if reserve < CHUNK or len(chosen) == self.questions_per_row - 1:
                break
        return chosen

    def _locate(self, row: Row, doc: int, start: int, qa: QA, answer, first_input: int) -> None:
        """Record where a question's answer comes from: its definition's chunk (row.definitions) and, for
        answer tokens whose text the file (whole, at row position `start`) holds verbatim, the file token
        they copy (row.copy_sources). `first_input`: the input position of the answer's first token."""
        text = self.corpus.text(doc)
        definition = definition_chars(text, qa)
        # answer tokens whose text the file holds verbatim (signature, name, literal) copy it from there
        held = verbatim_chars(qa.answer, text, definition)
        copied = [(j, char) for j, char in visible_starts(qa.answer, answer.offsets) if char in held]
        tokens = self.token_positions(doc, text, [definition[0], *(held[char] for _, char in copied)])
        row.definitions.append((first_input, (start + int(tokens[0])) // CHUNK))
        for (j, _), token in zip(copied, tokens[1:], strict=True):
            row.copy_sources[first_input + j] = start + int(token)

    def token_positions(self, doc: int, text: str, chars: Sequence[int]) -> np.ndarray:
        """For characters of the corpus document's text, the index in corpus.doc(doc) of the token holding
        each: tokenizer.document(text).token_at, from the document's stored tokens (no re-tokenizing)."""
        ends = np.cumsum(self.token_bytes[self.corpus.doc(doc)])  # byte-level BPE: the text's UTF-8 bytes
        raw = text.encode("utf-8")
        chars = np.asarray(chars, dtype=np.int64)
        if len(raw) != len(text):  # characters -> the byte each starts at
            chars = np.flatnonzero((np.frombuffer(raw, dtype=np.uint8) & 0xC0) != 0x80)[np.minimum(
                chars, len(text) - 1)] + (chars >= len(text)) * len(raw)
        return np.minimum(np.searchsorted(ends, chars, side="right"), len(ends) - 1)
