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


def test_search_benchmark_prints_ingest_memory_and_latency() -> None:
    from tests.storage_fixtures import TEST_REDIS_URL

    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "search.py"), "--articles", "300", "--queries", "5",
         "--analysers", "1", "--redis", TEST_REDIS_URL],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert "articles/s" in result.stdout and "B per article" in result.stdout
    for kind in ("1 word", "2 words", "3 words", "typing"):
        assert f"search {kind}" in result.stdout
    assert "p99" in result.stdout


def test_bot_benchmark_prints_reply_rate_and_latency() -> None:
    from tests.storage_fixtures import TEST_REDIS_URL

    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bot.py"), "--commands", "20", "--users", "4",
         "--rate", "20", "--redis", TEST_REDIS_URL],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert "20 commands from 4 readers" in result.stdout
    assert "replies:" in result.stdout and "p99" in result.stdout
