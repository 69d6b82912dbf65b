"""Splitting replies at WeChat's 2,048-byte limit, and the customer-service API client against a local stand-in."""

from __future__ import annotations

import pytest

from core import wechat_api
from core.wechat_api import WeChatAPI, WeChatAPIError, markdown_links_to_wechat, split_text, utf8_len
from tests.utils.wechat import StandInWeChatAPI

APPID = "wx00000000000000a1"
SECRET = "api-test-secret-abc123"


def test_short_text_is_one_part():
    assert split_text("  简易注销公告期为20天。 ") == ["简易注销公告期为20天。"]
    assert split_text("   ") == []


def test_exactly_at_the_limit_is_not_split():
    text = "字" * 682 + "ab"  # 2,046 + 2 bytes
    assert utf8_len(text) == 2048
    assert split_text(text) == [text]
    assert len(split_text(text + "c")) == 2


@pytest.mark.parametrize(
    "text",
    [
        "\n\n".join("段落" + "很长的内容，" * 60 for _ in range(6)),
        "一句话没有换行。" * 400,
        "没有任何标点" * 500,
        "emoji😀" * 700,
    ],
    ids=["paragraphs", "sentences", "no-punctuation", "emoji"],
)
def test_long_text_parts_fit_and_lose_nothing(text):
    parts = split_text(text)
    assert len(parts) > 1
    assert all(0 < utf8_len(p) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_a_link_is_never_cut():
    link = '<a href="https://www.gdzwfw.gov.cn/portal/index">广东政务服务网</a>'
    text = "办" * 670 + link + "理" * 700
    parts = split_text(text)
    assert any(link in p for p in parts)
    assert all(utf8_len(p) <= 2048 for p in parts)


def test_markdown_links_become_anchors():
    assert markdown_links_to_wechat("见[这里](https://a.gov.cn/x?y=1)。") == '见<a href="https://a.gov.cn/x?y=1">这里</a>。'
    assert markdown_links_to_wechat("[不是链接](javascript:alert(1))") == "[不是链接](javascript:alert(1))"


@pytest.fixture()
def stand_in():
    api = StandInWeChatAPI(APPID, SECRET).start()
    yield api
    api.stop()


async def test_send_text_from_environment_settings(stand_in, monkeypatch):
    """The officer-reply hook: ``send_text(openid, text)`` with WECHAT_APPID/SECRET/API_BASE from the environment."""
    monkeypatch.setenv("WECHAT_APPID", APPID)
    monkeypatch.setenv("WECHAT_APPSECRET", SECRET)
    monkeypatch.setenv("WECHAT_API_BASE", stand_in.base_url)
    assert await wechat_api.send_text("oUser1", "服务官回复：材料齐全，可以提交。") == 1
    assert await wechat_api.send_text("oUser1", "第二条") == 1
    assert [m["text"]["content"] for m in stand_in.sent] == ["服务官回复：材料齐全，可以提交。", "第二条"]
    assert stand_in.token_requests == 1  # cached


async def test_wrong_secret_raises(stand_in):
    api = WeChatAPI(APPID, "wrong-secret", stand_in.base_url)
    with pytest.raises(WeChatAPIError) as caught:
        await api.send_text("oUser1", "你好")
    assert caught.value.errcode == 40013
    assert stand_in.sent == []


async def test_unreachable_api_raises_without_url(stand_in):
    api = WeChatAPI(APPID, SECRET, "http://127.0.0.1:9", timeout=2)
    with pytest.raises(WeChatAPIError) as caught:
        await api.send_text("oUser1", "你好")
    assert caught.value.errcode is None and "127.0.0.1" not in str(caught.value)


async def test_not_configured_raises():
    with pytest.raises(WeChatAPIError):
        await WeChatAPI("", "", "http://127.0.0.1:9").send_text("oUser1", "你好")
