from benchmarks.sections import replace_section

BEFORE = "# Benchmarks\n\n## Ingest\n\nold ingest\n\n## Encode\n\nold encode\nmore\n\n## Ask\n\nask\n"


def test_a_benchmark_rewrites_its_own_section_and_keeps_the_others(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(BEFORE)
    replace_section(path, "## Encode", "## Encode\n\nnew encode\n")
    assert path.read_text() == BEFORE.replace("old encode\nmore\n", "new encode\n")
    replace_section(path, "## Ask", "## Ask\n\nnew ask")  # the last section
    replace_section(path, "## Stream", "## Stream\n\nstream\n")  # a new one goes at the end
    assert path.read_text().endswith("## Encode\n\nnew encode\n\n## Ask\n\nnew ask\n\n## Stream\n\nstream\n")
