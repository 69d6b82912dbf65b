"""What the WeChat channel remembers between requests: used nonces, turns already taken (WeChat's retries), their
replies, and the buttons last shown to each user.

Two implementations of one small interface: :class:`MemoryStore` (this process only; the default) and
:class:`RedisStore` (shared by every Rasa process; chosen when ``REDIS_URL`` is set, as in the scaled stack), so a
retry or a replayed URL reaching another process is recognised there too. Values expire after a TTL in both.

A Redis failure never stops a message: it is logged and the message is handled as if nothing were remembered
(the signature and the timestamp window are still checked).
"""

from __future__ import annotations

import json
import logging
import os
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, List, Optional, Tuple

log = logging.getLogger(__name__)

Buttons = List[Tuple[str, str]]


class TTLCache:
    """A bounded mapping whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, max_size: int) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: OrderedDict[str, Tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        self._purge()
        item = self._items.get(key)
        return item[1] if item else None

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._items.pop(key, None)
        self._items[key] = (time.monotonic() + (self.ttl if ttl is None else ttl), value)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, (expires, _) in self._items.items() if expires <= now]:
            self._items.pop(key)

    def __len__(self) -> int:
        return len(self._items)


class WeChatStore(ABC):
    """The channel's shared memory. Keys are built by the channel; values expire after the given TTL."""

    @abstractmethod
    async def first_use_of_nonce(self, nonce_key: str, fingerprint: str, ttl: float) -> bool:
        """Remember that ``nonce_key`` (timestamp + nonce of a signed URL) came with ``fingerprint`` (the body).
        False when the same signed URL was already used with another fingerprint: a replay."""

    @abstractmethod
    async def claim_turn(self, key: str, ttl: float) -> bool:
        """True for the first request of a message (this process answers it), False for WeChat's retries."""

    @abstractmethod
    async def save_reply(self, key: str, parts: List[str], ttl: float) -> None:
        """The reply of a claimed turn, for retries that reach another process."""

    @abstractmethod
    async def reply(self, key: str) -> Optional[List[str]]:
        """The saved reply of a turn, None while it is still being processed (or unknown)."""

    @abstractmethod
    async def remember_buttons(self, openid: str, buttons: Buttons, ttl: float) -> None:
        """The buttons shown last to ``openid``; none forgets them."""

    @abstractmethod
    async def buttons(self, openid: str) -> Buttons:
        """The buttons shown last to ``openid`` (empty when none or expired)."""


class MemoryStore(WeChatStore):
    """Everything in this process's memory, bounded (oldest entries dropped first)."""

    def __init__(self, max_turns: int = 10_000, max_buttons: int = 50_000) -> None:
        self._nonces = TTLCache(600.0, max_turns)
        self._turns = TTLCache(300.0, max_turns)
        self._buttons = TTLCache(24 * 3600.0, max_buttons)

    async def first_use_of_nonce(self, nonce_key: str, fingerprint: str, ttl: float) -> bool:
        seen = self._nonces.get(nonce_key)
        if seen is None:
            self._nonces.put(nonce_key, fingerprint, ttl)
            return True
        return seen == fingerprint

    async def claim_turn(self, key: str, ttl: float) -> bool:
        if self._turns.get(key) is not None:
            return False
        self._turns.put(key, [], ttl)  # claimed; the reply follows
        return True

    async def save_reply(self, key: str, parts: List[str], ttl: float) -> None:
        self._turns.put(key, [list(parts)], ttl)

    async def reply(self, key: str) -> Optional[List[str]]:
        value = self._turns.get(key)
        return value[0] if value else None

    async def remember_buttons(self, openid: str, buttons: Buttons, ttl: float) -> None:
        if buttons:
            self._buttons.put(openid, list(buttons), ttl)
        else:
            self._buttons.pop(openid)

    async def buttons(self, openid: str) -> Buttons:
        return self._buttons.get(openid) or []


class RedisStore(WeChatStore):
    """The same in Redis (``SET NX EX``), shared by every Rasa process of the stack."""

    PREFIX = "hzbot:wechat:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # only needed when REDIS_URL is set

        self._errors = (redis.RedisError, OSError)
        self.redis = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def __repr__(self) -> str:  # the URL may hold a password
        return "RedisStore()"

    async def _call(self, default: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.redis, method)(*args, **kwargs)
        except self._errors as exc:
            log.warning("WeChat store: Redis %s failed (%s); handled as not remembered", method, type(exc).__name__)
            return default

    async def first_use_of_nonce(self, nonce_key: str, fingerprint: str, ttl: float) -> bool:
        key = f"{self.PREFIX}nonce:{nonce_key}"
        if await self._call(True, "set", key, fingerprint, nx=True, ex=max(1, int(ttl))):
            return True
        seen = await self._call(None, "get", key)
        return seen is None or seen.decode("utf-8") == fingerprint

    async def claim_turn(self, key: str, ttl: float) -> bool:
        return bool(await self._call(True, "set", f"{self.PREFIX}turn:{key}", "", nx=True, ex=max(1, int(ttl))))

    async def save_reply(self, key: str, parts: List[str], ttl: float) -> None:
        value = json.dumps(parts, ensure_ascii=False)
        await self._call(None, "set", f"{self.PREFIX}turn:{key}", value, ex=max(1, int(ttl)))

    async def reply(self, key: str) -> Optional[List[str]]:
        value = await self._call(None, "get", f"{self.PREFIX}turn:{key}")
        return json.loads(value) if value else None

    async def remember_buttons(self, openid: str, buttons: Buttons, ttl: float) -> None:
        key = f"{self.PREFIX}buttons:{openid}"
        if buttons:
            await self._call(None, "set", key, json.dumps(buttons, ensure_ascii=False), ex=max(1, int(ttl)))
        else:
            await self._call(None, "delete", key)

    async def buttons(self, openid: str) -> Buttons:
        value = await self._call(None, "get", f"{self.PREFIX}buttons:{openid}")
        return [tuple(pair) for pair in json.loads(value)] if value else []


def make_store(redis_url: str | None = None) -> WeChatStore:
    """:class:`RedisStore` when ``redis_url`` (default: env REDIS_URL) is set, else :class:`MemoryStore`."""
    url = (redis_url if redis_url is not None else os.environ.get("REDIS_URL", "")).strip()
    return RedisStore(url) if url else MemoryStore()
