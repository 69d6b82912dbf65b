"""State that any worker must see: in Redis when REDIS_URL is set (the scaled stack), else in this process.

With several Rasa workers (`make run-scaled`) the next message of a user may reach another process, so what one
process remembers between messages — the buttons a WeChat user was shown as numbered options, … — lives in Redis
under ``hzbot:<name>:<key>`` with the same TTL as in memory. Values are JSON. Redis calls are bounded by short
timeouts; when Redis is unreachable a read finds nothing and a write is dropped (logged): the user then types the
option's text instead of its number, nothing crashes.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Optional

log = logging.getLogger(__name__)

KEY_PREFIX = "hzbot"
TIMEOUT_SECONDS = 0.5

_clients: dict = {}


def redis_url() -> Optional[str]:
    return os.environ.get("REDIS_URL") or None


def redis_client(url: Optional[str] = None) -> Any:
    """A synchronous redis-py client for ``url`` (REDIS_URL), shared by the process; None without a URL."""
    url = url or redis_url()
    if not url:
        return None
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS, health_check_interval=30
        )
    return _clients[url]


class RedisTTLCache:
    """The interface of bot.channels.wechat's in-memory ``_TTLCache`` (get, put, pop), kept in Redis."""

    def __init__(self, name: str, ttl: float, client: Any) -> None:
        self.prefix = f"{KEY_PREFIX}:{name}:"
        self.ttl = ttl
        self.client = client

    def get(self, key: str) -> Any:
        try:
            raw = self.client.get(self.prefix + key)
        except Exception as error:  # noqa: BLE001 - Redis down: as if nothing was remembered
            log.warning("Redis unreachable reading %s: %s", self.prefix, error)
            return None
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def put(self, key: str, value: Any) -> None:
        try:
            self.client.set(self.prefix + key, json.dumps(value, ensure_ascii=False), px=max(1, int(self.ttl * 1000)))
        except Exception as error:  # noqa: BLE001
            log.warning("Redis unreachable writing %s: %s", self.prefix, error)

    def pop(self, key: str) -> None:
        try:
            self.client.delete(self.prefix + key)
        except Exception as error:  # noqa: BLE001
            log.warning("Redis unreachable deleting in %s: %s", self.prefix, error)


def shared_ttl_cache(name: str, ttl: float) -> Optional[RedisTTLCache]:
    """A Redis-backed TTL cache when REDIS_URL is set, else None (the caller keeps its in-memory one)."""
    client = redis_client()
    return RedisTTLCache(name, ttl, client) if client is not None else None
