"""Feeds: fetching from public addresses (fetch), RSS/Atom (rss), article pages (extract) and
the poller that runs them under a lease (poller)."""
