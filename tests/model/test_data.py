import random
import sysconfig
from pathlib import Path

import pytest

from model.data import corpus as corpus_module
from model.data.codeqa import code_questions
from model.data.corpus import Corpus, find_sources, split_packages
from model.data.tasks import KINDS, make_task
from model.tokenizer import Tokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.load()


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def code_file(name: str, lines: int = 20) -> str:
    body = "\n".join(f"    value_{i} = {i} * 2  # step {i}" for i in range(lines))
    return f'def {name}():\n    """Compute {name}."""\n{body}\n    return value_0\n'


def test_find_sources_names_packages_and_filters_files(tmp_path):
    root = tmp_path / "site-packages"
    write(root / "alpha" / "core.py", code_file("core"))
    write(root / "alpha" / "docs" / "guide.md", "# Guide\n" + "Some prose about alpha.\n" * 20)
    write(root / "alpha" / "tiny.py", "x = 1\n")  # under 200 bytes
    write(root / "alpha" / "big.py", "# filler\n" * 30_000)  # over 200 KB
    write(root / "alpha" / "latin.py", "# caf\xe9\n".encode("latin-1") * 100)  # not UTF-8
    write(root / "alpha" / "__pycache__" / "core.py", code_file("cached"))
    write(root / "alpha" / "data.bin.json", "{}" * 200)  # not a text suffix we take
    write(root / "beta.py", code_file("beta"))
    write(root / "gamma-1.2.dist-info" / "LICENSE.txt", "MIT License\n" * 30)
    found = find_sources([root])
    assert sorted(found) == ["alpha", "beta", "gamma"]
    assert [p.name for p in found["alpha"]] == ["core.py", "guide.md"]
    assert [p.name for p in found["gamma"]] == ["LICENSE.txt"]


def test_split_is_by_package_deterministic_and_disjoint():
    packages = [f"pkg{i}" for i in range(200)] + [f"stdlib:mod{i}" for i in range(50)]
    train, held = split_packages(packages, held_out=0.1, seed=0)
    assert (train, held) == split_packages(list(reversed(packages)), held_out=0.1, seed=0)
    assert len(held) == 25 and not set(train) & set(held) and set(train) | set(held) == set(packages)
    assert split_packages(packages, held_out=0.1, seed=1)[1] != held  # the seed matters
    assert len(split_packages(["a", "b"], held_out=0.1)[1]) == 1  # a short list still holds one out


@pytest.mark.parametrize("workers", [1, 2])
def test_corpus_build_save_load_round_trip(tmp_path, tok, monkeypatch, workers):
    monkeypatch.setattr(corpus_module, "BATCH_BYTES", 1000)  # several batches, so workers share them
    root = tmp_path / "site-packages"
    for i in range(6):
        write(root / f"pkg{i % 3}" / f"mod{i}.py", code_file(f"func{i}", 10 + i))
    files = find_sources([root])
    corpus = Corpus.build(files, tok, ["pkg0", "pkg2"], workers=workers, roots=[root])
    assert len(corpus) == 4 and set(corpus.packages) == {"pkg0", "pkg2"}
    corpus.save(tmp_path / "saved")
    loaded = Corpus.load(tmp_path / "saved")
    for i in range(len(corpus)):
        path = corpus.path(i)
        assert path.startswith(("pkg0/mod", "pkg2/mod"))
        text = loaded.text(i)
        assert text == f"{path}\n" + (root / path).read_text()  # as the app's documents: path line, file
        assert loaded.source(i) == (root / path).read_text()
        assert loaded.doc(i).tolist() == tok.document(text).ids
        assert loaded.package(i) == path.split("/")[0]


HAYSTACK_LINE = "The quick brown fox jumps over the lazy dog near the river bank today.\n"


def haystack(count: int = 20, lines: int = 40) -> list[str]:
    return [f"doc{d}/notes.txt\n" + HAYSTACK_LINE * lines for d in range(count)]


@pytest.mark.parametrize("kind", KINDS)
def test_task_answer_lives_only_in_the_needles(kind):
    for seed in range(5):
        hay = haystack()
        task = make_task(kind, hay, random.Random(seed))
        assert task.kind == kind and len(task.documents) == len(hay)
        parts = task.values
        assert 1 <= len(parts) <= 4 and all(part in task.answer for part in parts)
        for part in parts:
            holders = [i for i, text in enumerate(task.documents) if part in text]
            assert holders and set(holders) <= set(task.needle_docs)
            assert len(holders) == 1 or kind == "vartrack"  # a chain names a variable twice
            assert part not in task.question
        if kind in ("single", "multikey"):
            assert [i for i, t in enumerate(task.documents) if task.answer in t] == [task.needle_doc]
        for i, (before, after) in enumerate(zip(hay, task.documents, strict=True)):
            assert (before == after) == (i not in task.needle_docs)
            # needles are whole lines added between the original lines
            added = [line for line in after.split("\n") if line not in before.split("\n")]
            assert after.count("\n") == before.count("\n") + len(added)


