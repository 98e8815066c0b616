"""The deployment files stay in step with the settings: docker-compose.yml is valid and runs
Redis with an append-only file and a healthcheck; .env.example lists every setting and loads."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_redis_durably_and_the_bot_after_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    redis, bot = compose["services"]["redis"], compose["services"]["bot"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_dockerfile_runs_khabar_as_a_non_root_user() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("FROM python:") and lines[1].endswith("-slim")
    assert "USER khabar" in lines
    assert lines[-1] == 'CMD ["khabar", "run"]'


def test_env_example_lists_every_setting_and_loads() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = {
        line.split("=", 1)[0]
        for line in text.splitlines()
        if "=" in line and not line.startswith("#")
    }
    expected = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    assert names == expected
    Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
