"""Hostile bodies on the HTTP API (over real HTTP, real Redis): never a 500, and what is stored
stays within the size caps and free of control characters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.ingest import MAX_KEY_POINTS, MAX_PARAGRAPHS, MAX_QUOTES, MAX_TEXT_CHARS
from tests.test_web import Web, article, serving
from tests.test_web import web as web  # the fixture


@pytest.fixture
async def roomy() -> AsyncIterator[Web]:
    """The server with the default body cap (1 MB), room for a hostile body."""
    async with serving(http_max_body=1024 * 1024) as running:
        yield running


async def test_lone_surrogates_are_a_400_not_a_500(web: Web) -> None:
    for path, body in (
        ("/api/breaking", '{"text": "\\ud800 خبر فوری\\nمتن خبر"}'),
        ("/api/articles", '{"id": "s-1", "title": "\\udfff خبر"}'),
        ("/api/articles", '{"id": "s-2", "title": "خبر", "\\ud800": 1}'),
        ("/api/breaking", '{"id": "s-3", "title": "خبر", "tags": ["\\ud83d"]}'),
    ):
        status, answer = await web.post(path, body=body)
        assert status == 400, (path, body, answer)
        assert "surrogate" in answer["error"]
    assert await web.services.store.count() == 0


async def test_a_surrogate_pair_is_one_character_and_fine(web: Web) -> None:
    status, answer = await web.post(
        "/api/articles", body='{"id": "e-1", "title": "خبر خوب \\ud83d\\ude00"}'
    )
    assert status == 201, answer
    stored = await web.services.store.get("e-1")
    assert stored is not None and stored.title.endswith("😀")


async def test_a_number_of_500000_digits_is_a_400(roomy: Web) -> None:
    body = '{"id": "n-1", "title": "خبر", "published": ' + "9" * 500_000 + "}"
    for path in ("/api/articles", "/api/breaking"):
        status, answer = await roomy.post(path, body=body)
        assert status == 400, answer
        assert answer["error"].startswith("invalid JSON") and "digits" in answer["error"]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("key_points", [{"text": f"نکته {n}"} for n in range(MAX_KEY_POINTS + 1)], "key points"),
        (
            "quotes",
            [{"speaker": "علی", "text": f"سخن {n}"} for n in range(MAX_QUOTES + 1)],
            "quotes",
        ),
        ("paragraphs", [f"بند {n}" for n in range(MAX_PARAGRAPHS + 1)], "paragraphs"),
        ("title", "خبر " * 200, "characters"),
        ("lead", "خبر " * 2_000, "characters"),
    ],
)
async def test_an_article_over_a_size_cap_is_a_422_naming_the_field(
    web: Web, field: str, value: Any, words: str
) -> None:
    for path in ("/api/articles", "/api/breaking"):
        status, answer = await web.post(path, article("big-1", **{field: value}))
        assert status == 422, (path, answer)
        [error] = answer["errors"]
        assert error["field"] == field
        assert words in error["message"] and "at most" in error["message"]
    assert await web.services.store.count() == 0


async def test_an_article_over_the_text_cap_is_a_422(roomy: Web) -> None:
    paragraphs = ["متن " * 2_500] * (MAX_TEXT_CHARS // 10_000 + 1)
    status, answer = await roomy.post(
        "/api/articles", [article("ok"), article("big", paragraphs=paragraphs)]
    )
    assert status == 422, answer
    assert answer["errors"] == [
        {"index": 1, "field": None, "message": answer["errors"][0]["message"]}
    ]
    assert f"{MAX_TEXT_CHARS:,}" in answer["errors"][0]["message"]
    assert await roomy.services.store.count() == 0


async def test_a_quote_heavy_article_at_the_caps_is_stored(web: Web) -> None:
    quotes = [{"speaker": "علی", "text": f"سخن شماره {n}"} for n in range(MAX_QUOTES)]
    status, answer = await web.post("/api/articles", article("q-ok", quotes=quotes))
    assert status == 201, answer


async def test_control_characters_are_stripped_from_what_is_stored(web: Web) -> None:
    title = "خبر\x00 تازه\x07 از\x1b[31m تهران\x7f\x85"
    status, answer = await web.post(
        "/api/articles",
        article("c-1", title=title, paragraphs=["سطر اول\nسطر\x0b دوم"], tags=["\x01ورزش"]),
    )
    assert status == 201, answer
    stored = await web.services.store.get("c-1")
    assert stored is not None
    for text in (stored.title, *stored.paragraphs, *stored.tags):
        assert not any(ord(char) < 32 and char not in "\t\n\r" for char in text), text
        assert not any(0x7F <= ord(char) <= 0x9F for char in text), text
    assert stored.title.startswith("خبر تازه از")
    assert stored.tags == ["ورزش"]

    status, answer = await web.post(
        "/api/breaking", {"text": "فوری\x00\x02: زلزله در تهران\nمتن\x1f خبر"}
    )
    assert status == 200, answer
    breaking = await web.services.store.get(answer["article"]["id"])
    assert breaking is not None and "\x00" not in breaking.title and "\x02" not in breaking.title


async def test_control_characters_in_a_raw_page_are_stripped(web: Web) -> None:
    body = "افتتاح خط\x07 تازه مترو در تهران\nخط ۱۰ مترو\x1b امروز به بهره‌برداری رسید.\n"
    status, answer = await web.post(
        "/api/articles", body=body.encode(), content_type="text/plain; charset=utf-8"
    )
    assert status == 201, answer
    stored = await web.services.store.get(answer["articles"][0]["id"])
    assert stored is not None and "\x07" not in stored.title
