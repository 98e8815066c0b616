"""What the handlers work with, built once by bot/app/ before the Application: the settings
and the storage services (`Services`), kept in the Application's typed bot_data (`BotData`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from bot.config import Settings
from storage.articles import ArticleStore
from storage.locks import Lease
from storage.outbox import Outbox
from storage.photos import Photos
from storage.ratelimit import RateLimiter
from storage.refusals import RichRefusals
from storage.sessions import Sessions
from storage.subscribers import Subscribers


@dataclass
class Services:
    settings: Settings
    redis: Redis
    store: ArticleStore
    sessions: Sessions
    subscribers: Subscribers
    outbox: Outbox
    limiter: RateLimiter
    rich_refusals: RichRefusals = field(init=False)
    """The Bot API's refusals of rich messages, as this process knows them (one per process:
    the readers' «📖 متن کامل», previews and the delivery workers share it)."""

    def __post_init__(self) -> None:
        self.rich_refusals = RichRefusals(self.redis, self.store.keys)

    @property
    def photos(self) -> Photos:
        """Pictures' file_ids and admins' photos (storage/photos.py)."""
        return Photos(self.redis, self.store.keys)


Sample = tuple[float, int, float | None]
"""When a delivery's progress was last sampled, the chats it had reached, its smoothed rate."""


@dataclass
class BotData:
    """The Application's bot_data (python-telegram-bot makes it with no arguments; the
    wiring sets `services` before the first update)."""

    services: Services | None = None
    report_leases: dict[str, Lease] = field(default_factory=dict)
    """The progress reporter's lease of each delivery this process reports."""
    report_samples: dict[str, Sample] = field(default_factory=dict)
