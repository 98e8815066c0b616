"""The sandbox's web chat in a real browser (Debian's chromium, driven by selenium through
Debian's chromedriver): a reader's /start, /latest, a card opened, paging with ◀️, an inline
search; the admin's /breaking sent with ✅, its progress message changing into the report,
the reader and the channel receiving the card; a reload and a second tab showing the same.
Screenshots of each step go to a folder the test prints, to be looked at."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.sandbox.chats import ADMIN, CHANNEL_ID, GROUP_ID, READERS
from storage.redis import connect
from tests.support.sandbox_process import SandboxProcess, sandbox_process
from tests.support.storage_fixtures import TEST_REDIS_URL

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; .ci/run installs them)",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402

T = TypeVar("T")
READER = READERS[0]


@pytest.fixture(scope="module")
def screenshots(request: pytest.FixtureRequest) -> Path:
    """.pytest_cache/d/sandbox-screenshots (not committed), emptied first; printed. Without
    pytest's cache (-p no:cacheprovider), a temporary folder of the run."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        folder = Path(cache.mkdir("sandbox-screenshots"))
    else:
        folder = request.config._tmp_path_factory.mktemp("sandbox-screenshots")  # type: ignore[attr-defined]
    for old in folder.glob("*.png"):
        old.unlink()
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\nscreenshots of the sandbox: {folder}")
    return folder


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    with sandbox_process(tmp_path, env={"KHABAR_REDIS_URL": TEST_REDIS_URL}) as running:
        yield running
        assert running.stop() == 0, running.output()
    asyncio.run(_drop(running.prefix + "-sandbox"))


