"""`khabar ingest` and `khabar search` against the real Redis (a key prefix per test)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.cli import main
from bot.ingest import MAX_KEY_POINTS
from bot.news.article import Article
from tests.conftest import ARTICLES
from tests.support.storage_fixtures import TEST_REDIS_URL, snapshot_now


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    prefix = f"khabar-test-cli-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("KHABAR_REDIS_URL", TEST_REDIS_URL)
    monkeypatch.setenv("KHABAR_REDIS_PREFIX", prefix)
    monkeypatch.setenv("KHABAR_RETENTION_DAYS", "3650")  # the fixtures are from 2025
    yield prefix
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def folder_of_articles(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    (folder / "nested").mkdir(parents=True)
    for path in ARTICLES[:2]:
        shutil.copy(path, folder / path.name)
    shutil.copy(ARTICLES[2], folder / "nested" / ARTICLES[2].name)
    extra = Article(id="x-1", title="بازگشایی خط ۱۰ مترو", lead="خط ۱۰ مترو تهران باز شد.")
    (folder / "more.jsonl").write_text(extra.model_dump_json() + "\n", encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"\x00\x01binary")
    (folder / ".hidden.txt").write_text("not an article", encoding="utf-8")
    return folder


def test_ingest_stores_a_folder_skips_the_bad_file_by_name_and_sums_up(
    capsys: pytest.CaptureFixture[str], prefix: str, tmp_path: Path
) -> None:
    folder = folder_of_articles(tmp_path)
    code, _, err = run(capsys, "ingest", folder, tmp_path / "missing.txt")
    assert code == 1
    assert "skipped" in err and "broken.txt" in err and "missing.txt" in err
    assert ".hidden" not in err
    assert "4 stored, 0 updated, 0 unchanged" in err and "2 files skipped" in err
    code, out, _ = run(capsys, "search", "--json", "مترو")
    assert code == 0
    assert "x-1" in [json.loads(line)["id"] for line in out.splitlines()]


def test_ingesting_again_changes_nothing(
    capsys: pytest.CaptureFixture[str], prefix: str, tmp_path: Path
) -> None:
    folder = folder_of_articles(tmp_path)
    run(capsys, "ingest", folder)
    before = snapshot_now(prefix)
    _, _, err = run(capsys, "ingest", folder)
    after = snapshot_now(prefix)
    assert "0 stored, 0 updated, 4 unchanged" in err
    assert after == before


def test_old_articles_are_not_stored(
    capsys: pytest.CaptureFixture[str], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHABAR_RETENTION_DAYS", "30")
    _, _, err = run(capsys, "ingest", ARTICLES[0])
    assert "0 stored" in err and "1 older than the retention window" in err


def test_the_progress_bar_is_drawn_when_asked(
    capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    _, _, err = run(capsys, "ingest", "--progress", *ARTICLES)
    assert "[##############################] 3/3 files, 3 articles" in err


def test_search_prints_ranked_results_or_nothing(
    capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    run(capsys, "ingest", *ARTICLES)
    code, out, _ = run(capsys, "search", "--json", "--limit", "2", "تهران")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(results) == 2
    assert set(results[0]) == {"id", "title", "published", "score"}
    assert results[0]["score"] >= results[1]["score"]
    code, out, _ = run(capsys, "search", "آلودگي", "هوا")
    assert code == 0 and "هوای تهران" in out.splitlines()[0]
    code, out, err = run(capsys, "search", "واژه‌ای‌که‌نیست")
    assert (code, out, err) == (0, "", "")


def test_an_unreachable_redis_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHABAR_REDIS_URL", "redis://:secret@127.0.0.1:1/0")
    with pytest.raises(SystemExit) as exit_:
        main(["search", "تهران"])
    _, err = capsys.readouterr()
    assert exit_.value.code == 2
    assert "Redis is unreachable" in err and "secret" not in err and len(err.splitlines()) == 1


def test_ingest_skips_an_article_over_a_size_cap_and_a_number_of_many_digits(
    capsys: pytest.CaptureFixture[str], prefix: str, tmp_path: Path
) -> None:
    points = [{"text": f"نکته {n}"} for n in range(MAX_KEY_POINTS + 1)]
    (tmp_path / "points.json").write_text(
        json.dumps({"id": "p-1", "title": "خبر", "key_points": points}), encoding="utf-8"
    )
    (tmp_path / "number.json").write_text(
        '{"id": "n-1", "title": "خبر", "published": ' + "9" * 500_000 + "}", encoding="utf-8"
    )
    code, _, err = run(capsys, "ingest", tmp_path)
    assert code == 1
    assert f"points.json: article p-1: key_points: too many key points: {MAX_KEY_POINTS + 1}" in err
    assert "number.json: invalid JSON" in err and "digits" in err
    assert "Traceback" not in err
    assert "0 stored" in err and "2 files skipped" in err


def test_a_fresh_install_keeps_an_archive_of_any_age(
    capsys: pytest.CaptureFixture[str], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KHABAR_RETENTION_DAYS")
    _, _, err = run(capsys, "ingest", *ARTICLES)
    assert "3 stored" in err and "retention" not in err
