from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.news.article import TEHRAN, Article
from bot.news.parse import ParseError, load_articles, parse_bytes, parse_file, parse_text
from tests.conftest import ARTICLES, FIXTURES

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("path", ARTICLES, ids=[p.stem for p in ARTICLES])
def test_fixture_articles_parse_into_the_golden_fields(path: Path) -> None:
    expected = json.loads((GOLDEN / f"{path.stem}.json").read_text(encoding="utf-8"))
    assert parse_file(path).model_dump(mode="json") == expected


def _lines(text: str) -> list[str]:
    return text.split("\n")


def test_windows_line_endings_and_extra_blank_lines_parse_the_same(
    fixture_article_text: str,
) -> None:
    expected = parse_text(fixture_article_text)
    crlf = fixture_article_text.replace("\n", "\r\n")
    spaced = fixture_article_text.replace("\n\n", "\n\n\n\n")
    assert parse_text(crlf) == expected
    assert parse_text(spaced) == expected


def test_metadata_lines_in_another_order_and_place_parse_the_same(
    fixture_article_text: str,
) -> None:
    expected = parse_text(fixture_article_text)
    lines = _lines(fixture_article_text)
    metadata, body = lines[:6], lines[6:]
    reordered = "\n".join(body + list(reversed(metadata)))
    assert parse_text(reordered) == expected


def test_published_comes_from_the_jalali_line_when_there_is_no_gregorian_line(
    fixture_article_text: str,
) -> None:
    text = "\n".join(line for line in _lines(fixture_article_text) if "2025 Oct" not in line)
    assert parse_text(text).published == date(2025, 10, 16)


def test_gregorian_line_wins_when_the_dates_disagree_and_the_disagreement_is_logged(
    fixture_article_text: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = fixture_article_text.replace("2025 Oct 16", "2025 Oct 17")
    with caplog.at_level(logging.WARNING):
        article = parse_text(text, name="wrong-date.txt")
    assert article.published == date(2025, 10, 17)
    assert any("wrong-date.txt" in r.message and "Gregorian" in r.message for r in caplog.records)


def test_the_hijri_date_is_kept_as_printed_and_never_recomputed(
    fixture_article_text: str,
) -> None:
    # The source may print a Hijri day that differs from Umm al-Qura's; it stays as printed.
    text = fixture_article_text.replace("23 ربیع الثانی", "22 ربیع الثانی")
    article = parse_text(text)
    assert article.hijri_date == "الْخَمِیس ۲۲ ربیع الثانی ۱۴۴۷"
    assert article.published == date(2025, 10, 16)


def test_a_time_on_the_date_line_gives_a_tehran_datetime(fixture_article_text: str) -> None:
    text = fixture_article_text.replace("2025 Oct 16", "2025 Oct 16, 14:30")
    assert parse_text(text).published == datetime(2025, 10, 16, 14, 30, tzinfo=TEHRAN)


def test_an_article_without_dates_code_or_short_link_still_parses(
    fixture_article_text: str,
) -> None:
    lines = _lines(fixture_article_text)[6:]
    article = parse_text("\n".join(lines))
    assert article.published is None
    assert article.short_link is None
    assert article.source is None
    assert article.id.startswith("h")
    assert parse_text("\n".join(lines)).id == article.id, "the hash id must be stable"
    assert article.title == "گسترش همکاری کلان\u200cشهرهای ایران و چین"
    assert len(article.quotes) == 2


def test_page_furniture_never_reaches_the_article(fixture_article_text: str) -> None:
    article = parse_text(fixture_article_text)
    everything = json.dumps(article.model_dump(mode="json"), ensure_ascii=False)
    assert "اشتراک بگذارید" not in everything
    assert '"+"' not in everything and '"-"' not in everything


def test_the_repeated_title_is_kept_once(fixture_article_text: str) -> None:
    article = parse_text(fixture_article_text)
    assert article.title not in (article.lead, *article.paragraphs)


def test_quote_forms() -> None:
    text = (FIXTURES / "quote-forms.txt").read_text(encoding="utf-8")
    article = parse_text(text)
    quotes = [(q.speaker, q.role, q.text, q.heading) for q in article.quotes]
    assert quotes == [
        ("مریم احمدی", "سخنگوی شهرداری", "کار تا پایان سال تمام می‌شود.", "وعده پایان کار"),
        ("سخنگوی وزارت نیرو", None, "مصرف برق امروز رکورد زد.", None),
        ("علی رضایی", "کارشناس انرژی", "باید از همین حالا صرفه‌جویی کنیم.", None),
    ]
    assert article.lead == "این یک متن آزمایشی برای شکل‌های مختلف نقل قول است."


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"   \n\n \r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\xff\xd8\xff\xe0 bad \xfe\xfe", "not UTF-8"),
        ("کد مطلب : 1\n2025 Oct 16\n+\n-\n".encode(), "no title"),
        ("یک عنوان کوتاه\n\nاین خبر را به اشتراک بگذارید".encode(), "no article text"),
        (("متن " * 200 + "\n\nادامه").encode(), "no title"),
        (b"Just an English note\n\nwith two lines of text.", "not a Persian"),
    ],
    ids=[
        "empty",
        "blank",
        "binary",
        "undecodable",
        "metadata only",
        "title only",
        "paragraph first",
        "not persian",
    ],
)
def test_text_that_is_not_an_article_raises_a_parse_error_naming_file_and_problem(
    content: bytes, problem: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_bytes(content, name="bad.txt")
    assert str(caught.value).startswith("bad.txt: ")
    assert problem in str(caught.value)


def test_a_missing_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read"):
        parse_file(tmp_path / "missing.txt")


def test_json_and_jsonl_articles_load_and_are_normalized(tmp_path: Path) -> None:
    record = {"id": "42", "title": "خبر  فوري", "lead": "متن 2سفر"}
    (tmp_path / "one.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "many.jsonl").write_text(
        json.dumps(record) + "\n\n" + json.dumps({**record, "id": "43"}) + "\n", encoding="utf-8"
    )
    [one] = load_articles(tmp_path / "one.json")
    assert one == Article(id="42", title="خبر فوری", lead="متن ۲ سفر")
    assert [a.id for a in load_articles(tmp_path / "many.jsonl")] == ["42", "43"]


def test_invalid_json_articles_are_reported_with_the_field(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "title": "x"}\n{"id": "2"}\n')
    with pytest.raises(ParseError, match=r"bad.jsonl, line 2: not a valid article: title"):
        load_articles(tmp_path / "bad.jsonl")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ParseError, match="invalid JSON"):
        load_articles(tmp_path / "broken.json")


