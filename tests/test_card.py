from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.news.article import TEHRAN, Article, KeyPoint, Quote
from bot.news.card import MAX_MESSAGES, payloads, render
from bot.news.parse import parse_file
from tests.conftest import ARTICLES, FIXTURES
from tests.support.telegram_html import check_message

GOLDEN = Path(__file__).parent / "golden"


def visible(article: Article) -> str:
    return "\n".join(check_message(p).text for p in payloads(article))


@pytest.mark.parametrize("path", ARTICLES, ids=[p.stem for p in ARTICLES])
def test_fixture_cards_match_the_golden_cards(path: Path) -> None:
    expected = (GOLDEN / f"{path.stem}.card.html").read_text(encoding="utf-8")
    messages = render(parse_file(path))
    assert "\n\n=====\n\n".join(m.html for m in messages) + "\n" == expected
    for message in messages:
        assert check_message(message.payload()).text == message.text


def test_a_fixture_card_reads_in_order_with_date_code_and_short_link() -> None:
    text = visible(parse_file(FIXTURES / "articles" / "hamshahri-265240.txt"))
    order = [
        "گسترش همکاری کلان\u200cشهرهای ایران و چین",
        "شهردار تهران، دوشنبه شب",
        "🔹 محل دیدار: سفارت جمهوری اسلامی ایران",
        "سازمان شهرهای متحد",
        "💬 علیرضا زاکانی، شهردار تهران:",
        "💬 رحمانی فضلی، سفیر ایران:",
        "📅 پنج\u200cشنبه ۲۴ مهر ۱۴۰۴ · کد خبر ۲۶۵۲۴۰",
        "🔗 newspaper.hamshahrionline.ir/7L98A",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "ادامه مطلب" not in text, "nothing was cut, so no «read more» link"


def test_cards_disable_link_previews_and_use_html() -> None:
    [payload] = payloads(Article(id="1", title="عنوان", lead="متن"))
    assert payload == {
        "text": "<b>عنوان</b>\n\nمتن\n\nکد خبر ۱",
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }


def test_article_text_is_escaped_intact_and_harmless() -> None:
    nasty = '<script>alert("x")</script> & <b>نه</b> &amp;'
    article = Article(
        id="1",
        title=nasty,
        lead=nasty,
        key_points=[KeyPoint(label=nasty, text=nasty)],
        quotes=[Quote(speaker=nasty, role=nasty, text=nasty, heading=nasty)],
        tags=[nasty],
    )
    [payload] = payloads(article)
    assert "<script>" not in payload["text"]
    shown = check_message(payload).text
    # title, lead, label, key point, heading, speaker, role, quote
    assert shown.count('<script>alert("x")</script> & <b>نه</b> &amp;') == 8


def test_breaking_cards_start_with_the_breaking_mark() -> None:
    text = visible(Article(id="1", title="زلزله در بم", lead="جزئیات", breaking=True))
    assert text.startswith("🔴 فوری\nزلزله در بم")


def test_tags_become_hashtags_with_underscores_and_keep_their_half_spaces() -> None:
    tags = ["کلان\u200cشهر", "ایران و چین", "!!", "جام ملت\u200cهای اروپا"]
    article = Article(id="1", title="ع", lead="م", tags=tags)
    assert visible(article).endswith("#کلان\u200cشهر #ایران_و_چین #جام_ملت\u200cهای_اروپا")


def test_published_time_is_shown_in_tehran_time() -> None:
    published = datetime(2025, 10, 16, 14, 30, tzinfo=TEHRAN)
    text = visible(Article(id="1", title="ع", lead="م", published=published))
    assert "📅 پنج\u200cشنبه ۲۴ مهر ۱۴۰۴، ساعت ۱۴:۳۰ · کد خبر ۱" in text


def test_a_breaking_title_that_says_so_shows_the_mark_once() -> None:
    for title in ("فوری: زلزله در بم", "زلزله در بم"):
        text = visible(Article(id="1", title=title, lead="جزئیات", breaking=True))
        assert text.startswith("🔴 فوری\nزلزله در بم")
        assert text.count("فوری") == 1


def test_quotes_stand_where_they_are_in_the_story() -> None:
    article = Article(
        id="1",
        title="عنوان",
        lead="پیش‌درآمد خبر.",
        paragraphs=["بند یکم خبر.", "بند دوم خبر.", "بند سوم خبر."],
        quotes=[
            Quote(speaker="وزیر کار", text="سخن دوم.", position=2),
            Quote(speaker="دکتر موسوی", text="سخن یکم.", position=1),
            Quote(speaker="قدیمی", text="نقل بی‌جا."),
        ],
    )
    text = visible(article)
    order = ["بند یکم", "دکتر موسوی", "بند دوم", "وزیر کار", "بند سوم", "قدیمی", "کد خبر"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_sub_headings_and_questions_are_bold_and_plain_paragraphs_are_not() -> None:
    article = Article(
        id="1",
        title="گفت‌وگو با یک نویسنده",
        lead="نویسنده از کتاب تازه‌اش گفت.",
        paragraphs=[
            "کتاب تازه",
            "کتاب درباره شهر است.",
            "چرا این شهر را انتخاب کردید؟",
            "زادگاهم است.",
        ],
    )
    [payload] = payloads(article)
    assert "<b>کتاب تازه</b>" in payload["text"]
    assert "<b>چرا این شهر را انتخاب کردید؟</b>" in payload["text"]
    assert "<b>کتاب درباره شهر است.</b>" not in payload["text"]
    assert "\n\nزادگاهم است." in payload["text"]


def test_every_card_links_to_the_article_short_link_or_address() -> None:
    with_url = Article(id="1", title="ع", lead="م", url="https://www.example.ir/news/1")
    [payload] = payloads(with_url)
    assert '🔗 <a href="https://www.example.ir/news/1">example.ir/news/1</a>' in payload["text"]
    both = with_url.model_copy(update={"short_link": "example.ir/AbC"})
    [payload] = payloads(both)
    assert 'href="https://example.ir/AbC"' in payload["text"]
    assert "news/1" not in payload["text"]


def test_the_byline_is_shown_small_in_the_footer_and_a_label_not_at_all() -> None:
    article = Article(
        id="1", title="ع", lead="م", byline="گروه ورزشی", published=date(2025, 10, 16)
    )
    assert "📅 پنج\u200cشنبه ۲۴ مهر ۱۴۰۴ · گروه ورزشی · کد خبر ۱" in visible(article)
    labelled = article.model_copy(update={"byline": "اشاره"})
    assert "اشاره" not in visible(labelled)


@pytest.mark.parametrize(
    "article",
    [
        Article(
            id="1",
            title="ع",
            quotes=[Quote(speaker=f"گوینده {n}", text="سخن " * 40) for n in range(3_000)],
        ),
        Article(
            id="2",
            title="ع",
            key_points=[KeyPoint(label="برچسب", text="متن") for _ in range(30_000)],
        ),
        Article(id="3", title="ع", key_points=[KeyPoint(text="متن کوتاه") for _ in range(30_000)]),
    ],
    ids=["3,000 quotes", "30,000 labelled key points", "30,000 key points"],
)
def test_thousands_of_quotes_or_key_points_build_a_valid_card_in_linear_time(
    article: Article,
) -> None:
    import time

    start = time.perf_counter()
    messages = render(article)
    assert time.perf_counter() - start < 0.5
    assert len(messages) <= MAX_MESSAGES
    for message in messages:
        check_message(message.payload())


def test_long_quotes_are_expandable() -> None:
    long = "این جمله‌ای طولانی است. " * 40
    [payload] = payloads(Article(id="1", title="ع", quotes=[Quote(speaker="الف", text=long)]))
    assert "<blockquote expandable>" in payload["text"]
    [short] = payloads(Article(id="1", title="ع", quotes=[Quote(speaker="الف", text="کوتاه")]))
    assert "<blockquote>" in short["text"]


def _sentences(count: int, word: str = "خبر") -> str:
    return " ".join(f"جمله شماره {n} درباره {word} امروز است." for n in range(count))


def test_a_long_card_is_split_in_two_at_a_sentence_end() -> None:
    article = Article(
        id="7",
        title="عنوان",
        lead=_sentences(60),
        paragraphs=[_sentences(60, "شهر")],
        short_link="example.ir/AbC12",
        published=date(2025, 10, 16),
    )
    messages = render(article)
    assert len(messages) == 2
    for message in messages:
        check_message(message.payload())
    assert messages[0].text.endswith("است.")
    assert messages[1].text.startswith("جمله شماره")
    assert "📅" in messages[1].text and "📅" not in messages[0].text
    joined = " ".join(m.text for m in messages)
    assert joined.count("جمله شماره") == 120, "nothing is lost when it fits in two"
    assert "ادامه مطلب" not in joined


def test_an_oversized_card_drops_body_first_then_shortens_quotes_and_links_to_the_rest() -> None:
    article = Article(
        id="8",
        title="عنوان",
        lead=_sentences(20),
        paragraphs=[_sentences(80, "شهر") for _ in range(3)],
        quotes=[Quote(speaker="گوینده", text=_sentences(150, "نقل"))],
        url="https://example.ir/news/8",
    )
    messages = render(article)
    assert len(messages) == MAX_MESSAGES
    text = "\n".join(check_message(m.payload()).text for m in messages)
    assert "درباره شهر" not in text, "body paragraphs go first"
    assert article.lead and article.lead in text, "the lead is kept whole"
    assert "درباره نقل" in text and "…" in text, "the quote is shortened, not dropped"
    assert text.endswith("📖 ادامه مطلب")
    assert 'href="https://example.ir/news/8">ادامه مطلب</a>' in messages[-1].html


def test_many_key_points_stay_within_the_entity_limit() -> None:
    points = [KeyPoint(label=f"برچسب {n}", text="متن") for n in range(150)]
    messages = render(Article(id="1", title="ع", key_points=points))
    assert len(messages) <= MAX_MESSAGES
    for message in messages:
        check_message(message.payload())


def test_a_20000_character_word_is_cut_not_lost_in_an_invalid_message() -> None:
    messages = render(Article(id="1", title="ع", lead="ب" * 20_000, url="https://e.ir/1"))
    assert len(messages) <= MAX_MESSAGES
    for message in messages:
        check_message(message.payload())


# ---------------------------------------------------------------------------------------------
# Property: whatever the text, every payload is valid and the essentials are on the card.

_ALPHABET = st.sampled_from(
    list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيك")
    + list("abcXYZ0123456789۱۲۳")
    + list("<>&\"'/;=#@.!?؟،؛:«»()-")
    + [" ", " ", " ", "\n", "\u00a0", "\u200c", "\u200f", "\u202b", "\u202c", "\u2066"]
    + ["😀", "🇮", "🇷", "𝔸", "\u0640", "\u064e"]
)
short_text = st.text(_ALPHABET, min_size=1, max_size=60)


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """Up to ~20,000 characters: a drawn chunk repeated, so large inputs stay cheap."""
    chunk = draw(st.text(_ALPHABET, min_size=1, max_size=300))
    return chunk * draw(st.integers(1, max(1, 20_000 // len(chunk))))


@st.composite
def articles(draw: st.DrawFn) -> Article:
    try:
        return Article(
            id=draw(st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)),
            title=draw(st.text(_ALPHABET, min_size=1, max_size=300)),
            lead=draw(st.none() | long_text()),
            key_points=draw(
                st.lists(
                    st.builds(
                        KeyPoint,
                        label=st.none() | short_text,
                        text=st.text(_ALPHABET, min_size=1, max_size=300),
                    ),
                    max_size=8,
                )
            ),
            quotes=draw(
                st.lists(
                    st.builds(
                        Quote,
                        speaker=short_text,
                        role=st.none() | short_text,
                        text=long_text(),
                        heading=st.none() | short_text,
                    ),
                    max_size=5,
                )
            ),
            paragraphs=draw(st.lists(long_text(), max_size=6)),
            published=draw(st.none() | st.dates(date(1990, 1, 1), date(2060, 12, 31))),
            short_link=draw(st.none() | st.just("newspaper.hamshahrionline.ir/7L98A")),
            url=draw(st.none() | st.just("https://example.ir/news/1?a=1&b=2")),
            tags=draw(st.lists(short_text, max_size=5)),
            breaking=draw(st.booleans()),
        )
    except ValidationError:
        assume(False)
        raise


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
@pytest.mark.slow
def test_every_card_is_valid_telegram_html_and_shows_the_essentials(article: Article) -> None:
    messages = render(article)
    assert 1 <= len(messages) <= MAX_MESSAGES
    shown = "\n".join(check_message(message.payload()).text for message in messages)
    assert article.title in shown
    for point in article.key_points:
        assert point.text in shown
        if point.label:
            assert point.label in shown
    for quote in article.quotes:
        assert quote.speaker in shown


def test_pathological_paragraphs_render_in_linear_time() -> None:
    import time

    for paragraph in ("." * 20_000, ". " * 10_000, "؟!" * 10_000):
        start = time.perf_counter()
        messages = render(Article(id="1", title="ع", paragraphs=[paragraph, "۰"]))
        assert time.perf_counter() - start < 1.0
        for message in messages:
            check_message(message.payload())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles())
@pytest.mark.slow
def test_a_one_message_card_is_valid_and_keeps_the_title(article: Article) -> None:
    [message] = render(article, max_messages=1)
    shown = check_message(message.payload()).text
    assert article.title in shown
