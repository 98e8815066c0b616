"""Inline mode: `@bot <words>` in any chat searches as the reader types (the last word may be
unfinished); an empty query lists the latest articles. Each result sends the article's card."""

from __future__ import annotations

from typing import Any

from telegram import InlineQueryResultArticle, Update
from telegram.ext import InlineQueryHandler

from bot import metrics
from bot.news.card import render
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
    store = context.services.store
    text = query.query.strip()
    if text:
        with metrics.SEARCH_SECONDS.time():
            total, found = await store.find_page(text, offset, RESULTS_PER_PAGE, typing=True)
        articles = [article for article, _ in found]
    else:
        total, articles = await store.count(), await store.latest(offset, RESULTS_PER_PAGE)
    codes = await store.links.codes([article.id for article in articles])
    results = []
    for article, code in zip(articles, codes, strict=True):
        [message] = render(article, max_messages=1)
        result: dict[str, Any] = views.inline_result(
            article, message.payload(), card_buttons(store.links, article, code)
        )
        results.append(InlineQueryResultArticle.de_json(result, context.bot))
    more = offset + len(articles) < min(total, MAX_OFFSET)
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=False,
        next_offset=str(offset + len(articles)) if more and articles else None,
    )


def register(application: KhabarApplication) -> None:
    application.add_handler(InlineQueryHandler(inline_query))