# ---------------------------------------------------------------------------------------------
# Real news: quotes, bylines, the story's order (tests/fixtures/structure/).

STRUCTURE = FIXTURES / "structure"


def test_a_quote_needs_a_speaker_who_is_a_name_or_a_role() -> None:
    article = parse_file(STRUCTURE / "quotes-and-bylines.txt")
    speakers = [(q.speaker, q.text) for q in article.quotes]
    assert speakers == [
        ("دکتر علیرضا دلاوری", "بیشتر بیماران از بیماری خود خبر ندارند."),
        ("رئیس فدراسیون بوکس ایران", "کمیته داوران تحت تاثیر بود."),
        ("احمد مسجدجامعی", "استقبال مردم نشانگر ظرفیت نمایشگاه است."),
        ("سردار طلایی", "امنیت شهر برقرار است."),
    ], "the speech verb and adverbs («همچنین», «در ادامه») are not part of the speaker"
    for not_a_quote in ("وی اظهار داشت:", "این مسئول افزود:", "تقسیم کرد: نخست", "ایسنا:"):
        assert any(p.startswith(not_a_quote) or not_a_quote in p for p in article.paragraphs)


def test_a_desk_or_agency_byline_leaves_the_lead_and_a_lead_is_never_a_quote() -> None:
    article = parse_file(STRUCTURE / "quotes-and-bylines.txt")
    assert article.byline == "گروه اجتماعی"
    assert article.lead == "معاون وزیر بهداشت گفت: ۲ میلیون نفر در کشور مبتلا به دیابت هستند."
    assert "گروه ورزشی: این خط نه خبر است نه نقل قول." in article.paragraphs


def test_quotes_keep_their_place_in_the_story() -> None:
    article = parse_file(STRUCTURE / "quotes-and-bylines.txt")
    before = {q.speaker: article.paragraphs[: q.position] for q in article.quotes}
    assert before["دکتر علیرضا دلاوری"] == []
    assert before["سردار طلایی"][-1].startswith("روزنامه هاآرتص")


@pytest.mark.parametrize(
    ("lead", "byline", "rest"),
    [
        ("گروه ورزشی: از تیم هشت نفره ایران", "گروه ورزشی", "از تیم هشت نفره ایران"),
        ("گروه شهری- از حدود دو ماه پیش", "گروه شهری", "از حدود دو ماه پیش"),
        ("ایسنا - ناصر حجازی امروز گفت", "ایسنا", "ناصر حجازی امروز گفت"),
        ("گروه اقتصادی _ افروز پور هاشمی: بازار", "گروه اقتصادی - افروز پور هاشمی", "بازار"),
        ("گروه بورس معاملات یک هفته گذشته", "گروه بورس", "معاملات یک هفته گذشته"),
        ("اشاره: اکنون در عصر اینترنت", "اشاره", "اکنون در عصر اینترنت"),
        (
            "گروهی از دانشجویان به دیدار وزیر رفتند.",
            None,
            "گروهی از دانشجویان به دیدار وزیر رفتند.",
        ),
    ],
)
def test_bylines_are_read_off_the_lead(lead: str, byline: str | None, rest: str) -> None:
    article = parse_text(f"عنوان خبر\n\n{lead}\n\nبند بعدی.")
    assert (article.byline, article.lead) == (byline, rest)


