"""WeChat Official Account channel: ``POST/GET /webhooks/wechat/webhook``.

Registered in credentials.yml as ``bot.channels.wechat.WeChatInput``. Settings come from the environment (so an
unset variable never stops Rasa from starting): WECHAT_TOKEN switches the channel on; WECHAT_AES_KEY (43
characters) with WECHAT_APPID enables safe (AES) mode; WECHAT_APPID + WECHAT_APPSECRET enable the
customer-service API (WECHAT_API_BASE, default https://api.weixin.qq.com) used for slow replies, the rest of long
replies and external events. Values in credentials.yml, if given, win over the environment.

What WeChat gets:
- GET with ``signature, timestamp, nonce, echostr``: ``echostr`` if the signature is right, else 403.
- POST: 403 for a missing or wrong signature (nothing is processed), 400 for a malformed or oversized body.
  Text goes to the bot; a voice message with WeChat's speech recognition goes as its text; ``subscribe`` sends
  ``/greet`` (the welcome menu); image, voice, video, location, link and unknown types send ``/empty_input``, whose
  response politely asks for text. Other events (unsubscribe, location reports…) get ``success``.
- The reply is a passive XML message if the bot answers within ``reply_timeout`` (4 s; WeChat waits 5 s).
  Otherwise WeChat gets ``success`` at once and the reply follows through the customer-service API.
- All bot messages of a turn are joined into one text; buttons become a numbered list, and a later answer of just
  that number sends the button's payload. Text over WeChat's 2,048-byte limit is split: the first part is the
  passive reply, the rest follow as customer-service messages.
- WeChat retries a message it got no answer for (same MsgId, or same sender + CreateTime for events): a retry is
  not processed again and gets the same reply.

The remembered buttons live in Redis when REDIS_URL is set (several Rasa workers, `make run-scaled`:
bot/shared_state.py), else in this process's memory (bounded, with a TTL).

Never logged: the token, the AES key, the app secret, access tokens (and full openids: only a short prefix).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Set, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import SubscribeEvent, SubscribeScanEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage, TextMessage, VoiceMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.channels.handoff import with_officer_replies
from bot.channels.wechat_api import WeChatAPI, WeChatAPIError, get_api, markdown_links_to_wechat, split_text
from bot.shared_state import shared_ttl_cache

log = logging.getLogger(__name__)

WELCOME_PAYLOAD = "/greet"
NOT_TEXT_PAYLOAD = "/empty_input"
# shown under a message with buttons; the answer "1", "2"… sends that button's payload
OPTIONS_HEADER = "回复数字选择："
SUCCESS = "success"  # WeChat's "received, no passive reply"
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.。、)）]?\s*$")


def _is_event(message: BaseMessage) -> bool:
    # by the raw MsgType: wechatpy parses event types it does not know as UnknownMessage, not as events
    return str(message._data.get("MsgType") or "").lower() == "event"


def _mask(openid: str) -> str:
    return f"{openid[:6]}…" if openid else "?"


@dataclass(frozen=True)
class WeChatSettings:
    token: str = ""
    appid: str = ""
    appsecret: str = ""
    aes_key: str = ""
    api_base: str = ""
    reply_timeout: float = 4.0
    max_body_bytes: int = 64 * 1024
    retry_ttl: float = 300.0
    retry_cache_size: int = 10_000
    buttons_ttl: float = 24 * 3600.0
    buttons_cache_size: int = 50_000
    # pause before the rest of a split reply, so the passive part reaches the user first
    followup_delay: float = 0.8

    def __repr__(self) -> str:  # the token, key and secret stay out of logs and tracebacks
        return f"WeChatSettings(enabled={bool(self.token)}, appid={self.appid!r}, safe_mode={bool(self.aes_key)})"

    @classmethod
    def load(cls, credentials: Dict[str, Any] | None = None) -> WeChatSettings:
        credentials = credentials or {}

        def value(key: str, env: str) -> str:
            given = credentials.get(key)
            return str(given).strip() if given not in (None, "") else os.environ.get(env, "").strip()

        numbers = {
            name: type(getattr(cls, name))(credentials[name])
            for name in ("reply_timeout", "max_body_bytes", "retry_ttl", "retry_cache_size", "followup_delay")
            if credentials.get(name) not in (None, "")
        }
        return cls(
            token=value("token", "WECHAT_TOKEN"),
            appid=value("appid", "WECHAT_APPID"),
            appsecret=value("appsecret", "WECHAT_APPSECRET"),
            aes_key=value("aes_key", "WECHAT_AES_KEY"),
            api_base=value("api_base", "WECHAT_API_BASE"),
            **numbers,
        )


class _TTLCache:
    """A bounded mapping whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, max_size: int) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: OrderedDict[str, Tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        self._purge()
        item = self._items.get(key)
        return item[1] if item else None

    def put(self, key: str, value: Any) -> None:
        self._items.pop(key, None)
        self._items[key] = (time.monotonic() + self.ttl, value)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def _purge(self) -> None:
        now = time.monotonic()
        while self._items:
            key, (expires, _) = next(iter(self._items.items()))
            if expires > now:
                break
            self._items.pop(key)

    def __len__(self) -> int:
        return len(self._items)


class ButtonMemory:
    """The last buttons shown to each user, so that a reply of "2" means the second button."""

    def __init__(self, ttl: float, max_size: int, cache: Any = None) -> None:
        self._cache = cache if cache is not None else _TTLCache(ttl, max_size)

    def remember(self, openid: str, buttons: List[Tuple[str, str]]) -> None:
        if buttons:
            self._cache.put(openid, buttons)
        else:
            self._cache.pop(openid)

    def resolve(self, openid: str, text: str) -> str:
        """The payload meant by ``text`` (a number or a button title), else ``text`` itself."""
        buttons = self._cache.get(openid) or []
        if not buttons:
            return text
        normalised = unicodedata.normalize("NFKC", text).strip()
        match = _NUMBER.match(normalised)
        if match:
            index = int(match.group(1)) - 1
            if 0 <= index < len(buttons):
                return buttons[index][1]
        for title, payload in buttons:
            if normalised == unicodedata.normalize("NFKC", title).strip():
                return payload
        return text


def render_messages(messages: Iterable[Dict[str, Any]]) -> Tuple[str, List[Tuple[str, str]]]:
    """One WeChat text for a turn's bot messages, and the (title, payload) of the buttons it numbers."""
    paragraphs: List[str] = []
    choices: List[Tuple[str, str]] = []
    links: List[str] = []
    for message in messages:
        text = message.get("text")
        custom = message.get("custom")
        if not text and isinstance(custom, dict) and isinstance(custom.get("text"), str):
            text = custom["text"]
        if text:
            paragraphs.append(markdown_links_to_wechat(str(text).strip()))
        if message.get("image"):
            links.append(f'<a href="{message["image"]}">查看图片</a>')
        for button in message.get("buttons") or []:
            title = str(button.get("title") or "").strip()
            if button.get("url"):
                links.append(f'<a href="{button["url"]}">{title or button["url"]}</a>')
            elif title and button.get("payload"):
                choices.append((title, str(button["payload"])))
    paragraphs.extend(links)
    if choices:
        numbered = "\n".join(f"{number}. {title}" for number, (title, _) in enumerate(choices, 1))
        paragraphs.append(f"{OPTIONS_HEADER}\n{numbered}")
    return "\n\n".join(p for p in paragraphs if p), choices


@dataclass
class _Turn:
    """The bot's processing of one WeChat message, shared by WeChat's retries of it."""

    openid: str
    task: asyncio.Task[List[str]]
    mode: str | None = None  # "passive": replied in XML; "async": answered success, reply goes by the API
    followups_sent: bool = False


@dataclass
class _Request:
    """What a POST needs to answer: the message and, in safe mode, how to encrypt the reply."""

    message: BaseMessage
    nonce: str = ""
    timestamp: str = ""
    encrypted: bool = False


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WeChatOutput(OutputChannel):
    """Messages outside a passive reply (reminders, external events) go through the customer-service API."""

    @classmethod
    def name(cls) -> str:
        return WeChatInput.name()

    def __init__(self, api: WeChatAPI, buttons: ButtonMemory) -> None:
        self.api = api
        self.buttons = buttons

    async def _send(self, recipient_id: str, messages: List[Dict[str, Any]]) -> None:
        text, choices = render_messages(messages)
        self.buttons.remember(recipient_id, choices)
        if text:
            await self.api.send_text(recipient_id, text)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, [{"text": text}])

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, [{"text": text, "buttons": buttons}])

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, [{"image": image}])

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await self._send(recipient_id, [{"custom": json_message}])


