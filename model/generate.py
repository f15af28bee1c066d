"""Answering: the question document runs through the whole model against the project memory.

The corpus is present only as its chunk memory. Every HSA layer scores its retrieval queries against the
resident landmarks of the whole pool (the memory's chunks, then the question's own chunks as they complete)
with `pool_select`, and reads K/V of just the chosen chunks (memory.read_chunks for the corpus) for
`attend_rows`. The window layers keep a KV cache of the question document.

A step reads the device once per HSA layer (which chunks were chosen: the memory's K/V are read on the host
for exactly those) and once for the next token; the citations are read after that token, when the device is
idle. RoPE tables, positions and visibility are computed once for max_len.
"""

from collections.abc import Collection, Iterator, Sequence
from typing import NamedTuple

import torch

from kernels.hsa.pool import attend_rows, pool_select
from model.decode_graph import StaticDecode
from model.encode import check_memory_layout
from model.layers import KVCache
from model.memory import ChunkMemory, PoolView
from model.transformer import HSABlock, Transformer


class GeneratedToken(NamedTuple):
    """One answer token with the memory chunks it drew on: pool rows of `view` and their retrieval weights
    summed over HSA layers and KV heads, highest first. view.doc_keys[view.doc_index[row]] and
    view.chunk_index[row] name a row's document and chunk."""
    token_id: int
    rows: torch.Tensor  # (n,) int64
    weights: torch.Tensor  # (n,) fp32
    view: PoolView  # the memory state the answer read (the same object for every token of one answer)



def add_chunk_weights(totals: dict[tuple[str, int], float], token: GeneratedToken) -> None:
    """Add a token's retrieval weights to totals, keyed by (memory key, chunk index in its document)."""
    view = token.view
    docs = view.doc_index[token.rows].tolist()
    chunks = view.chunk_index[token.rows].tolist()
    for d, c, w in zip(docs, chunks, token.weights.tolist(), strict=True):
        key = (view.doc_keys[d], c)
        totals[key] = totals.get(key, 0.0) + w


def top_chunk(tokens: Sequence[GeneratedToken]) -> tuple[str, int] | None:
    """(memory key, chunk index) with the largest retrieval weight summed over the tokens (None: no chunk)."""
    totals: dict[tuple[str, int], float] = {}
    for token in tokens:
        add_chunk_weights(totals, token)
    return max(totals, key=totals.get) if totals else None

