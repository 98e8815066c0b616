"""Article pages → their text: by the markup of the Nastooh CMS (Hamshahri Online, IRNA,
Khabaronline: title, lead, body, tags, «کد خبر», short link), else by trafilatura; then the
Article, structured like a raw page (bot.news.parse: key points, quotes), or, without a
usable page, the feed item's own title and summary.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import trafilatura

from bot.feeds.fetch import Response
from bot.news.article import Article, stable_id
from bot.news.parse import parse_text
from bot.news.persian import ZWNJ, normalize, search_key, to_ascii_digits
from storage.redis import redact

if TYPE_CHECKING:
    from bot.feeds.rss import Item

MAX_TAGS = 20
MAX_IMAGE_URL = 2_000
_LINK_CODE = re.compile(r"/(?:news|fa/news)/(\d{3,12})(?:/|$)")
_LINK = re.compile(r"^https?://[^\s<>\"]+$")
_ASCII_SPACE = re.compile(r"[ \t\r\f\v]+")
_CODE = re.compile(r"کد\s*(?:مطلب|خبر)\s*[:：]?\s*([0-9۰-۹٠-٩]{1,20})")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "tr",
        "table",
        "pre",
        "figure",
    }
)
# trafilatura drops every non-printing character, the half-space (ZWNJ) too, which Persian
# needs inside words; a printing stand-in no Persian text uses carries it through.
_ZWNJ_STAND_IN = "\u2058"


def clean_link(value: object) -> str | None:
    """An http(s) link as found in a feed or a page (spaces escaped), or None."""
    if not isinstance(value, str):
        return None
    link = value.strip().replace(" ", "%20")
    return link if _LINK.match(link) else None


def _has_class(name: str) -> str:
    """An XPath test for one class among several (cssselect is not a dependency)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# The Nastooh CMS (Hamshahri Online, IRNA, Khabaronline): its article markup.
_NASTOOH_TITLE = f"//h1[{_has_class('title')}]"
_NASTOOH_LEAD = f"//*[{_has_class('introtext')}]"
_NASTOOH_BODY = f"//*[{_has_class('item-body')}]//*[{_has_class('item-text')}]"
_OG_IMAGE = "//meta[@property='og:image' or @name='og:image' or @name='twitter:image']/@content"
_NASTOOH_IMAGE = f"//*[{_has_class('item-img')}]//img/@src"
_NASTOOH_TAGS = f"//*[{_has_class('tags')}]//a"
_NASTOOH_CODE = f"//*[{_has_class('item-code')}]"
_NASTOOH_SHORT_LINK = (
    f"//*[{_has_class('short-link')}]//input/@value | //*[{_has_class('short-link')}]//a/@href"
)


@dataclass
class Page:
    """What an article page holds. Lines stay raw: bot.news.parse normalizes them, and a leading
    no-break space is kept, since it boxes a key point."""

    title: str | None = None
    lead: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    code: str | None = None
    short_link: str | None = None
    published: date | None = None
    image: str | None = None
    """The page's picture: og:image, else the Nastooh lead image (absolute http(s))."""


def html_lines(html: str) -> list[str]:
    """An HTML fragment's text, a line per paragraph or <br>."""
    if not html.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return [line for line in (_ASCII_SPACE.sub(" ", html).strip(),) if line]
    return _element_lines(root)


def _element_lines(element: Any) -> list[str]:
    """The text of an element, a line per block or <br>; spaces collapsed, no-break spaces
    kept (str.strip would drop the ones that box a key point)."""
    for child in element.iter():
        if child.tag == "br":
            child.tail = "\n" + (child.tail or "")
        elif child.tag in _BLOCKS and child is not element:
            child.text = "\n" + (child.text or "")
            child.tail = "\n" + (child.tail or "")
    lines = (
        _ASCII_SPACE.sub(" ", line).strip(" \n") for line in element.text_content().split("\n")
    )
    return [line for line in lines if line.strip()]


