"""Building blocks: RMSNorm, rotary embeddings, sliding-window attention, SwiGLU and mixture-of-experts.

Layout everywhere: activations (B, T, C), heads (B, T, H, D).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # fp32 statistics: bf16 sums of squares lose the small components
        return F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps).to(x.dtype)


class Rotary(nn.Module):
    """Rotary position embedding (half-split form); positions are given per token, not implied by index."""

    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions (B, T) int -> (cos, sin), each (B, T, 1, D/2) fp32."""
        angles = positions.float()[..., None] * self.inv_freq  # (B, T, D/2)
        return angles.cos()[:, :, None, :], angles.sin()[:, :, None, :]


def apply_rotary(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """x (B, T, H, D) rotated by (cos, sin) (B, T, 1, D/2); computed in fp32, returned in x's dtype."""
    cos, sin = rope
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).to(x.dtype)


@dataclass
class KVCache:
    """Keys and values of one attention layer for one sequence, indexed by position: (1, max_len, H, D)."""
    k: torch.Tensor
    v: torch.Tensor

    @classmethod
    def empty(cls, max_len: int, n_heads: int, head_dim: int, device, dtype) -> "KVCache":
        shape = (1, max_len, n_heads, head_dim)
        return cls(*(torch.zeros(shape, device=device, dtype=dtype) for _ in range(2)))


