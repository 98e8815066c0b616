"""Run a command with KHABAR_TEST_REDIS_URL set to a Redis that answers.

Uses KHABAR_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) when it answers PING; otherwise
starts a throwaway redis-server (nothing on disk) on a free port for the command's lifetime.
Only the standard library: this runs before anything else is known to work.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main(command: list[str]) -> int:
    url = os.environ.get("KHABAR_TEST_REDIS_URL", DEFAULT_URL)
    parsed = urlparse(url)
    if answers(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        return subprocess.call(command)
    server = shutil.which("redis-server")
    if server is None:
        print(
            f"with_redis: no Redis answers at {parsed.hostname}:{parsed.port} and "
            "redis-server is not installed",
            file=sys.stderr,
        )
        return 2
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        redis = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not answers("127.0.0.1", port):
                if time.monotonic() > deadline or redis.poll() is not None:
                    print("with_redis: the throwaway redis-server did not start", file=sys.stderr)
                    return 2
                time.sleep(0.05)
            print(f"with_redis: started a throwaway redis-server on port {port}", file=sys.stderr)
            env = {**os.environ, "KHABAR_TEST_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
            return subprocess.call(command, env=env)
        finally:
            redis.terminate()
            redis.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
