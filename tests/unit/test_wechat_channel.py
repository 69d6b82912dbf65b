"""The WeChat channel over HTTP: Rasa's channel registration in a real Sanic server on a free port, a scripted
stand-in for the bot (``app.ctx.agent``, what Rasa's ``on_new_message`` calls) and a local stand-in of WeChat's API.
Payloads are built with wechatpy's message serialisers and crypto (tests/utils/wechat.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic
from wechatpy.events import SubscribeEvent, UnsubscribeEvent
from wechatpy.messages import ImageMessage, LocationMessage, TextMessage, VoiceMessage
from wechatpy.replies import deserialize_reply

from bot.channels.wechat import WeChatInput, WeChatSettings
from bot.channels.wechat_store import RedisStore, WeChatStore
from core.wechat_api import WeChatAPI, utf8_len
from tests.utils.redis_server import redis_server
from tests.utils.wechat import (
    ACCOUNT,
    StandInWeChatAPI,
    build_message,
    decrypt_reply,
    encrypted_post,
    signed_query,
)

TOKEN = "unit-wechat-token-7Hq2"
APPID = "wx0123456789abcdef"
SECRET = "unit-app-secret-9f8e7d6c5b4a"
AES_KEY = "kT3vQ9zR1mN5bX7cW2yL8pF4hJ6dS0aG3eU5iO7qV1w"  # 43 characters
USER = "oTestUser0000000000000000001"
TWENTY_DAYS = "简易注销的公告期为20天，公告期满无异议的，可在20天后申请注销登记。"
WELCOME_BUTTONS = [
    {"title": "开办企业流程", "payload": "/startup_process"},
    {"title": "简易注销", "payload": "/simple_dereg_eligibility"},
    {"title": "转人工服务", "payload": "/request_human"},
]
LONG_TEXT = "\n".join(f"第{i}条：" + "这是一段很长的说明文字。" * 8 for i in range(1, 21))  # ≈ 6,000 bytes
_msg_ids = itertools.count(7_300_000_000_000_000_001)
Sanic.test_mode = True  # several apps in one process


@dataclass
class ScriptedBot:
    """Stands in for Rasa's agent: answers by the text it gets and records every message."""

    delay: float = 0.0
    received: List[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        out, to = message.output_channel, message.sender_id
        text = message.text or ""
        if text.startswith("慢"):
            await asyncio.sleep(self.delay)
        if text == "/greet":
            await out.send_text_with_buttons(to, "您好！我是海珠商事登记助手，请选择：", WELCOME_BUTTONS)
        elif text == "/empty_input":
            await out.send_text_message(to, "我没有看到文字内容😊 请用文字描述您的问题。")
        elif "公示" in text:
            await out.send_text_message(to, TWENTY_DAYS)
            await out.send_text_message(to, "📖 来源：《市场主体登记管理条例实施细则》第四十九条")
        elif text == "长":
            await out.send_text_message(to, LONG_TEXT)
        elif text == "链接":
            await out.send_text_message(to, "请登录[广东政务服务网](https://www.gdzwfw.gov.cn/)办理。")
        else:
            await out.send_text_message(to, f"收到：{text}")


class Webhook:
    """A Sanic app with just the WeChat channel, served on a free port."""

    def __init__(self, channel: WeChatInput, bot: ScriptedBot) -> None:
        self.channel = channel
        self.bot = bot
        self.app = Sanic(f"wechat_test_{next(_msg_ids)}", configure_logging=False)
        self.app.ctx.agent = bot
        register([channel], self.app, "/webhooks/")
        self.server = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> Webhook:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self.server = await self.app.create_server(sock=sock, return_asyncio_server=True)
        await self.server.startup()
        self.session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        await self.session.close()
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/wechat/webhook"

    async def get(self, params: Dict[str, str]) -> aiohttp.ClientResponse:
        async with self.session.get(self.url, params=params) as response:
            await response.read()
            return response

    async def post(self, body: str | bytes, params: Dict[str, str] | None = None) -> Answer:
        params = signed_query(TOKEN, openid=USER) if params is None else params
        data = body.encode("utf-8") if isinstance(body, str) else body
        started = time.monotonic()
        async with self.session.post(self.url, params=params, data=data) as response:
            text = (await response.read()).decode("utf-8")
            return Answer(response.status, text, time.monotonic() - started)

    async def send_text(self, content: str, msg_id: int | None = None) -> Answer:
        return await self.post(build_message(TextMessage, id=msg_id or next(_msg_ids), content=content))


@dataclass
class Answer:
    status: int
    body: str
    seconds: float

    @property
    def content(self) -> str:
        reply = deserialize_reply(self.body)
        assert reply.type == "text", self.body
        assert reply.target == USER and reply.source == ACCOUNT
        return reply.content


@pytest.fixture()
def wechat_api():
    stand_in = StandInWeChatAPI(APPID, SECRET).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture()
async def webhook(wechat_api: StandInWeChatAPI):
    hooks: List[Webhook] = []

    async def make(bot: ScriptedBot | None = None, store: WeChatStore | None = None, **settings: Any) -> Webhook:
        values = dict(token=TOKEN, appid=APPID, appsecret=SECRET, aes_key=AES_KEY, api_base=wechat_api.base_url)
        values.update(settings)
        channel = WeChatInput(WeChatSettings(**values), api=WeChatAPI(APPID, SECRET, wechat_api.base_url), store=store)
        hook = await Webhook(channel, bot or ScriptedBot()).start()
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        await hook.stop()


# --- server verification (GET) --------------------------------------------------------------------------------------


async def test_signed_get_echoes_echostr(webhook):
    hook = await webhook()
    response = await hook.get(signed_query(TOKEN, echostr="6183425706279845829"))
    assert response.status == 200
    assert (await response.text()) == "6183425706279845829"


@pytest.mark.parametrize(
    "params",
    [
        signed_query("not-the-token", echostr="123"),
        {**signed_query(TOKEN, echostr="123"), "timestamp": "1"},
        {"timestamp": "1", "nonce": "2", "echostr": "123"},
        {},
    ],
    ids=["forged", "tampered-timestamp", "no-signature", "nothing"],
)
async def test_bad_or_missing_signature_on_get_is_403(webhook, params):
    hook = await webhook()
    response = await hook.get(params)
    assert response.status == 403
    assert "123" not in await response.text()


# --- messages (POST) ------------------------------------------------------------------------------------------------


async def test_plaintext_text_gets_passive_xml_reply(webhook):
    hook = await webhook()
    answer = await hook.send_text("简易注销要公示多少天")
    assert answer.status == 200
    assert TWENTY_DAYS in answer.content and "来源" in answer.content
    assert answer.seconds < 4
    [message] = hook.bot.received
    assert (message.text, message.sender_id, message.input_channel) == ("简易注销要公示多少天", USER, "wechat")


async def test_encrypted_text_gets_encrypted_reply(webhook):
    hook = await webhook()
    xml = build_message(TextMessage, id=next(_msg_ids), content="简易注销要公示多少天")
    query, body = encrypted_post(TOKEN, AES_KEY, APPID, xml, USER)
    assert "公示" not in body  # really encrypted
    answer = await hook.post(body, params=query)
    assert answer.status == 200
    assert "<Encrypt>" in answer.body and "20天" not in answer.body
    reply = deserialize_reply(decrypt_reply(TOKEN, AES_KEY, APPID, answer.body))
    assert TWENTY_DAYS in reply.content and reply.target == USER
    assert hook.bot.received[0].text == "简易注销要公示多少天"


async def test_subscribe_gets_welcome_menu_and_numbers_choose_buttons(webhook):
    hook = await webhook()
    answer = await hook.post(build_message(SubscribeEvent, event="subscribe"))
    assert answer.status == 200
    assert "您好" in answer.content
    assert "1. 开办企业流程" in answer.content and "3. 转人工服务" in answer.content
    assert hook.bot.received[-1].text == "/greet"

    await hook.send_text("２")  # full-width digits count too
    assert hook.bot.received[-1].text == "/simple_dereg_eligibility"
    await hook.send_text("2")  # the last reply had no buttons: a plain number is just text again
    assert hook.bot.received[-1].text == "2"


async def test_unsubscribe_is_not_answered(webhook):
    hook = await webhook()
    answer = await hook.post(build_message(UnsubscribeEvent, event="unsubscribe"))
    assert (answer.status, answer.body) == (200, "success")
    assert hook.bot.received == []


@pytest.mark.parametrize(
    "xml",
    [
        build_message(ImageMessage, id=101, image="http://mmbiz.qpic.cn/x.jpg", media_id="media-1"),
        build_message(VoiceMessage, id=102, media_id="media-2", format="amr"),
        build_message(LocationMessage, id=103, location_x=23.09, location_y=113.32, scale=15, label="海珠区"),
    ],
    ids=["image", "voice-without-recognition", "location"],
)
async def test_non_text_messages_get_a_polite_request_for_text(webhook, xml):
    hook = await webhook()
    answer = await hook.post(xml)
    assert answer.status == 200
    assert "请用文字" in answer.content
    assert [m.text for m in hook.bot.received] == ["/empty_input"]


async def test_voice_with_speech_recognition_goes_as_text(webhook):
    hook = await webhook()
    answer = await hook.post(build_message(VoiceMessage, id=104, media_id="m", format="amr", recognition="简易注销要公示多少天"))
    assert TWENTY_DAYS in answer.content


async def test_retry_of_same_msgid_is_processed_once_and_gets_same_reply(webhook):
    hook = await webhook()
    xml = build_message(TextMessage, id=next(_msg_ids), content="简易注销要公示多少天")
    first = await hook.post(xml)
    retry = await hook.post(xml)
    assert first.content == retry.content and TWENTY_DAYS in retry.content
    assert len(hook.bot.received) == 1


async def test_same_msgid_from_another_sender_is_a_new_message(webhook):
    """MsgIds are not secret: user C sending user A's MsgId must not get A's answer, and C's message is processed."""
    hook = await webhook()
    msg_id = next(_msg_ids)
    other = "oOtherUser000000000000000002"
    first = await hook.post(build_message(TextMessage, id=msg_id, content="简易注销要公示多少天"))
    assert TWENTY_DAYS in first.content
    answer = await hook.post(
        build_message(TextMessage, id=msg_id, source=other, content="你好"), params=signed_query(TOKEN, openid=other)
    )
    reply = deserialize_reply(answer.body)
    assert reply.target == other and reply.content == "收到：你好"
    assert [m.sender_id for m in hook.bot.received] == [USER, other]


# --- replays --------------------------------------------------------------------------------------------------------


async def test_signed_url_reused_with_another_body_or_openid_is_403(webhook):
    hook = await webhook()
    query = signed_query(TOKEN, openid=USER)
    first = await hook.post(build_message(TextMessage, id=next(_msg_ids), content="简易注销要公示多少天"), params=query)
    assert first.status == 200
    forged = "oForgedUser00000000000000003"
    replayed = await hook.post(build_message(TextMessage, id=next(_msg_ids), source=forged, content="我的工单"),
                               params={**query, "openid": forged})
    assert replayed.status == 403
    other_body = await hook.post(build_message(TextMessage, id=next(_msg_ids), content="我的工单"), params=query)
    assert other_body.status == 403
    assert [m.text for m in hook.bot.received] == ["简易注销要公示多少天"]


async def test_signed_url_reused_with_the_same_body_is_a_retry(webhook):
    hook = await webhook()
    query = signed_query(TOKEN, openid=USER)
    xml = build_message(TextMessage, id=next(_msg_ids), content="简易注销要公示多少天")
    first, retry = await hook.post(xml, params=query), await hook.post(xml, params=query)
    assert retry.status == 200 and retry.content == first.content
    assert len(hook.bot.received) == 1


@pytest.mark.parametrize("when", ["320 s ago", "in 320 s", "2001"])
async def test_timestamp_outside_five_minutes_is_403(webhook, when):
    # 20 s beyond the window: a "301 s in the future" stamp came back inside it when the check ran a second later
    now = int(time.time())
    timestamp = str({"320 s ago": now - 320, "in 320 s": now + 320, "2001": 1_000_000_000}[when])
    hook = await webhook()
    query = signed_query(TOKEN, timestamp=timestamp, openid=USER)
    answer = await hook.post(build_message(TextMessage, id=next(_msg_ids), content="你好"), params=query)
    assert answer.status == 403 and hook.bot.received == []
    assert (await hook.get(signed_query(TOKEN, timestamp=timestamp, echostr="42"))).status == 403


async def test_timestamp_within_five_minutes_is_accepted(webhook):
    hook = await webhook()
    query = signed_query(TOKEN, timestamp=str(int(time.time()) - 250), openid=USER)
    answer = await hook.post(build_message(TextMessage, id=next(_msg_ids), content="你好"), params=query)
    assert answer.content == "收到：你好"


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


async def test_redis_store_is_shared_by_two_processes(webhook, redis_url):
    """Two channels (two Rasa processes of the scaled stack) on one Redis: a retry reaching the other process is not
    processed again and gets the same reply, a URL replayed there is refused, and numbers choose its buttons."""
    bot = ScriptedBot()
    a = await webhook(bot, store=RedisStore(redis_url))
    b = await webhook(bot, store=RedisStore(redis_url))
    xml = build_message(TextMessage, id=next(_msg_ids), content="简易注销要公示多少天")
    query = signed_query(TOKEN, openid=USER)
    first = await a.post(xml, params=query)
    retry = await b.post(xml)
    assert retry.content == first.content and len(bot.received) == 1
    replay = await b.post(build_message(TextMessage, id=next(_msg_ids), content="我的工单"), params=query)
    assert replay.status == 403 and len(bot.received) == 1
    await a.post(build_message(SubscribeEvent, event="subscribe"))
    await b.send_text("2")
    assert bot.received[-1].text == "/simple_dereg_eligibility"


async def test_redis_down_never_stops_a_message(webhook):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = await webhook(store=RedisStore(f"redis://127.0.0.1:{port}/0"))
    answer = await hook.send_text("简易注销要公示多少天")
    assert TWENTY_DAYS in answer.content


async def test_markdown_links_become_wechat_links(webhook):
    hook = await webhook()
    answer = await hook.send_text("链接")
    assert '<a href="https://www.gdzwfw.gov.cn/">广东政务服务网</a>' in answer.content


# --- refused requests -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        signed_query("forged-token", openid=USER),
        {"timestamp": str(int(time.time())), "nonce": "n", "openid": USER},
    ],
    ids=["forged", "missing"],
)
async def test_bad_signature_on_post_is_403_and_not_processed(webhook, wechat_api, params):
    hook = await webhook()
    answer = await hook.post(build_message(TextMessage, id=next(_msg_ids), content="简易注销要公示多少天"), params=params)
    assert answer.status == 403
    assert hook.bot.received == [] and wechat_api.sent == []


