"""Settings: every KHABAR_ variable, read once (environment, then `.env`) and handed down."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "KHABAR_"
TELEGRAM_API_HOST = "api.telegram.org"

_CHANNEL = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+)$")
_HTTP_URL = re.compile(r"^https?://[^\s/]+[^\s]*$")
_REDIS_URL = re.compile(r"^(redis|rediss|unix)://\S*$|^memory://\S*$")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+$")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message is one line that names the variable."""


def _split_list(value: Any) -> Any:
    """`a,b` or a JSON list; an empty string is an empty list."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"not a JSON list ({error.msg})") from None
    return [item.strip() for item in value.split(",") if item.strip()]


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org/bot"
    redis_url: str = "redis://localhost:6379/0"
    redis_prefix: str = "khabar"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    channel_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    feeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    ingest_token: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    retention_days: int = Field(default=0, ge=0)
    broadcast_rate: float = Field(default=25, gt=0, le=1000)
    paid_broadcast: bool = False
    channel_max_age_hours: float = Field(default=24, gt=0)
    delivery_claim_seconds: float = Field(default=60, ge=1, le=3600)
    progress_seconds: float = Field(default=3, ge=0.1, le=60)
    retry_max_seconds: float = Field(default=30, ge=0.1, le=600)
    http_max_body: int = Field(default=1024 * 1024, ge=1024)
    feed_interval: float = Field(default=300, ge=10)
    feed_timeout: float = Field(default=20, gt=0)
    feed_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    feed_allow_private: bool = False
    channel_card: Literal["photo", "text", "rich"] = "photo"
    broadcast_card: Literal["photo", "text", "rich"] = "photo"
    rich_messages: bool = True
    topics: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alerts_per_hour: int = Field(default=5, ge=1, le=60)
    alert_digest_hour: int = Field(default=20, ge=0, le=23)
    alert_quiet_hours: str = "23-7"

    _lists = field_validator("admin_ids", "feeds", "topics", mode="before")(_split_list)

    @property
    def retention(self) -> timedelta | None:
        """How long articles are kept (KHABAR_RETENTION_DAYS); None, for 0: every one."""
        return timedelta(days=self.retention_days) if self.retention_days else None

    @property
    def quiet_hours(self) -> tuple[int, int]:
        """When alerts wait for the morning (KHABAR_ALERT_QUIET_HOURS): (from, to), Tehran."""
        start, _, end = self.alert_quiet_hours.partition("-")
        return int(start), int(end)

    @field_validator("alert_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        start, dash, end = value.strip().partition("-")
        if not (dash and start.isdigit() and end.isdigit() and int(start) < 24 > int(end)):
            raise ValueError("not two hours of the day (0-23) like 23-7")
        return f"{int(start)}-{int(end)}"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # The token itself never goes into the message.
        if value is not None and not _TOKEN.match(value.get_secret_value()):
            raise ValueError("not a bot token of the form 123456:ABC-DEF (from @BotFather)")
        return value

    @field_validator("bot_api_url", "public_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _check(_HTTP_URL, value.strip(), "an http(s) URL").rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Telegram's own servers post updates over HTTPS only; a self-hosted Bot API server
        # (telegram-bot-api --local) also posts to plain http addresses.
        api = urlsplit(str(info.data.get("bot_api_url", ""))).hostname
        if value is not None and api == TELEGRAM_API_HOST and not value.startswith("https://"):
            raise ValueError(
                "must be an https:// URL: Telegram posts updates over HTTPS only "
                "(http:// works only with a self-hosted Bot API server in KHABAR_BOT_API_URL)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        return _check(_REDIS_URL, value.strip(), "a redis://, rediss://, unix:// or memory:// URL")

    @field_validator("redis_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _check(_PREFIX, value, "a key prefix (letters, digits, _ . -)")

    @field_validator("channel_ids", mode="before")
    @classmethod
    def _channels(cls, value: Any) -> Any:
        value = _split_list(value)
        if not isinstance(value, list):
            return value
        return [_check(_CHANNEL, str(item).strip(), "@name or a numeric id") for item in value]

    @field_validator("feeds")
    @classmethod
    def _feeds(cls, value: list[str]) -> list[str]:
        return [_check(_HTTP_URL, str(item).strip(), "an http(s) URL") for item in value]

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("webhook_url"):
            # Without it anyone who finds the webhook could post updates as an admin.
            raise ValueError("required when KHABAR_WEBHOOK_URL is set (the same in every process)")
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env`; ConfigError names the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}: {message}") from None
