"""One-token decode steps with fixed shapes, so that CUDA can replay them as graphs.

An eager decode step launches about a thousand small kernels from Python; on the GPU their launch cost, not
the arithmetic, sets the time per answer token. Here the step reads its token and position from device
buffers, writes the window caches with index_copy_ and attends over the whole cache under a position mask,
and scores the whole landmark buffer under a visibility bound: nothing in it depends on Python values, so
each piece is captured once per question and replayed for every further token.

The step is cut where the host must read the device: after each HSA layer's chunk choice when the chunks'
K/V are read on the host (memory.read_chunks), nowhere when they are resident on the device. Segment n
reads the outputs of segment n - 1 and the chunk buffers the host filled in between.
"""

import gc
import logging
import weakref
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from kernels.hsa.pool import attend_rows, pool_select
from model.layers import Attention, KVCache
from model.transformer import HSABlock

if TYPE_CHECKING:
    from model.generate import QuestionState

Outputs = dict[str, torch.Tensor]
log = logging.getLogger(__name__)


class StaticDecode:
    """Decode steps (one token each) of a QuestionState; `graphs`: capture and replay them (CUDA only)."""

    def __init__(self, state: "QuestionState", graphs: bool):
        # a proxy, not a reference: the state owns this object, and a cycle between them would leave a
        # finished question's graphs to the garbage collector, which may run while another question is being
        # captured (freeing graph memory during a capture invalidates it)
        self.state = weakref.proxy(state)
        self.model, self.cfg = state.model, state.cfg
        device = state.device
        self.graphs = graphs and device.type == "cuda"
        self.token = torch.zeros((1, 1), dtype=torch.long, device=device)
        self.pos = torch.zeros(1, dtype=torch.long, device=device)
        self.key_pos = torch.arange(state.max_len, device=device)
        self.resident = state.pool_k is not None
        self.hsa_at = [i for i, layer in enumerate(self.model.upper) if isinstance(layer, HSABlock)]
        if not self.resident:  # room for the chunks one token can choose; the host fills them per step
            slots = self.cfg.hsa_kv_heads * state.top_k
            shape = (slots, self.cfg.chunk_size, self.cfg.hsa_kv_heads, self.cfg.hsa_head_dim)
            self.chunk_k = torch.zeros(shape, device=device, dtype=state.dtype)
            self.chunk_v = torch.zeros(shape, device=device, dtype=state.dtype)
            self.rows = torch.full((1, self.cfg.hsa_kv_heads, state.top_k), -1, dtype=torch.long,
                                   device=device)
        # no bound methods or closures kept on self: they would make a cycle that only the garbage collector
        # breaks
        self.n_segments = 1 if self.resident else len(self.hsa_at) + 1
        self.outs: dict[int, Outputs] = {}  # each segment's latest outputs (static buffers once captured)
        self.captured: dict[int, torch.cuda.CUDAGraph] = {}
        self.mempool = torch.cuda.graph_pool_handle() if self.graphs else None

    # ---- the step's pieces (read token, pos and earlier outputs from buffers; return new tensors) ----------
    def _window(self, attn: Attention, x: torch.Tensor, rope, cache: KVCache) -> torch.Tensor:
        q, k, v = attn.project(x, rope)
        cache.k.index_copy_(1, self.pos, k.to(cache.k.dtype))
        cache.v.index_copy_(1, self.pos, v.to(cache.v.dtype))
        mask = (self.key_pos <= self.pos) & (self.pos - self.key_pos < attn.window)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), cache.k.transpose(1, 2),
                                           cache.v.transpose(1, 2), attn_mask=mask[None, None, None, :])
        return attn.wo(y.transpose(1, 2).reshape(1, 1, -1))

    def _block(self, layer, cache: KVCache, x: torch.Tensor, rope) -> torch.Tensor:
        """A window layer (Block): attention over its cache, then its feed-forward."""
        x = x + self._window(layer.attn, layer.attn_norm(x), rope, cache)
        return x + layer.ffn(layer.ffn_norm(x))

    def _layer(self, i: int, x: torch.Tensor, rope) -> torch.Tensor:
        """Upper layer i, a window layer."""
        return self._block(self.model.upper[i], self.state.caches[self.cfg.n_lower + i], x, rope)

    def _lower(self, rope) -> torch.Tensor:
        x = self.model.embed(self.token)
        for layer, cache in zip(self.model.lower, self.state.caches, strict=False):
            x = self._block(layer, cache, x, rope)
        return x

    def _choose(self, i: int, x: torch.Tensor, rope):
        """HSA layer i up to its chunk choice: (x after its window attention, q, indices, scores)."""
        layer = self.model.upper[i]
        x = x + self._window(layer.attn, layer.attn_norm(x), rope, self.state.caches[self.cfg.n_lower + i])
        q, rq = layer.queries(x)
        landmarks = self.state.landmarks  # the whole buffer; chunks past `visible` are never chosen
        visible = self.state.visible.index_select(0, self.pos)
        indices, scores = pool_select(rq[0].to(landmarks.dtype), landmarks, self.state.top_k, visible=visible)
        return x, q, indices, scores

    def _rope(self):
        return tuple(t.index_select(1, self.pos) for t in self.state.rope)

    def _autocast(self):
        device = self.state.device
        # no weight-cast cache: a captured graph must not keep a cast made outside it
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda",
                              cache_enabled=False)

    def _whole(self) -> Outputs:
        """The step with the chunks' K/V resident: no host reads at all."""
        with self._autocast():
            rope = self._rope()
            x = lower = self._lower(rope)
            out: Outputs = {"lower": lower}
            for i, layer in enumerate(self.model.upper):
                if i in self.hsa_at:
                    x, q, indices, scores = self._choose(i, x, rope)
                    attended, weights = attend_rows(q[0], self.state.pool_k, self.state.pool_v, indices,
                                                    scores, fusion_beta=layer.fusion_beta)
                    x = layer.mix(x, attended[None])
                    out[f"indices{i}"], out[f"weights{i}"] = indices, weights
                else:
                    x = self._layer(i, x, rope)
            out["logits"] = self.model.logits(x)[0].float()
        return out

    def _segment(self, n: int) -> Outputs:
        """Segment n: HSA layer hsa_at[n - 1]'s attention over the host-filled chunk buffers (n > 0), the
        window layers after it, then HSA layer hsa_at[n]'s chunk choice, or the logits after the last."""
        with self._autocast():
            rope = self._rope()
            out: Outputs = {}
            if n == 0:
                x = out["lower"] = self._lower(rope)
                first = 0
            else:
                prev, at = self.outs[n - 1], self.hsa_at[n - 1]
                layer = self.model.upper[at]
                attended, weights = attend_rows(prev["q"][0], self.chunk_k, self.chunk_v, self.rows,
                                                prev["scores"], fusion_beta=layer.fusion_beta)
                x = layer.mix(prev["x"], attended[None])
                out["weights"] = weights
                first = at + 1
            last = self.hsa_at[n] if n < len(self.hsa_at) else len(self.model.upper)
            for i in range(first, last):
                x = self._layer(i, x, rope)
            if n < len(self.hsa_at):
                out["x"], out["q"], out["indices"], out["scores"] = self._choose(last, x, rope)
            else:
                out["logits"] = self.model.logits(x)[0].float()
        return out

    # ---- running: eager, or captured once and replayed --------------------------------------------------
    def _compute(self, n: int) -> Outputs:
        return self._whole() if self.resident else self._segment(n)

    def _run(self, n: int) -> Outputs:
        if n in self.captured:
            self.captured[n].replay()
            return self.outs[n]
        if not self.graphs:
            self.outs[n] = self._compute(n)
            return self.outs[n]
        # first use: run it for real on a side stream (Triton compiles, cuBLAS sets up), keep its results as
        # the static buffers, then record the same work into a graph that writes those buffers
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            static = self.outs[n] = {k: v.clone() for k, v in self._compute(n).items()}
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        collecting = gc.isenabled()
        gc.disable()  # nothing of an earlier question may be freed while the capture runs
        try:
            # thread_local: other threads (a data prefetcher, the app's workers) may use CUDA meanwhile
            with torch.cuda.graph(graph, pool=self.mempool, capture_error_mode="thread_local"):
                for k, v in self._compute(n).items():
                    static[k].copy_(v)
        except RuntimeError as err:  # e.g. another thread used CUDA during the capture: go on eagerly
            log.warning("CUDA graph capture failed, this answer continues without graphs: %s", err)
            self.graphs = False
            return static  # this step's results, from the run before the capture
        finally:
            if collecting:
                gc.enable()
        self.captured[n] = graph
        return static

    def step(self, token: int) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Run one token at the state's position: (logits (1, V) fp32, per HSA layer the chosen pool ids
        (H_kv, K) and weights (H_kv, K)) as QuestionState._feed returns them. The caller advances the
        position."""
        self.token.fill_(token)
        self.pos.fill_(self.state.pos)
        if self.resident:
            out = lower = self._run(0)
            chosen = [out[f"indices{i}"][-1] for i in self.hsa_at]
            weights = [out[f"weights{i}"][-1].clone() for i in self.hsa_at]
        else:
            chosen, weights = [], []
            for n in range(self.n_segments):
                out = self._run(n)
                if n == 0:
                    lower = out
                else:
                    weights.append(out["weights"][-1].clone())
                if "indices" in out:
                    chosen.append(self._fill_chunks(out["indices"])[-1])
        self.state._add_own_chunks(lower["lower"].clone())
        return out["logits"], list(zip(chosen, weights, strict=True))

    def _fill_chunks(self, indices: torch.Tensor) -> torch.Tensor:
        """Read the chosen chunks' K/V into the chunk buffers and their rows into self.rows; the chosen pool
        ids on the CPU (the step's one device read per HSA layer)."""
        chosen = indices.cpu()
        valid = chosen >= 0
        ids = torch.unique(chosen[valid])  # sorted
        if ids.numel():
            chunk_k, chunk_v = self.state.fetch(ids)
            self.chunk_k[:len(ids)].copy_(chunk_k)
            self.chunk_v[:len(ids)].copy_(chunk_v)
        rows = torch.searchsorted(ids, chosen.clamp_min(0)).masked_fill(~valid, -1)
        self.rows.copy_(self.state._upload(rows))
        return chosen
