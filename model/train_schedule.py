"""Training schedule: the curriculum phases (DESIGN.md section 3) and the learning rate, both functions of
progress through a plan (a number of steps or of training seconds), so a run cut into stretches follows the
same schedule as one that never stopped.

Curriculum, after arXiv 2511.23319:
  full-k     the first `full_share` of the plan at the shortest length, the HSA top-k covering every chunk
             (top_k = seq_len / chunk_size) and the model's short window, so every landmark gets gradient
  sparse-NK  the rest in equal parts, one per training length (4K -> 8K -> 16K by default), at the sparse
             top-k (the model's own hsa_top_k unless told otherwise)
"""

import math
from dataclasses import dataclass

from model.config import ModelConfig


@dataclass(frozen=True)
class Phase:
    name: str
    seq_len: int
    top_k: int  # HSA chunks per token and KV head (unused by the dense baseline)


@dataclass(frozen=True)
class Plan:
    """How long the whole run is meant to be: plan_steps and/or plan_seconds (whichever ends first)."""
    plan_steps: int = 0
    plan_seconds: float = 0.0

    def __post_init__(self):
        if self.plan_steps <= 0 and self.plan_seconds <= 0:
            raise ValueError("a training plan needs a positive number of steps or seconds")

    def progress(self, step: int, seconds: float) -> float:
        """0 at the start, 1 at the end of the plan (and beyond it, more than 1)."""
        by_steps = step / self.plan_steps if self.plan_steps > 0 else 0.0
        by_time = seconds / self.plan_seconds if self.plan_seconds > 0 else 0.0
        return max(by_steps, by_time)


@dataclass(frozen=True)
class Curriculum:
    seq_lens: tuple[int, ...] = (4096, 8192, 16384)
    full_share: float = 0.25  # share of the plan in the full-k warm-up
    sparse_top_k: int = 0  # 0 = the model's hsa_top_k

    def validate(self, cfg: ModelConfig) -> None:
        bad = [n for n in self.seq_lens if n <= 0 or n % cfg.chunk_size]
        if not self.seq_lens or bad:
            raise ValueError(f"training lengths must be positive multiples of {cfg.chunk_size}: {bad}")
        if not 0 <= self.full_share < 1:
            raise ValueError(f"full_share must be in [0, 1), got {self.full_share}")

    def phase(self, progress: float, cfg: ModelConfig) -> Phase:
        if progress < self.full_share:
            n = self.seq_lens[0]
            return Phase("full-k", n, n // cfg.chunk_size)
        rest = (progress - self.full_share) / (1 - self.full_share)
        n = self.seq_lens[min(len(self.seq_lens) - 1, int(rest * len(self.seq_lens)))]
        return Phase(f"sparse-{_length_name(n)}", n, self.sparse_top_k or cfg.hsa_top_k)


@dataclass(frozen=True)
class LearningRate:
    """Linear warm-up over warmup_steps, then WSD (constant, linear decay over the last decay_share of the
    plan) or cosine; both end at min_ratio * peak."""
    peak: float = 2e-3
    warmup_steps: int = 100
    shape: str = "wsd"
    decay_share: float = 0.2
    min_ratio: float = 0.1

    def __post_init__(self):
        if self.shape not in ("wsd", "cosine"):
            raise ValueError(f"learning-rate shape must be 'wsd' or 'cosine', got {self.shape!r}")

    def at(self, step: int, progress: float) -> float:
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps > 0 else 1.0
        p = min(max(progress, 0.0), 1.0)
        if self.shape == "cosine":
            decay = 0.5 * (1 + math.cos(math.pi * p))
        else:
            start = 1 - self.decay_share
            decay = 1.0 if p <= start else 1 - (p - start) / self.decay_share
        return self.peak * warm * (self.min_ratio + (1 - self.min_ratio) * decay)


def _length_name(n: int) -> str:
    return f"{n // 1024}k" if n % 1024 == 0 else str(n)
