"""The feed benchmark still runs (at a tiny size, so it cannot rot); its timings are not judged here."""

from __future__ import annotations

import io

from tests.benchmarks import feed as benchmark


def test_the_benchmark_prints_its_table() -> None:
    out = io.StringIO()
    figures = benchmark.run([20, 50], repeat=1, size_of=50, out=out)
    text = out.getvalue()
    assert "visits" in text and "ratio" in text
    assert any(line.split()[:1] == ["50"] for line in text.splitlines())
    assert "growth 50/20" in text and "feed for 50 visits, full detail" in text
    assert "plugin and baseline write the same bytes: yes" in text
    assert figures["bytes_full"] > figures["bytes_limited"] > 0 and len(figures["rows"]) == 2


def test_the_command_line_parses_sizes(capsys) -> None:
    assert benchmark.main(["--sizes", "30", "--repeat", "1", "--size-of", "30"]) == 0
    assert "30" in capsys.readouterr().out
