"""Our socket.io channel (bot/channels/webchat.py) in a real Sanic server, with a python-socketio client and a
scripted stand-in for the bot: text, quick replies and custom messages (the hand-off's poll token) reach the page."""

from __future__ import annotations

import asyncio
import itertools
import socket
import uuid
from typing import Any, Dict, List

import pytest
import socketio
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from bot.channels.webchat import SocketIOInput

Sanic.test_mode = True
_apps = itertools.count()
HANDOFF = {"handoff": {"ticket": "HZ20261125001", "poll_token": "tok-123", "poll_url": "/api/handoff/messages"}}


class ScriptedBot:
    def __init__(self) -> None:
        self.received: List[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        out, to = message.output_channel, message.sender_id
        if message.text == "转人工":
            await out.send_text_message(to, "已为您创建工单 HZ20261125001。")
            await out.send_custom_json(to, dict(HANDOFF))
            await out.send_text_message(to, "服务官回复后会显示在这里。")
        else:
            await out.send_text_with_buttons(to, f"收到：{message.text}", [{"title": "简易注销", "payload": "/simple"}])


@pytest.fixture()
async def server(monkeypatch):
    monkeypatch.setenv("CHAT_ALLOWED_ORIGINS", "http://localhost:8000,http://127.0.0.1:8000")
    channel = SocketIOInput.from_credentials(
        {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered", "session_persistence": True}
    )
    app = Sanic(f"webchat_test_{next(_apps)}", configure_logging=False)
    app.ctx.agent = ScriptedBot()
    register([channel], app, "/webhooks/")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    running = await app.create_server(sock=sock, return_asyncio_server=True)
    await running.startup()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", app.ctx.agent, channel
    running.close()
    await running.wait_closed()


async def connect(
    url: str, session_id: str | None = None, request_session: bool = True, headers: Dict[str, str] | None = None
) -> tuple[socketio.AsyncClient, List[Dict[str, Any]], str]:
    """A connected page; returns it, the bot messages it gets and the session id the server confirmed."""
    client = socketio.AsyncClient(reconnection=False)
    received: List[Dict[str, Any]] = []
    confirmed: List[str] = []
    client.on("bot_uttered", lambda data: received.append(data))
    client.on("session_confirm", lambda session: confirmed.append(session))
    # polling: the asyncio client's websocket transport does not work with Rasa's aiohttp pin
    await client.connect(url, transports=["polling"], socketio_path="/socket.io", headers=headers or {})
    if request_session:
        await client.emit("session_request", {"session_id": session_id or uuid.uuid4().hex})
        await until(lambda: confirmed)
    return client, received, confirmed[0] if confirmed else ""


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.02)


async def test_text_buttons_and_custom_messages_reach_the_page(server):
    url, bot, _ = server
    client, received, session = await connect(url)
    try:
        await client.emit("user_uttered", {"message": "转人工", "session_id": session})
        await until(lambda: len(received) >= 3)
        assert received[0] == {"text": "已为您创建工单 HZ20261125001。"}
        assert received[1] == HANDOFF  # the custom message is the event's data (Rasa 3.6 raised TypeError here)
        assert received[2] == {"text": "服务官回复后会显示在这里。"}
        await client.emit("user_uttered", {"message": "你好", "session_id": session})
        await until(lambda: len(received) >= 4)
        assert received[3]["quick_replies"] == [{"content_type": "text", "title": "简易注销", "payload": "/simple"}]
        assert [(m.sender_id, m.input_channel) for m in bot.received] == [(session, "socketio")] * 2
    finally:
        await client.disconnect()


async def test_a_second_page_of_the_same_session_gets_the_replies_and_pushed_messages(server):
    """Session persistence: the sockets of one session share a room; the output channel reaches them all."""
    url, _, channel = server
    first, first_received, session = await connect(url)
    second, second_received, again = await connect(url, session)
    assert again == session  # a session id this server issued is kept
    try:
        await second.emit("user_uttered", {"message": "你好", "session_id": session})
        await until(lambda: first_received and second_received)
        await channel.get_output_channel().send_custom_json(session, {"handoff": {"status": "closed"}})
        await until(lambda: len(first_received) == 2 and len(second_received) == 2)
        assert first_received[-1] == second_received[-1] == {"handoff": {"status": "closed"}}
    finally:
        await first.disconnect()
        await second.disconnect()


async def test_enter_room_is_awaited_when_it_is_a_coroutine(server, monkeypatch):
    """python-socketio >= 5.10 made enter_room a coroutine (RasaHQ/rasa#13027); replies must still arrive."""
    url, _, channel = server
    synchronous = type(channel.sio).enter_room

    async def enter_room(self, sid, room, namespace=None):
        return synchronous(self, sid, room, namespace=namespace)

    monkeypatch.setattr(type(channel.sio), "enter_room", enter_room)
    client, received, session = await connect(url)
    try:
        await client.emit("user_uttered", {"message": "你好", "session_id": session})
        await until(lambda: received)
        assert received[0]["text"] == "收到：你好"
    finally:
        await client.disconnect()


async def test_the_server_issues_the_session_id_and_ignores_the_one_the_client_claims(server):
    """Identity spoofing: a page cannot pick its session id, nor talk as another session."""
    url, bot, _ = server
    victim, _, victim_session = await connect(url)
    chosen = uuid.uuid4().hex  # what the page asks for: not issued by this server
    attacker, received, attacker_session = await connect(url, chosen)
    try:
        assert attacker_session != chosen and len(attacker_session) == 48
        assert victim_session != attacker_session
        await attacker.emit("user_uttered", {"message": "我的工单怎么样了", "session_id": victim_session})
        await until(lambda: received)
        assert [m.sender_id for m in bot.received] == [attacker_session]
    finally:
        await victim.disconnect()
        await attacker.disconnect()


async def test_a_message_before_any_session_is_answered_not_dropped(server):
    url, bot, _ = server
    client, received, _ = await connect(url, request_session=False)
    try:
        await client.emit("user_uttered", {"message": "你好", "session_id": uuid.uuid4().hex})
        await until(lambda: received)
        assert "刷新" in received[0]["text"] and bot.received == []
    finally:
        await client.disconnect()


async def test_pages_of_other_origins_cannot_connect(server, monkeypatch):
    url, _, _ = server
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, transports=["polling"], socketio_path="/socket.io",
                             headers={"Origin": "http://evil.example"})
    allowed, _, session = await connect(url, headers={"Origin": "http://localhost:8000"})
    assert session
    await allowed.disconnect()


async def test_a_burst_in_one_session_is_answered_in_full(server):
    """200 messages at once: each is answered (in order, or with a polite "please wait"), none dropped silently."""
    url, bot, _ = server
    client, received, session = await connect(url)
    try:
        for i in range(200):
            await client.emit("user_uttered", {"message": f"第{i}条", "session_id": session})
            if i % 10 == 9:
                await asyncio.sleep(0.05)  # engine.io's polling carries at most 16 packets per request
        await until(lambda: len(received) >= 200, timeout=30)
        answered = [m["text"] for m in received if m.get("text", "").startswith("收到：")]
        polite = [m for m in received if not m.get("text", "").startswith("收到：")]
        assert len(answered) + len(polite) == 200
        assert polite and all("稍" in m["text"] for m in polite)  # 太快了 / 请稍等
        numbers = [int(m.text[1:-1]) for m in bot.received]
        assert numbers == sorted(numbers) and answered == [f"收到：{m.text}" for m in bot.received]
    finally:
        await client.disconnect()
