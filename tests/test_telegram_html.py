from __future__ import annotations

import pytest

from tests.support.telegram_html import TelegramError, check_message, parse_html


def html(text: str) -> dict[str, str]:
    return {"text": text, "parse_mode": "HTML"}


def test_valid_html_gives_visible_text_and_utf16_entities() -> None:
    parsed = check_message(
        html('😀 <b>خبر</b> &lt;x&gt; &amp; <a href="https://a.ir/?q=1&amp;b=2">لینک</a>')
    )
    assert parsed.text == "😀 خبر <x> & لینک"
    bold, link = parsed.entities
    assert (bold.type, bold.offset, bold.length) == ("bold", 3, 3)  # the emoji is 2 units
    assert (link.type, link.url) == ("text_link", "https://a.ir/?q=1&b=2")


def test_expandable_blockquote_and_nested_formatting_are_accepted() -> None:
    parsed = check_message(html("<blockquote expandable><b>a <i>b</i></b></blockquote>"))
    assert [e.type for e in parsed.entities] == ["expandable_blockquote", "bold", "italic"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<script>x</script>", "Unsupported start tag"),
        ("<div>x</div>", "Unsupported start tag"),
        ("<b>x", "Can't find end tag"),
        ("<b>x</i>", "Unmatched end tag"),
        ("<b>x <i>y</b></i>", "Unmatched end tag"),
        ("a < b", "Unsupported start tag"),
        ("a & b", "Character entity expected"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("1 > 0", "Unexpected >"),
        ("<blockquote>a<blockquote>b</blockquote></blockquote>", "can't be nested"),
        ('<a href="https://x.ir"><a href="https://y.ir">z</a></a>', "can't be nested"),
        ("<code><b>x</b></code>", "can't be nested"),
        ('<a href="javascript:alert(1)">x</a>', "wrong HTTP URL"),
        ("", "empty"),
        ("<b> </b>", "empty"),
        ("ا" * 4097, "too long"),
        ("😀" * 2049, "too long"),
        ("<b>x</b>" * 101, "too many entities"),
    ],
)
def test_what_telegram_rejects_is_rejected(text: str, error: str) -> None:
    with pytest.raises(TelegramError, match=error):
        check_message(html(text))


def test_limits_count_visible_utf16_units_not_markup() -> None:
    check_message(html("<b>" + "&amp;" * 4096 + "</b>"))
    check_message(html("😀" * 2048))


def test_text_with_entities_is_checked() -> None:
    check_message({"text": "سلام دنیا", "entities": [{"type": "bold", "offset": 0, "length": 4}]})
    with pytest.raises(TelegramError, match="beyond the end"):
        check_message({"text": "ab", "entities": [{"type": "bold", "offset": 1, "length": 5}]})
    with pytest.raises(TelegramError, match="overlap"):
        check_message(
            {
                "text": "abcdef",
                "entities": [
                    {"type": "bold", "offset": 0, "length": 3},
                    {"type": "code", "offset": 2, "length": 3},
                ],
            }
        )


def test_parse_html_unescapes_numeric_entities() -> None:
    assert parse_html("&#1587;&#x644;").text == "سل"
