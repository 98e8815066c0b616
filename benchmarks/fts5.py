"""SQLite FTS5 beside khabar: the quick embedded pick a newsroom might reach for instead.

The same articles go into an in-memory FTS5 table (title and the rest of the text, the
unicode61 tokenizer with diacritics removed), and a query is the OR of its words ranked by
FTS5's bm25(), the title weighted twice (the last word a prefix while typing).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence

from bot.news.article import Article

_WORD = re.compile(r"\w+")
TITLE_WEIGHT = 2.0


class Fts5:
    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE articles USING fts5("
            "id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )

    def add(self, articles: Sequence[Article]) -> float:
        """Insert the articles; returns the seconds it took."""
        start = time.perf_counter()
        self.db.executemany(
            "INSERT INTO articles (id, title, body) VALUES (?, ?, ?)",
            ((a.id, a.title, _body(a)) for a in articles),
        )
        self.db.commit()
        return time.perf_counter() - start

    def search(self, query: str, limit: int = 10, *, typing: bool = False) -> list[str]:
        """The best `limit` ids; with `typing`, the last word is a prefix (`"word"*`)."""
        words = [f'"{word}"' for word in _WORD.findall(query)]
        if not words:
            return []
        if typing:
            words[-1] += "*"
        match = " OR ".join(words)
        rows = self.db.execute(
            "SELECT id FROM articles WHERE articles MATCH ? "
            f"ORDER BY bm25(articles, 0, {TITLE_WEIGHT}, 1.0) LIMIT ?",
            (match, limit),
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        self.db.close()


def _body(article: Article) -> str:
    quotes = [part for quote in article.quotes for part in (quote.speaker, quote.text)]
    return "\n".join(
        [
            *article.tags,
            article.lead or "",
            *(point.text for point in article.key_points),
            *quotes,
            *article.paragraphs,
        ]
    )
