"""An admin's photo served at ``/photos/<name>.jpg``: what Telegram fetches for a rich
message's picture (a photo card goes by the file_id the admin's message carried)."""

from __future__ import annotations

from aiohttp import web

from bot.web.context import CONTEXT
from storage.photos import Photos

PHOTO_ROUTE = "/photos/{name:[A-Za-z0-9_-]{1,64}}.jpg"


def photo_url(public_url: str, name: str) -> str:
    return f"{public_url.rstrip('/')}/photos/{name}.jpg"


async def serve_photo(request: web.Request) -> web.StreamResponse:
    services = request.app[CONTEXT].services
    content = await Photos(services.redis, services.store.keys).content(request.match_info["name"])
    if content is None:
        raise web.HTTPNotFound(text="no such photo")
    return web.Response(
        body=content, content_type="image/jpeg", headers={"Cache-Control": "max-age=86400"}
    )