class WeChatInput(InputChannel):
    """WeChat Official Account messages in, passive XML or customer-service messages out."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        return cls(WeChatSettings.load(credentials))

    def __init__(self, settings: WeChatSettings | None = None, api: WeChatAPI | None = None) -> None:
        self.settings = settings or WeChatSettings.load()
        self.api = api or get_api(self.settings.appid, self.settings.appsecret, self.settings.api_base)
        # in Redis when REDIS_URL is set, so that any Rasa worker resolves "2" (make run-scaled)
        self.buttons = ButtonMemory(self.settings.buttons_ttl, self.settings.buttons_cache_size,
                                    shared_ttl_cache("wechat:buttons", self.settings.buttons_ttl))
        self._turns = _TTLCache(self.settings.retry_ttl, self.settings.retry_cache_size)
        self._background: Set[asyncio.Task] = set()
        self.crypto: WeChatCrypto | None = None
        self._announce()

    def _announce(self) -> None:
        s = self.settings
        if not s.token:
            log.info("WeChat channel is off: WECHAT_TOKEN is not set (/webhooks/wechat/webhook answers 503).")
            return
        if s.aes_key:
            try:
                if not s.appid:
                    raise ValueError("safe mode needs WECHAT_APPID")
                self.crypto = WeChatCrypto(s.token, s.aes_key, s.appid)
            except Exception as exc:  # noqa: BLE001 - a bad key must not show up in the log, nor stop Rasa
                reason = str(exc) if isinstance(exc, ValueError) and "WECHAT_APPID" in str(exc) else "invalid key"
                log.warning("WeChat safe (AES) mode is off: WECHAT_AES_KEY unusable (%s); plaintext only.", reason)
        log.info(
            "WeChat channel is on at /webhooks/wechat/webhook: safe (AES) mode %s, customer-service API %s.",
            "on" if self.crypto else "off",
            f"on ({self.api.api_base})" if self.api.configured else "off (WECHAT_APPID/WECHAT_APPSECRET not set)",
        )

    def get_output_channel(self) -> OutputChannel | None:
        return WeChatOutput(self.api, self.buttons) if self.settings.token and self.api.configured else None

    # --- the webhook -------------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = with_officer_replies(on_new_message)  # replies for users back with the bot (结束人工)
        wechat = Blueprint("wechat_webhook", __name__)

        @wechat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": bool(self.settings.token)})

        @wechat.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.settings.token:
                return response.text("WeChat channel is off", status=503)
            if not self._signature_ok(request):
                return response.text("forbidden", status=403)
            return response.text(request.args.get("echostr", ""))

        @wechat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.token:
                return response.text("WeChat channel is off", status=503)
            if not self._signature_ok(request):
                log.info("WeChat POST refused: missing or wrong signature")
                return response.text("forbidden", status=403)
            try:
                incoming = self._read(request)
            except _BadRequest as exc:
                log.info("WeChat POST refused (%d): %s", exc.status, exc.reason)
                return response.text("bad request" if exc.status == 400 else "forbidden", status=exc.status)
            return await self._answer(incoming, on_new_message)

        return wechat

    def _signature_ok(self, request: Request) -> bool:
        signature, timestamp, nonce = (request.args.get(k) for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            return False
        try:
            check_signature(self.settings.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            return False
        return True

    def _read(self, request: Request) -> _Request:
        body = request.body or b""
        declared = request.headers.get("content-length")
        if len(body) > self.settings.max_body_bytes or (
            declared and declared.isdigit() and int(declared) > self.settings.max_body_bytes
        ):
            raise _BadRequest(400, f"body over {self.settings.max_body_bytes} bytes")
        if not body.strip():
            raise _BadRequest(400, "empty body")
        try:
            xml = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadRequest(400, "body is not UTF-8") from None
        nonce, timestamp = request.args.get("nonce", ""), request.args.get("timestamp", "")
        encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            if self.crypto is None:
                raise _BadRequest(400, "encrypted message but safe mode is not configured (WECHAT_AES_KEY)")
            msg_signature = request.args.get("msg_signature")
            if not msg_signature:
                raise _BadRequest(403, "encrypted message without msg_signature")
            try:
                xml = self.crypto.decrypt_message(xml, msg_signature, timestamp, nonce)
            except (InvalidSignatureException, InvalidAppIdException):
                raise _BadRequest(403, "encrypted message with a wrong msg_signature or AppID") from None
            except Exception:  # noqa: BLE001 - malformed XML, base64 or padding
                raise _BadRequest(400, "encrypted message could not be decrypted") from None
        try:
            message = parse_message(xml)
        except Exception:  # noqa: BLE001 - expat, missing <xml> or <MsgType>
            raise _BadRequest(400, "malformed XML") from None
        try:
            complete = bool(message and message.source and message.target and message.time) and message.id >= 0
        except (TypeError, ValueError):  # MsgId or CreateTime not a number
            complete = False
        if not complete:
            raise _BadRequest(400, "message without FromUserName, ToUserName or CreateTime")
        return _Request(message=message, nonce=nonce, timestamp=timestamp, encrypted=encrypted)

    # --- turning a message into a reply ---------------------------------------------------------------------------

    def _bot_input(self, message: BaseMessage) -> str | None:
        """The text to send to the bot for ``message``, or None when it needs no answer."""
        if isinstance(message, TextMessage):
            text = (message.content or "").strip()
            return self.buttons.resolve(message.source, text) if text else NOT_TEXT_PAYLOAD
        if isinstance(message, (SubscribeEvent, SubscribeScanEvent)):
            return WELCOME_PAYLOAD
        if _is_event(message):
            event = str(message._data.get("Event") or "").lower()
            key = str(message._data.get("EventKey") or "")
            if event == "click" and key.startswith("/"):  # a custom-menu button whose key is a payload
                return key
            return None  # unsubscribe, location reports, menu views…: nothing to say
        if isinstance(message, VoiceMessage) and (message.recognition or "").strip():
            return message.recognition.strip()
        return NOT_TEXT_PAYLOAD  # image, voice, video, location, link, unknown types

    @staticmethod
    def _retry_key(message: BaseMessage) -> str:
        if _is_event(message) or not message.id:  # WeChat's rule: events are told apart by sender + CreateTime
            return f"event:{message.source}:{message.time}"
        return f"msg:{message.id}"

    async def _answer(self, incoming: _Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        message = incoming.message
        key = self._retry_key(message)
        turn: _Turn | None = self._turns.get(key)
        if turn is None:
            text = self._bot_input(message)
            if text is None:
                return response.text(SUCCESS)
            task = asyncio.ensure_future(self._run_bot(message.source, text, message, on_new_message))
            turn = _Turn(openid=message.source, task=task)
            self._turns.put(key, turn)
        else:
            log.info("WeChat retry of %s from %s: not processed again", key.split(":")[0], _mask(message.source))
        if turn.mode == "async":
            return response.text(SUCCESS)
        try:
            parts = await asyncio.wait_for(asyncio.shield(turn.task), timeout=self.settings.reply_timeout)
        except asyncio.TimeoutError:
            if turn.mode is None:
                turn.mode = "async"
                self._in_background(self._deliver(turn, first=0, delay=0.0))
                log.info("WeChat reply to %s slower than %.1f s: answered success, sending by API",
                         _mask(turn.openid), self.settings.reply_timeout)
            return response.text(SUCCESS)
        except Exception:  # noqa: BLE001 - the bot failed; WeChat must not retry into the same failure
            log.exception("WeChat message from %s could not be processed", _mask(turn.openid))
            return response.text(SUCCESS)
        if not parts:
            return response.text(SUCCESS)
        turn.mode = "passive"
        if len(parts) > 1 and not turn.followups_sent:
            turn.followups_sent = True
            self._in_background(self._deliver(turn, first=1, delay=self.settings.followup_delay))
        return self._passive_reply(incoming, parts[0])

    async def _run_bot(
        self, openid: str, text: str, message: BaseMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> List[str]:
        collector = CollectingOutputChannel()
        await on_new_message(
            UserMessage(
                text, collector, openid, input_channel=self.name(),
                metadata={"wechat": {"msg_type": message.type, "msg_id": message.id}},
            )
        )
        reply, choices = render_messages(collector.messages)
        self.buttons.remember(openid, choices)
        return split_text(reply)

    async def _deliver(self, turn: _Turn, first: int, delay: float) -> None:
        """Send the reply's parts from ``first`` on through the customer-service API (once the bot has finished)."""
        try:
            parts = await turn.task
        except Exception:  # noqa: BLE001 - logged where the reply was awaited
            return
        if delay:
            await asyncio.sleep(delay)
        if not parts[first:]:
            return
        if not self.api.configured:
            log.warning("WeChat reply to %s not delivered: WECHAT_APPID/WECHAT_APPSECRET are not set", _mask(turn.openid))
            return
        try:
            for part in parts[first:]:
                await self.api.send_text(turn.openid, part)
        except WeChatAPIError as exc:
            log.warning("WeChat customer-service message to %s failed: %s", _mask(turn.openid), exc)

    def _in_background(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _passive_reply(self, incoming: _Request, content: str) -> HTTPResponse:
        xml = TextReply(message=incoming.message, content=content).render()
        if incoming.encrypted and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, incoming.nonce, incoming.timestamp or None)
        return response.text(xml, content_type="application/xml; charset=utf-8")
