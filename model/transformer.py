"""The HSA transformer (DESIGN.md section 3), packed training forward.

    lower half     n_layers/2 sliding-window layers (RoPE, positions restart at every document)
    chunk encoder  a CLS per 64-token chunk, one bidirectional layer -> landmarks, per-token chunk K/V
    upper half     groups of [SWA+HSA layer, SWA layers]; HSA reads the chunk memory and reaches the residual
                   stream only through the MLP: x + MLP(norm(x + W_o . hsa))

A batch row packs whole documents, each padded to whole chunks; `doc_ids` (B, T) names the document of every
token. Window attention never crosses a document boundary, so HSA is the only path between documents.
The inference path (encode.py, generate.py) runs the same modules through their `step` methods.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kernels.hsa import hsa_attention
from kernels.hsa.reference import fused_scores
from model.config import ModelConfig
from model.layers import Attention, KVCache, MoE, RMSNorm, Rotary, make_ffn

IGNORE_INDEX = -100  # a target that takes no part in the loss (padding, prompts of QA documents)


@dataclass
class PackedChunks:
    """Chunk encoder output for a packed sequence: k, v (B, T, H_kv, D); landmarks (B, T // S, H_kv, Dl)."""
    k: torch.Tensor
    v: torch.Tensor
    landmarks: torch.Tensor


def document_positions(doc_ids: torch.Tensor) -> torch.Tensor:
    """(B, T) document ids -> (B, T) position of each token inside its document (restarts at every change)."""
    B, T = doc_ids.shape
    index = torch.arange(T, device=doc_ids.device).expand(B, T)
    starts = torch.ones_like(doc_ids, dtype=torch.bool)
    starts[:, 1:] = doc_ids[:, 1:] != doc_ids[:, :-1]
    first = torch.where(starts, index, torch.zeros_like(index)).cummax(dim=1).values  # start of own document
    return index - first


class Block(nn.Module):
    """Pre-norm sliding-window layer: x + attn(norm(x)), then x + ffn(norm(x)). dense=True: causal full
    attention over the whole sequence instead (the dense baseline)."""

    def __init__(self, cfg: ModelConfig, dense: bool = False):
        super().__init__()
        attn = Attention(cfg, None, causal=True) if dense else Attention(cfg, cfg.window)
        self.attn_norm, self.attn = RMSNorm(cfg.d_model, cfg.norm_eps), attn
        self.ffn_norm, self.ffn = RMSNorm(cfg.d_model, cfg.norm_eps), make_ffn(cfg)

    def forward(self, x, rope, doc_ids, memory: PackedChunks | None = None):
        x = x + self.attn(self.attn_norm(x), rope, doc_ids)
        return x + self.ffn(self.ffn_norm(x))

    def step(self, x, rope, cache: KVCache, start: int):
        x = x + self.attn.step(self.attn_norm(x), rope, cache, start)
        return x + self.ffn(self.ffn_norm(x))


class HSABlock(nn.Module):
    """SWA layer with hierarchical sparse attention over the chunk memory in front of its MLP."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.d_model
        self.attn_norm, self.attn = RMSNorm(C, cfg.norm_eps), Attention(cfg, cfg.window)
        self.hsa_norm = RMSNorm(C, cfg.norm_eps)
        self.wq = nn.Linear(C, cfg.hsa_heads * cfg.hsa_head_dim, bias=False)
        self.q_norm = RMSNorm(cfg.hsa_head_dim, cfg.norm_eps)  # per head; the chunk keys are normalised too
        self.retrieval_norm = RMSNorm(C, cfg.norm_eps)
        self.w_retrieval = nn.Linear(C, cfg.hsa_kv_heads * cfg.landmark_dim, bias=False)
        self.wo = nn.Linear(cfg.hsa_heads * cfg.hsa_head_dim, C, bias=False)
        self.ffn_norm, self.ffn = RMSNorm(C, cfg.norm_eps), make_ffn(cfg)
        # lse_fusion: the chunks' fusion softmax also reads each query head's beta times its in-chunk
        # log-sum-exp (betas 0: as without it)
        self.fusion_beta = nn.Parameter(torch.zeros(cfg.hsa_heads)) if cfg.lse_fusion else None

    def queries(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> attention queries (B, T, H, D) and retrieval queries (B, T, H_kv, Dl); no RoPE."""
        B, T, _ = x.shape
        q = self.q_norm(self.wq(self.hsa_norm(x)).view(B, T, self.cfg.hsa_heads, self.cfg.hsa_head_dim))
        rq = self.w_retrieval(self.retrieval_norm(x)).view(B, T, self.cfg.hsa_kv_heads, self.cfg.landmark_dim)
        return q, rq

    def mix(self, x: torch.Tensor, hsa_out: torch.Tensor) -> torch.Tensor:
        """The bypass residual: HSA output (B, T, H, D) reaches the stream only through the MLP."""
        h = x + self.wo(hsa_out.flatten(2))
        return x + self.ffn(self.ffn_norm(h))

    def forward(self, x, rope, doc_ids, memory: PackedChunks, retrieval_targets: torch.Tensor | None = None,
                copy_targets: torch.Tensor | None = None, batch_negatives: bool = False,
                fusion: bool = False):
        x = x + self.attn(self.attn_norm(x), rope, doc_ids)
        q, rq = self.queries(x)
        if retrieval_targets is not None:
            self.retrieval_loss = retrieval_loss(rq, memory.landmarks, retrieval_targets, self.cfg.chunk_size,
                                                 batch_negatives)
            if fusion and self.fusion_beta is not None:
                self.fusion_loss = fusion_loss(q, memory.k, rq, memory.landmarks, retrieval_targets,
                                               self.cfg.chunk_size, self.cfg.hsa_top_k, self.fusion_beta)
        if copy_targets is not None:
            self.copy_loss = copy_loss(q, memory.k, copy_targets, self.cfg.chunk_size)
        out, _, _ = hsa_attention(q, memory.k, memory.v, rq, memory.landmarks, self.cfg.hsa_top_k,
                                  chunk_size=self.cfg.chunk_size, fusion_beta=self.fusion_beta)
        return self.mix(x, out)


def row_scores(rq: torch.Tensor, landmarks: torch.Tensor, rows: torch.Tensor, positions: torch.Tensor,
               chunk_size: int) -> torch.Tensor:
    """(M, H_kv, N) fp32 scores HSA ranks chunks by (rq . landmark / sqrt(Dl)) at the M (row, position)
    pairs, over their own row's chunks; -inf where a chunk is not visible to the position."""
    N, Dl = landmarks.shape[1], landmarks.shape[-1]
    visible = torch.arange(N, device=rq.device)[None, :] < (positions // chunk_size)[:, None]  # (M, N)
    scores = torch.einsum("mhd,mnhd->mhn", rq[rows, positions].float(), landmarks[rows].float()) * Dl**-0.5
    return scores.masked_fill(~visible[:, None, :], float("-inf"))


def retrieval_loss(rq: torch.Tensor, landmarks: torch.Tensor, targets: torch.Tensor, chunk_size: int,
                   batch_negatives: bool = False):
    """Cross-entropy of the chunk choice at the positions that name a target chunk: rq (B, T, H_kv, Dl),
    landmarks (B, N, H_kv, Dl), targets (B, T) int64 (-1 = none). The scores are those HSA ranks chunks by
    (rq . landmark / sqrt(Dl)) over the chunks visible to each position; every KV head is asked the same.
    batch_negatives: every chunk of the batch's other rows competes too (other documents, as the distractors
    of a long context are: B x N candidates instead of at most N, for a wider margin)."""
    rows, positions = (targets >= 0).nonzero(as_tuple=True)
    if rows.numel() == 0:
        return rq.sum() * 0
    B, N = landmarks.shape[:2]
    wanted = targets[rows, positions]
    if batch_negatives and B > 1:
        scale = landmarks.shape[-1] ** -0.5
        visible = torch.arange(N, device=rq.device)[None, :] < (positions // chunk_size)[:, None]  # (M, N)
        scores = torch.einsum("mhd,bnhd->mhbn", rq[rows, positions].float(), landmarks.float()) * scale
        own = rows[:, None] == torch.arange(B, device=rq.device)[None, :]  # (M, B)
        allowed = ~own[:, :, None] | visible[:, None, :]  # (M, B, N): another row's chunks are all visible
        scores = scores.masked_fill(~allowed[:, None], float("-inf")).flatten(2)
        wanted = rows * N + wanted
    else:
        scores = row_scores(rq, landmarks, rows, positions, chunk_size)
    wanted = wanted[:, None].expand(-1, scores.shape[1])
    return F.cross_entropy(scores.flatten(0, 1), wanted.flatten())


def fusion_loss(q: torch.Tensor, k: torch.Tensor, rq: torch.Tensor, landmarks: torch.Tensor,
                targets: torch.Tensor, chunk_size: int, top_k: int,
                fusion_beta: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the fusion softmax (lse_fusion: landmark score + sum_g beta_g x in-chunk lse_g, over
    the chunks HSA reads) toward the target chunk, at the positions that name one: -log of the weight HSA
    gives the target, with the target put in the last of the top_k slots where the landmarks left it out.

    The landmark-only retrieval_loss cannot teach the in-chunk match to tell two chunks apart whose
    landmarks score alike (two classes' `post`); this loss rewards the heads' match inside the chunk and
    the betas for it. q (B, T, H, D), k (B, T, H_kv, D), rq (B, T, H_kv, Dl), landmarks (B, N, H_kv, Dl),
    targets (B, T) int64 (-1 = none), fusion_beta (H,)."""
    rows, positions = (targets >= 0).nonzero(as_tuple=True)
    if rows.numel() == 0:
        return q.sum() * 0 + fusion_beta.sum() * 0
    N, H_kv = landmarks.shape[1:3]
    H, D = q.shape[2:]
    scores = row_scores(rq, landmarks, rows, positions, chunk_size)  # (M, H_kv, N)
    kept = min(top_k, N)
    chosen = scores.detach().topk(kept, dim=-1).indices  # (M, H_kv, K): the chunks HSA reads
    wanted = targets[rows, positions][:, None, None]
    missing = ~(chosen == wanted).any(dim=-1)
    chosen[..., -1] = torch.where(missing, wanted[..., 0], chosen[..., -1])
    picked = scores.gather(-1, chosen)  # (M, H_kv, K), -inf where fewer than K chunks are visible
    span = chosen[..., None] * chunk_size + torch.arange(chunk_size, device=q.device)  # (M, H_kv, K, S)
    keys = k[rows[:, None, None, None], span, torch.arange(H_kv, device=q.device)[None, :, None, None]]
    queries = q[rows, positions].view(-1, H_kv, H // H_kv, D)  # (M, H_kv, G, D)
    lse = (torch.einsum("mhgd,mhksd->mhgks", queries.float(), keys.float()) * D**-0.5).logsumexp(dim=-1)
    fused = fused_scores(picked, lse.flatten(1, 2), fusion_beta)  # (M, H_kv, K), as hsa_reference fuses
    label = (chosen == wanted).float().argmax(dim=-1)  # (M, H_kv)
    return F.cross_entropy(fused.flatten(0, 1), label.flatten())


def copy_loss(q: torch.Tensor, k: torch.Tensor, targets: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """Attention supervision inside a chunk: at the positions that name a source token, -log of the share
    of attention the HSA query heads (averaged) give that token among the S tokens of its chunk.

    q (B, T, H, D) HSA attention queries; k (B, T, H_kv, D) chunk keys; targets (B, T) int64: the row
    position of the token whose value the position should read (the needle's token that its answer token
    copies), -1 = none. Scores as HSA computes them (q . k / sqrt(D)), one softmax per head over the chunk.
    """
    rows, positions = (targets >= 0).nonzero(as_tuple=True)
    if rows.numel() == 0:
        return q.sum() * 0
    H, D = q.shape[2:]
    H_kv = k.shape[2]
    source = targets[rows, positions]
    first = source - source % chunk_size
    span = first[:, None] + torch.arange(chunk_size, device=q.device)[None, :]  # (M, S)
    keys = k[rows[:, None], span].float()  # (M, S, H_kv, D)
    queries = q[rows, positions].float().view(-1, H_kv, H // H_kv, D)  # (M, H_kv, G, D)
    probs = (torch.einsum("mhgd,mshd->mhgs", queries, keys) * D**-0.5).softmax(dim=-1)
    share = probs.mean(dim=(1, 2)).gather(1, (source % chunk_size)[:, None])  # (M, 1)
    return -share.clamp_min(1e-9).log().mean()


class EncoderLayer(nn.Module):
    """A further bidirectional layer of the chunk encoder (config encoder_layers > 1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn_norm, self.attn = RMSNorm(cfg.d_model, cfg.norm_eps), Attention(cfg, window=None)
        self.ffn_norm, self.ffn = RMSNorm(cfg.d_model, cfg.norm_eps), make_ffn(cfg)

    def forward(self, h: torch.Tensor, rope) -> torch.Tensor:
        h = h + self.attn(self.attn_norm(h), rope)
        return h + self.ffn(self.ffn_norm(h))


class ChunkEncoder(nn.Module):
    """Bidirectional layers over each chunk plus a learnable CLS (one layer in hsa-mini; config
    encoder_layers); RoPE positions 0..S inside the chunk."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.d_model
        self.cls = nn.Parameter(torch.zeros(C))
        self.attn_norm, self.attn = RMSNorm(C, cfg.norm_eps), Attention(cfg, window=None)
        self.ffn_norm, self.ffn = RMSNorm(C, cfg.norm_eps), make_ffn(cfg)
        self.extra = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers - 1))
        self.out_norm = RMSNorm(C, cfg.norm_eps)
        self.w_landmark = nn.Linear(C, cfg.hsa_kv_heads * cfg.landmark_dim, bias=False)
        self.w_kv = nn.Linear(C, 2 * cfg.hsa_kv_heads * cfg.hsa_head_dim, bias=False)
        self.k_norm = RMSNorm(cfg.hsa_head_dim, cfg.norm_eps)
        if cfg.landmark_center:
            # the CLS states' mean (model/calibrate.py), subtracted before the landmark projection: it shifts
            # every landmark by one vector, so no score changes in exact arithmetic, but the states share ~99%
            # of their length and bf16 rounding of the shared part blurred the differences between chunks
            self.register_buffer("landmark_center", torch.zeros(C))

    def states(self, x: torch.Tensor, rotary: Rotary) -> torch.Tensor:
        """x (B, T, C) hidden states at L/2, T a multiple of S -> (B*N, S+1, C): each chunk's tokens, then
        its CLS, after the encoder layer."""
        cfg, (B, T, C) = self.cfg, x.shape
        S, N = cfg.chunk_size, T // cfg.chunk_size
        if T % S:
            raise ValueError(f"sequence length {T} is not a whole number of {S}-token chunks")
        cls = self.cls.to(x.dtype).expand(B * N, 1, C)
        h = torch.cat([x.reshape(B * N, S, C), cls], dim=1)  # (B*N, S+1, C)
        rope = rotary(torch.arange(S + 1, device=x.device)[None])  # CLS sits after the chunk's tokens
        h = h + self.attn(self.attn_norm(h), rope)
        h = h + self.ffn(self.ffn_norm(h))
        for layer in self.extra:
            h = layer(h, rope)
        return self.out_norm(h)

    def forward(self, x: torch.Tensor, rotary: Rotary) -> PackedChunks:
        """x (B, T, C) hidden states at L/2, T a multiple of S -> PackedChunks."""
        cfg, (B, T) = self.cfg, x.shape[:2]
        S, N = cfg.chunk_size, T // cfg.chunk_size
        h = self.states(x, rotary)
        centered = h
        if cfg.landmark_center:  # in fp32, before autocast rounds the projection's input to bf16
            centered = (h.float() - self.landmark_center.float()).to(h.dtype)
        # projected at every position, then the CLS row taken: a matmul over few rows (one per chunk) rounds
        # differently with the number of rows on CPU, which would tie a document's landmarks to its batch
        landmarks = self.w_landmark(centered)[:, S].view(B, N, cfg.hsa_kv_heads, cfg.landmark_dim)
        kv = self.w_kv(h[:, :S]).view(B, T, 2, cfg.hsa_kv_heads, cfg.hsa_head_dim)
        k, v = kv.unbind(2)  # (B, T, H_kv, D) each
        return PackedChunks(self.k_norm(k), v, landmarks)


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.rotary = Rotary(cfg.head_dim, cfg.rope_theta)
        if cfg.attention == "dense":  # the in-domain baseline: n_layers causal full-attention blocks
            self.lower = nn.ModuleList(Block(cfg, dense=True) for _ in range(cfg.n_layers))
            self.encoder, self.upper = None, nn.ModuleList()
        else:
            self.lower = nn.ModuleList(Block(cfg) for _ in range(cfg.n_lower))
            self.encoder = ChunkEncoder(cfg)
            self.upper = nn.ModuleList(
                HSABlock(cfg) if i in cfg.hsa_layers else Block(cfg) for i in range(cfg.n_lower, cfg.n_layers)
            )
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = None if cfg.tie_embeddings else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * cfg.n_layers)  # GPT-2: output projections scaled by depth
        for name, p in self.named_parameters():
            if name.endswith(("wo.weight", "w_out.weight", "w_out")):
                nn.init.normal_(p, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, MoE):
            nn.init.normal_(module.w_in, mean=0.0, std=0.02)
            nn.init.normal_(module.w_out, mean=0.0, std=0.02)
        elif isinstance(module, ChunkEncoder):
            nn.init.normal_(module.cls, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def set_window(self, window: int) -> None:
        """Read with another sliding window in every window layer (cfg.window stays the model's own; training
        reads with a shorter one on some steps, model/train.py --short-window)."""
        for module in self.modules():
            if isinstance(module, Attention) and module.window is not None:
                module.window = window

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return F.linear(x, self.embed.weight) if self.lm_head is None else self.lm_head(x)

    def lower_hidden(self, idx: torch.Tensor, doc_ids: torch.Tensor):
        """Embedding and lower half, each document alone: (hidden (B, T, C), rope)."""
        rope = self.rotary(document_positions(doc_ids))
        x = self.embed(idx)
        for layer in self.lower:
            x = layer(x, rope, doc_ids)
        return x, rope

    def encode_lower(self, idx: torch.Tensor, doc_ids: torch.Tensor):
        """Embedding, lower half and chunk encoder: (hidden (B, T, C), rope, PackedChunks)."""
        x, rope = self.lower_hidden(idx, doc_ids)
        return x, rope, self.encoder(x, self.rotary)

    def chunk_states(self, idx: torch.Tensor, doc_ids: torch.Tensor) -> torch.Tensor:
        """The chunk encoder's CLS states (B, T // S, C), before any centering (model/calibrate.py)."""
        x, _ = self.lower_hidden(idx, doc_ids)
        B, T = idx.shape
        return self.encoder.states(x, self.rotary)[:, -1].view(B, T // self.cfg.chunk_size, -1)

    def dense_hidden(self, idx: torch.Tensor) -> torch.Tensor:
        """The dense baseline's hidden states (B, T, C): positions 0..T-1 across the packed documents."""
        B, T = idx.shape
        rope = self.rotary(torch.arange(T, device=idx.device).expand(B, T))
        x = self.embed(idx)
        for layer in self.lower:
            x = layer(x, rope, None)
        return x

    def forward(self, idx: torch.Tensor, doc_ids: torch.Tensor, targets: torch.Tensor | None = None,
                retrieval_targets: torch.Tensor | None = None, copy_targets: torch.Tensor | None = None,
                batch_negatives: bool = False, fusion: bool = False):
        """idx, doc_ids (B, T) with T a multiple of S and every document a whole number of chunks.

        Returns logits (B, T, V) and, given targets (B, T) (IGNORE_INDEX = -100 = ignore), the mean
        cross-entropy. On CUDA run it under torch.autocast("cuda", torch.bfloat16): HSA then takes the Triton
        kernels. The dense baseline (cfg.attention == "dense") ignores doc_ids. Given retrieval_targets (B, T)
        (a chunk index per position, -1 = none), self.retrieval_loss is the mean over HSA layers of
        retrieval_loss (else None; batch_negatives: the other rows' chunks compete too). Given copy_targets
        (B, T) (a row position per position, -1 = none), self.copy_loss is the mean over HSA layers of
        copy_loss (else None). With fusion and retrieval_targets (an lse_fusion model), self.fusion_loss is
        the mean over HSA layers of fusion_loss (else None).
        """
        self.retrieval_loss = self.copy_loss = self.fusion_loss = None
        if self.encoder is None:
            x = self.dense_hidden(idx)
        else:
            x, rope, packed = self.encode_lower(idx, doc_ids)
            hsa_layers = []
            for layer in self.upper:
                if isinstance(layer, HSABlock):
                    x = layer(x, rope, doc_ids, packed, retrieval_targets, copy_targets,
                              batch_negatives, fusion)
                    hsa_layers.append(layer)
                else:
                    x = layer(x, rope, doc_ids, packed)
            if retrieval_targets is not None:
                self.retrieval_loss = torch.stack([layer.retrieval_loss for layer in hsa_layers]).mean()
            if copy_targets is not None:
                self.copy_loss = torch.stack([layer.copy_loss for layer in hsa_layers]).mean()
            if fusion and retrieval_targets is not None and self.cfg.lse_fusion:
                self.fusion_loss = torch.stack([layer.fusion_loss for layer in hsa_layers]).mean()
        logits = self.logits(x)
        if targets is None:
            return logits, None
        flat = logits.float().view(-1, logits.shape[-1])
        loss = F.cross_entropy(flat, targets.reshape(-1), ignore_index=IGNORE_INDEX)
        return logits, loss

    def moe_layers(self) -> list[MoE]:
        return [m for m in self.modules() if isinstance(m, MoE)]

    def update_moe_biases(self) -> None:
        """Call after each optimizer step: auxiliary-loss-free load balancing of every MoE layer."""
        for moe in self.moe_layers():
            moe.update_bias()


def pack_documents(docs: list[list[int]], chunk_size: int, pad_id: int) -> tuple[list[int], list[int]]:
    """Concatenate documents, each padded to whole chunks: (ids, doc_ids) of equal length."""
    ids: list[int] = []
    doc_ids: list[int] = []
    for n, doc in enumerate(docs):
        padded = len(doc) + (-len(doc)) % chunk_size
        ids += list(doc) + [pad_id] * (padded - len(doc))
        doc_ids += [n] * padded
    return ids, doc_ids
