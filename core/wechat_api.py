"""WeChat's server API as far as this bot needs it: the access token and customer-service text messages.

Used by the WeChat channel (slow replies, the rest of a long reply) and by anything that must reach a WeChat user
outside a passive reply, such as an officer answering a handoff ticket (:func:`send_text`).

Why not wechatpy's ``WeChatClient``: it is synchronous (it would block Rasa's event loop), its token URL is fixed
to api.weixin.qq.com (tests point ``WECHAT_API_BASE`` at a local stand-in), and urllib3's debug log prints request
URLs, which carry the access token. Here the app secret goes in a JSON body (``/cgi-bin/stable_token``, which also
lets the Rasa server and the web app share one token without invalidating each other's) and no URL, token or
exception text that could contain one is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from typing import Any, Dict, List, Tuple

import aiohttp

log = logging.getLogger(__name__)

#: WeChat cuts text messages (passive replies and customer-service messages) at 2,048 bytes of UTF-8.
TEXT_LIMIT_BYTES = 2048
DEFAULT_API_BASE = "https://api.weixin.qq.com"
# errcodes meaning "this access token is not (or no longer) valid": fetch a new one and retry once
_TOKEN_ERRORS = {40001, 40014, 42001}
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_ANCHOR = re.compile(r"(<a\s[^>]*>.*?</a>)", re.DOTALL)
_ANCHOR_OR_CHAR = re.compile(r"<a\s[^>]*>.*?</a>|.", re.DOTALL)
# split long text at paragraph ends first, then line ends, then sentence ends, then commas
_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", " "]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def markdown_links_to_wechat(text: str) -> str:
    """``[text](https://…)`` → ``<a href="https://…">text</a>``, the link markup WeChat text messages understand."""
    return _MARKDOWN_LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', text)


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> List[str]:
    """Cut ``text`` into messages of at most ``limit`` UTF-8 bytes, at paragraph, line or sentence ends if possible.

    A ``<a href=…>…</a>`` link is never cut in two (unless it alone is longer than ``limit``).
    """
    text = text.strip()
    if not text:
        return []
    return [part for part in (p.strip() for p in _split(text, limit, _SEPARATORS)) if part]


def _split(text: str, limit: int, separators: List[str]) -> List[str]:
    if utf8_len(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit)
    separator, finer = separators[0], separators[1:]
    units = _pieces(text, separator)
    if len(units) == 1:
        return _split(text, limit, finer)
    chunks: List[str] = []
    current = ""
    for unit in units:
        if utf8_len(current + unit) <= limit:
            current += unit
            continue
        if current.strip():
            chunks.append(current)
        if utf8_len(unit) <= limit:
            current = unit
        else:
            smaller = _split(unit, limit, finer)
            chunks.extend(smaller[:-1])
            current = smaller[-1]
    if current.strip():
        chunks.append(current)
    return chunks


def _pieces(text: str, separator: str) -> List[str]:
    """``text`` cut after each ``separator`` that is not inside a link (the separator stays with its piece)."""
    pieces = [""]
    for segment in _ANCHOR.split(text):
        if _ANCHOR.fullmatch(segment):
            pieces[-1] += segment
            continue
        first, *others = segment.split(separator)
        pieces[-1] += first
        for other in others:
            pieces[-1] += separator
            pieces.append(other)
    return [piece for piece in pieces if piece]


def _hard_cut(text: str, limit: int) -> List[str]:
    chunks: List[str] = []
    current = ""
    for atom in _ANCHOR_OR_CHAR.findall(text):
        if utf8_len(atom) > limit:  # a link longer than a whole message: cut it like plain text
            for char in atom:
                if utf8_len(current + char) > limit:
                    chunks.append(current)
                    current = ""
                current += char
            continue
        if utf8_len(current + atom) > limit:
            chunks.append(current)
            current = ""
        current += atom
    if current:
        chunks.append(current)
    return chunks


class WeChatAPIError(Exception):
    """WeChat refused a call (``errcode``) or could not be reached (``errcode`` is None)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatAPI:
    """A small async client: ``send_text(openid, text)`` with the access token fetched and cached as needed.

    One instance per process is enough (:func:`get_api`); it opens a short-lived HTTP session per call, so it can be
    used from any event loop (Rasa's Sanic loop, the web app's, or ``asyncio.run``).
    """

    def __init__(self, appid: str, appsecret: str, api_base: str = DEFAULT_API_BASE, timeout: float = 5.0) -> None:
        self.appid = appid
        self._secret = appsecret
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.timeout = timeout
        self._token: Tuple[str, float] | None = None  # (access token, expiry on time.monotonic())
        self._token_guard = threading.Lock()

    def __repr__(self) -> str:  # never show the secret or the token
        return f"WeChatAPI(appid={self.appid!r}, api_base={self.api_base!r})"

    @property
    def configured(self) -> bool:
        return bool(self.appid and self._secret)

    async def access_token(self, refresh: bool = False) -> str:
        with self._token_guard:
            cached = self._token
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
        result = await self._call(
            "POST",
            "/cgi-bin/stable_token",
            {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret, "force_refresh": False},
        )
        token = str(result.get("access_token") or "")
        if not token:
            raise WeChatAPIError(None, "no access_token in the answer")
        expires_in = int(result.get("expires_in") or 7200)
        with self._token_guard:
            # renew five minutes early (WeChat keeps the old token valid for five minutes after a renewal)
            self._token = (token, time.monotonic() + max(60, expires_in - 300))
        log.info("WeChat access token renewed (valid %d s)", expires_in)
        return token

    async def send_text(self, openid: str, text: str) -> int:
        """Send ``text`` to ``openid`` as customer-service messages (split at 2,048 bytes); returns how many.

        Raises :class:`WeChatAPIError` when WeChat refuses (e.g. 45015: the user has not written for 48 hours).
        """
        if not self.configured:
            raise WeChatAPIError(None, "WECHAT_APPID / WECHAT_APPSECRET are not set")
        parts = split_text(markdown_links_to_wechat(text))
        for part in parts:
            await self._send_custom({"touser": openid, "msgtype": "text", "text": {"content": part}})
        return len(parts)

    async def _send_custom(self, body: Dict[str, Any]) -> None:
        token = await self.access_token()
        try:
            await self._call("POST", "/cgi-bin/message/custom/send", body, token=token)
        except WeChatAPIError as exc:
            if exc.errcode not in _TOKEN_ERRORS:
                raise
            token = await self.access_token(refresh=True)
            await self._call("POST", "/cgi-bin/message/custom/send", body, token=token)

    async def _call(self, method: str, path: str, body: Dict[str, Any], token: str | None = None) -> Dict[str, Any]:
        params = {"access_token": token} if token else None
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")  # WeChat shows \u escapes literally
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
                async with session.request(
                    method, self.api_base + path, params=params, data=data,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                ) as response:
                    status = response.status
                    raw = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # the exception text can contain the URL, and with it the access token: log the type only
            raise WeChatAPIError(None, f"{path}: {type(exc).__name__}") from None
        if status != 200:
            raise WeChatAPIError(None, f"{path}: HTTP {status}")
        try:
            result = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise WeChatAPIError(None, f"{path}: answer is not JSON") from None
        errcode = int(result.get("errcode") or 0)
        if errcode:
            raise WeChatAPIError(errcode, str(result.get("errmsg", ""))[:200])
        return result


_shared: Dict[Tuple[str, str, str], WeChatAPI] = {}
_shared_guard = threading.Lock()


def get_api(
    appid: str | None = None, appsecret: str | None = None, api_base: str | None = None
) -> WeChatAPI:
    """The process's client for these credentials (default: WECHAT_APPID, WECHAT_APPSECRET, WECHAT_API_BASE)."""
    appid = (appid if appid is not None else os.environ.get("WECHAT_APPID", "")).strip()
    appsecret = (appsecret if appsecret is not None else os.environ.get("WECHAT_APPSECRET", "")).strip()
    api_base = (api_base if api_base is not None else os.environ.get("WECHAT_API_BASE", "")).strip() or DEFAULT_API_BASE
    key = (appid, appsecret, api_base)
    with _shared_guard:
        if key not in _shared:
            _shared[key] = WeChatAPI(appid, appsecret, api_base)
        return _shared[key]


async def send_text(openid: str, text: str) -> int:
    """Send ``text`` to a WeChat user through the customer-service API, with the settings from the environment.

    The hook for officer replies to a handoff ticket opened from WeChat (the ticket's sender id is the openid).
    WeChat accepts these messages within 48 hours of the user's last message.
    """
    return await get_api().send_text(openid, text)


def send_text_blocking(openid: str, text: str) -> int:
    """:func:`send_text` for synchronous code (a thread without a running event loop)."""
    return asyncio.run(send_text(openid, text))
