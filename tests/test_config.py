from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KHABAR_ variable or .env of the machine leaks into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("KHABAR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_those_of_the_design() -> None:
    settings = load_settings()
    assert settings.bot_api_url == "https://api.telegram.org/bot"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.redis_prefix == "khabar"
    assert settings.admin_ids == [] and settings.channel_ids == [] and settings.feeds == []
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.broadcast_rate == 25 and settings.paid_broadcast is False
    assert settings.bot_token is None and settings.ingest_token is None
    assert settings.webhook_url is None and settings.webhook_secret is None


@pytest.mark.parametrize("value", ["1,2", " 1 , 2 ", "[1, 2]", "[1,2]"])
def test_lists_take_commas_or_json(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KHABAR_ADMIN_IDS", value)
    assert load_settings().admin_ids == [1, 2]


def test_channels_take_names_and_numeric_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_CHANNEL_IDS", '["@khabar_fa", -1001234567890]')
    assert load_settings().channel_ids == ["@khabar_fa", "-1001234567890"]
    monkeypatch.setenv("KHABAR_FEEDS", "https://a.ir/rss,http://b.ir/feed.xml")
    assert load_settings().feeds == ["https://a.ir/rss", "http://b.ir/feed.xml"]


def test_dot_env_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KHABAR_REDIS_PREFIX=staging\nKHABAR_PAID_BROADCAST=true\n")
    settings = load_settings()
    assert settings.redis_prefix == "staging" and settings.paid_broadcast is True


def test_the_environment_wins_over_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("KHABAR_REDIS_PREFIX=from_file\n")
    monkeypatch.setenv("KHABAR_REDIS_PREFIX", "from_env")
    assert load_settings().redis_prefix == "from_env"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KHABAR_HTTP_PORT", "eighty"),
        ("KHABAR_HTTP_PORT", "70000"),
        ("KHABAR_ADMIN_IDS", "1,abc"),
        ("KHABAR_ADMIN_IDS", "[1,"),
        ("KHABAR_CHANNEL_IDS", "news"),
        ("KHABAR_FEEDS", "ftp://x.ir/feed"),
        ("KHABAR_REDIS_URL", "mysql://x"),
        ("KHABAR_PUBLIC_URL", "example.ir"),
        ("KHABAR_BROADCAST_RATE", "0"),
        ("KHABAR_PAID_BROADCAST", "maybe"),
        ("KHABAR_WEBHOOK_SECRET", "has spaces!"),
    ],
)
def test_an_invalid_value_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_a_bad_token_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_BOT_TOKEN", "oops-secret-value")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "KHABAR_BOT_TOKEN" in str(caught.value)
    assert "oops-secret-value" not in str(caught.value)


def test_secrets_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_BOT_TOKEN", "123456:AAH-tokenvalue")
    monkeypatch.setenv("KHABAR_INGEST_TOKEN", "ingestvalue")
    settings = load_settings()
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "tokenvalue" not in shown and "ingestvalue" not in shown
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123456:AAH-tokenvalue"


def test_an_http_webhook_url_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_WEBHOOK_URL", "http://khabar.example.ir")
    monkeypatch.setenv("KHABAR_WEBHOOK_SECRET", "hook-secret")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("KHABAR_WEBHOOK_URL: ") and "https" in message
    assert "\n" not in message
    monkeypatch.setenv("KHABAR_WEBHOOK_URL", "https://khabar.example.ir")
    assert load_settings().webhook_url == "https://khabar.example.ir"


def test_a_self_hosted_bot_api_may_post_updates_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """telegram-bot-api --local posts to plain http addresses, as the fake server of the
    tests does."""
    monkeypatch.setenv("KHABAR_BOT_API_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("KHABAR_WEBHOOK_URL", "http://bot:8080")
    monkeypatch.setenv("KHABAR_WEBHOOK_SECRET", "hook-secret")
    assert load_settings().webhook_url == "http://bot:8080"


def test_khabar_run_with_an_http_webhook_says_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("KHABAR_BOT_TOKEN", "123456:AAH-token")
    monkeypatch.setenv("KHABAR_WEBHOOK_URL", "http://khabar.example.ir")
    monkeypatch.setenv("KHABAR_WEBHOOK_SECRET", "hook-secret")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("khabar: KHABAR_WEBHOOK_URL: ") and err.count("\n") == 1


def test_retention_is_off_by_default_and_n_days_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.retention_days == 0 and settings.retention is None
    monkeypatch.setenv("KHABAR_RETENTION_DAYS", "30")
    assert load_settings().retention == timedelta(days=30)
    monkeypatch.setenv("KHABAR_RETENTION_DAYS", "-1")
    with pytest.raises(ConfigError, match=r"^KHABAR_RETENTION_DAYS: "):
        load_settings()