def test_a_repeated_lead_or_paragraph_is_kept_once_and_a_breaking_title_is_read() -> None:
    article = parse_file(STRUCTURE / "repeated-and-breaking.txt")
    assert article.breaking
    assert article.title == "زلزله ۵ ریشتری در کرمان"
    assert article.byline == "ایرنا"
    assert article.lead == "زمین‌لرزه‌ای به بزرگی ۵ ریشتر بامداد امروز کرمان را لرزاند."
    assert article.paragraphs == ["به گفته مسئولان، خسارتی گزارش نشده است."]


def test_interview_markers_and_brief_lists() -> None:
    interview = parse_file(STRUCTURE / "interview.txt")
    assert interview.title == "گفت‌وگو با یک نویسنده: خودسانسوری در ذهن نویسندگان"
    assert interview.paragraphs == [
        "آیا ادبیات داستانی ایران قدرت رقابت با ادبیات جهان را دارد؟",
        "ما نباید در پی رقابت باشیم.",
        "نظر شما درباره نقد ادبی چیست؟",
        "نقد ادبی در ایران جوان است.",
    ]
    briefs = parse_file(STRUCTURE / "briefs.txt")
    assert briefs.lead and briefs.lead.startswith("اکبر اعلمی")
    assert all(p.startswith("• ") for p in briefs.paragraphs)


def test_a_title_ending_in_a_colon_takes_the_line_under_it() -> None:
    article = parse_text(
        "علامه فضل‌الله:\n\nرایس به دنبال محور عربی ضد ایران است\n\nایسنا: متن خبر."
    )
    assert article.title == "علامه فضل‌الله: رایس به دنبال محور عربی ضد ایران است"
    assert (article.byline, article.lead) == ("ایسنا", "متن خبر.")


def test_a_line_cut_in_the_middle_of_a_sentence_is_joined() -> None:
    page = "عنوان\n\nمتن خبر.\n\nوزیر ارشاد به برپایی نمایشگاه در\n\nسراسر کشور اشاره کرد."
    assert parse_text(page).paragraphs == ["وزیر ارشاد به برپایی نمایشگاه در سراسر کشور اشاره کرد."]


def test_articles_stored_before_bylines_and_quote_places_still_load() -> None:
    old = json.loads((GOLDEN / "hamshahri-265240.json").read_text(encoding="utf-8"))
    old.pop("byline")
    for quote in old["quotes"]:
        quote.pop("position")
    article = Article.model_validate(old)
    assert article.byline is None and all(q.position is None for q in article.quotes)


@pytest.mark.parametrize("credit", ["عکس: جواد گلزار", "عکس از جواد گلزار", "عکسجواد گلزار"])
def test_a_photo_credit_is_page_furniture(credit: str) -> None:
    article = parse_text(f"عنوان خبر\n\n{credit}\n\nگروه اجتماعی - متن خبر.\n\nعکس‌های منتخب")
    assert (article.title, article.lead) == ("عنوان خبر", "متن خبر.")
    assert article.paragraphs == ["عکس‌های منتخب"]


def test_a_page_printed_in_narrow_lines_is_read_as_paragraphs() -> None:
    # HAM2-811114-099 of the Hamshahri corpus, as its columns were printed (1381).
    article = parse_file(STRUCTURE / "wrapped.txt")
    assert article.title == "نشست مشورتی دیابت با حضور نمایندگان ده کشور در تهران"
    assert article.byline == "گروه شهری"
    assert article.lead == (
        "نشست مشورتی بیماری دیابت با حضور نمایندگان ده کشور منطقه دیروز در تهران برگزار شد."
    )
    assert len(article.paragraphs) == 2
    assert article.paragraphs[1].endswith(
        "به عنوان راهکارهای اصلی پیشگیری از بیماری دیابت تاکید کردند."
    )
    assert article.quotes == [], "the end of a cut sentence before «:» is no speaker"


@pytest.mark.parametrize(
    "line",
    [
        "رئیس جمهوری عصر چهارشنبه گفت: ما آماده گفت‌وگو هستیم.",
        "رادیو بغداد گفت: خبر مهمی در راه است.",
        "همان فرد افزود: این حرف درست است.",
        "سازمان ملل اعلام کرد: کمک‌ها ارسال شد.",
    ],
)
def test_no_quote_from_a_time_a_verb_a_publication_or_an_institution(line: str) -> None:
    article = parse_text(f"عنوان خبر\n\nمتن خبر.\n\n{line}")
    assert article.quotes == []
    assert article.paragraphs == [line]


def test_the_verb_is_never_part_of_the_speaker() -> None:
    article = parse_text("عنوان خبر\n\nمتن خبر.\n\nدکتر آقازاده معتقد است: سیگار مضر است.")
    assert [(q.speaker, q.text) for q in article.quotes] == [("دکتر آقازاده", "سیگار مضر است.")]
