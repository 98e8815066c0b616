"""Who said what, and who wrote it: quotes and bylines in the lines of an article.

A quote has a speaker who is a person or a role, never a pronoun, a desk or a label:

- ``name، role: text`` and ``role: text`` (a role of two words or more: «سخنگوی وزارت نیرو»);
- ``«text» - name، role``;
- ``X گفت: text`` with a speech verb (گفت، افزود، تصریح کرد، می‌گوید…) and X a name or a role
  («دکتر موسوی افزود:», «رئیس فدراسیون بوکس ایران همچنین گفت:»); the verb and adverbs such
  as «همچنین» or «در ادامه» are not part of the speaker. X is refused when it is a pronoun
  («وی گفت:»), starts with «این / آن», or carries a clause (a preposition, «که»): the sentence
  then stays a paragraph, as an editor would leave it.

A byline is the desk, agency or label a lead starts with (``گروه ورزشی:``, ``ایسنا -``,
``گروه اقتصادی _ نام خبرنگار:``, ``اشاره:``); it is taken off the lead and kept apart.
Precision first: a line that does not clearly match stays text.
"""

from __future__ import annotations

import re

from bot.news.article import Quote
from bot.news.lexicon import lexicon
from bot.news.script import ZWNJ

_SPEECH_VERBS = frozenset(
    """گفت | افزود | اظهار داشت | اظهار کرد | تصریح کرد | خاطرنشان کرد | خاطر نشان کرد |
    تاکید کرد | تأکید کرد | ادامه داد | یادآور شد | یادآوری کرد | توضیح داد | اضافه کرد |
    بیان کرد | بیان داشت | پاسخ داد | عنوان کرد | اعلام کرد | تشریح کرد | می گوید |
    می افزاید | گفته است | افزوده است | تاکید دارد | تأکید دارد | یادآور می شود""".replace(
        "\n", " "
    ).split(" | ")
)
_SPEECH_VERBS = frozenset(" ".join(verb.split()) for verb in _SPEECH_VERBS) | {
    "معتقد است",
    "معتقد بود",
    "اظهارداشت",
    "اظهارکرد",
    "گوشزد کرد",
    "خاطرنشان ساخت",
    "تاکید کرده است",
    "تأکید کرده است",
    "تاکید می کند",
    "تأکید می کند",
    "اضافه می کند",
    "اظهار کرده است",
    "اعلام کرده است",
    "تصریح کرده است",
    "عنوان کرده است",
    "می افزاید",
    "ادامه می دهد",
    "تاکید کرده",
    "تأکید کرده",
}
# Said of when, not of who: «رئیس‌جمهوری عصر چهارشنبه گفت:».
_TIME_WORDS = frozenset(
    [
        *("صبح", "عصر", "ظهر", "شب", "بامداد", "شامگاه", "روز", "شنبه", "یکشنبه", "دوشنبه"),
        *("سه‌شنبه", "چهارشنبه", "پنجشنبه", "پنج‌شنبه", "جمعه", "دیروز", "امروز", "دیشب"),
    ]
)
# Said of the speaker, not part of who they are: «وزیر کار همچنین گفت:».
_ADVERBS = ("همچنین", "نیز", "هم", "سپس", "همچنان", "دیروز", "امروز", "ضمنا", "ضمناً")
_ADVERB_PHRASES = (
    "در ادامه",
    "در پایان",
    "در این باره",
    "در این زمینه",
    "در این خصوص",
    "در این رابطه",
    "در ادامه سخنان خود",
)
# Words that make X a clause rather than a name or a role.
_CLAUSE_WORDS = frozenset(
    [
        "از",
        "در",
        "به",
        "با",
        "که",
        "را",
        "برای",
        "ضمن",
        "پس",
        "درباره",
        "دربارهٔ",
        "با",
        "توجه",
        "اینکه",
        "این\u200cکه",
        "آنکه",
        "بر",
        "تا",
        "اما",
        "ولی",
        "چون",
        "اگر",
        "وقتی",
        "هنگام",
        "طی",
        "ضمن",
        "درخصوص",
        "خصوص",
        "مورد",
        "گفت\u200cوگو",
        "مصاحبه",
        "گزارش",
        "اشاره",
        "بیان",
        "اعلام",
        "وی",
        "او",
        "ایشان",
        "آنها",
        "آن\u200cها",
        "این",
        "آن",
        "ما",
        "من",
    ]
)
_PRONOUN_STARTS = frozenset(
    [
        *("وی", "او", "ایشان", "این", "آن", "آنها", "آن\u200cها", "ما", "من", "همو", "خود"),
        *("همان", "همین", "چنین"),
    ]
)
_NOT_PEOPLE = frozenset(
    [
        *("مؤسسه", "موسسه", "سازمان", "شرکت", "وزارت", "وزارتخانه", "مرکز", "دانشگاه", "اداره"),
        *("نهاد", "ستاد", "مجلس", "دولت", "کمیته", "انجمن", "بانک", "دفتر", "کمیسیون", "گزارشی"),
        "رادیو",
        "شبکه",
        "تلویزیون",
        "روابط",
        "روزنامه",
        "خبرگزاری",
        "سایت",
        "نشریه",
        "گزارش",
        "منابع",
        "بیانیه",
        "پایگاه",
        "اطلاعیه",
        "مجله",
        "هفته\u200cنامه",
        "کتاب",
        "متن",
        "قانون",
        "ماده",
        "تبصره",
    ]
)
_ROLES = frozenset(
    [
        "وزیر",
        "معاون",
        "رئیس",
        "رییس",
        "مدیر",
        "مدیرعامل",
        "مدیرکل",
        "دبیر",
        "دبیرکل",
        "سخنگوی",
        "سخنگو",
        "نماینده",
        "شهردار",
        "استاندار",
        "فرماندار",
        "سفیر",
        "فرمانده",
        "سرپرست",
        "عضو",
        "مشاور",
        "کارشناس",
        "استاد",
        "دکتر",
        "مهندس",
        "سردار",
        "سرلشکر",
        "سرتیپ",
        "آیت\u200cالله",
        "حجت\u200cالاسلام",
        "امام",
        "رهبر",
        "نخست\u200cوزیر",
        "رئیس\u200cجمهور",
        "رئیس\u200cجمهوری",
        "رییس\u200cجمهور",
        "دادستان",
        "قاضی",
        "مربی",
        "سرمربی",
        "کاپیتان",
        "بازیکن",
        "سردبیر",
        "مدیرمسئول",
        "قائم\u200cمقام",
        "جانشین",
        "نایب\u200cرئیس",
        "رئیس\u200cکل",
        "کارگردان",
        "نویسنده",
        "شاعر",
        "خواننده",
        "بازیگر",
        "پروفسور",
        "علامه",
    ]
)
_VERB_ENDINGS = frozenset(["است", "بود", "شد", "کرد", "داشت", "کند", "دارد"])
_LABELS = frozenset(
    ["اشاره", "منبع", "ترجمه", "عکس", "توضیح", "تهیه", "تنظیم", "پی\u200cنوشت", "نویسنده"]
)
_MAX_NAME_WORDS = 4
_MAX_ROLE_WORDS = 12
_MIN_SAID_WORDS = 2

