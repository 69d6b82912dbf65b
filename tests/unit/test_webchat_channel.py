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
async def server():
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


async def connect(url: str, session_id: str) -> tuple[socketio.AsyncClient, List[Dict[str, Any]]]:
    client = socketio.AsyncClient(reconnection=False)
    received: List[Dict[str, Any]] = []
    confirmed = asyncio.Event()
    client.on("bot_uttered", lambda data: received.append(data))
    client.on("session_confirm", lambda _session: confirmed.set())
    # polling: the asyncio client's websocket transport does not work with Rasa's aiohttp pin
    await client.connect(url, transports=["polling"], socketio_path="/socket.io")
    await client.emit("session_request", {"session_id": session_id})
    await asyncio.wait_for(confirmed.wait(), 5)
    return client, received


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.02)


async def test_text_buttons_and_custom_messages_reach_the_page(server):
    url, bot, _ = server
    session = uuid.uuid4().hex
    client, received = await connect(url, session)
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
    session = uuid.uuid4().hex
    first, first_received = await connect(url, session)
    second, second_received = await connect(url, session)
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
    session = uuid.uuid4().hex
    client, received = await connect(url, session)
    try:
        await client.emit("user_uttered", {"message": "你好", "session_id": session})
        await until(lambda: received)
        assert received[0]["text"] == "收到：你好"
    finally:
        await client.disconnect()


async def test_message_without_session_is_ignored(server):
    url, bot, _ = server
    client, received = await connect(url, uuid.uuid4().hex)
    try:
        with pytest.warns(UserWarning, match="session_id"):
            await client.emit("user_uttered", {"message": "你好"})
            await asyncio.sleep(0.3)
        assert received == [] and bot.received == []
    finally:
        await client.disconnect()
