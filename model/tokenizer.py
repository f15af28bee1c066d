"""Folio's tokenizer: byte-level BPE (resources/tokenizer.json) with character offsets and special tokens.

Lossless on any string: every byte is in the vocabulary, so decode(encode(text)) == text. Special tokens
are single ids that plain text never produces (their spelling in a file is encoded as ordinary text).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer as HFTokenizer
from tokenizers.decoders import DecodeStream

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "resources" / "tokenizer.json"

PAD, DOC_START, DOC_END = "<|pad|>", "<|doc_start|>", "<|doc_end|>"
SYSTEM, USER, ASSISTANT, END_TURN = "<|system|>", "<|user|>", "<|assistant|>", "<|end_turn|>"
CHUNK_CLS = "<|chunk_cls|>"
SPECIAL_TOKENS = (PAD, DOC_START, DOC_END, SYSTEM, USER, ASSISTANT, END_TURN, CHUNK_CLS)  # ids 0..7
ROLES = {"system": SYSTEM, "user": USER, "assistant": ASSISTANT}


class TokenizerError(ValueError):
    pass


@dataclass(frozen=True)
class Encoding:
    """Token ids with the character range [start, end) of the text that each token came from.

    A character split over several byte tokens gives each of them that character's whole range.
    """
    ids: list[int]
    offsets: list[tuple[int, int]]

    def token_at(self, char: int) -> int:
        """Index of the first token whose range ends after character `char` (the token holding it; the last
        token when char lies past the text)."""
        return next((n for n, (_, end) in enumerate(self.offsets) if end > char), len(self.offsets) - 1)


class Tokenizer:
    def __init__(self, hf: HFTokenizer):
        hf.encode_special_tokens = True  # "<|pad|>" typed in a file is text, never the pad id
        self.hf = hf
        self.special_ids = {}
        for name in SPECIAL_TOKENS:
            token_id = hf.token_to_id(name)
            if token_id is None:
                raise TokenizerError(f"tokenizer has no special token {name}")
            self.special_ids[name] = token_id
        self.pad_id = self.special_ids[PAD]
        self.doc_start_id = self.special_ids[DOC_START]
        self.doc_end_id = self.special_ids[DOC_END]
        self.end_turn_id = self.special_ids[END_TURN]
        self.chunk_cls_id = self.special_ids[CHUNK_CLS]
        self.role_ids = {role: self.special_ids[tok] for role, tok in ROLES.items()}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "Tokenizer":
        try:
            return cls(HFTokenizer.from_file(str(path)))
        except Exception as e:  # tokenizers raises a bare Exception for unreadable/invalid files
            raise TokenizerError(f"cannot load tokenizer {path}: {e}") from e

    @classmethod
    def from_str(cls, json_text: str) -> "Tokenizer":
        return cls(HFTokenizer.from_str(json_text))

    def to_str(self) -> str:
        return self.hf.to_str()

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def encode_with_offsets(self, text: str) -> Encoding:
        enc = self.hf.encode(text, add_special_tokens=False)
        return Encoding(enc.ids, enc.offsets)

    def encode_batch(self, texts: Sequence[str]) -> list[Encoding]:
        encoded = self.hf.encode_batch(list(texts), add_special_tokens=False)
        return [Encoding(e.ids, e.offsets) for e in encoded]

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        return self.hf.decode(list(ids), skip_special_tokens=skip_special)

    def stream_decoder(self) -> "StreamDecoder":
        return StreamDecoder(self)

    def document(self, text: str) -> Encoding:
        """A corpus document: <|doc_start|> text <|doc_end|>; the specials get empty ranges at the ends."""
        enc = self.encode_with_offsets(text)
        n = len(text)
        return Encoding([self.doc_start_id, *enc.ids, self.doc_end_id], [(0, 0), *enc.offsets, (n, n)])

    def chat(self, messages: Sequence[tuple[str, str]], add_generation_prompt: bool = True) -> list[int]:
        """A question document: <|doc_start|> then per message <|role|> text <|end_turn|>.

        With add_generation_prompt the ids end with <|assistant|>, ready for the answer to be generated.
        """
        ids = [self.doc_start_id]
        for role, text in messages:
            if role not in self.role_ids:
                raise TokenizerError(f"unknown chat role {role!r}; expected one of {sorted(self.role_ids)}")
            ids += [self.role_ids[role], *self.encode(text), self.end_turn_id]
        if add_generation_prompt:
            ids.append(self.role_ids["assistant"])
        return ids


class StreamDecoder:
    """Turns streamed token ids into text pieces; a character split over tokens comes out once complete."""

    def __init__(self, tokenizer: Tokenizer):
        self.hf = tokenizer.hf
        self.stream = DecodeStream(skip_special_tokens=True)

    def step(self, token_id: int) -> str:
        return self.stream.step(self.hf, token_id) or ""