_SPEAKER_TEXT = re.compile(r"^(?P<who>[^:«]+?|«[^:«»]+»[^:«»]*?)\s*:\s*(?P<text>\S.*)$")
_QUOTED_THEN_WHO = re.compile(r"^«(?P<text>[^»]+)»\s*[-–—،,]\s*(?P<who>[^«»:]+)$")
_SENTENCE_MARKS = ".!؟?؛;"

_AGENCIES = (
    "ایسنا|ایرنا|ایلنا|ایبنا|ایکنا|فارس|مهر|سما|تسنیم|شانا|برنا|میراث‌آریا|پانا|رویترز"
    "|آسوشیتدپرس|فرانس‌پرس|آسوشیتدپرس|خبرگزاری [^:\\-–—_]{2,30}?"
)
_DESKS = (
    "سیاسی|اقتصادی|اجتماعی|شهری|ورزشی|بورس|بین‌الملل|بین‌الملل|فرهنگی|ادب و هنر|علمی فرهنگی"
    "|علمی|انفورماتیک|جامعه|حوادث|فرهنگ و هنر|هنری|خارجی|سلامت|دانش|اندیشه|ایران|تهران"
)
_DESK = "گروه [^:\\-–—_.،؛]{2,40}?"
_BYLINE_FORMS = (
    # «گروه اقتصادی _ افروز پور هاشمی:», «گروه ورزشی:»
    re.compile(
        f"^(?P<by>{_DESK}(?:\\s*[_\\-–—]\\s*[^:\\-–—_.،؛]{{2,40}}?)?)\\s*:\\s*(?P<rest>\\S.*)$"
    ),
    re.compile(f"^(?P<by>{_DESK})\\s*[_\\-–—]\\s*(?P<rest>\\S.*)$"),
    re.compile(f"^(?P<by>گروه (?:{_DESKS}))\\s+(?P<rest>\\S.*)$"),
    re.compile(f"^(?P<by>{_AGENCIES})\\s*[:\\-–—]\\s*(?P<rest>\\S.*)$"),
    re.compile("^(?P<by>اشاره)\\s*:\\s*(?P<rest>\\S.*)$"),
)
_MAX_BYLINE_WORDS = 7
_BYLINE_ALONE = re.compile(f"^(?:گروه (?:{_DESKS})|{_AGENCIES})$")


