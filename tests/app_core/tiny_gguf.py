"""A tiny random GGUF chat model for tests, written with the `gguf` package (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

GGUF_WORDS = ["the", "a", "clause", "payment", "is", "due", "within", "days", "party", "shall", "notice",
              "contract", "and", "of", "to", "in", "[", "]", "1", "2", "3", ".", ","]


def write_tiny_gguf(path: Path, *, architecture: str = "llama", context: int = 1024, seed: int = 0) -> Path:
    """A 2-layer, 64-wide llama model with random weights and a small SentencePiece vocabulary (the 256
    byte tokens plus a few words), written with the `gguf` package. Its end-of-text and control tokens get
    zero output rows, so random logits practically never end an answer early."""
    import gguf

    rng = np.random.default_rng(seed)
    embed, layers, heads, kv_heads, ffn = 64, 2, 4, 2, 128
    tokens = ["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)],
              *["\u2581" + w for w in GGUF_WORDS], *GGUF_WORDS]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL,
             *[gguf.TokenType.BYTE] * 256, *[gguf.TokenType.NORMAL] * (2 * len(GGUF_WORDS))]
    scores = [0.0, 0.0, 0.0, *[-1000.0] * 256, *[-float(i) for i in range(2 * len(GGUF_WORDS))]]
    vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_name("folio-test-tiny")
    writer.add_context_length(context)
    writer.add_embedding_length(embed)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(embed // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    head_dim = embed // heads
    output = rng.standard_normal((vocab, embed)).astype(np.float32)
    output[:3] = 0.0  # <unk>, <s>, </s>
    writer.add_tensor("token_embd.weight", weight(vocab, embed))
    writer.add_tensor("output_norm.weight", np.ones(embed, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(embed, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(embed, embed))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(kv_heads * head_dim, embed))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(kv_heads * head_dim, embed))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(embed, embed))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(embed, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(ffn, embed))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(ffn, embed))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(embed, ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