async def test_encrypted_message_with_forged_msg_signature_is_403(webhook):
    hook = await webhook()
    xml = build_message(TextMessage, id=next(_msg_ids), content="你好")
    query, body = encrypted_post(TOKEN, AES_KEY, APPID, xml, USER)
    answer = await hook.post(body, params={**query, "msg_signature": "0" * 40})
    assert answer.status == 403 and hook.bot.received == []


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Content>未闭合",
        "this is not xml",
        "<xml><FromUserName>u</FromUserName></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>u</FromUserName><ToUserName>a</ToUserName>"
        "<CreateTime>1</CreateTime><MsgId>不是数字</MsgId></xml>",
        "",
    ],
    ids=["unclosed", "not-xml", "no-msgtype", "bad-msgid", "empty"],
)
async def test_malformed_body_is_400(webhook, body):
    hook = await webhook()
    answer = await hook.post(body)
    assert answer.status == 400 and hook.bot.received == []


async def test_oversized_body_is_400(webhook):
    hook = await webhook(max_body_bytes=64 * 1024)
    body = build_message(TextMessage, id=next(_msg_ids), content="很长" * 40_000)
    answer = await hook.post(body)
    assert answer.status == 400 and hook.bot.received == []


async def test_channel_is_off_without_token(webhook, caplog):
    with caplog.at_level(logging.INFO, logger="bot.channels.wechat"):
        hook = await webhook(token="")
    assert "WeChat channel is off: WECHAT_TOKEN is not set" in caplog.text
    assert (await hook.get(signed_query("", echostr="1"))).status == 503
    assert (await hook.send_text("你好")).status == 503
    assert hook.bot.received == []


