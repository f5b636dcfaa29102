"""The benchmarks still run (at their smallest sizes, so they cannot rot); their timings are not judged here."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.benchmarks import feed as benchmark
from tests.benchmarks import suite


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


def test_the_whole_suite_prints_one_table_with_every_measure(tmp_path: Path) -> None:
    """``python -m tests.benchmarks --quick``: every measure of issue G has its line, and the JSON too."""
    out, target = io.StringIO(), tmp_path / "results.json"
    assert suite.main(["--quick", "--json", str(target)], out=out) == 0
    text = out.getvalue()
    results = json.loads(target.read_text())
    rows = {row["id"]: row for row in results["rows"]}
    assert set(rows) == set(suite.MEASURES)
    assert text.count("| measure | plugin | baseline | ratio | goal | result |") == 1
    for row in results["rows"]:
        assert f"| {row['measure']} |" in text
        assert row["result"] in ("pass", "MISS", "report")
    assert rows["feed_build"]["extra"]["same_bytes"] is True  # the baseline writes what the plugin writes
    assert rows["handbook"]["extra"]["same_site"] is True  # so does the plain-Markdown handbook
    assert results["quick"] is True and results["machine"]["nproc"]
