"""The models a training run can build: the embedded HSA model and its two comparisons at the same size.

    hsa    the preset as it is (model/config.py)
    dense  the in-domain baseline: causal full attention in every layer (no chunk encoder, no HSA), the
           feed-forward widened so the parameter count matches the HSA model's (within ~1%)
    moe    mixture-of-experts feed-forward blocks with the same parameters on disk: 7 routed experts (top 2)
           plus the shared one, each 1/8 of the dense hidden width, so ~3/8 of the feed-forward compute
"""

from typing import Any

from model.config import ModelConfig
from model.transformer import Transformer

VARIANTS = ("hsa", "dense", "moe")
MOE_EXPERTS, MOE_TOP_K = 7, 2


def variant_config(preset: str, variant: str, **overrides: Any) -> ModelConfig:
    base = ModelConfig.from_name(preset, **overrides)
    if variant == "hsa":
        return base
    if variant == "dense":
        # parameters grow linearly with the feed-forward width: two counts give the width that matches best
        def dense(hidden: int) -> ModelConfig:
            return ModelConfig.from_name(preset, **{**overrides, "attention": "dense", "ffn_hidden": hidden})

        low, high = count_params(dense(64)), count_params(dense(128))
        hidden = (count_params(base) - low) / ((high - low) / 64) + 64
        return dense(max(64, 64 * round(hidden / 64)))
    if variant == "moe":
        hidden = max(16, 16 * round(base.ffn_hidden / (MOE_EXPERTS + 1) / 16))
        return ModelConfig.from_name(preset, **{**overrides, "ffn": "moe", "n_experts": MOE_EXPERTS,
                                                "expert_top_k": MOE_TOP_K, "expert_hidden": hidden})
    raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")


def count_params(cfg: ModelConfig) -> int:
    """Parameters of a model of this config, counted on the meta device (no memory, no init)."""
    import torch

    with torch.device("meta"):
        return Transformer(cfg).num_params()