# --- slow and long replies: the customer-service API ---------------------------------------------------------------


async def test_slow_reply_answers_success_at_once_and_arrives_by_api(webhook, wechat_api):
    hook = await webhook(ScriptedBot(delay=1.5), reply_timeout=0.5)
    xml = build_message(TextMessage, id=next(_msg_ids), content="慢慢说：简易注销要公示多少天")
    answer = await hook.post(xml)
    assert (answer.status, answer.body) == (200, "success")
    assert answer.seconds < 1.2
    retry = await hook.post(xml)  # WeChat would not retry after "success"; if it does, nothing more happens
    assert retry.body == "success"
    [sent] = await asyncio.to_thread(wechat_api.wait_for_messages, 1)
    assert sent["touser"] == USER and sent["msgtype"] == "text"
    assert TWENTY_DAYS in sent["text"]["content"]
    await asyncio.sleep(0.3)
    assert len(wechat_api.sent) == 1 and len(hook.bot.received) == 1
    assert wechat_api.token_requests == 1


async def test_long_reply_is_split_at_2048_bytes(webhook, wechat_api):
    hook = await webhook()
    answer = await hook.send_text("长")
    first = answer.content
    assert utf8_len(first) <= 2048
    rest = await asyncio.to_thread(wechat_api.wait_for_messages, 3)
    parts = [first] + [m["text"]["content"] for m in rest]
    assert all(utf8_len(p) <= 2048 for p in parts)
    assert "\n".join(parts) == LONG_TEXT  # cut at line ends, nothing lost, in order
    await asyncio.sleep(0.3)
    assert len(wechat_api.sent) == 3


