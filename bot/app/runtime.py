"""What runs in the background of every `khabar run` process, beside the handlers: the
delivery workers, the channel poster and the feed poller (the last two only while this
process holds their leases). `Runtime.start` starts them, `stop` stops them together within
SIGTERM's 10 s, `alive` tells /healthz."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.delivery.alerts import AlertSender, AlertWording
from bot.delivery.channels import CardMaker, ChannelPoster
from bot.delivery.pauses import PauseReporter
from bot.delivery.workers import Deliverer
from bot.feeds.poller import FeedPoller
from bot.services import Services
from handlers import alert_views, texts
from handlers.views import pause_notice
from storage.alerts import AlertingSubscribers

log = logging.getLogger("khabar.app")

DELIVERY_WORKERS = 4
DELIVERY_BATCH = 16
"""Chats each delivery worker has in hand: enough in flight for paid broadcast's 1000/s."""


def delivery_bot(settings: Settings, connections: int) -> Bot:
    """The delivery workers' own Bot: no in-process rate limiter (the shared one decides)
    and enough connections for every message in flight."""
    assert settings.bot_token is not None
    request = HTTPXRequest(
        connection_pool_size=connections, read_timeout=15.0, write_timeout=15.0, pool_timeout=15.0
    )
    return Bot(
        settings.bot_token.get_secret_value(), base_url=settings.bot_api_url, request=request
    )


@dataclass
class Runtime:
    deliverer: Deliverer
    poster: ChannelPoster
    feeds: FeedPoller
    pauses: PauseReporter
    alerts: AlertSender

    @classmethod
    async def start(cls, services: Services, card: CardMaker) -> Runtime:
        settings = services.settings
        deliverer = Deliverer(
            delivery_bot(settings, DELIVERY_WORKERS * DELIVERY_BATCH + 8),
            services.outbox,
            AlertingSubscribers(services.redis, services.store.keys),  # the gone lose alerts
            services.limiter,
            paid=settings.paid_broadcast,
            workers=DELIVERY_WORKERS,
            batch=DELIVERY_BATCH,
            claim_after=settings.delivery_claim_seconds,
            max_backoff=settings.retry_max_seconds,
            allow_private_pictures=settings.feed_allow_private,
            rich_refusals=services.rich_refusals,
        )
        await deliverer.bot.initialize()
        await deliverer.start()
        poster = ChannelPoster(
            services.store,
            services.outbox,
            settings,
            card,
            max_age=timedelta(hours=settings.channel_max_age_hours),
        )
        if settings.channel_ids:
            poster.start()
        feeds = FeedPoller(services.store, settings)
        feeds.start()  # nothing to do without KHABAR_FEEDS
        pauses = PauseReporter(
            deliverer.bot, services.limiter, services.outbox, settings.admin_ids, pause_notice
        )
        pauses.start()
        wording = AlertWording(
            alert_views.with_reason, alert_views.alert_digest, texts.DIGEST_DELIVERY
        )
        alerts = AlertSender(services.store, services.outbox, settings, card, wording)
        alerts.start()
        return cls(deliverer, poster, feeds, pauses, alerts)

    def alive(self) -> bool:
        """The delivery workers are running (for /healthz)."""
        return self.deliverer.alive()

    async def stop(self) -> None:
        """Everything at once: SIGTERM allows 10 s in all."""
        stopped = await asyncio.gather(
            self.poster.stop(),
            self.deliverer.stop(),
            self.feeds.stop(),
            self.pauses.stop(),
            self.alerts.stop(),
            return_exceptions=True,
        )
        for failure in stopped:
            if isinstance(failure, Exception):
                log.error("stopping failed", exc_info=failure)
        await self.deliverer.bot.shutdown()
