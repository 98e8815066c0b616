"""The HTTP API takes an article's picture (`image`: http or https only), and an admin's
photo kept by khabar is served at /photos/<id>.jpg for Telegram to fetch."""

from __future__ import annotations

import aiohttp

from storage.photos import Photos
from tests.support.pictures import JPEG
from tests.test_web import Web, article
from tests.test_web import web as web  # the fixture


async def test_the_api_stores_an_articles_picture_and_refuses_other_schemes(web: Web) -> None:
    picture = {"url": "https://img.example.ir/1.jpg", "caption": "عکس", "credit": "ایرنا"}
    status, answer = await web.post("/api/articles", article("p-1", image=picture))
    assert status == 201, answer
    stored = await web.services.store.get("p-1")
    assert stored is not None and stored.image is not None
    assert stored.image.model_dump() == picture
    status, answer = await web.post(
        "/api/articles", article("p-2", image={"url": "file:///etc/passwd"})
    )
    assert status == 422 and answer["errors"][0]["field"] == "image.url"


async def test_an_admins_photo_is_served_for_telegram_to_fetch(web: Web) -> None:
    photos = Photos(web.services.redis, web.services.store.keys)
    await photos.keep("AQADabc", JPEG, "https://khabar.example.ir/photos/AQADabc.jpg", "file-1")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{web.url}/photos/AQADabc.jpg") as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
            assert await response.read() == JPEG
        async with session.get(f"{web.url}/photos/nothere.jpg") as response:
            assert response.status == 404
    assert await photos.file_id("https://khabar.example.ir/photos/AQADabc.jpg") == "file-1"
