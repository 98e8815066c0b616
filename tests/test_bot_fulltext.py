"""«📖 متن کامل» under a card in a private chat: the whole article as one valid right-to-left
rich message (title, every key point, every quote with its speaker), or as text messages
when rich messages are off or the Bot API refuses them. The bot polling the fake Bot API
over HTTP, the real Redis."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.news.article import Image
from bot.news.parse import parse_file
from handlers import texts
from storage.refusals import RichRefusals
from tests.conftest import ARTICLES
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram, Sent, User

READER = User(1002, "سارا")
PICTURE = Image(url="https://img.example.ir/265240.jpg", caption="زاکانی در پکن", credit="ایرنا")


async def open_full_text(h: Harness) -> tuple[list[Sent], object]:
    article = parse_file(ARTICLES[0]).model_copy(update={"image": PICTURE})
    await h.store.save(article, announce=False)
    cards = await h.send(READER, f"/link {article.id}")
    before = len(h.telegram.chat(READER.id))
    await h.press(READER, cards[-1], texts.FULL_TEXT)
    await h.telegram.wait_until(lambda: len(h.telegram.chat(READER.id)) > before)
    await asyncio.sleep(0.5)  # and whatever else comes
    return h.telegram.chat(READER.id)[before:], article


async def test_full_text_opens_the_whole_article_as_a_right_to_left_rich_message() -> None:
    async with running_bot(FakeTelegram()) as h:
        [rich], article = await open_full_text(h)
        assert rich.payload["rich_message"]["is_rtl"] in (True, "true")
        assert rich.text.splitlines()[:3] == [
            "زاکانی در پکن",
            "ایرنا",
            "گسترش همکاری کلان\u200cشهرهای ایران و چین",
        ]
        for point in article.key_points:  # type: ignore[attr-defined]
            assert point.text in rich.text
        for quote in article.quotes:  # type: ignore[attr-defined]
            assert quote.text[:40] in rich.text
            assert f"\n{quote.speaker}، {quote.role}\n" in rich.text
        assert "img.example.ir/265240.jpg" in rich.payload["rich_message"]["html"]


@pytest.mark.parametrize("refused", [True, False], ids=["bot-api-refuses", "setting-off"])
async def test_without_rich_messages_the_whole_article_comes_as_text(
    refused: bool, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = FakeTelegram()
    if refused:
        del telegram._handlers["sendrichmessage"]  # an older self-hosted Bot API: 404
    async with running_bot(telegram, rich_messages=refused) as h:
        with caplog.at_level(logging.WARNING):
            sent, _ = await open_full_text(h)
        assert sent and all("rich_message" not in s.payload for s in sent)
        assert sent[0].text.startswith("گسترش همکاری کلان\u200cشهرهای ایران و چین")
        body = "\n".join(s.text for s in sent)
        assert "💬 علیرضا زاکانی، شهردار تهران:" in body
        assert ("refused a rich message" in caplog.text) is refused


async def test_a_refusal_another_process_saw_sends_the_whole_article_as_text() -> None:
    telegram = FakeTelegram()
    async with running_bot(telegram) as h:
        other = RichRefusals(h.services.redis, h.store.keys)  # another process's
        await other.remember("Not Found: method not found")
        sent, _ = await open_full_text(h)
        assert sent and all("rich_message" not in s.payload for s in sent)
        assert telegram.calls["sendrichmessage"] == 0, "not tried: the refusal is shared"


async def test_inline_results_carry_the_picture_as_thumbnail() -> None:
    async with running_bot(FakeTelegram()) as h:
        article = parse_file(ARTICLES[0]).model_copy(update={"image": PICTURE})
        await h.store.save_many([article, parse_file(ARTICLES[1])], announce=False)
        answer = await h.inline(READER, "")
        results = answer["results"]
        assert isinstance(results, list)
        thumbnails = {r["id"]: r.get("thumbnail_url") for r in results}
        assert thumbnails == {article.id: PICTURE.url, parse_file(ARTICLES[1]).id: None}
