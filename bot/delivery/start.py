"""Starting deliveries (what the admin commands, the HTTP API and the channel poster call):
breaking news, posts to the channels, retractions; each filled into the outbox by one
process only."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.config import Settings
from bot.news.article import Article
from storage.deliveries import Delivery, Kind, Status
from storage.locks import Lease
from storage.outbox import Outbox

ENQUEUE_LEASE = 30.0


async def enqueue_if_free(outbox: Outbox, delivery_id: str) -> bool:
    """Fill the outbox from the delivery's snapshot, unless another process is at it."""
    lease = Lease(outbox.redis, outbox.keys.enqueuer(delivery_id), ENQUEUE_LEASE)
    if not await lease.acquire():
        return False
    try:
        await outbox.enqueue(delivery_id)
    finally:
        await lease.release()
    return True


async def start_breaking(
    outbox: Outbox,
    settings: Settings,
    article: Article,
    messages: list[dict[str, Any]],
    admin_chat: int | None,
) -> Delivery | None:
    """A (stored) breaking article's card to every subscriber and every channel that does not
    have it yet; None when there is nobody to send it to."""
    return await _deliver_article(
        outbox, Kind.BREAKING, article, messages, settings.channel_ids, admin_chat, True
    )


async def post_to_channels(
    outbox: Outbox,
    settings: Settings,
    article: Article,
    messages: list[dict[str, Any]],
    admin_chat: int | None = None,
) -> Delivery | None:
    """The article's card to each channel that does not have it yet; None when all do."""
    if not settings.channel_ids:
        return None
    return await _deliver_article(
        outbox, Kind.POST, article, messages, settings.channel_ids, admin_chat, False
    )


async def _deliver_article(
    outbox: Outbox,
    kind: Kind,
    article: Article,
    messages: list[dict[str, Any]],
    channels: list[str],
    admin_chat: int | None,
    subscribers: bool,
) -> Delivery | None:
    """The delivery made (channels claimed for the article, so none gets it twice) and its
    outbox filled; None when nobody is left to send it to."""
    delivery = await outbox.create(
        kind,
        messages,
        title=article.title,
        subscribers=subscribers,
        chats=channels,
        claim_for=article.id,
        article_id=article.id,
        admin_chat=admin_chat,
    )
    if delivery is not None:
        await enqueue_if_free(outbox, delivery.id)
    return delivery


RETRACT_WAIT = 20.0


async def retract(outbox: Outbox, delivery: Delivery, admin_chat: int | None) -> Delivery | None:
    """Stop the delivery and delete every message it sent (Telegram allows it for 48 h);
    None when it sent nothing. A running delivery is stopped first and given a moment to
    finish the cards on their way, so their messages are deleted too."""
    await outbox.cancel(delivery.id)
    deadline = time.monotonic() + RETRACT_WAIT
    while time.monotonic() < deadline:
        found = await outbox.get(delivery.id)
        if found is None or found.status is Status.DONE:
            break
        await asyncio.sleep(0.2)
    retraction = await outbox.create(
        Kind.RETRACT,
        [],
        title=delivery.title,
        target=delivery.id,
        admin_chat=admin_chat,
    )
    if retraction is not None:
        await enqueue_if_free(outbox, retraction.id)
    return retraction