async def test_output_channel_sends_external_messages_by_api(webhook, wechat_api):
    """Reminders and officer replies sent through Rasa use the customer-service API; an expired token is renewed."""
    hook = await webhook()
    output = hook.channel.get_output_channel()
    await output.send_text_message(USER, "第一条")  # fetches the token
    wechat_api.expire_next_token_use()
    await output.send_text_with_buttons(USER, "服务官回复：请带上营业执照原件。", WELCOME_BUTTONS[:2])
    sent = await asyncio.to_thread(wechat_api.wait_for_messages, 2)
    assert "请带上营业执照原件" in sent[1]["text"]["content"] and "2. 简易注销" in sent[1]["text"]["content"]
    assert wechat_api.token_requests == 2
    await hook.send_text("1")
    assert hook.bot.received[-1].text == "/startup_process"


async def test_logs_reveal_no_secret(webhook, wechat_api, caplog):
    caplog.set_level(logging.DEBUG)
    hook = await webhook(ScriptedBot(delay=0.8), reply_timeout=0.3)
    await hook.send_text("简易注销要公示多少天")
    query, body = encrypted_post(TOKEN, AES_KEY, APPID, build_message(TextMessage, id=next(_msg_ids), content="你好"), USER)
    await hook.post(body, params=query)
    await hook.post("<xml>broken", params=signed_query(TOKEN))
    await hook.post("<xml/>", params=signed_query("forged"))
    await hook.send_text("慢一点")
    await asyncio.to_thread(wechat_api.wait_for_messages, 1)
    logged = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    assert "WeChat channel is on" in logged
    for secret in [TOKEN, AES_KEY, SECRET, *wechat_api.issued]:
        assert secret not in logged
    assert USER not in logged  # openids only as a short prefix
    assert TOKEN not in repr(hook.channel.settings) and SECRET not in repr(hook.channel.api)


async def test_empty_reply_answers_success(webhook):
    class Silent(ScriptedBot):
        async def handle_message(self, message: UserMessage) -> None:
            self.received.append(message)

    hook = await webhook(Silent())
    answer = await hook.send_text("你好")
    assert (answer.status, answer.body) == (200, "success")

