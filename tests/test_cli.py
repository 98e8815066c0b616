from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.news.article import Article
from tests.conftest import ARTICLES, FIXTURES
from tests.support.telegram_html import check_message

GOLDEN = Path(__file__).parent / "golden"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_prints_one_json_article_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "parse", *ARTICLES)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(ARTICLES)
    for line, path in zip(lines, ARTICLES, strict=True):
        golden = json.loads((GOLDEN / f"{path.stem}.json").read_text(encoding="utf-8"))
        assert json.loads(line) == golden
        Article.model_validate_json(line)


def test_parse_skips_a_bad_file_by_name_and_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\x00\x01\x02")
    code, out, err = run(capsys, "parse", bad, ARTICLES[0])
    assert code == 1
    assert len(out.splitlines()) == 1
    assert f"skipped {bad}: binary data" in err
    assert "Traceback" not in err


def test_card_json_gives_sendmessage_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "card", "--json", *ARTICLES)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["265240", "265301", "265488"]
    for record in records:
        assert set(record) == {"id", "messages"}
        for payload in record["messages"]:
            assert payload["parse_mode"] == "HTML"
            check_message(payload)


def test_card_prints_what_a_reader_sees(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "card", FIXTURES / "articles" / "hamshahri-265240.txt")
    assert code == 0
    assert "<b>" not in out
    assert "گسترش همکاری کلان\u200cشهرهای ایران و چین" in out
    assert "💬 علیرضا زاکانی، شهردار تهران:" in out
    assert "📅 پنج\u200cشنبه ۲۴ مهر ۱۴۰۴ · کد خبر ۲۶۵۲۴۰" in out


def test_card_reads_json_articles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"id": "5", "title": "عنوان", "lead": "متن"}]), encoding="utf-8")
    code, out, _ = run(capsys, "card", "--json", path)
    assert code == 0
    assert json.loads(out)["messages"][0]["text"] == "<b>عنوان</b>\n\nمتن\n\nکد خبر ۵"


def test_card_reports_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "card", "no-such-file.txt", ARTICLES[0])
    assert code == 1
    assert "skipped no-such-file.txt: no such file" in err
    assert "265240" in out


def test_the_khabar_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "khabar"
    result = subprocess.run(
        [str(script), "parse", str(ARTICLES[1])], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout)["id"] == "265301"
