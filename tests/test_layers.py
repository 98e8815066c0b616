"""The layer rule of README's "Where things are", checked by import-linter (`make lint`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    for package in ("bot", "handlers", "storage"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("data", "__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_code_keeps_its_layers(tmp_path: Path) -> None:
    result = lint_imports(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_storage_importing_a_handler_is_refused(tmp_path: Path) -> None:
    tree = copy_of_the_code(tmp_path)
    keys = tree / "storage" / "keys.py"
    keys.write_text(keys.read_text() + "\nfrom handlers import texts  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "storage.keys -> handlers.texts" in result.stdout, result.stdout


def test_the_news_core_importing_redis_is_refused(tmp_path: Path) -> None:
    tree = copy_of_the_code(tmp_path)
    card = tree / "bot" / "news" / "card.py"
    card.write_text(card.read_text() + "\nimport redis  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "bot.news.card -> redis" in result.stdout, result.stdout
