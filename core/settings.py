"""All settings, read once from the environment.

Every setting has a safe default for a local run; secrets that have no safe default (WeChat, console admin)
switch their feature off or are generated, and say so at start-up instead of failing later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
DOMAIN_DIR = PROJECT_ROOT / "bot" / "domain"


def _env(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"Setting {name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str
    rasa_url: str
    action_port: int
    web_port: int
    rasa_port: int
    wechat_token: str
    wechat_appid: str
    wechat_appsecret: str
    wechat_aes_key: str
    wechat_api_base: str
    console_admin_user: str
    console_admin_password: str
    console_secret_key: str
    office_hours: str
    timezone: str
    ticket_retention_days: int = 180  # closed tickets and their transcripts are anonymised after this (个人信息保护法)
    # how long a SQLite write waits for another writer; below ACTION_TIMEOUT (8 s), so an action that cannot write
    # fails in time to tell the user, instead of finishing after Rasa gave up on it
    db_busy_timeout: int = 5
    unanswered_retention_days: int = 180  # the unanswered questions staff review (texts people typed)

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token)


def tracker_database_url() -> str:
    """Rasa's SQL tracker store (endpoints.yml): ``TRACKER_DB_URL`` (any SQLAlchemy URL), the scaled stack's
    ``TRACKER_PG_*`` settings, or the SQLite file ``TRACKER_DB`` (default var/rasa_tracker.db)."""
    url = os.environ.get("TRACKER_DB_URL", "").strip()
    if url:
        return url
    host = os.environ.get("TRACKER_PG_HOST", "").strip()
    if host:  # the scaled stack's PostgreSQL tracker store (scripts/scaled.py)
        from urllib.parse import quote

        user = quote(os.environ.get("TRACKER_PG_USER", "").strip(), safe="")
        password = quote(os.environ.get("TRACKER_PG_PASSWORD", ""), safe="")
        port = os.environ.get("TRACKER_PG_PORT", "").strip() or "5432"
        name = os.environ.get("TRACKER_PG_DB", "").strip() or "rasa"
        return f"postgresql://{user}:{password}@{host}:{port}/{name}"
    path = os.environ.get("TRACKER_DB", "").strip() or str(VAR_DIR / "rasa_tracker.db")
    return f"sqlite:///{path}"


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'hzbot.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (environment read once; tests call ``get_settings.cache_clear()``)."""
    rasa_port = _env_int("RASA_PORT", 5005)
    return Settings(
        database_url=_env("DATABASE_URL", default_database_url()),
        rasa_port=rasa_port,
        rasa_url=_env("RASA_URL", f"http://127.0.0.1:{rasa_port}"),
        action_port=_env_int("ACTION_PORT", 5055),
        web_port=_env_int("WEB_PORT", 8000),
        wechat_token=_env("WECHAT_TOKEN"),
        wechat_appid=_env("WECHAT_APPID"),
        wechat_appsecret=_env("WECHAT_APPSECRET"),
        wechat_aes_key=_env("WECHAT_AES_KEY"),
        wechat_api_base=_env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        console_admin_user=_env("CONSOLE_ADMIN_USER"),
        console_admin_password=_env("CONSOLE_ADMIN_PASSWORD"),
        console_secret_key=_env("CONSOLE_SECRET_KEY"),
        office_hours=_env("OFFICE_HOURS", "mon-fri 09:00-12:00,14:00-18:00"),
        ticket_retention_days=_env_int("TICKET_RETENTION_DAYS", 180),
        db_busy_timeout=_env_int("DB_BUSY_TIMEOUT", 5),
        unanswered_retention_days=_env_int("UNANSWERED_RETENTION_DAYS", 180),
        timezone=_env("TZ_NAME", "Asia/Shanghai"),
    )