def test_a_multiquery_answer_names_each_asked_key_before_its_value():
    # "kibo-sapa: 4417385, dura-fino: 1234567": the key just written leads the next value's retrieval
    for seed in range(5):
        task = make_task("multiquery", haystack(), random.Random(seed))
        text = "".join(task.documents)
        pairs = [part.split(": ") for part in task.answer.split(", ")]
        assert [value for _, value in pairs] == task.values and len(pairs) >= 2
        keys = [key for key, _ in pairs]
        assert task.question.index(keys[0]) < task.question.index(keys[-1])  # the asked order
        for key, value in pairs:
            assert f"for {key} is: {value}." in text


def test_vartrack_chain_is_in_order():
    task = make_task("vartrack", haystack(), random.Random(3), depth=0.5)
    text = "".join(task.documents)
    names = task.answer.split(", ")
    value = task.question.split("value ")[1].split("?")[0]
    positions = [text.index(f"VAR {names[0]} = {value}.")]
    positions += [text.index(f"VAR {b} = {a}.") for a, b in zip(names, names[1:], strict=False)]
    assert positions == sorted(positions)


@pytest.mark.parametrize("depth", [0.0, 0.1, 0.37, 0.5, 0.8, 1.0])
def test_depth_places_the_needle(depth):
    task = make_task("single", haystack(), random.Random(7), depth=depth)
    text = "".join(task.documents)
    value = task.answer
    line_start = text.rfind("\n", 0, text.index(value)) + 1
    assert abs(line_start / len(text) - depth) < 0.01
    assert task.documents[task.needle_doc].count(value) == 1


SOURCE = '''"""Module docs."""

TIMEOUT = 30
NAME: str = "folio"
computed = TIMEOUT * 2


def undocumented(x):
    return x


@decorator
def parse_header(line, *, strict=False):
    """Split one header line into name and value. Raises ValueError when malformed.

    More detail here.
    """
    return line.split(":", 1)


class Reader:
    """Reads records from a stream."""

    def next_record(self):
        """Return the next record, or None at the end."""
        return None
'''


def test_code_questions_answer_from_the_source():
    found = code_questions(SOURCE, "pkg/reader.py", random.Random(0))
    lines = SOURCE.split("\n")
    by_kind = {}
    for qa in found:
        by_kind.setdefault(qa.kind, {})[qa.name] = qa
    assert set(by_kind["where"]) == {"parse_header", "Reader", "Reader.next_record"}
    where = by_kind["where"]["parse_header"]
    assert lines[where.start_line - 1] == "def parse_header(line, *, strict=False):"
    assert where.answer == ("def parse_header(line, *, strict=False): — "
                            "Split one header line into name and value.")
    method = by_kind["where"]["Reader.next_record"]
    assert lines[method.start_line - 1].strip() == "def next_record(self):"
    assert by_kind["what"]["Reader"].answer == "Reads records from a stream."
    assert by_kind["which"]["Reader.next_record"].answer == "Reader.next_record"
    assert "Return the next record" in by_kind["which"]["Reader.next_record"].question
    assert {name: qa.answer for name, qa in by_kind["value"].items()} == {"TIMEOUT": "30", "NAME": '"folio"'}
    assert code_questions("def broken(:\n", "x.py", random.Random(0)) == []


def test_owner_first_answers_name_a_methods_owner_before_its_signature():
    plain = code_questions(SOURCE, "pkg/reader.py", random.Random(0))
    owned = code_questions(SOURCE, "pkg/reader.py", random.Random(0), owner_first=True)
    assert [qa.question for qa in owned] == [qa.question for qa in plain]  # the same questions, phrased alike
    where = {qa.name: qa.answer for qa in owned if qa.kind == "where"}
    assert where["Reader.next_record"] == ("Reader.next_record: def next_record(self): — "
                                           "Return the next record, or None at the end.")
    assert where["parse_header"] == ("def parse_header(line, *, strict=False): — "
                                     "Split one header line into name and value.")  # no owner: as before
    assert where["Reader"].startswith("class Reader:")


def test_code_questions_on_real_stdlib_files():
    for relpath in ("json/decoder.py", "textwrap.py", "email/utils.py"):
        source = (STDLIB / relpath).read_text()
        lines = source.split("\n")
        found = code_questions(source, relpath, random.Random(1))
        assert any(qa.kind == "where" for qa in found)
        for qa in found:
            if qa.kind == "where":
                leaf = qa.name.rsplit(".", 1)[-1]
                starts = (f"def {leaf}(", f"class {leaf}", f"async def {leaf}(")
                assert lines[qa.start_line - 1].strip().startswith(starts)
                assert qa.answer.startswith(f"{lines[qa.start_line - 1].strip()} — ")
