"""The three card styles of channel posts and broadcasts (text, photo, rich): each valid for
Telegram as its fake Bot API checks it, within its limits, from the same Article."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.news.article import Article, Image, KeyPoint, Quote
from bot.news.blocks import utf16_len
from bot.news.parse import parse_file
from bot.news.rich import MAX_BLOCKS, MAX_CHARS, MORE
from bot.news.styles import COMPACT_CHARS, MAX_CAPTION, Style, payloads
from bot.sandbox.rich import check_rich_message
from tests.conftest import ARTICLES, FIXTURES
from tests.support.telegram_html import check_message

REALNEWS = sorted((FIXTURES / "realnews" / "pages").glob("*.txt"))[:12]
PICTURE = Image(
    url="https://example.ir/photos/1.jpg?a=1&b=2", caption="زاکانی در پکن", credit="ایسنا"
)


def visible(payload: dict[str, object]) -> str:
    """What a reader sees of a payload, checked as Telegram checks it."""
    method = payload["method"]
    fields = {k: v for k, v in payload.items() if k != "method"}
    if method == "sendRichMessage":
        return check_rich_message(fields["rich_message"]).text
    if method == "sendPhoto":
        return check_message(fields, caption=True).text
    assert method == "sendMessage"
    return check_message(fields).text


@pytest.mark.parametrize("path", ARTICLES + REALNEWS, ids=[p.stem for p in ARTICLES + REALNEWS])
@pytest.mark.parametrize("style", list(Style))
def test_every_style_of_a_real_article_is_valid_and_within_its_limits(
    path: Path, style: Style
) -> None:
    article = parse_file(path)
    for pictured in (article, article.model_copy(update={"image": PICTURE})):
        [payload] = payloads(pictured, style)
        text = visible(payload)
        assert text.startswith(("🔴", pictured.title[:20])) or str(PICTURE.caption) in text
        if payload["method"] == "sendMessage":
            assert utf16_len(text) <= COMPACT_CHARS
        if payload["method"] == "sendPhoto":
            assert utf16_len(text) <= MAX_CAPTION
        if payload["method"] == "sendRichMessage":
            assert payload["rich_message"]["is_rtl"] is True


def test_photo_style_sends_the_image_with_title_lead_and_link() -> None:
    article = parse_file(ARTICLES[0]).model_copy(update={"image": PICTURE})
    [payload] = payloads(article, Style.PHOTO)
    assert set(payload) == {"method", "photo", "caption", "parse_mode"}
    assert payload["photo"] == PICTURE.url
    text = visible(payload)
    assert text.startswith("گسترش همکاری کلان\u200cشهرهای ایران و چین\n\nشهردار تهران")
    assert "🔗 newspaper.hamshahrionline.ir/7L98A" in text
    assert "📖 متن کامل" in text, "the body was left out"


def test_photo_style_without_an_image_is_the_text_card() -> None:
    article = parse_file(ARTICLES[0])
    assert payloads(article, Style.PHOTO) == payloads(article, Style.TEXT)
    assert payloads(article, Style.TEXT)[0]["method"] == "sendMessage"


def test_compact_card_has_at_most_two_quotes_and_says_when_something_is_left_out() -> None:
    article = parse_file(ARTICLES[0])
    text = visible(payloads(article, Style.TEXT)[0])
    assert text.count("💬") <= 2
    assert text.endswith("📖 متن کامل")
    short = Article(id="7", title="عنوان", lead="متن کوتاه.", url="https://example.ir/7")
    assert "متن کامل" not in visible(payloads(short, Style.TEXT)[0])


def test_rich_card_has_the_picture_title_every_key_point_and_quote_with_its_speaker() -> None:
    article = parse_file(ARTICLES[0]).model_copy(update={"image": PICTURE})
    [payload] = payloads(article, Style.RICH)
    markup = payload["rich_message"]["html"]
    parsed = check_rich_message(payload["rich_message"])
    assert parsed.media == [PICTURE.url]
    assert markup.startswith('<figure><img src="https://example.ir/photos/1.jpg?a=1&amp;b=2"/>')
    assert "<figcaption>زاکانی در پکن<cite>ایسنا</cite></figcaption>" in markup
    assert f"<h1>{article.title}</h1>" in markup
    for point in article.key_points:
        assert point.text in parsed.text
    for quote in article.quotes:
        assert f"<cite>{quote.speaker}، {quote.role}</cite>" in markup
    assert markup.endswith("</footer>")
    assert MORE not in markup


def test_a_huge_article_is_cut_at_a_block_boundary_within_the_limits() -> None:
    article = Article(
        id="9",
        title="عنوان",
        lead="لید.",
        url="https://example.ir/9",
        key_points=[KeyPoint(label="نکته", text=f"مورد {i}") for i in range(400)],
        quotes=[Quote(speaker="گوینده", text="سخن " * 50, position=i) for i in range(300)],
        paragraphs=["بند متن خبر. " * 40 for _ in range(600)],
    )
    started = time.process_time()
    [payload] = payloads(article, Style.RICH)
    assert time.process_time() - started < 0.5
    parsed = check_rich_message(payload["rich_message"])
    assert len(parsed.text) <= MAX_CHARS and parsed.blocks <= MAX_BLOCKS
    markup = payload["rich_message"]["html"]
    assert f'<p>… <a href="https://example.ir/9">{MORE}</a></p><footer>' in markup


def test_article_text_is_escaped_in_every_style() -> None:
    nasty = '<script>alert("x")</script> & <b>نه</b> &amp;'
    article = Article(
        id="1",
        title=nasty,
        lead=nasty,
        key_points=[KeyPoint(label=nasty, text=nasty)],
        quotes=[Quote(speaker=nasty, role=nasty, text=nasty)],
        paragraphs=[nasty],
        image=Image(url="https://e.ir/a.jpg?x='1'&y=2", caption=nasty, credit=nasty),
    )
    for style in Style:
        [payload] = payloads(article, style)
        assert "<script>" in visible(payload)


def test_cli_card_style_json_names_each_method_and_its_exact_parameters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    article = parse_file(ARTICLES[0]).model_copy(update={"image": PICTURE})
    path = tmp_path / "a.json"
    path.write_text(article.model_dump_json(), encoding="utf-8")
    expected = {
        "text": {"method", "text", "parse_mode", "link_preview_options"},
        "photo": {"method", "photo", "caption", "parse_mode"},
        "rich": {"method", "rich_message"},
    }
    for style, keys in expected.items():
        assert main(["card", "--json", "--style", style, str(path)]) == 0
        [payload] = json.loads(capsys.readouterr().out)["messages"]
        assert set(payload) == keys
    assert main(["card", "--json", str(path)]) == 0
    assert {p["method"] for p in json.loads(capsys.readouterr().out)["messages"]} == {"sendMessage"}
    assert main(["card", "--style", "rich", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sendRichMessage" in out and "— علیرضا زاکانی، شهردار تهران" in out