def split_byline(text: str) -> tuple[str | None, str]:
    """The byline a lead starts with, and the lead without it; (None, text) when there is
    none."""
    for form in _BYLINE_FORMS:
        if (match := form.match(text)) and len(match["by"].split()) <= _MAX_BYLINE_WORDS:
            byline = re.sub(r"\s*[_\-–—]\s*", " - ", match["by"].strip())
            return byline, match["rest"].strip()
    return None, text


def is_byline_only(text: str) -> bool:
    """A line that is nothing but a desk or an agency: «گروه ادب و هنر», «ایسنا»."""
    return _BYLINE_ALONE.match(text) is not None


def find_quote(text: str) -> Quote | None:
    """The quote a line of text is, or None when it is not clearly one."""
    if match := _QUOTED_THEN_WHO.match(text):
        return _make(match["who"], match["text"], verb=False)
    if match := _SPEAKER_TEXT.match(text):
        head, said = match["who"], match["text"]
        who, verb = _strip_verb(head)
        return _make(who, said, verb=verb)
    return None


def _strip_verb(head: str) -> tuple[str, bool]:
    """X and whether a speech verb followed it: «دکتر موسوی افزود» → («دکتر موسوی», True)."""
    words = head.split()
    for size in (3, 2, 1):
        tail = " ".join(words[-size:]).replace(ZWNJ, " ")
        if len(words) > size and tail in _SPEECH_VERBS:
            return " ".join(words[:-size]).rstrip(" ،,"), True
    return head, False


def _strip_adverbs(who: str) -> str:
    changed = True
    while changed:
        changed = False
        for phrase in _ADVERB_PHRASES:
            if who.endswith(" " + phrase):
                who, changed = who[: -len(phrase) - 1].rstrip(" ،,"), True
        words = who.split()
        if len(words) > 1 and words[-1] in _ADVERBS:
            who, changed = " ".join(words[:-1]).rstrip(" ،,"), True
    return who


def _make(who: str, said: str, *, verb: bool) -> Quote | None:
    who = _strip_adverbs(re.sub("^«([^«»]+)»", r"\1", who.strip()))
    said = said.strip()
    if said.startswith("«") and said.endswith("»") and said.count("«") == 1:
        said = said[1:-1].strip()
    speaker, _, role = (part.strip() for part in who.partition("،"))
    if not speaker or len(said.split()) < _MIN_SAID_WORDS or not _is_person(speaker, role, verb):
        return None
    return Quote.trusted({"speaker": speaker, "role": role or None, "text": said})


def _is_person(speaker: str, role: str, verb: bool) -> bool:
    """A name or a role: no pronoun, no clause, no desk, label or publication."""
    words = f"{speaker} {role}".split()
    if (
        any(mark in speaker + role for mark in _SENTENCE_MARKS + "«»")
        or any(word in _TIME_WORDS for word in words)
        or words[-1] in _VERB_ENDINGS
        or lexicon().is_verb_form(words[-1].replace(ZWNJ, ""))
        or words[0] in _PRONOUN_STARTS
        or words[0] in _NOT_PEOPLE
        or words[0] in _LABELS
        or words[0] == "گروه"
        or split_byline(f"{speaker}: x")[0] is not None
        or any(word in _CLAUSE_WORDS for word in words)
    ):
        return False
    starts_with_role = words[0] in _ROLES
    if role:
        # «name، role»: the role must read as one (شهردار تهران، سفیر ایران).
        return role.split()[0] in _ROLES and len(words) <= _MAX_ROLE_WORDS
    if starts_with_role:
        return len(words) <= _MAX_ROLE_WORDS and (verb or len(words) >= 2)
    # A name alone, only before a speech verb: «قالیباف افزود:», «ایرج خسرونیا گفت:».
    return verb and len(words) <= _MAX_NAME_WORDS
