"""Model configuration: one dataclass, derived sizes in __post_init__, named presets."""

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    pass


@dataclass
class ModelConfig:
    """Sizes of the HSA transformer (DESIGN.md section 3).

    Layers: n_layers // 2 lower sliding-window (SWA) layers (or `lower_layers`), the chunk encoder, then the
    upper half in groups of `group_size` layers: [one SWA+HSA layer, then group_size - 1 SWA layers].
    """
    name: str = "custom"
    # "hsa": the model above; "dense": the in-domain baseline, every layer causal full attention over the
    # whole packed sequence (RoPE, no document reset, no chunk encoder or HSA)
    attention: str = "hsa"
    vocab_size: int = 16384
    pad_id: int = 0  # the tokenizer's <|pad|>: fills documents up to whole chunks
    d_model: int = 512
    n_layers: int = 8
    group_size: int = 2
    tie_embeddings: bool = True
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    # sliding-window attention (every layer)
    window: int = 512
    n_heads: int = 8
    head_dim: int = 64
    # hierarchical sparse attention: the chunk memory has hsa_kv_heads heads of hsa_head_dim, shared by the
    # hsa_heads query heads of every HSA layer (16 per KV head suits the kernel tile)
    chunk_size: int = 64
    hsa_heads: int = 16
    hsa_kv_heads: int = 1
    hsa_head_dim: int = 64
    landmark_dim: int = 64
    hsa_top_k: int = 8
    # subtract the chunk encoder's mean CLS state before the landmark projection (a buffer that
    # model/calibrate.py fills); in ADDED_LATER: config.json holds it only when set
    landmark_center: bool = False
    # bidirectional layers of the chunk encoder (in ADDED_LATER; model/widen.py adds layers that start as
    # the identity)
    encoder_layers: int = 1
    # SWA layers below the chunk encoder, 0 = n_layers // 2 (in ADDED_LATER; model/widen.py adds lower layers
    # that start as the identity: more of the model reads the text before the landmarks and the queries)
    lower_layers: int = 0
    # fuse the chosen chunks by softmax(score + sum_g beta_g * lse_g) instead of softmax(score): lse_g is a
    # chunk's in-chunk log-sum-exp for query head g of its KV head, beta_g a learned weight per HSA layer and
    # query head, so a chunk whose tokens match the query outweighs a namesake whose landmark scores alike (in
    # ADDED_LATER; model/widen.py --lse-fusion adds it with betas 0, the old weights)
    lse_fusion: bool = False
    # feed-forward: "swiglu" or "moe"
    ffn: str = "swiglu"
    ffn_hidden: int = 0  # 0 = derived: about 8/3 d_model, a multiple of 64
    n_experts: int = 8  # routed experts (moe)
    expert_top_k: int = 2
    expert_hidden: int = 0  # 0 = derived: ffn_hidden // expert_top_k
    bias_update_rate: float = 1e-3  # aux-loss-free balancing step (DeepSeek-V3's gamma)
    memory_dtype_bytes: int = 2  # bf16 chunk memory
    # derived in __post_init__
    n_lower: int = field(init=False)
    n_groups: int = field(init=False)
    memory_bytes_per_token: float = field(init=False)

    def __post_init__(self):
        if self.ffn_hidden == 0:
            self.ffn_hidden = 64 * round(8 * self.d_model / 3 / 64)
        if self.expert_hidden == 0:
            self.expert_hidden = max(16, self.ffn_hidden // self.expert_top_k)
        self.n_lower = self.lower_layers or self.n_layers // 2
        n_upper = self.n_layers - self.n_lower
        self.n_groups = n_upper // self.group_size
        per_chunk = self.hsa_kv_heads * (2 * self.chunk_size * self.hsa_head_dim + self.landmark_dim)
        self.memory_bytes_per_token = per_chunk * self.memory_dtype_bytes / self.chunk_size
        self.validate()

    def validate(self) -> None:
        problems = []
        if self.n_layers < 2 or (self.n_layers % 2 and not self.lower_layers):
            problems.append(f"n_layers must be even and >= 2 (or lower_layers set), got {self.n_layers}")
        elif not 1 <= self.n_lower < self.n_layers:
            problems.append(f"lower_layers must be in 1..{self.n_layers - 1}, got {self.lower_layers}")
        elif (self.n_layers - self.n_lower) % self.group_size:
            problems.append(f"upper half ({self.n_layers - self.n_lower} layers) is not whole groups of "
                            f"{self.group_size}")
        if self.hsa_heads % self.hsa_kv_heads:
            problems.append(f"hsa_heads {self.hsa_heads} not a multiple of hsa_kv_heads {self.hsa_kv_heads}")
        if self.attention not in ("hsa", "dense"):
            problems.append(f"attention must be 'hsa' or 'dense', got {self.attention!r}")
        if self.ffn not in ("swiglu", "moe"):
            problems.append(f"ffn must be 'swiglu' or 'moe', got {self.ffn!r}")
        if self.ffn == "moe" and not 1 <= self.expert_top_k <= self.n_experts:
            problems.append(f"expert_top_k {self.expert_top_k} must be in 1..n_experts ({self.n_experts})")
        if self.head_dim % 2:
            problems.append(f"head_dim must be even for RoPE, got {self.head_dim}")
        if self.encoder_layers < 1:
            problems.append(f"encoder_layers must be >= 1, got {self.encoder_layers}")
        if self.window < 1 or self.chunk_size < 1 or self.hsa_top_k < 1:
            problems.append("window, chunk_size and hsa_top_k must be positive")
        if problems:
            raise ConfigError(f"invalid model config {self.name!r}: " + "; ".join(problems))

    @property
    def hsa_layers(self) -> list[int]:
        """Indices (0-based, over all n_layers) of the SWA+HSA layers."""
        return [self.n_lower + g * self.group_size for g in range(self.n_groups)]

    @classmethod
    def from_name(cls, name: str, **overrides: Any) -> "ModelConfig":
        if name not in PRESETS:
            raise ConfigError(f"unknown model preset {name!r}; known: {', '.join(sorted(PRESETS))}")
        return cls(name=name, **{**PRESETS[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        """Every field, except a field added after the first shipped models while it has its default (so
        config.json, and the fingerprint, of an older model stay as they were)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.init and not (f.name in ADDED_LATER and getattr(self, f.name) == f.default)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config fields: {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


ADDED_LATER = frozenset({"landmark_center", "encoder_layers", "lower_layers", "lse_fusion"})

PRESETS: dict[str, dict[str, Any]] = {
    # tests: every code path at toy width
    "hsa-tiny": dict(d_model=64, n_layers=4, group_size=2, window=32, n_heads=4, head_dim=16, hsa_heads=16,
                     hsa_kv_heads=1, hsa_head_dim=16, landmark_dim=16, hsa_top_k=2, ffn_hidden=128,
                     n_experts=4, expert_top_k=2, expert_hidden=64),
    # the embedded model (~23.9M parameters, bf16 weights < 48 MB): 4 SWA layers, encoder, 2 groups of
    # [SWA+HSA, SWA]
    "hsa-mini": dict(d_model=384, n_layers=8, group_size=2, window=512, n_heads=6, head_dim=64, hsa_heads=16,
                     hsa_kv_heads=1, hsa_head_dim=64, landmark_dim=64, hsa_top_k=8, ffn_hidden=1024),
}
