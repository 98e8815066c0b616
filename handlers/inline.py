"""Inline mode: `@bot <words>` in any chat searches as the reader types (the last word may be
unfinished); an empty query lists the latest articles. A result with the article's picture
sends the photo card (the picture, its caption, the card's buttons): by the file_id Telegram
gave khabar for that picture when there is one, else by its URL; an article without a
picture (or with one Telegram would not take by URL) sends the text card."""

from __future__ import annotations

from typing import Any

from telegram import (
    Bot,
    InlineQueryResult,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    Update,
)
from telegram.ext import InlineQueryHandler

from bot import metrics
from bot.news.article import Article
from bot.news.card import render
from bot.news.styles import photo_payload
from handlers import views
from handlers.common import Context, KhabarApplication, card_buttons

RESULTS_PER_PAGE = 20
MAX_OFFSET = 1000
CACHE_SECONDS = 30


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    offset = int(query.offset) if query.offset.isdigit() else 0
    offset = min(offset, MAX_OFFSET)
    services = context.services
    store = services.store
    text = query.query.strip()
    if text:
        with metrics.SEARCH_SECONDS.time():
            total, found = await store.find_page(text, offset, RESULTS_PER_PAGE, typing=True)
        articles = [article for article, _ in found]
    else:
        total, articles = await store.count(), await store.latest(offset, RESULTS_PER_PAGE)
    codes = await store.links.codes([article.id for article in articles])
    file_ids = await services.photos.file_ids([a.image.url for a in articles if a.image])
    results = [
        result(article, card_buttons(store.links, article, code), file_ids, context.bot)
        for article, code in zip(articles, codes, strict=True)
    ]
    more = offset + len(articles) < min(total, MAX_OFFSET)
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=False,
        next_offset=str(offset + len(articles)) if more and articles else None,
    )


def result(
    article: Article, buttons: dict[str, Any], file_ids: dict[str, str], bot: Bot
) -> InlineQueryResult:
    """The article's result: its photo card when it has a picture Telegram can take (known
    by its file_id, or by a URL that may be JPEG), else its text card."""
    image = article.image
    if image is not None and (image.url in file_ids or views.inline_photo_by_url(image.url)):
        file_id = file_ids.get(image.url)
        photo = views.inline_photo_result(article, photo_payload(article), buttons, file_id)
        if file_id is not None:
            return InlineQueryResultCachedPhoto.de_json(photo, bot)
        return InlineQueryResultPhoto.de_json(photo, bot)
    [message] = render(article, max_messages=1)
    return InlineQueryResultArticle.de_json(
        views.inline_result(article, message.payload(), buttons), bot
    )


def register(application: KhabarApplication) -> None:
    application.add_handler(InlineQueryHandler(inline_query))
