import random

import pytest

from model.tokenizer import SPECIAL_TOKENS, Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.load()


def random_texts(seed: int, count: int = 60) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        kind = rng.randrange(3)
        n = rng.randrange(0, 200)
        if kind == 0:  # any code point except surrogates
            chars = [rng.randrange(0x110000) for _ in range(n)]
            texts.append("".join(chr(c) for c in chars if not 0xD800 <= c < 0xE000))
        elif kind == 1:  # binary-ish: random bytes through latin-1, control characters and NULs included
            texts.append(bytes(rng.randrange(256) for _ in range(n)).decode("latin-1"))
        else:  # code-like mixtures with whitespace runs, CRLF, emoji, combining marks
            parts = ["def f(x):\n", "\t", "    ", "\r\n", "é", "e\u0301", "🎉", "中文", "  ", "<|", "|>",
                     "0123"]
            texts.append("".join(rng.choice(parts) for _ in range(n // 4)))
    return texts


def test_vocab_and_specials(tok):
    assert tok.vocab_size == 16384
    assert tok.pad_id == 0
    ids = [tok.special_ids[s] for s in SPECIAL_TOKENS]
    assert len(set(ids)) == len(SPECIAL_TOKENS)
    for name, token_id in zip(SPECIAL_TOKENS, ids, strict=True):
        assert tok.decode([token_id], skip_special=False) == name  # one id stands for the whole token
        assert tok.decode([token_id]) == ""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_trip_is_lossless(tok, seed):
    for text in random_texts(seed):
        assert tok.decode(tok.encode(text)) == text


def test_offsets_cover_exact_characters(tok):
    for text in random_texts(7) + ["def foo(x):\n    return x + 1  # héllo 🎉 中文\r\n"]:
        enc = tok.encode_with_offsets(text)
        assert len(enc.ids) == len(enc.offsets)
        # tokens sharing a range are the bytes of one character; group them and decode each group
        groups: list[tuple[tuple[int, int], list[int]]] = []
        for token_id, span in zip(enc.ids, enc.offsets, strict=True):
            if groups and groups[-1][0] == span:
                groups[-1][1].append(token_id)
            else:
                groups.append((span, [token_id]))
        position = 0
        for (start, end), ids in groups:
            assert start == position  # contiguous: every character belongs to exactly one range
            assert tok.decode(ids) == text[start:end]
            position = end
        assert position == len(text)


def test_special_strings_in_text_are_plain_text(tok):
    text = " ".join(SPECIAL_TOKENS) + "".join(SPECIAL_TOKENS)
    ids = tok.encode(text)
    assert not set(ids) & set(tok.special_ids.values())
    assert tok.decode(ids) == text


def test_document_and_chat_framing(tok):
    doc = tok.document("hello world")
    assert doc.ids[0] == tok.doc_start_id and doc.ids[-1] == tok.doc_end_id
    assert len(doc.ids) == len(doc.offsets)
    chat = tok.chat([("system", "be brief"), ("user", "what is HSA?")])
    assert chat[0] == tok.doc_start_id and chat[-1] == tok.role_ids["assistant"]
    assert chat.count(tok.end_turn_id) == 2
    assert tok.decode(chat) == "be briefwhat is HSA?"
    with pytest.raises(ValueError, match="unknown chat role"):
        tok.chat([("robot", "hi")])


def test_stream_decoder_emits_whole_characters(tok):
    text = "naïve 🎉 中文 done"
    stream = tok.stream_decoder()
    pieces = [stream.step(i) for i in tok.encode(text)]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
