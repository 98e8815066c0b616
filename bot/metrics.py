"""What `GET /metrics` shows (Prometheus text format): one registry of the process, filled
where things happen. Counters are per process; Prometheus sums them over processes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

UPDATES = Counter("khabar_updates", "Telegram updates handled", registry=REGISTRY)
MESSAGES = Counter(
    "khabar_delivery_messages",
    "Chats a delivery is done with, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "khabar_rate_limited", "429 answers from Telegram (replies and deliveries)", registry=REGISTRY
)
OUTBOX_DEPTH = Gauge(
    "khabar_outbox_depth", "Entries waiting or in progress in the outbox", registry=REGISTRY
)
CARD_FALLBACKS = Counter(
    "khabar_card_fallbacks",
    "Photo or rich cards sent as text instead (the picture or the rich message was refused)",
    ["kind"],
    registry=REGISTRY,
)
FEED_POLLS = Counter("khabar_feed_polls", "Feed polls, by result", ["result"], registry=REGISTRY)
FEED_ARTICLES = Counter("khabar_feed_articles", "Articles stored from feeds", registry=REGISTRY)
SEARCH_SECONDS = Histogram(
    "khabar_search_seconds",
    "Time to answer a search (index and articles)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
