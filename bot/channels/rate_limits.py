"""The channel guard's per-sender and per-address limits (bot/channels/guard.py) counted in Redis when REDIS_URL is
set, so that with several Rasa workers (`make run-scaled`) a limit holds for the whole stack and not per process.

A sliding window in one sorted set per key, updated atomically by a Lua script (drop old entries, count, add).
Calls are bounded by a 0.5 s timeout; when Redis is unreachable the message is allowed (logged): throttling
degrades, users are not locked out.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any, Dict, Optional

log = logging.getLogger(__name__)

PREFIX = "hzbot:rate:"
TIMEOUT_SECONDS = 0.5

_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
  return 1
end
return 0
"""

_clients: Dict[str, Any] = {}


def _client(url: str) -> Any:
    if url not in _clients:
        import redis  # only needed when REDIS_URL is set

        _clients[url] = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS,
                                             socket_connect_timeout=TIMEOUT_SECONDS)
    return _clients[url]


class RedisRateLimiter:
    """``RateLimiter.allow(key)`` of bot/channels/guard.py, counted in Redis."""

    def __init__(self, name: str, limit: int, window: float, client: Any) -> None:
        self.prefix = f"{PREFIX}{name}:"
        self.limit, self.window = limit, window
        self._script = client.register_script(_SCRIPT)

    def __repr__(self) -> str:  # the client's URL may hold a password
        return f"RedisRateLimiter({self.prefix!r}, {self.limit}/{self.window:g}s)"

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        if self.limit <= 0:
            return True
        now = time.time() if now is None else now
        try:
            return bool(self._script(keys=[self.prefix + key],
                                     args=[now, self.window, self.limit, f"{now}:{uuid.uuid4().hex[:8]}"]))
        except Exception as error:  # noqa: BLE001 - Redis down: allow, say so
            log.warning("Rate limit %s: Redis failed (%s); message allowed", self.prefix, type(error).__name__)
            return True


def shared_rate_limiter(name: str, limit: int, window: float = 60.0) -> Optional[RedisRateLimiter]:
    """A Redis-backed limiter when REDIS_URL is set, else None (the caller keeps its in-memory one)."""
    url = os.environ.get("REDIS_URL", "").strip()
    return RedisRateLimiter(name, limit, window, _client(url)) if url else None


def trusted_client_address(peer: str, real_ip: Optional[str]) -> str:
    """The client's address: the peer's, or the balancer's ``X-Real-IP`` when the peer is one of TRUSTED_PROXIES
    (comma-separated; the scaled stack sets 127.0.0.1, where nginx runs). A client cannot choose it: nginx sets
    the header from the connection, and from any other peer it is ignored."""
    trusted = {p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()}
    if peer in trusted and real_ip and real_ip.strip():
        return real_ip.strip()[:64]
    return peer
