"""Model folders: config.json + tokenizer.json + safetensors shards (<= 16 MiB each) + model.index.json.

Never pickle. A tensor larger than a shard is stored as row slices ("name@part0", ...) listed in the index.
Loading checks every name, shape and shard checksum and fails with one line naming the folder and the fault.
"""

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from model.config import ConfigError, ModelConfig
from model.tokenizer import Tokenizer, TokenizerError
from model.transformer import Transformer

SHARD_BYTES = 16 * 1024 * 1024
INDEX_NAME = "model.index.json"
FORMAT_VERSION = 1
_HEADER_ROOM = 64 * 1024  # safetensors JSON header and alignment, kept free in every shard


class CheckpointError(Exception):
    pass


def _pieces(name: str, tensor: torch.Tensor, limit: int) -> list[tuple[str, torch.Tensor]]:
    """Split a tensor too big for one shard into row slices that each fit."""
    nbytes = tensor.numel() * tensor.element_size()
    if nbytes <= limit:
        return [(name, tensor)]
    row_bytes = max(1, nbytes // tensor.shape[0])
    rows = max(1, limit // row_bytes)
    return [(f"{name}@part{i}", part) for i, part in enumerate(torch.split(tensor, rows))]


def save(model: Transformer, folder: str | Path, tokenizer: Tokenizer, *, dtype: torch.dtype | None = None,
         shard_bytes: int = SHARD_BYTES) -> Path:
    """Write the model folder (replacing its model files). dtype casts floating tensors (e.g. bfloat16)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    limit = shard_bytes - _HEADER_ROOM
    shards: list[dict[str, torch.Tensor]] = [{}]
    used = 0
    split: dict[str, list[str]] = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        parts = _pieces(name, tensor.contiguous(), limit)
        if len(parts) > 1:
            split[name] = [part_name for part_name, _ in parts]
        for part_name, part in parts:
            nbytes = part.numel() * part.element_size()
            if used + nbytes > limit and shards[-1]:
                shards.append({})
                used = 0
            shards[-1][part_name] = part.contiguous()
            used += nbytes
    for old in folder.glob("model-*.safetensors"):
        old.unlink()
    files = {}
    for i, shard in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(folder / file), metadata={"format": "pt"})
        files[file] = {"sha256": _sha256(folder / file), "tensors": sorted(shard)}
    index = {"format_version": FORMAT_VERSION, "shards": files, "split": split}
    (folder / INDEX_NAME).write_text(json.dumps(index, indent=1))
    (folder / "config.json").write_text(model.cfg.to_json())
    (folder / "tokenizer.json").write_text(tokenizer.to_str())
    return folder


def load(folder: str | Path, *, device: str | torch.device = "cpu",
         dtype: torch.dtype = torch.float32) -> tuple[Transformer, Tokenizer]:
    """Load a model folder; CheckpointError with a one-line reason if it is missing, wrong or damaged."""
    folder = Path(folder)
    cfg = read_config(folder)
    try:
        tokenizer = Tokenizer.load(folder / "tokenizer.json")
    except TokenizerError as e:
        raise CheckpointError(f"model folder {folder}: tokenizer.json is missing or invalid") from e
    if tokenizer.vocab_size != cfg.vocab_size:
        raise CheckpointError(f"model folder {folder}: tokenizer has {tokenizer.vocab_size} tokens, "
                              f"the config {cfg.vocab_size}")
    state = read_tensors(folder)
    model = Transformer(cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = [f"missing {', '.join(missing[:3])}" if missing else "",
                f"unexpected {', '.join(unexpected[:3])}" if unexpected else ""]
        raise CheckpointError(f"model folder {folder}: weights do not fit the config: "
                              + "; ".join(w for w in what if w))
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise CheckpointError(f"model folder {folder}: {name} has shape {list(tensor.shape)}, the config "
                                  f"needs {list(expected[name].shape)}")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device=device, dtype=dtype).eval(), tokenizer


def read_config(folder: Path) -> ModelConfig:
    if not folder.is_dir():
        raise CheckpointError(f"model folder {folder} does not exist")
    try:
        return ModelConfig.from_dict(json.loads((folder / "config.json").read_text()))
    except FileNotFoundError as e:
        raise CheckpointError(f"model folder {folder} has no config.json") from e
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ConfigError) as e:
        raise CheckpointError(f"model folder {folder}: config.json is invalid: {e}") from e


def read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the folder (split tensors joined), after checking the shards' checksums."""
    try:
        index = json.loads((folder / INDEX_NAME).read_text())
        shards, split = index["shards"], index["split"]
    except FileNotFoundError as e:
        raise CheckpointError(f"model folder {folder} has no {INDEX_NAME}") from e
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"model folder {folder}: {INDEX_NAME} is damaged") from e
    if index.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"model folder {folder}: format version {index.get('format_version')}, "
                              f"this Folio reads {FORMAT_VERSION}")
    state: dict[str, torch.Tensor] = {}
    for file, info in shards.items():
        path = folder / file
        if not path.is_file():
            raise CheckpointError(f"model folder {folder}: shard {file} is missing")
        if _sha256(path) != info["sha256"]:
            raise CheckpointError(f"model folder {folder}: shard {file} is damaged (checksum mismatch)")
        try:
            state.update(load_file(str(path)))
        except SafetensorError as e:
            raise CheckpointError(f"model folder {folder}: shard {file} is unreadable: {e}") from e
    for name, parts in split.items():
        if not all(p in state for p in parts):
            raise CheckpointError(f"model folder {folder}: parts of {name} are missing")
        state[name] = torch.cat([state.pop(p) for p in parts])
    return state


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(source: Transformer | str | Path) -> str:
    """Hash of config + weights identifying a model to the caches; the same for a model and its folder.

    Weights are hashed as fp32 values, so a bf16 folder and the model loaded from it agree.
    """
    if isinstance(source, Transformer):
        cfg, state = source.cfg, source.state_dict()
    else:
        folder = Path(source)
        cfg, state = read_config(folder), read_tensors(folder)
    digest = hashlib.sha256(cfg.to_json().encode())
    for name in sorted(state):
        tensor = state[name].detach().cpu()
        tensor = tensor.float() if tensor.is_floating_point() else tensor
        digest.update(f"{name}:{tensor.dtype}:{list(tensor.shape)}".encode())
        digest.update(tensor.contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]
