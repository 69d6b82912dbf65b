"""The WeChat endpoint of the running Rasa server (WECHAT_TOKEN etc. set by tests/e2e/conftest.py), with the real
model and actions; WeChat's API is a local stand-in on E2E_WECHAT_API_PORT."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Tuple

import pytest
from wechatpy.events import SubscribeEvent
from wechatpy.messages import ImageMessage, TextMessage
from wechatpy.replies import deserialize_reply

from tests.e2e.conftest import E2E_WECHAT_ENV
from tests.utils.handoff import active_ticket_id, officer_replies
from tests.utils.wechat import ACCOUNT, StandInWeChatAPI, build_message, decrypt_reply, encrypted_post, signed_query

TOKEN = E2E_WECHAT_ENV["WECHAT_TOKEN"]
APPID = E2E_WECHAT_ENV["WECHAT_APPID"]
AES_KEY = E2E_WECHAT_ENV["WECHAT_AES_KEY"]
TWENTY_DAYS = re.compile(r"20\s*(天|日)")
_ids = iter(range(int(time.time() * 1000) * 1000, 10**19))


@pytest.fixture(scope="module")
def wechat_api():
    """WeChat's API, where the channel sends slow replies and the rest of long ones."""
    port = int(urllib.parse.urlsplit(E2E_WECHAT_ENV["WECHAT_API_BASE"]).port)
    stand_in = StandInWeChatAPI(APPID, E2E_WECHAT_ENV["WECHAT_APPSECRET"], port=port).start()
    yield stand_in
    stand_in.stop()


def call(bot, method: str, params: Dict[str, str], body: str = "") -> Tuple[int, str, float]:
    url = f"{bot.rasa_url}/webhooks/wechat/webhook?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, data=body.encode("utf-8") if method == "POST" else None, method=method)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8"), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8"), time.monotonic() - started


def send_text(bot, openid: str, content: str) -> Tuple[int, str, float]:
    xml = build_message(TextMessage, id=next(_ids), content=content, source=openid)
    return call(bot, "POST", signed_query(TOKEN, openid=openid), xml)


def test_signed_get_echoes_and_forged_is_refused(running_bot):
    assert call(running_bot, "GET", signed_query(TOKEN, echostr="4728937459287"))[:2] == (200, "4728937459287")
    status, body, _ = call(running_bot, "GET", signed_query("forged-token", echostr="4728937459287"))
    assert status == 403 and "4728937459287" not in body


def test_text_gets_the_twenty_day_answer_as_passive_xml_within_5s(running_bot, wechat_api):
    status, body, seconds = send_text(running_bot, "oE2eUser0000000000000000001", "简易注销要公示多少天")
    assert status == 200
    assert seconds < 5
    reply = deserialize_reply(body)
    assert reply.type == "text" and reply.target == "oE2eUser0000000000000000001" and reply.source == ACCOUNT
    assert TWENTY_DAYS.search(reply.content), reply.content
    assert len(reply.content.encode("utf-8")) <= 2048


def test_encrypted_text_gets_an_encrypted_answer(running_bot, wechat_api):
    openid = "oE2eUser0000000000000000002"
    xml = build_message(TextMessage, id=next(_ids), content="简易注销要公示多少天", source=openid)
    query, body = encrypted_post(TOKEN, AES_KEY, APPID, xml, openid)
    status, answer, seconds = call(running_bot, "POST", query, body)
    assert status == 200 and seconds < 5
    reply = deserialize_reply(decrypt_reply(TOKEN, AES_KEY, APPID, answer))
    assert TWENTY_DAYS.search(reply.content) and reply.target == openid


def test_subscribe_gets_the_menu_and_a_number_picks_an_option(running_bot, wechat_api):
    openid = "oE2eUser0000000000000000003"
    xml = build_message(SubscribeEvent, event="subscribe", source=openid)
    status, body, _ = call(running_bot, "POST", signed_query(TOKEN, openid=openid), xml)
    menu = deserialize_reply(body).content
    options = dict(re.findall(r"^(\d+)\. (.+)$", menu, flags=re.MULTILINE))
    assert status == 200 and "简易注销" in options.values(), menu
    number = next(n for n, title in options.items() if title == "简易注销")
    status, body, _ = send_text(running_bot, openid, number)
    assert status == 200
    assert "简易注销" in deserialize_reply(body).content


def test_image_gets_a_polite_request_for_text(running_bot, wechat_api):
    openid = "oE2eUser0000000000000000004"
    xml = build_message(ImageMessage, id=next(_ids), image="http://mmbiz.qpic.cn/test.jpg", media_id="m", source=openid)
    status, body, _ = call(running_bot, "POST", signed_query(TOKEN, openid=openid), xml)
    assert status == 200 and "文字" in deserialize_reply(body).content


