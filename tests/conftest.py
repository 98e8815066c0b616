from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ("tests.support.storage_fixtures", "tests.support.bot_harness")

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = sorted((FIXTURES / "articles").glob("*.txt"))
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def unescape(text: str) -> str:
    r"""Fixture files write invisible characters as \uXXXX."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            left, right = line.split("\t")
            rows.append((unescape(left), unescape(right)))
    return rows


@pytest.fixture
def fixture_article_text() -> str:
    return (FIXTURES / "articles" / "hamshahri-265240.txt").read_text(encoding="utf-8")