class Attention(nn.Module):
    """Multi-head self-attention with RoPE. `window`: sliding window over earlier tokens of the document;
    window=None is attention over the whole sequence: bidirectional (the chunk encoder's short chunks) or,
    with causal=True, causal full attention across documents (the dense baseline)."""

    def __init__(self, cfg: ModelConfig, window: int | None, causal: bool = False):
        super().__init__()
        self.n_heads, self.head_dim, self.window, self.causal = cfg.n_heads, cfg.head_dim, window, causal
        self.wqkv = nn.Linear(cfg.d_model, 3 * cfg.n_heads * cfg.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.d_model, bias=False)

    def project(self, x: torch.Tensor, rope) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        q, k, v = self.wqkv(x).view(B, T, 3, self.n_heads, self.head_dim).unbind(2)  # (B, T, H, D) each
        return apply_rotary(q, rope), apply_rotary(k, rope), v

    def forward(self, x: torch.Tensor, rope, doc_ids: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, C); doc_ids (B, T): attention never crosses a change of document id (window layers)."""
        B, T, _ = x.shape
        q, k, v = self.project(x, rope)
        if self.window is None:
            y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               is_causal=self.causal)
            y = y.transpose(1, 2)  # (B, T, H, D)
        else:
            y = windowed_attention(q, k, v, doc_ids, self.window)
        return self.wo(y.reshape(B, T, -1))

    def step(self, x: torch.Tensor, rope, cache: KVCache, start: int) -> torch.Tensor:
        """Cached causal window attention for x (1, Tq, C) at positions start .. start + Tq - 1."""
        _, Tq, _ = x.shape
        q, k, v = self.project(x, rope)
        end = start + Tq
        cache.k[:, start:end], cache.v[:, start:end] = k, v
        lo = max(0, start - self.window + 1)
        q_pos = torch.arange(start, end, device=x.device)[:, None]
        k_pos = torch.arange(lo, end, device=x.device)[None, :]
        mask = (q_pos >= k_pos) & (q_pos - k_pos < self.window)  # (Tq, Tk)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), cache.k[:, lo:end].transpose(1, 2),
                                           cache.v[:, lo:end].transpose(1, 2), attn_mask=mask)
        return self.wo(y.transpose(1, 2).reshape(1, Tq, -1))


def windowed_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, doc_ids: torch.Tensor,
                       window: int, block: int = 512) -> torch.Tensor:
    """Causal sliding-window attention inside documents, computed block-locally.

    q, k, v (B, T, H, D); doc_ids (B, T), non-negative.
    Token i sees token j iff doc[i] == doc[j] and 0 <= i - j < window.
    The sequence is cut into blocks of b = min(window, block) queries; each block attends to the `window` keys
    before it and to itself, so the cost is O(T * (window + b)) and a document's result does not depend on
    what else is in the batch row as long as it starts at the same offset. (Blocks of `window` queries, as
    with window <= block, waste half of their scores; a long window with shorter blocks wastes less.)
    """
    B, T, H, D = q.shape
    W, b = window, min(window, block)  # fixed block shape: a document computes the same whatever follows it
    nb = -(-T // b)
    pad = nb * b - T

    def keys_of_blocks(t: torch.Tensor) -> torch.Tensor:  # (B, T, ...) -> (B, nb, W + b, ...)
        t = F.pad(t, [0, 0] * (t.dim() - 2) + [W, pad])  # W in front (before the first block), pad behind
        return t.unfold(1, W + b, b).movedim(-1, 2)

    q_blocks = F.pad(q, [0, 0, 0, 0, 0, pad]).view(B, nb, b, H, D)
    k_blocks, v_blocks = keys_of_blocks(k), keys_of_blocks(v)  # (B, nb, W + b, H, D)
    q_docs = F.pad(doc_ids, [0, pad], value=-2)  # tail queries: a document of their own (they see themselves)
    k_docs = F.pad(q_docs, [W, 0], value=-1).unfold(1, W + b, b)  # the front padding is no document
    q_docs = q_docs.view(B, nb, b)
    offset = torch.arange(b, device=q.device)[:, None] + W - torch.arange(W + b, device=q.device)[None, :]
    same_doc = q_docs[..., :, None] == k_docs[..., None, :]
    mask = (offset >= 0) & (offset < window) & same_doc  # (B, nb, b, W + b)
    y = F.scaled_dot_product_attention(
        q_blocks.permute(0, 1, 3, 2, 4).reshape(B * nb, H, b, D),
        k_blocks.permute(0, 1, 3, 2, 4).reshape(B * nb, H, W + b, D),
        v_blocks.permute(0, 1, 3, 2, 4).reshape(B * nb, H, W + b, D),
        attn_mask=mask.reshape(B * nb, 1, b, W + b),
    )  # (B*nb, H, b, D)
    return y.view(B, nb, H, b, D).permute(0, 1, 3, 2, 4).reshape(B, nb * b, H, D)[:, :T]


class SwiGLU(nn.Module):
    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.w_in = nn.Linear(d_model, 2 * hidden, bias=False)  # gate and up, fused
        self.w_out = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.w_in(x).chunk(2, dim=-1)
        return self.w_out(F.silu(gate) * up)


ROW_TILE = 16


class MoE(nn.Module):
    """Mixture of experts after DeepSeek-V3: router affinities, top-k routed SwiGLU experts plus one shared
    expert, and auxiliary-loss-free load balancing: a per-expert bias added to the affinities only when
    choosing experts, nudged after each training step toward the experts that received fewer tokens."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        E, C, Hd = cfg.n_experts, cfg.d_model, cfg.expert_hidden
        self.top_k, self.rate = cfg.expert_top_k, cfg.bias_update_rate
        self.router = nn.Linear(C, E, bias=False)
        self.w_in = nn.Parameter(torch.empty(E, C, 2 * Hd))
        self.w_out = nn.Parameter(torch.empty(E, Hd, C))
        self.shared = SwiGLU(C, Hd)
        self.register_buffer("route_bias", torch.zeros(E))  # saved with the weights: it steers routing
        # tokens per expert since the last update_bias()
        self.register_buffer("expert_load", torch.zeros(E), persistent=False)

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, C) -> chosen experts (N, k) int64 and their gates (N, k) fp32 summing to 1 per token."""
        # softmax affinities (DeepSeek-V3 uses sigmoid): a row-wise kernel computes every token alike, while
        # elementwise sigmoid on CPU rounds the tail of each thread's slice differently, which would make a
        # token's routing depend on what else is in the batch
        affinity = torch.softmax(self.router(x).float(), dim=-1)  # (N, E)
        chosen = torch.topk(affinity + self.route_bias, self.top_k, dim=-1).indices  # bias steers choice only
        gates = affinity.gather(-1, chosen)
        return chosen, gates / gates.sum(dim=-1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])  # (N, C)
        chosen, gates = self.route(flat)
        if self.training:
            self.expert_load += torch.bincount(chosen.flatten(), minlength=self.expert_load.numel())
        slot_expert = chosen.flatten()  # (N*k,) expert of each (token, slot)
        order = torch.argsort(slot_expert, stable=True)
        counts = torch.bincount(slot_expert, minlength=self.w_in.shape[0]).tolist()
        token_of_slot = order // self.top_k
        slot_out = flat.new_empty(flat.shape[0] * self.top_k, shape[-1])
        start = 0
        for e, n in enumerate(counts):  # one matmul per expert over the tokens routed to it
            if n:
                rows = order[start:start + n]
                # rows padded to a multiple of ROW_TILE: CPU gemm rounds a handful of rows differently and
                # elementwise kernels round each thread's ragged tail differently; a token's output must not
                # depend on how many other tokens chose the same expert
                tokens = F.pad(flat[token_of_slot[start:start + n]], [0, 0, 0, -n % ROW_TILE])
                gate, up = (tokens @ self.w_in[e]).chunk(2, dim=-1)
                out = ((F.silu(gate) * up) @ self.w_out[e])[:n]
                slot_out[rows] = out.to(slot_out.dtype)  # under autocast the matmul gives bf16
                start += n
        # summing the k slots in a fixed order keeps the result deterministic (no scatter-add)
        routed = (slot_out.view(-1, self.top_k, shape[-1]) * gates[..., None].to(flat.dtype)).sum(dim=1)
        return (self.shared(flat) + routed).view(shape)

    @torch.no_grad()
    def update_bias(self) -> None:
        """One balancing step: raise the bias of under-loaded experts, lower it for over-loaded ones."""
        load = self.expert_load
        if load.sum() > 0:
            self.route_bias += self.rate * torch.sign(load.mean() - load)
        load.zero_()


def make_ffn(cfg: ModelConfig) -> nn.Module:
    return MoE(cfg) if cfg.ffn == "moe" else SwiGLU(cfg.d_model, cfg.ffn_hidden)
