"""Smoke runs of the benchmark scripts with tiny N: they run and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # processes or benchmarks: not in make test-fast

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_render_benchmark_prints_parse_and_render_rates() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "render.py"), "--iterations", "3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "articles/s" in result.stdout
    assert "cards/s" in result.stdout and "µs per card" in result.stdout
    for style in ("text", "photo", "rich"):
        assert f"{style} style:" in result.stdout


def test_persian_benchmark_prints_speed_and_repair_quality() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "persian.py"), "--iterations", "3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "words/s" in result.stdout and "µs cold cache" in result.stdout
    assert "zwnj.tsv" in result.stdout and "precision" in result.stdout


def test_search_benchmark_prints_ingest_memory_and_latency() -> None:
    from tests.support.storage_fixtures import TEST_REDIS_URL

    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "search.py"),
            "--articles",
            "300",
            "--queries",
            "5",
            "--analysers",
            "1",
            "--redis",
            TEST_REDIS_URL,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "articles/s" in result.stdout and "B per article" in result.stdout
    for kind in ("1 word", "2 words", "3 words", "typing"):
        assert f"search {kind}" in result.stdout
    assert "p99" in result.stdout
    assert "FTS5 p50" in result.stdout and "× FTS5's" in result.stdout


def test_bot_benchmark_prints_reply_rate_and_latency() -> None:
    from tests.support.storage_fixtures import TEST_REDIS_URL

    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bot.py"),
            "--commands",
            "20",
            "--users",
            "4",
            "--rate",
            "20",
            "--redis",
            TEST_REDIS_URL,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "20 commands from 4 readers" in result.stdout
    assert "replies:" in result.stdout and "p99" in result.stdout


def test_bot_benchmark_burst_run_prints_429s_reply_p99_and_delivered_rate() -> None:
    from tests.support.storage_fixtures import TEST_REDIS_URL

    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bot.py"),
            "--burst",
            "20",
            "--subscribers",
            "30",
            "--redis",
            TEST_REDIS_URL,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "429s: 0;" in result.stdout, result.stdout
    assert "replies: 20 of 20" in result.stdout
    assert "delivered 30 at" in result.stdout


def test_broadcast_benchmark_prints_rates_losses_and_the_bare_ceiling() -> None:
    from tests.support.storage_fixtures import TEST_REDIS_URL

    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "broadcast.py"),
            "--enqueue",
            "300",
            "--free",
            "30",
            "--paid",
            "100",
            "--processes",
            "1",
            "--blocked-every",
            "10",
            "--redis",
            TEST_REDIS_URL,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("enqueue 300 subscribers: snapshot")
    [free] = [line for line in lines if line.startswith("free limits")]
    assert "27 messages" in free and "429s 0; lost 0; duplicated 0" in free
    [bare] = [line for line in lines if line.startswith("bare send loop")]
    assert "100 messages" in bare
    [paid] = [line for line in lines if line.startswith("paid broadcast")]
    assert "90 messages" in paid and "lost 0; duplicated 0" in paid and "of the bare loop" in paid