def test_retry_forged_malformed_and_oversized(running_bot, wechat_api):
    openid = "oE2eUser0000000000000000005"
    xml = build_message(TextMessage, id=next(_ids), content="开公司要多久", source=openid)
    first = call(running_bot, "POST", signed_query(TOKEN, openid=openid), xml)
    retry = call(running_bot, "POST", signed_query(TOKEN, nonce="another", openid=openid), xml)
    assert first[0] == retry[0] == 200
    assert deserialize_reply(first[1]).content == deserialize_reply(retry[1]).content
    assert call(running_bot, "POST", signed_query("forged", openid=openid), xml)[0] == 403
    assert call(running_bot, "POST", signed_query(TOKEN, openid=openid), "<xml><MsgType>text")[0] == 400
    oversized = build_message(TextMessage, id=next(_ids), content="很" * 100_000, source=openid)
    assert call(running_bot, "POST", signed_query(TOKEN, openid=openid), oversized)[0] in (400, 413)  # 413: Rasa's 64 KB


def test_logs_do_not_reveal_secrets(running_bot, wechat_api):
    logs = "".join(path.read_text(errors="replace") for path in running_bot.log_dir.glob("*.log"))
    assert "WeChat channel is on" in logs
    for name in ("WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APPSECRET"):
        assert E2E_WECHAT_ENV[name] not in logs, name
    for token in wechat_api.issued:
        assert token not in logs


def test_officer_reply_reaches_the_wechat_user_by_the_api(running_bot, wechat_api, monkeypatch):
    """转人工 over WeChat (the consent button answered with its number), then the officer's reply is pushed as the
    console pushes it (core/handoff/delivery.py) through the channel's customer-service API client."""
    openid = "oE2eUser0000000000000000006"

    def say(text: str) -> str:
        status, body, seconds = send_text(running_bot, openid, text)
        assert status == 200 and seconds < 5
        return deserialize_reply(body).content

    said = say("转人工")
    if "1/5" in said:
        said = say("开办企业")
    assert "2/5" in said, said
    assert "3/5" in say("简易注销公示期满后多久内要申请")
    assert "4/5" in say("陈先生")
    consent = say("13812345678")
    options = dict(re.findall(r"^(\d+)\. (.+)$", consent, flags=re.MULTILINE))
    assert "5/5" in consent and "同意" in options.values(), consent
    assert "已为您创建工单" in say(next(n for n, title in options.items() if title == "同意"))
    ticket_id = active_ticket_id(running_bot.env["DATABASE_URL"], openid)

    for name in ("WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_API_BASE"):  # as the web app has them
        monkeypatch.setenv(name, running_bot.env[name])
    already = len(wechat_api.sent)
    pushed = officer_replies(running_bot.env["DATABASE_URL"], ticket_id, "您好，我是服务官，简易注销公示期满后20日内申请。")
    assert pushed == 1
    sent = wechat_api.wait_for_messages(already + 1, timeout=15)
    [reply] = [m for m in sent[already:] if m["touser"] == openid]
    assert reply["msgtype"] == "text"
    assert "CBSO首席商事服务官" in reply["text"]["content"] and "简易注销公示期满后20日内申请" in reply["text"]["content"]


def test_a_haochaping_rating_with_a_comment_over_wechat(running_bot, wechat_api, monkeypatch):
    """转人工 over WeChat, the ticket resolved while the user chats with the officer: the rating question comes as the five 好差评
    levels, numbered; 不满意 by its number asks why, and the answer is stored and opens a follow-up item."""
    from core import db
    from core.handoff.models import RatingFollowup, Ticket

    openid = "oE2eUser0000000000000000012"

    def say(text: str) -> str:
        status, body, seconds = send_text(running_bot, openid, text)
        assert status == 200 and seconds < 5
        return deserialize_reply(body).content

    for name in ("WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_API_BASE"):  # as the web app has them
        monkeypatch.setenv(name, running_bot.env[name])
    said = say("转人工")
    if "1/5" in said:
        said = say("开办企业")
    assert "2/5" in said, said
    say("公司章程可以用模板吗")
    say("陈先生")
    consent = say("13812345678")
    options = dict(re.findall(r"^(\d+)\. (.+)$", consent, flags=re.MULTILINE))
    assert "已为您创建工单" in say(next(n for n, title in options.items() if title == "同意"))
    ticket_id = active_ticket_id(running_bot.env["DATABASE_URL"], openid)
    officer_replies(running_bot.env["DATABASE_URL"], ticket_id, "您好，章程可以用模板。", resolve_with="服务官已办结您的工单")
    asked = say("好的")
    options = dict(re.findall(r"^(\d+)\. (.+)$", asked, flags=re.MULTILINE))
    assert "好差评" in asked and list(options.values()) == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"], asked
    why = say(next(n for n, title in options.items() if title == "不满意"))
    assert "感谢您的评价（不满意）" in why and "可以简单说说哪里不满意吗" in why, why
    assert "已记录您的意见" in say("回复太慢了，等了一上午")
    db.configure(running_bot.env["DATABASE_URL"])
    try:
        with db.session_scope() as session:
            ticket = session.get(Ticket, ticket_id)
            assert (ticket.rating, ticket.rating_level, ticket.rating_comment) == (2, "dissatisfied", "回复太慢了，等了一上午")
            assert session.query(RatingFollowup).filter(RatingFollowup.ticket_id == ticket_id).count() == 1
    finally:
        db.configure("sqlite://")
