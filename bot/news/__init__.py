"""The news core: the Article, Persian text, parsing pages, rendering cards, the search
analyser. Pure: no I/O beyond its own data files, no Telegram types, no settings."""
