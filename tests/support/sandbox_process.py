"""`khabar sandbox` (or `khabar run --or-sandbox`) as a process, as a person starts it, for
the sandbox's tests: on a free port, in a working directory of the test's, its log in a file."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.sandbox.embedded_redis import free_port

READY = re.compile(r"the sandbox is at (\S+);")


@dataclass
class SandboxProcess:
    process: subprocess.Popen[bytes]
    url: str
    """The page's URL (http://127.0.0.1:PORT/sandbox)."""
    base: str
    log: Path
    prefix: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """Ctrl-C, as in a terminal; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)


@contextlib.contextmanager
def sandbox_process(
    folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
) -> Iterator[SandboxProcess]:
    """The sandbox running in `folder` until the block ends (then stopped with SIGINT)."""
    port = free_port()
    prefix = f"khabar-test-sandbox-{uuid.uuid4().hex[:8]}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")},
        "KHABAR_HTTP_PORT": str(port),
        "KHABAR_REDIS_PREFIX": prefix,
        "KHABAR_PROGRESS_SECONDS": "0.5",
        **(env or {}),
    }
    log = folder / "sandbox.log"
    command = [sys.executable, "-m", "bot.cli", *(args or ("sandbox",))]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=folder, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    running = SandboxProcess(process, "", f"http://127.0.0.1:{port}", log, prefix)
    try:
        deadline = time.monotonic() + timeout
        while not (found := READY.search(running.output())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start:\n{running.output()}")
            time.sleep(0.1)
        running.url = found.group(1)
        yield running
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            running.stop()
        if process.poll() is None:
            process.kill()
            process.wait()
