"""What `khabar run` logs: a timestamp on every line; a request the client got wrong at the
HTTP level is one quiet line, not an error with a traceback."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator

import pytest

from bot.cli import configure_run_logging
from tests.test_web import Web
from tests.test_web import web as web  # the fixture

BAD_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad\x01: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET / HTTP/9.9.9\r\nHost: x\r\n\r\n",
    b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\x02\x00\x01\r\n\r\n",
]


async def raw_request(web: Web, data: bytes) -> bytes:
    host, port = web.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_a_malformed_request_is_a_400_and_one_line_without_traceback(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for data in BAD_REQUESTS:
            answer = await raw_request(web, data)
            assert b" 400 Bad Request\r\n" in answer, data[:40]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []
    faults = [r for r in caplog.records if "bad HTTP request" in r.getMessage()]
    assert len(faults) == len(BAD_REQUESTS)
    for record in faults:
        assert record.levelno <= logging.INFO  # aiohttp's DEBUG for non-HTTP stays DEBUG
        assert "\n" not in record.getMessage() and len(record.getMessage()) < 400
        assert record.getMessage().startswith("bad HTTP request from 127.0.0.1: ")


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def test_every_line_of_khabar_run_has_a_timestamp(root_logging: None) -> None:
    stream = io.StringIO()
    configure_run_logging(stream)
    logging.getLogger("khabar.web").info("HTTP server listening on %s", "127.0.0.1:8080")
    logging.getLogger("telegram.ext.Application").warning("something from the library")
    logging.getLogger("httpx").info("left out: its lines carry the token")
    lines = stream.getvalue().splitlines()
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
    assert len(lines) == 2
    assert re.match(
        stamp + r"INFO khabar\.web: HTTP server listening on 127\.0\.0\.1:8080$", lines[0]
    )
    assert re.match(stamp + r"WARNING telegram\.ext\.Application: something", lines[1])
