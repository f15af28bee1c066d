"""benchmarks/window_attention.py on CPU at a small size: both block shapes agree and the table is written."""

from benchmarks import window_attention


def test_the_benchmark_compares_block_shapes_that_agree(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Encode\n\nkept\n\n## Window attention, GPU\n\nthe H200's table\n")
    window_attention.main(["--tokens", "2048", "--windows", "512,1024", "--repeats", "1", "--device", "cpu",
                           "--out", str(out)])
    text = out.read_text()
    assert "## Encode\n\nkept" in text and "## Window attention, CPU" in text
    assert "## Window attention, GPU\n\nthe H200's table" in text  # another device's section stays
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith(("| 512 |", "| 1,024 |"))]
    assert len(rows) == 2
    assert all(float(row[-1].rstrip(" |")) < 1e-4 for row in rows)  # the same attention either way
