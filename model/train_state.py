"""Saving and resuming a training run without pickle.

Full state (stays on the training machine): RUN/state/ = tensors.safetensors (fp32 weights, every optimizer
tensor, the torch RNG states) + meta.json (step, tokens, seconds, plan, data stream position, optimizer
hyperparameters). Written to state.tmp/ and swapped in by renames, so a crash mid-save leaves the previous
state (state/ or state.old/) readable.

Export (travels back from the GPU machine, 8 files at most): a bf16 model folder (model.checkpoint.save)
plus trainer.json (the same meta) and train-log.jsonl, from which a fresh machine resumes with the weights,
the data position and the schedule (the optimizer moments restart: they do not fit the transfer).
"""

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from model import checkpoint
from model.tokenizer import Tokenizer
from model.transformer import Transformer

STATE, STATE_TMP, STATE_OLD = "state", "state.tmp", "state.old"
TRAINER_JSON, LOG_NAME, EXPORT_LOG_NAME = "trainer.json", "log.jsonl", "train-log.jsonl"


def save_state(run: Path, model: Transformer, optimizer: torch.optim.Optimizer, meta: dict[str, Any]) -> None:
    tensors = {f"model/{name}": t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    opt = optimizer.state_dict()
    for index, slots in opt["state"].items():
        for slot, value in slots.items():
            tensors[f"opt/{index}/{slot}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng/cpu"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng/cuda"] = torch.cuda.get_rng_state()
    meta = {**meta, "param_groups": opt["param_groups"]}
    tmp, final, old = run / STATE_TMP, run / STATE, run / STATE_OLD
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(tensors, str(tmp / "tensors.safetensors"))
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def state_folder(run: Path) -> Path | None:
    """The newest complete state of a run folder, or None."""
    for name in (STATE, STATE_OLD):
        folder = run / name
        if (folder / "meta.json").is_file() and (folder / "tensors.safetensors").is_file():
            return folder
    return None


def load_state(folder: Path, model: Transformer, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore weights, optimizer and RNG from a state folder; returns its meta."""
    meta = json.loads((folder / "meta.json").read_text())
    tensors = load_file(str(folder / "tensors.safetensors"))
    model.load_state_dict({name.removeprefix("model/"): t for name, t in tensors.items()
                           if name.startswith("model/")})
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        if name.startswith("opt/"):
            _, index, slot = name.split("/")
            slots.setdefault(int(index), {})[slot] = t
    # load_state_dict moves every slot where the optimizer wants it (fused AdamW: "step" on the device too)
    optimizer.load_state_dict({"state": slots, "param_groups": meta.pop("param_groups")})
    torch.set_rng_state(tensors["rng/cpu"])
    if "rng/cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng/cuda"])
    return meta


def export(folder: Path, model: Transformer, tokenizer: Tokenizer, meta: dict[str, Any], log: Path) -> None:
    """The bf16 model folder plus trainer.json and a copy of the loss log."""
    checkpoint.save(model, folder, tokenizer, dtype=torch.bfloat16)
    (folder / TRAINER_JSON).write_text(json.dumps(meta, indent=1))
    if log.is_file():
        shutil.copyfile(log, folder / EXPORT_LOG_NAME)


def read_export(folder: Path, device: str) -> tuple[Transformer, dict[str, Any], Path | None]:
    """(model in fp32, trainer meta, its log or None) of an exported folder."""
    meta_path = folder / TRAINER_JSON
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} has no {TRAINER_JSON}: not a training export")
    model, _ = checkpoint.load(folder, device=device)
    log = folder / EXPORT_LOG_NAME
    return model.train(), json.loads(meta_path.read_text()), log if log.is_file() else None