async def _drop(prefix: str) -> None:
    redis = await connect(TEST_REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        "--lang=fa",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def wait(check: Callable[[], T | None], timeout: float = 20.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (StaleElementReferenceException, WebDriverException):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what or check}")
        time.sleep(0.1)


class Page:
    def __init__(self, driver: WebDriver, folder: Path) -> None:
        self.driver = driver
        self.folder = folder
        self.shots = 0

    def shot(self, name: str) -> None:
        self.shots += 1
        self.driver.save_screenshot(str(self.folder / f"{self.shots:02d}-{name}.png"))

    def open_chat(self, chat_id: int) -> None:
        self.driver.find_element(By.CSS_SELECTOR, f'.chat-item[data-chat-id="{chat_id}"]').click()
        wait(
            lambda: (
                self.driver.find_element(By.ID, "messages").get_attribute("data-chat")
                == str(chat_id)
            ),
            what=f"chat {chat_id}",
        )

    def bot_messages(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "#messages .msg.from-bot")

    def type(self, text: str) -> None:
        box = self.driver.find_element(By.ID, "text")
        for number, line in enumerate(text.split("\n")):
            if number:
                box.send_keys(Keys.SHIFT, Keys.ENTER)
            box.send_keys(line)
        box.send_keys(Keys.ENTER)

    def say(self, text: str, replies: int = 1) -> list[WebElement]:
        """Write in the open chat; the bot's new messages once `replies` have come."""
        before = len(self.bot_messages())
        self.type(text)
        wait(lambda: len(self.bot_messages()) >= before + replies, what=f"the answer to {text}")
        return self.bot_messages()[before:]

    def button(self, message: WebElement, label: str) -> WebElement:
        buttons = message.find_elements(By.CSS_SELECTOR, ".kb-button")
        found = [b for b in buttons if b.text == label]
        assert found, f"no button {label!r} in {[b.text for b in buttons]}"
        return found[0]

    def message(self, message_id: int) -> WebElement:
        return self.driver.find_element(
            By.CSS_SELECTOR, f'#messages .msg.from-bot[data-message-id="{message_id}"]'
        )

    def text_of(self, message_id: int) -> str:
        return self.message(message_id).find_element(By.CSS_SELECTOR, ".text").text

    def fonts(self) -> Any:
        return self.driver.execute_script(
            "return getComputedStyle(document.body).fontFamily + ' | ' + "
            "document.fonts.check('16px \"Noto Naskh Arabic\"')"
        )


def test_a_reader_and_an_admin_in_the_browser(
    sandbox: SandboxProcess, browser: WebDriver, screenshots: Path
) -> None:
    page = Page(browser, screenshots)
    browser.get(sandbox.url)
    wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".chat-item"), what="the chat list")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert "Noto Naskh Arabic" in page.fonts()
    page.open_chat(READER.id)
    page.shot("start")

    [welcome] = page.say("/start")
    assert "/latest" in welcome.text
    page.shot("welcome")

    # /latest one to a page: a list with ◀️, a numbered button opens the card.
    [listing] = page.say("/latest 1")
    listing_id = int(listing.get_attribute("data-message-id") or 0)
    first_title = page.text_of(listing_id)
    before = len(page.bot_messages())
    page.button(listing, "۱").click()
    wait(lambda: len(page.bot_messages()) > before, what="the card")
    card = page.bot_messages()[-1]
    assert "📅" in card.text and "🔗 ادامه مطلب ↗" in card.text
    page.shot("card")

    # «📖 متن کامل» (with rich messages on): the whole article as one rich message.
    whole = [b for b in card.find_elements(By.CSS_SELECTOR, ".kb-button") if "📖" in b.text]
    if whole:
        before = len(page.bot_messages())
        whole[0].click()
        wait(lambda: len(page.bot_messages()) > before, what="the whole article")
        rich = page.bot_messages()[-1].find_element(By.CSS_SELECTOR, ".rich")
        assert rich.get_attribute("dir") == "rtl"
        assert rich.find_elements(By.CSS_SELECTOR, "h1, h2, h3")
        page.shot("whole-article")

    page.button(page.message(listing_id), "◀️ قدیمی‌تر").click()
    wait(lambda: page.text_of(listing_id) != first_title, what="the next page, in place")
    assert "جدیدتر ▶️" in page.message(listing_id).text
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center'})", page.message(listing_id)
    )
    page.shot("paged")

    [subscribed] = page.say("/subscribe")
    assert "اشتراک" in subscribed.text

    # In the group, inline search as the reader types: results for «مترو», one shared there.
    page.open_chat(GROUP_ID)
    browser.find_element(By.ID, "inline-button").click()
    browser.find_element(By.ID, "text").send_keys("مترو")
    result = wait(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#inline-results .inline-result"),
        what="inline results",
    )[0]
    assert "مترو" in result.text
    page.shot("inline-results")
    result.click()
    sent = wait(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#messages .msg.from-user .via"),
        what="the chosen result in the chat",
    )
    assert sent[-1].text.startswith("از طریق @")
    page.shot("inline-sent")

    # The admin: /breaking, ✅, the question turns into progress and then the report.
    page.open_chat(ADMIN.id)
    title = "زلزله ۴ ریشتری در حوالی تهران"
    [preview, question] = page.say(
        f"/breaking {title}\nزمین‌لرزه‌ای به بزرگی ۴ ریشتر بامداد امروز حوالی تهران را لرزاند.",
        replies=2,
    )
    assert title in preview.text and "🔴" in preview.text
    page.shot("breaking-preview")
    question_id = int(question.get_attribute("data-message-id") or 0)
    page.button(question, "✅ ارسال").click()
    seen: list[str] = []

    def reported() -> bool:
        text = page.text_of(question_id)
        if not seen or seen[-1] != text:
            seen.append(text)
            if len(seen) == 2:
                page.shot("breaking-progress")
        return "تمام شد" in text

    wait(reported, timeout=60, what="the delivery's report")
    assert seen[0] != seen[-1]
    # The question became the progress message, then the report: edited at least twice (the
    # page may have been between two looks while the progress showed; the sandbox knows).
    with urllib.request.urlopen(f"{sandbox.base}/sandbox/api/state?chat={ADMIN.id}") as answer:
        [kept] = [m for m in json.load(answer)["messages"] if m.get("message_id") == question_id]
    assert kept["edits"] >= 2, kept
    assert "ویرایش‌شده" in page.message(question_id).text
    page.shot("breaking-report")

    # The reader got the card; so did the channel.
    page.open_chat(READER.id)
    wait(lambda: title in page.bot_messages()[-1].text, what="the card at the reader's")
    page.shot("reader-got-it")
    page.open_chat(CHANNEL_ID)
    wait(lambda: page.bot_messages() and title in page.bot_messages()[-1].text, what="the post")
    page.shot("channel")

    # The conversation lives in the sandbox: a reload and a second tab show it as it is.
    page.open_chat(READER.id)
    count = len(browser.find_elements(By.CSS_SELECTOR, "#messages .msg"))
    browser.refresh()
    wait(
        lambda: len(browser.find_elements(By.CSS_SELECTOR, "#messages .msg")) == count,
        what="the same chat after a reload",
    )
    browser.switch_to.new_window("tab")
    browser.get(sandbox.url)
    wait(
        lambda: len(browser.find_elements(By.CSS_SELECTOR, "#messages .msg")) == count,
        what="the same chat in a second tab",
    )
    page.shot("second-tab")
