"""Files no article can come from end in one line naming them, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


@pytest.mark.parametrize("command", ["card", "parse"])
def test_a_json_number_of_many_digits_is_a_skipped_file(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "number.json"
    path.write_text('{"id": "n-1", "title": "خبر", "x": ' + "9" * 500_000 + "}", encoding="utf-8")
    if command == "parse":  # parse reads raw pages: a .json file is not one
        path = path.rename(tmp_path / "number.txt")
    assert main([command, str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"khabar: skipped {path}: ") and err.count("\n") == 1
