"""Fetching for the feed poller: public addresses only, a timeout over the whole exchange, a
size cap, at most MAX_REDIRECTS redirects, conditional requests.

Feeds are other people's: an item linking to (or redirecting to) an address inside the
newsroom's network would have that page fetched and its text published, so host names are
resolved to public addresses only and address literals are refused at every hop
(KHABAR_FEED_ALLOW_PRIVATE lifts it for a feed served inside that network).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

MAX_REDIRECTS = 5
USER_AGENT = "khabar-feed-poller/0.1"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class FetchError(Exception):
    """A fetch or a feed that gave nothing usable; the message says why, for the log."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    url: str
    """Where the answer came from, after redirects."""
    body: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    return None


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


class PublicResolver(AbstractResolver):
    """Resolves as usual but keeps only public addresses: feeds are other people's, and an
    item linking to (or redirecting to) an address inside the newsroom's network would have
    that page fetched and its text published."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = [a for a in await self._inner.resolve(host, port, family) if _public(a["host"])]
        if not found:
            raise OSError(f"{host} has no public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


async def _public_hop(
    session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestStartParams
) -> None:
    # Every request, redirects included; host names are checked by PublicResolver, addresses
    # written in the URL (which are not resolved) here.
    host = params.url.host or ""
    with contextlib.suppress(ValueError):
        if not ipaddress.ip_address(host.strip("[]")).is_global:
            raise FetchError("a private or local address")


def feed_session(allow_private: bool) -> aiohttp.ClientSession:
    """The poller's HTTP client: public addresses only, unless KHABAR_FEED_ALLOW_PRIVATE."""
    if allow_private:
        return aiohttp.ClientSession()
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_public_hop)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=PublicResolver()), trace_configs=[trace]
    )


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    accept: str,
    timeout: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    html_only: bool = False,
) -> Response:
    """GET with a timeout over the whole exchange, a size cap (the body is read no further)
    and at most MAX_REDIRECTS redirects. A 304 comes back with an empty body; any other
    answer but a 2xx raises FetchError, and so does a non-HTML page when `html_only`."""
    request = {"Accept": accept, "User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with (
            asyncio.timeout(timeout),
            session.get(
                # aiohttp counts the answer that would need one redirect too many as the limit.
                url,
                headers=request,
                max_redirects=MAX_REDIRECTS + 1,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response,
        ):
            if response.status != 304 and not 200 <= response.status < 300:
                retry = _retry_after(response.headers) if response.status in (429, 503) else None
                raise FetchError(f"HTTP {response.status}", retry)
            if html_only and response.content_type not in _HTML_TYPES:
                raise FetchError(f"not an HTML page ({response.content_type})")
            if (response.content_length or 0) > max_bytes:
                raise FetchError(f"larger than {max_bytes} bytes ({response.content_length})")
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"larger than {max_bytes} bytes")
            return Response(
                status=response.status,
                url=str(response.url),
                body=bytes(body),
                content_type=response.content_type,
                charset=response.charset,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except aiohttp.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    # The texts of these two hold the URL, which may hold a password: left out.
    except aiohttp.InvalidURL:
        raise FetchError("an invalid URL (or a redirect to one)") from None
    except aiohttp.ClientResponseError as error:
        raise FetchError(f"{type(error).__name__}: HTTP {error.status} {error.message}") from None
    except aiohttp.ClientError as error:
        raise FetchError(f"{type(error).__name__}: {error}") from None
