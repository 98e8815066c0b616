"""The sandbox (`khabar sandbox`): the bot as in production against a local Bot API that
behaves like Telegram (`botapi`, validating with `formatting`), a web chat to play its users
(`web`, `static/`), a real Redis started when none answers (`redis`), the sample articles
(`samples/`), wired by `run`."""
