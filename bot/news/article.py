"""The Article: one news item, validated once at the boundary, display-ready inside.

Every text field is normalized to the display form of bot.news.persian when an Article is built,
whatever it came from (the raw-page parser, a JSON body, an admin's message). Articles read
back from khabar's own store, or built by the parser from normalized lines, skip that with
``Article.trusted(data)``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.news.persian import normalize

TEHRAN = ZoneInfo("Asia/Tehran")

# Ids travel in Redis keys, deep links (64 characters of A-Z a-z 0-9 _ -) and callback data.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
# One field of an article longer than this is not news text; it is refused, not truncated.
MAX_FIELD_CHARS = 100_000
MAX_TITLE_CHARS = 1_000

_TRUSTED = "trusted"
_WHITESPACE = re.compile(r"\s+")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _normalized(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and not (info.context or {}).get(_TRUSTED):
        return normalize(value)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_max_length=MAX_FIELD_CHARS)

    @classmethod
    def trusted(cls, data: dict[str, Any]) -> Self:
        """Build from text already in display form (khabar's store, the parser): validated,
        but not normalized again."""
        return cls.model_validate(data, context={_TRUSTED: True})


class KeyPoint(_Model):
    """A boxed «label: text» line of the page."""

    label: str | None = None
    text: str = Field(min_length=1)

    _normalize = field_validator("label", "text", mode="before")(_normalized)

    @field_validator("label")
    @classmethod
    def _empty_label_is_none(cls, value: str | None) -> str | None:
        return value or None


class Quote(_Model):
    """What someone said: «speaker، role: text», under an optional sub-heading."""

    speaker: str = Field(min_length=1, max_length=300)
    role: str | None = Field(default=None, max_length=300)
    text: str = Field(min_length=1)
    heading: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    position: int | None = Field(default=None, ge=0)
    """Where the quote stands in the story: the number of body paragraphs before it; None puts
    it after them all (articles from before quotes had a place)."""

    _normalize = field_validator("speaker", "role", "text", "heading", mode="before")(_normalized)

    @field_validator("role", "heading")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class Image(_Model):
    """The article's picture: where it is (http or https only), what it shows, whose it is."""

    url: str = Field(max_length=2_000, pattern=r"^https?://[^\s<>\"]+$")
    caption: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    credit: str | None = Field(default=None, max_length=300)

    _normalize = field_validator("caption", "credit", mode="before")(_normalized)

    @field_validator("caption", "credit")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class Article(_Model):
    id: str = Field(pattern=ID_PATTERN)
    source: str | None = Field(default=None, max_length=100)
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    lead: str | None = None
    key_points: list[KeyPoint] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    paragraphs: list[str] = Field(default_factory=list)
    published: datetime | date | None = None
    hijri_date: str | None = Field(default=None, max_length=200)
    """The Hijri date as the source printed it; never recomputed (Iran's calendar may differ
    by a day from Umm al-Qura)."""
    short_link: str | None = Field(default=None, max_length=2_000)
    url: str | None = Field(default=None, max_length=2_000, pattern=r"^https?://[^\s<>\"]+$")
    tags: list[str] = Field(default_factory=list)
    breaking: bool = False
    image: Image | None = None
    byline: str | None = Field(default=None, max_length=300)
    """The desk or agency the article is from («گروه ورزشی», «ایسنا»); never a quote."""

    _normalize = field_validator("title", "lead", "hijri_date", "byline", mode="before")(
        _normalized
    )

    @field_validator("paragraphs", "tags", mode="before")
    @classmethod
    def _normalize_items(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list):
            return [_normalized(item, info) for item in value]
        return value

    @field_validator("paragraphs", "tags")
    @classmethod
    def _drop_empty_items(cls, value: list[str]) -> list[str]:
        return [item for item in value if item]

    @field_validator("lead", "byline")
    @classmethod
    def _empty_lead_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("short_link")
    @classmethod
    def _short_link_without_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = re.sub(r"^https?://", "", value.strip()).rstrip("/")
        if not value or _WHITESPACE.search(value) or "/" not in value:
            raise ValueError("a short link looks like host/code, e.g. example.ir/7L98A")
        return value

    @field_validator("published", mode="before")
    @classmethod
    def _date_only_stays_a_date(cls, value: Any) -> Any:
        if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
            return date.fromisoformat(value.strip())
        return value

    @field_validator("published")
    @classmethod
    def _tehran_time(cls, value: datetime | date | None) -> datetime | date | None:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=TEHRAN)
            return value.astimezone(TEHRAN)
        return value

    @property
    def short_url(self) -> str | None:
        """The source's short link as a URL a reader can open."""
        return f"https://{self.short_link}" if self.short_link else None

    @property
    def link(self) -> str | None:
        """Where «ادامه مطلب» leads: the article itself, else the source's short link."""
        return self.url or self.short_url


def stable_id(*parts: str | None) -> str:
    """An id for an article whose source gave none: the same text always gives the same id."""
    digest = hashlib.blake2b("\x1f".join(p or "" for p in parts).encode(), digest_size=8)
    return "h" + digest.hexdigest()
