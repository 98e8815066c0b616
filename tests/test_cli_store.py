"""`khabar ingest`, `khabar search` and `khabar reindex` against the real Redis (a key prefix per
test)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.cli import main
from bot.ingest import MAX_KEY_POINTS
from bot.news.article import Article
from storage.keys import Keys
from tests.conftest import ARTICLES, FIXTURES
from tests.support.cluster import OwnRedis
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


REALNEWS = sorted((FIXTURES / "realnews" / "pages").glob("*.txt"))
QUERIES = ["تهران", "شورای شهر", "آلودگی هوا", "مترو"]


def searches(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    return {query: run(capsys, "search", "--json", "--limit", "20", query)[1] for query in QUERIES}


def test_reindex_rebuilds_a_lost_index_and_search_finds_what_it_did(
    capsys: pytest.CaptureFixture[str], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KHABAR_RETENTION_DAYS")  # the real news is of 2002-2007
    run(capsys, "ingest", *ARTICLES, *REALNEWS)
    before = searches(capsys)
    keys = Keys(prefix)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    announced = client.xlen(keys.new_articles())
    for key in client.scan_iter(match=f"{prefix}:idx*", count=1000):
        client.delete(key)
    assert run(capsys, "search", "تهران")[1] == ""

    code, out, err = run(capsys, "reindex", "--progress")
    assert (code, out) == (0, "")
    assert "[##############################] 59/59 articles" in err
    summary = err.splitlines()[-1]
    assert re.fullmatch(
        r"khabar: reindexed 59 articles in [\d.]+ s, [\d,]+ articles/s \(.*\)", summary
    )
    assert searches(capsys) == before and all(before.values())
    assert client.xlen(keys.new_articles()) == announced, "nothing posted again"
    code, _, _ = run(capsys, "reindex")
    assert code == 0 and searches(capsys) == before
    client.close()


def test_reindex_says_what_it_does_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["reindex", "--help"])
    out, _ = capsys.readouterr()
    assert "Rebuild the whole search index from the stored articles" in out
    assert "partial" in out and "--batch N" in out


class RedisGoesAway(io.StringIO):
    """stderr that stops the Redis server when the progress bar is first drawn: the old index
    dropped, nothing rebuilt yet."""

    def __init__(self, server: OwnRedis) -> None:
        super().__init__()
        self.server = server

    def write(self, text: str) -> int:
        if " articles/s" in text and self.server.process and self.server.process.returncode is None:
            os.kill(self.server.process.pid, signal.SIGKILL)
        return super().write(text)


@pytest.mark.slow  # a Redis server of its own, and a lock that must expire
async def test_reindex_when_redis_goes_away_fails_in_one_line_and_completes_when_run_again(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = OwnRedis()
    await own.start()
    monkeypatch.setenv("KHABAR_REDIS_URL", own.url)
    monkeypatch.delenv("KHABAR_RETENTION_DAYS")
    try:
        await asyncio.to_thread(run, capsys, "ingest", *ARTICLES, *REALNEWS)
        captured, stderr = sys.stderr, RedisGoesAway(own)
        monkeypatch.setattr(sys, "stderr", stderr)
        code = await asyncio.to_thread(main, ["reindex", "--progress"])
        monkeypatch.setattr(sys, "stderr", captured)
        last = stderr.getvalue().splitlines()[-1]
        assert code == 2 and "Traceback" not in stderr.getvalue()
        assert last.startswith("khabar: Redis failed during the reindex (")
        assert last.endswith("until `khabar reindex` runs again to the end")

        await own.process.wait()  # type: ignore[union-attr]
        await own.start()  # with its data, the lock of the run that failed too
        code, _, err = await asyncio.to_thread(run, capsys, "reindex")
        assert code == 0 and "reindexed 59 articles" in err
        assert "another reindex holds the lock; waiting" in caplog.text
        _, out, _ = await asyncio.to_thread(run, capsys, "search", "--json", "تهران")
        assert len(out.splitlines()) == 10
    finally:
        await own.close()
