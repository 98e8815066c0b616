"""Smoke runs of the benchmark scripts with tiny N: they run and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_render_benchmark_prints_parse_and_render_rates() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "render.py"), "--iterations", "3"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert "articles/s" in result.stdout
    assert "cards/s" in result.stdout and "µs per card" in result.stdout


def test_persian_benchmark_prints_speed_and_repair_quality() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "persian.py"), "--iterations", "3"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert "words/s" in result.stdout and "µs cold cache" in result.stdout
    assert "zwnj.tsv" in result.stdout and "precision" in result.stdout
