"""The sandbox (`khabar sandbox`): the bot as in production against a local Bot API that
behaves like Telegram (`botapi`, checking texts with `formatting`, photos and rich messages
with `media` and `rich`), the sandbox's people and chats (`chats`), a web chat to play them
(`web`, `static/`), a real Redis started when none answers (`embedded_redis`), the sample
articles (`samples/`), wired by `run`. The tests use the same Bot API
(tests/support/fake_telegram.py)."""