def _html_tree(body: bytes, charset: str | None) -> Any:
    """The page as an lxml tree, decoded by the declared charset (header, then <meta>), else
    UTF-8, which nearly every Persian site uses; None when it is no HTML at all."""
    if charset is None and (found := _META_CHARSET.search(body[:4096])):
        charset = found.group(1).decode("ascii", "replace")
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = None
    parser = lxml.html.HTMLParser(encoding=charset or "utf-8", remove_comments=True)
    try:
        tree = lxml.html.document_fromstring(body, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    for junk in tree.xpath("//script | //style | //noscript | //template"):
        junk.drop_tree()
    return tree


def _page_code(tree: Any) -> str | None:
    """The source's article code, «کد خبر / کد مطلب»: Nastooh's own box, else anywhere."""
    for text in (
        " ".join(box.text_content() for box in tree.xpath(_NASTOOH_CODE)),
        tree.text_content(),
    ):
        if match := _CODE.search(text):
            return to_ascii_digits(match.group(1))
    return None


def nastooh_page(tree: Any) -> Page | None:
    """Title, lead, body paragraphs and tags by the Nastooh CMS's markup; None when the page
    is not laid out that way."""
    bodies = tree.xpath(_NASTOOH_BODY)
    if not bodies:
        return None
    paragraphs: list[str] = []
    for body in bodies:
        blocks = body.xpath(".//p")
        for block in blocks or [body]:
            paragraphs += _element_lines(block)
    titles = [" ".join(_element_lines(h1)) for h1 in tree.xpath(_NASTOOH_TITLE)]
    leads = [" ".join(_element_lines(lead)) for lead in tree.xpath(_NASTOOH_LEAD)]
    links = [
        link
        for value in tree.xpath(_NASTOOH_SHORT_LINK)
        if (link := clean_link(value)) and urlsplit(link).path.strip("/")
    ]
    return Page(
        title=next((t for t in titles if t), None),
        lead=next((lead for lead in leads if lead), None),
        paragraphs=paragraphs,
        tags=[a.text_content().strip() for a in tree.xpath(_NASTOOH_TAGS)],
        code=_page_code(tree),
        short_link=links[0] if links else None,
    )


def generic_page(tree: Any, url: str) -> Page | None:
    """The main text of any other page, by trafilatura (offline: it is given the tree)."""
    for element in tree.iter():
        if isinstance(element.tag, str):
            if element.text and ZWNJ in element.text:
                element.text = element.text.replace(ZWNJ, _ZWNJ_STAND_IN)
            if element.tail and ZWNJ in element.tail:
                element.tail = element.tail.replace(ZWNJ, _ZWNJ_STAND_IN)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        deduplicate=False,
    )

    def restored(text: object) -> str:
        return str(text or "").replace(_ZWNJ_STAND_IN, ZWNJ)

    lines = [line for line in restored(getattr(document, "text", "")).split("\n") if line.strip()]
    if not lines:
        return None
    tags = [
        tag.strip()
        for value in getattr(document, "tags", None) or []
        for tag in re.split("[،,]", restored(value))
    ]
    published = None
    with contextlib.suppress(TypeError, ValueError):
        published = date.fromisoformat(str(getattr(document, "date", "")))
    return Page(
        title=restored(getattr(document, "title", "")) or None,
        paragraphs=lines,
        tags=tags,
        code=_page_code(tree),
        published=published,
    )


def read_page(response: Response) -> Page | None:
    """What an article page holds, by the Nastooh rules, else trafilatura; None when nothing
    could be read from it."""
    tree = _html_tree(response.body, response.charset)
    if tree is None:
        return None
    page = nastooh_page(tree)
    if page is None or not (page.lead or page.paragraphs):
        page = generic_page(tree, response.url)
    if page is not None:
        page.image = page_image(tree, response.url)
    return page


def page_image(tree: Any, url: str) -> str | None:
    """og:image (or twitter:image), else the Nastooh lead image, as an absolute http(s) URL."""
    for found in (*tree.xpath(_OG_IMAGE), *tree.xpath(_NASTOOH_IMAGE)):
        if link := clean_link(urljoin(url, str(found).strip())):
            return link
    return None


# ---------------------------------------------------------------------------------------------
# Articles.


def _tags(values: Iterable[str]) -> list[str]:
    tags: dict[str, str] = {}
    for value in values:
        tag = normalize(value)[:100]
        if tag and search_key(tag) not in tags:
            tags[search_key(tag)] = tag
    return list(tags.values())[:MAX_TAGS]


def _image(url: str | None) -> dict[str, str] | None:
    return {"url": url} if url and len(url) <= MAX_IMAGE_URL else None


def _article_id(item: Item, code: str | None) -> str:
    """The page's article code, else a stable hash of the link: the same item always gets
    the same id, with or without its page."""
    if code and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", code):
        return code
    # Nastooh links carry the code too (/news/948104/...): the same id when the page fails.
    if item.link and (found := _LINK_CODE.search(urlsplit(item.link).path)):
        return found.group(1)
    return stable_id(item.link or item.key)


def page_article(page: Page, item: Item, source: str | None) -> Article:
    """The page's text structured as a raw page is (bot.news.parse: key points, quotes); the
    item gives the link, the date, and the title or tags the page lacks."""
    lines = [page.title or item.title, page.lead or "", *page.paragraphs]
    if page.short_link:
        lines.append(f"لینک کوتاه : {page.short_link}")
    parsed = parse_text(
        "\n".join(line for line in lines if line.strip()),
        name=redact(item.link or item.key),
        source=source,
    )
    return Article.trusted(
        {
            **parsed.model_dump(),
            "id": _article_id(item, page.code),
            "source": source,
            "url": item.link or parsed.url,
            "published": item.published or parsed.published or page.published,
            "tags": _tags(page.tags or item.tags),
            "image": _image(item.image or page.image),
        }
    )


def item_article(item: Item, source: str | None) -> Article:
    """The feed item alone: its title, its summary as lead and paragraphs, its date."""
    lines = list(item.summary)
    if lines and search_key(lines[0]) == search_key(item.title):
        lines = lines[1:]  # many feeds repeat the title as the summary
    return Article.model_validate(
        {
            "id": _article_id(item, None),
            "source": source,
            "title": item.title,
            "lead": lines[0] if lines else None,
            "paragraphs": lines[1:],
            "published": item.published,
            "url": item.link,
            "tags": _tags(item.tags),
            "image": _image(item.image),
        }
    )
