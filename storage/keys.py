"""Every Redis key khabar uses, built in one place, all under the configured prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def _key(self, *parts: str | int) -> str:
        return ":".join((self.prefix, *(str(part) for part in parts)))

    # Articles -----------------------------------------------------------------------------
    def article(self, article_id: str) -> str:
        """Hash: json, fingerprint, published (epoch seconds), code (own short code)."""
        return self._key("article", article_id)

    def latest(self) -> str:
        """Sorted set: article id → published time (epoch seconds)."""
        return self._key("articles", "latest")

    def card(self, article_id: str, version: int) -> str:
        """String: the rendered card's payloads (JSON), for one card layout version."""
        return self._key("card", f"v{version}", article_id)

    def styled_card(self, article_id: str, version: int, style: str, digest: str) -> str:
        """String: the card's payload (JSON) in a channel/broadcast style (text, photo, rich)
        for one version of the article's content (its digest: a changed article has a new
        key; old ones expire)."""
        return self._key("card", f"v{version}", style, article_id, digest)

    def photo_file_id(self, digest: str) -> str:
        """String: the file_id Telegram gave a picture (by its URL's digest), so a broadcast
        uploads it once."""
        return self._key("photo", digest)

    def photo_bytes(self, name: str) -> str:
        """String: an admin's photo (its bytes), served at /photos/<name>.jpg."""
        return self._key("photo-bytes", name)

    # Short links --------------------------------------------------------------------------
    def short_code(self, code: str) -> str:
        """String: khabar's own short code → article id."""
        return self._key("short", code)

    def alias(self, value: str) -> str:
        """String: the source's short link or an article URL → article id."""
        return self._key("alias", value)

    def clicks(self) -> str:
        """Hash: short code → clicks."""
        return self._key("clicks")

    # Search -------------------------------------------------------------------------------
    def postings(self, term: str) -> str:
        """String: packed postings (document number, impact), 5 bytes each; storage/search.py."""
        return self._key("idx", term)

    def search_docs(self) -> str:
        """String: every document number's published time, 4 bytes each, append-only."""
        return self._key("idx-docs")

    def search_dead(self) -> str:
        """Bitmap: document numbers no longer live (replaced or removed articles)."""
        return self._key("idx-dead")

    def search_ids(self) -> str:
        """Hash: live document number → article id."""
        return self._key("idx-ids")

    def search_dirty(self) -> str:
        """Hash: term → dead postings it still holds, until compaction rewrites it."""
        return self._key("idx-dirty")

    def search_terms(self) -> str:
        """Hash: live document number → its most telling terms with their weights (the
        document's share of pseudo-relevance feedback), storage/postings.py `_tellings`."""
        return self._key("idx-terms")

    def vocabulary(self) -> str:
        """Sorted set, all scores 0: every indexed term, for completing a word (ZRANGEBYLEX)."""
        return self._key("vocabulary")

    def index_stats(self) -> str:
        """Hash: next (last document number given), documents, length (sum of lengths)."""
        return self._key("idx-stats")

    def reindexer(self) -> str:
        """String: the process rebuilding the search index (`khabar reindex`, a lease), so
        that two rebuilds never overlap."""
        return self._key("lease", "reindex")

    # Conversations (storage/sessions.py) -----------------------------------------------------
    def saved_query(self, query_id: str) -> str:
        """String: a search query behind paging buttons."""
        return self._key("query", query_id)

    def awaiting(self, chat_id: int, user_id: int) -> str:
        """String: what the user's next message in the chat answers ("search")."""
        return self._key("awaiting", chat_id, user_id)

    def draft(self, draft_id: str) -> str:
        """String: an admin's breaking article (JSON) waiting for «send»."""
        return self._key("draft", draft_id)

    def flood(self, user_id: int) -> str:
        """String: the user's updates in the current flood window."""
        return self._key("flood", user_id)

    def muted(self, user_id: int) -> str:
        """String: present while the user is ignored for flooding."""
        return self._key("muted", user_id)

    # Leases (storage/locks.py) --------------------------------------------------------------
    def poller(self) -> str:
        """String: the process that polls Telegram for updates (one at a time)."""
        return self._key("lease", "poller")

    def worker(self, name: str) -> str:
        """String: present while the delivery worker `name` is alive (renewed, with expiry)."""
        return self._key("lease", "worker", name)

    def enqueuer(self, delivery_id: str) -> str:
        """String: the process putting a delivery's chats into the outbox (one at a time)."""
        return self._key("lease", "enqueue", delivery_id)

    def reporter(self, delivery_id: str) -> str:
        """String: the process editing a delivery's progress message (one at a time)."""
        return self._key("lease", "report", delivery_id)

    def channel_poster(self) -> str:
        """String: the process turning newly stored articles into channel posts."""
        return self._key("lease", "channels")

    # Subscribers --------------------------------------------------------------------------
    def subscriber(self, chat_id: int) -> str:
        """Hash: kind, language, since."""
        return self._key("subscriber", chat_id)

    def subscribers(self) -> str:
        """Sorted set: chat id → subscription time; paged with ZSCAN/ZRANGE."""
        return self._key("subscribers")

    def subscriber_kinds(self) -> str:
        """Hash: kind → number of subscribers of that kind."""
        return self._key("subscribers", "kinds")

    # Delivery (storage/outbox.py) ---------------------------------------------------------
    def outbox(self) -> str:
        """Stream: one entry per (delivery, chat) still to do; consumer group "workers"."""
        return self._key("outbox")

    def delivery_numbers(self) -> str:
        """String: the last delivery number given (INCR)."""
        return self._key("deliveries", "next")

    def deliveries(self) -> str:
        """Sorted set: delivery id → creation time (epoch seconds)."""
        return self._key("deliveries")

    def active_deliveries(self) -> str:
        """Set: deliveries not yet finished and reported."""
        return self._key("deliveries", "active")

    def delivery(self, delivery_id: str) -> str:
        """Hash: what is sent (payloads JSON), to whom, status, counters; storage/outbox.py."""
        return self._key("delivery", delivery_id)

    def delivery_chats(self, delivery_id: str) -> str:
        """Sorted set: the chats a delivery goes to, a snapshot taken when it was created,
        dropped once they are all in the outbox."""
        return self._key("delivery", delivery_id, "chats")

    def delivery_sent(self, delivery_id: str) -> str:
        """Hash: chat → the message ids sent there ("12,13"); kept 48 h for /retract."""
        return self._key("delivery", delivery_id, "sent")

    def delivery_inflight(self, delivery_id: str) -> str:
        """Hash: chat → the card message being sent there now (its number, from 0)."""
        return self._key("delivery", delivery_id, "inflight")

    def delivery_errors(self, delivery_id: str) -> str:
        """Hash: chat → why the delivery to it failed or was given up."""
        return self._key("delivery", delivery_id, "errors")

    def posted(self, channel: str) -> str:
        """Set: ids of the articles posted (or being posted) to a channel."""
        return self._key("posted", channel)

    def new_articles(self) -> str:
        """Stream: ids of articles stored for the first time (to post to the channels)."""
        return self._key("articles", "new")

    def last_error(self) -> str:
        """String: the last delivery error, for /stats."""
        return self._key("deliveries", "last-error")

    # Rate limits (storage/ratelimit.py) -------------------------------------------------------
    def rate(self, name: str) -> str:
        """String: a limiter's theoretical arrival time (GCRA), in ms of Redis time."""
        return self._key("rate", name)

    def chat_rate(self, chat: str) -> str:
        """String: one chat's limiter (GCRA)."""
        return self._key("rate", "chat", chat)

    def pause(self) -> str:
        """String: present while Telegram asked the bot to wait (429 retry_after); its TTL is
        the time left."""
        return self._key("pause")

    def pause_reported(self) -> str:
        """String, living as long as the pause it stands for: the admins were told of it (one
        process tells them, once)."""
        return self._key("pause", "reported")

    # What the Bot API refused (storage/refusals.py) ---------------------------------------
    def rich_refused(self) -> str:
        """String: present while rich messages go as text because the Bot API refused one
        (its description); the TTL is the time left (RICH_RETRY_AFTER), for every process."""
        return self._key("refused", "rich")

    # Feeds (storage/feeds.py) ---------------------------------------------------------------
    def feed_poller(self) -> str:
        """String: the process that polls the RSS/Atom feeds (a lease, one at a time)."""
        return self._key("lease", "feeds")

    def feed(self, feed_id: str) -> str:
        """Hash: one feed's poll state (url, etag, last_modified, next_poll, period, failures,
        last_error, last_result, last_polled); `feed_id` is a digest of the feed's URL."""
        return self._key("feed", feed_id)

    def feed_seen(self, feed_id: str) -> str:
        """Sorted set: digests of the items a feed has shown (guid, else link) → when last
        seen in it (epoch seconds)."""
        return self._key("feed", feed_id, "seen")

    # Telegram's webhook (storage/updates.py) --------------------------------------------------
    def update_seen(self, update_id: int) -> str:
        """String, with a TTL of about a day: present once an update posted to the webhook
        has been taken, so one Telegram sends again is handled once, by whichever process."""
        return self._key("update", update_id)

    # Short links, continued (storage/shortlinks.py) ---------------------------------------------
    def source_code(self, code: str) -> str:
        """String: the code of a source's short link alone («7L98A» of
        newspaper.hamshahrionline.ir/7L98A) → article id; khabar's own codes come first."""
        return self._key("alias-code", code)

    # Alerts: words and topics readers follow (storage/alerts.py, storage/alert_queue.py) ------
    def alerts(self, chat: int) -> str:
        """Hash: a chat's alerts, alert id (a digest of its terms) → JSON {text, spec, key}."""
        return self._key("alerts", chat)

    def alert_index(self, term: str) -> str:
        """Set: the alerts whose rarest term is `term`, each as "chat:alert id:spec" (the
        spec is every term the alert needs, so a candidate is checked without a lookup)."""
        return self._key("alert-idx", term)

    def alert_chats(self) -> str:
        """Set: chats that follow at least one word or topic (for /stats)."""
        return self._key("alert-chats")

    def alert_words(self) -> str:
        """Sorted set: an alert's words as readers see them → how many chats follow them."""
        return self._key("alert-words")

    def alert_prefs(self, chat: int) -> str:
        """Hash: how a chat gets its alerts: mode (now | digest), hour (the digest's, Tehran
        time), quiet (1: nothing at night, held for the morning), paused (1: nothing)."""
        return self._key("alert-prefs", chat)

    def topic_followers(self, topic: str) -> str:
        """Set: chats following a topic (the topic in search-key form)."""
        return self._key("topic", topic)

    def chat_topics(self, chat: int) -> str:
        """Set: the topics a chat follows, as KHABAR_TOPICS names them."""
        return self._key("alert-topics", chat)

    def alert_pending(self, chat: int) -> str:
        """Sorted set: "article id<TAB>reason" held for a chat's digest (or for the morning)
        → when it goes out (epoch seconds)."""
        return self._key("alert-pending", chat)

    def alert_due(self) -> str:
        """Sorted set: chat → the earliest time one of its held alerts goes out."""
        return self._key("alert-due")

    def alert_ready(self) -> str:
        """List: alert deliveries waiting for the outbox, JSON {article, reason, chats};
        taken from the head once created (breaking news and a short outbox first)."""
        return self._key("alert-ready")

    def alert_count(self, chat: int, hour: int) -> str:
        """String with a TTL of an hour: alerts sent at once to a chat in that hour."""
        return self._key("alert-count", chat, hour)

    def alert_matcher(self) -> str:
        """String: the process matching new articles against alerts (a lease)."""
        return self._key("lease", "alerts")

    def alert_matched(self) -> str:
        """Sorted set: article id → when it was matched against the alerts (kept a week), so
        an article stored and then sent as breaking news is matched once."""
        return self._key("alert-matched")

    def alert_cursor(self) -> str:
        """String: the creation time of the last delivery the alert matcher looked at (for
        breaking news and posts, which do not come by the new-articles stream)."""
        return self._key("alert-cursor")

    def alert_terms(self) -> str:
        """Set: every term some alert is filed under (what the matcher's copy loads)."""
        return self._key("alert-terms")

    def alert_changes(self) -> str:
        """Stream: alerts filed and removed ({op: + or -, term, member}), capped, for the
        matcher's copy of the index to follow."""
        return self._key("alert-changes")
