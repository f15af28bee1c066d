"""A small real corpus (standard-library packages: email, urllib to train on, json held out) and a random
hsa-tiny model folder, for the evaluation scripts' CPU runs."""

import shutil
import sysconfig
from pathlib import Path

import pytest
import torch

from model import checkpoint
from model.config import ModelConfig
from model.data.corpus import Corpus, find_sources
from model.tokenizer import Tokenizer
from model.transformer import Transformer

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SPLIT = {"train": ["email", "urllib"], "heldout": ["json"]}


def build_corpus(folder: Path, tokenizer: Tokenizer, max_files: int = 6) -> Path:
    """folder/train and folder/heldout from copies of a few small standard-library files."""
    root = folder / "lib"
    for packages in SPLIT.values():
        for package in packages:
            shutil.copytree(STDLIB / package, root / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    files = {name: sorted(paths, key=lambda p: p.stat().st_size)[:max_files]
             for name, paths in find_sources([root]).items()}
    for split, packages in SPLIT.items():
        Corpus.build(files, tokenizer, packages, workers=1, roots=[root]).save(folder / "corpus" / split)
    return folder / "corpus"


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer.load()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory, tokenizer) -> Path:
    return build_corpus(tmp_path_factory.mktemp("eval-corpus"), tokenizer)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-model")
    checkpoint.save(Transformer(ModelConfig.from_name("hsa-tiny")), folder, tokenizer)
    return folder