class QuestionState:
    """Incremental inference over one question document (B = 1) against a ChunkMemory."""

    def __init__(self, model: Transformer, memory: ChunkMemory, max_len: int, top_k: int | None = None,
                 resident_chunks: bool = False, static_decode: bool | None = None):
        check_memory_layout(model, memory)
        cfg = self.cfg = model.cfg
        self.model, self.memory = model, memory
        self.device = model.embed.weight.device
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else model.embed.weight.dtype
        self.top_k = top_k or cfg.hsa_top_k
        self.view = memory.landmarks(self.device)  # pins the pool that read_chunks will read
        self.n_memory = len(self.view)
        self.max_len = max_len
        max_chunks = max_len // cfg.chunk_size
        # the pool's landmarks: the memory's, then room for the question's own chunks
        self.landmarks = torch.zeros(self.n_memory + max_chunks, cfg.hsa_kv_heads, cfg.landmark_dim,
                                     device=self.device, dtype=self.dtype)
        self.landmarks[:self.n_memory] = self.view.landmarks
        kv_shape = (max_chunks, cfg.chunk_size, cfg.hsa_kv_heads, cfg.hsa_head_dim)
        # resident_chunks: the whole pool's K/V on the device (the memory's, then the question's), indexed by
        # pool id: the HSA layers then read nothing on the host and never wait for the device
        self.pool_k = self.pool_v = None
        if resident_chunks:
            keys, values = memory.resident_chunks(self.device)
            if len(keys) != self.n_memory:
                raise RuntimeError("the memory changed while the question was set up: try again")
            pool_shape = (self.n_memory + max_chunks, *kv_shape[1:])
            self.pool_k = torch.empty(pool_shape, device=self.device, dtype=self.dtype)
            self.pool_v = torch.empty(pool_shape, device=self.device, dtype=self.dtype)
            self.pool_k[:self.n_memory], self.pool_v[:self.n_memory] = keys, values
            self.own_k, self.own_v = self.pool_k[self.n_memory:], self.pool_v[self.n_memory:]
        else:
            self.own_k = torch.empty(kv_shape, device=self.device, dtype=self.dtype)
            self.own_v = torch.empty(kv_shape, device=self.device, dtype=self.dtype)
        self.own_chunks = 0
        self.pending: list[torch.Tensor] = []  # lower-half outputs of the question's unfinished chunk
        self.pending_rows = 0
        self.caches = [KVCache.empty(max_len, cfg.n_heads, cfg.head_dim, self.device, self.dtype)
                       for _ in range(cfg.n_layers)]
        self.pos = 0
        # per-position tables, sliced by every feed: RoPE (cos, sin) and the visible pool prefix (chunks of
        # the question that complete before token t are visible to it)
        positions = torch.arange(max_len, device=self.device)
        self.rope = model.rotary(positions[None])
        self.visible = self.n_memory + positions // cfg.chunk_size
        self.pinned = self.device.type == "cuda"  # host -> device copies through pinned memory, non-blocking
        # one-token steps with fixed shapes (model/decode_graph.py), replayed as CUDA graphs on the GPU;
        # default: on CUDA. Not for a pool that can never hold a chunk (nothing to score).
        if static_decode is None:
            static_decode = self.device.type == "cuda"
        self.static = StaticDecode(self, graphs=True) if static_decode and len(self.landmarks) else None

    def fetch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """K/V (U, S, H_kv, D) of sorted unique pool ids (best on the CPU: ids on the device cost a sync):
        memory rows from the memory, the rest our own."""
        ids = ids.to("cpu", torch.int64)
        split = int(torch.searchsorted(ids, self.n_memory))
        keys, values = [], []
        if split:
            k, v = self.memory.read_chunks(ids[:split])  # host tensors
            keys.append(self._upload(k).to(self.dtype))
            values.append(self._upload(v).to(self.dtype))
        if split < len(ids):
            own = self._upload(ids[split:] - self.n_memory)
            keys.append(self.own_k[own])
            values.append(self.own_v[own])
        if len(keys) == 1:
            return keys[0], values[0]
        return torch.cat(keys), torch.cat(values)

    def _upload(self, t: torch.Tensor) -> torch.Tensor:
        """A host tensor on the device; on CUDA through pinned memory without blocking the host (the caching
        host allocator keeps the pinned block until the copy has run)."""
        if self.pinned:
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)

    def _add_own_chunks(self, lower_out: torch.Tensor) -> None:
        """Run the chunk encoder on every question chunk that is now complete and add it to the pool."""
        S = self.cfg.chunk_size
        self.pending.append(lower_out[0])
        self.pending_rows += lower_out.shape[1]
        if self.pending_rows < S:  # no chunk completes: gather the rows only when one does
            return
        pending = torch.cat(self.pending)
        whole = pending.shape[0] // S * S
        if whole:
            encoded = self.model.encoder(pending[None, :whole], self.model.rotary)
            n, a = whole // S, self.own_chunks
            self.landmarks[self.n_memory + a:self.n_memory + a + n] = encoded.landmarks[0]
            self.own_k[a:a + n] = encoded.k[0].view(n, S, *encoded.k.shape[2:])
            self.own_v[a:a + n] = encoded.v[0].view(n, S, *encoded.v.shape[2:])
            self.own_chunks += n
        self.pending = [pending[whole:]]
        self.pending_rows = pending.shape[0] - whole

    def _hsa(self, layer: HSABlock, x: torch.Tensor, visible: torch.Tensor):
        """HSA of layer for x (1, Tq, C): (mixed x, chosen pool ids (Tq, H_kv, K) (on the CPU unless the pool
        is resident), weights (Tq, H_kv, K) fp32 on the device): pool_attend, one device read."""
        q, rq = layer.queries(x)  # (1, Tq, H, D), (1, Tq, H_kv, Dl)
        pool = self.landmarks[:self.n_memory + self.own_chunks]
        Tq = x.shape[1]
        if len(pool) == 0:  # nothing to retrieve yet: HSA contributes zero, as in the training operator
            empty = torch.full((Tq, self.cfg.hsa_kv_heads, self.top_k), -1)
            return layer.mix(x, torch.zeros_like(q)), empty, torch.zeros(empty.shape, device=self.device)
        indices, scores = pool_select(rq[0].to(pool.dtype), pool, self.top_k, visible=visible)
        if self.pool_k is not None:  # pool ids are rows of the resident pool: no gather, no device sync
            out, weights = attend_rows(q[0], self.pool_k, self.pool_v, indices, scores,
                                       fusion_beta=layer.fusion_beta)
            return layer.mix(x, out[None]), indices, weights
        chosen = indices.cpu()  # the layer's one device sync: which chunks to read is data-dependent
        valid = chosen >= 0
        ids = torch.unique(chosen[valid])  # sorted
        if ids.numel() == 0:
            weights = torch.zeros(chosen.shape, device=self.device)
            return layer.mix(x, torch.zeros_like(q)), chosen, weights
        chunk_k, chunk_v = self.fetch(ids)
        rows = self._upload(torch.searchsorted(ids, chosen.clamp_min(0)).masked_fill(~valid, -1))
        # (Tq, H, D), (Tq, H_kv, K)
        out, weights = attend_rows(q[0], chunk_k, chunk_v, rows, scores, fusion_beta=layer.fusion_beta)
        return layer.mix(x, out[None]), chosen, weights

    @torch.no_grad()
    def feed(self, ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run question tokens; returns logits (Tq, V) fp32 and the last token's retrieval: the chosen memory
        rows (n,) and their weights (n,) summed over HSA layers and KV heads."""
        logits, citations = self._feed(ids)
        return logits, *self._memory_rows(citations)

    def _feed(self, ids: Sequence[int], every: bool = False
              ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """feed without reading the citations: logits and, per HSA layer, the last token's chosen pool ids
        (H_kv, K) and weights (H_kv, K) on the device (ids on the CPU unless resident), for _memory_rows;
        every: every token's, (Tq, H_kv, K) each."""
        Tq, start = len(ids), self.pos
        if start + Tq > self.max_len:
            raise ValueError(f"question of {start + Tq} tokens exceeds max_len {self.max_len}")
        if Tq == 1 and self.static is not None and not every:
            logits, citations = self.static.step(int(ids[0]))
            self.pos += 1
            return logits, citations
        idx = torch.as_tensor(list(ids), dtype=torch.long, device=self.device)[None]  # (1, Tq)
        end = start + Tq
        rope = tuple(t[:, start:end] for t in self.rope)
        visible = self.visible[start:end]
        citations = []
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            x = self.model.embed(idx)
            for layer, cache in zip(self.model.lower, self.caches, strict=False):
                x = layer.step(x, rope, cache, start)
            self._add_own_chunks(x)
            for layer, cache in zip(self.model.upper, self.caches[self.cfg.n_lower:], strict=True):
                if isinstance(layer, HSABlock):
                    x = x + layer.attn.step(layer.attn_norm(x), rope, cache, start)
                    x, indices, weights = self._hsa(layer, x, visible)
                    citations.append((indices, weights) if every else (indices[-1], weights[-1]))
                else:
                    x = layer.step(x, rope, cache, start)
            logits = self.model.logits(x)[0].float()
        self.pos += Tq
        return logits, citations

    def _memory_rows(self, citations) -> tuple[torch.Tensor, torch.Tensor]:
        indices = torch.cat([i.flatten() for i, _ in citations]).cpu()
        weights = torch.cat([w.flatten() for _, w in citations]).float().cpu()  # one small read
        keep = (indices >= 0) & (indices < self.n_memory)  # the question's own chunks are not sources
        rows, inverse = torch.unique(indices[keep], return_inverse=True)
        totals = torch.zeros(len(rows)).index_add_(0, inverse, weights[keep])
        order = torch.argsort(totals, descending=True, stable=True)
        return rows[order], totals[order]


@torch.no_grad()
def read_question(model: Transformer, memory: ChunkMemory, prompt_ids: Sequence[int]) -> list[GeneratedToken]:
    """The chunks each prompt token drew on while the model read the question (its retrieval for the next
    token), as GeneratedTokens of the prompt's own ids: what the question alone points at in the memory."""
    was_training = model.training
    model.eval()
    try:
        state = QuestionState(model, memory, len(prompt_ids), resident_chunks=True, static_decode=False)
        _, citations = state._feed(prompt_ids, every=True)
        return [GeneratedToken(token, *state._memory_rows([(i[t], w[t]) for i, w in citations]), state.view)
                for t, token in enumerate(prompt_ids)]
    finally:
        model.train(was_training)


@torch.no_grad()
def generate(model: Transformer, memory: ChunkMemory, prompt_ids: Sequence[int], *, max_new_tokens: int,
             temperature: float = 0.0, top_k_chunks: int | None = None, stop_ids: Collection[int] = (),
             seed: int | None = None, resident_chunks: bool = False, static_decode: bool | None = None
             ) -> Iterator[GeneratedToken]:
    """Stream answer tokens for a question document (e.g. Tokenizer.chat(...)) against the memory.

    temperature 0 = greedy; top_k_chunks overrides the model's HSA top-k; generation ends after a token in
    stop_ids (which is yielded) or max_new_tokens. resident_chunks: keep the memory's whole chunk K/V on the
    model's device (memory.resident_chunks, cached with the memory's view; the first question reads it all)
    so that decode steps read no chunks on the host; same results. static_decode: one-token steps with fixed
    shapes, replayed as CUDA graphs (model/decode_graph.py; default on CUDA); same results within rounding.
    """
    if not prompt_ids:
        raise ValueError("generate needs at least one prompt token")
    was_training = model.training
    model.eval()
    try:
        state = QuestionState(model, memory, len(prompt_ids) + max_new_tokens, top_k_chunks, resident_chunks,
                              static_decode)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        logits, citations = state._feed(prompt_ids)
        for n in range(max_new_tokens):
            if temperature > 0:
                probs = torch.softmax(logits[-1].cpu() / temperature, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=generator))
            else:
                token = int(torch.argmax(logits[-1]))  # on the device: reads back one index, not the row
            rows, weights = state._memory_rows(citations)  # the device is idle now: no stall
            yield GeneratedToken(token, rows, weights, state.view)
            if token in stop_ids or n == max_new_tokens - 1:
                return
            logits, citations = state._feed([token])
    finally:
        model.train(was_training)
