"""Hostile input and faults against the running stack (issue 13): each test tries the attack or the fault over
HTTP and checks that the user gets a polite answer and that every server still answers afterwards.

The stack is supervised as in `make run`: the fault tests kill or freeze a server and wait until it is back.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import time
import uuid
import zlib
from pathlib import Path

import httpx
import pytest

from actions.server import TOKEN_HEADER
from bot.channels.guard import channel_messages
from scripts.stack import _ready


def post(bot, body: bytes | str, headers: dict | None = None, timeout: float = 60) -> httpx.Response:
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return httpx.post(f"{bot.rasa_url}/webhooks/rest/webhook", content=content,
                      headers={"Content-Type": "application/json", **(headers or {})}, timeout=timeout)


def all_servers_answer(bot) -> bool:
    return all(_ready(url) for url in bot.stack.health_urls().values())


def wait_all_up(bot, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not all_servers_answer(bot):
        assert time.monotonic() < deadline, "a server did not come back"
        time.sleep(0.5)


def texts(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text", "") for m in response.json())


def tracker_events(bot, sender: str) -> list:
    with sqlite3.connect(bot.env["TRACKER_DB"]) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,))
        return [json.loads(data) for (data,) in rows]


# --- 1. a lone surrogate stopped the whole stack -----------------------------------------------------------------

def test_a_lone_surrogate_in_the_sender_is_refused_and_every_server_still_answers(running_bot):
    raw = '{"sender":"a\\ud800b","message":"hi"}'  # the 39-byte request, JSON escape as sent
    assert post(running_bot, raw).status_code == 400
    assert post(running_bot, '{"sender":"a\ud800b","message":"hi"}').status_code == 400  # raw bytes too
    assert post(running_bot, json.dumps({"sender": "x" * 129, "message": "hi"})).status_code == 400
    assert post(running_bot, json.dumps({"sender": "a\u0000b", "message": "hi"})).status_code == 400
    time.sleep(2)
    assert all_servers_answer(running_bot)
    assert all(p.poll() is None for p in running_bot.stack.processes.values())
    assert "0.5" in running_bot.texts("e2e-after-surrogate", "开公司要多久")


def test_a_lone_surrogate_in_the_text_is_removed(running_bot):
    sender = f"e2e-text-surrogate-{uuid.uuid4().hex[:6]}"
    body = json.dumps({"sender": sender, "message": "开公司要多久"})[:-2] + '\\ud800"}'  # JSON-escaped lone surrogate
    reply = texts(post(running_bot, body))
    assert "0.5" in reply
    assert [e["text"] for e in tracker_events(running_bot, sender)] == ["开公司要多久"]


# --- 3. body size, text length, throttling ------------------------------------------------------------------------

def test_a_big_body_is_refused_before_it_reaches_the_bot(running_bot):
    sender = f"e2e-big-{uuid.uuid4().hex[:6]}"
    big = json.dumps({"sender": sender, "message": "开" * 200_000})  # 600 KB of UTF-8 escapes; 50 MB in the review
    assert post(running_bot, big).status_code == 413
    assert tracker_events(running_bot, sender) == []
    assert all_servers_answer(running_bot)


def test_a_long_text_is_cut_at_the_channel(running_bot):
    sender = f"e2e-cut-{uuid.uuid4().hex[:6]}"
    reply = texts(post(running_bot, json.dumps({"sender": sender, "message": "开公司要多久" + "啊" * 15_000},
                                               ensure_ascii=False)))
    assert reply.strip()
    assert max(len(e["text"]) for e in tracker_events(running_bot, sender)) <= 4000


def test_one_sender_flooding_is_throttled_politely(running_bot):
    sender = f"e2e-flood-{uuid.uuid4().hex[:6]}"
    limit = int(running_bot.env["THROTTLE_SENDER_PER_MINUTE"])
    replies = [running_bot.texts(sender, f"你好{i}") for i in range(limit + 5)]
    assert all(r.strip() for r in replies)  # never silence
    assert all(r == channel_messages()["too_fast"] for r in replies[limit:])
    assert len(tracker_events(running_bot, sender)) <= limit  # the flood never reached the tracker store
    assert "0.5" in running_bot.texts(f"{sender}-other", "开公司要多久")  # others are not affected


# --- 12. non-object JSON; 8. identity -----------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[1, 2]", '"hi"', "null", "42", "{not json", "", '{"message": "hi"}'])
def test_a_body_that_is_not_a_message_object_gets_400(running_bot, body):
    assert post(running_bot, body).status_code == 400


def test_the_clients_input_channel_is_ignored(running_bot):
    sender = f"oFake{uuid.uuid4().hex[:20]}"
    texts(post(running_bot, json.dumps({"sender": sender, "message": "你好", "input_channel": "wechat"})))
    assert {e["input_channel"] for e in tracker_events(running_bot, sender)} == {"rest"}


# --- 2. the action server ------------------------------------------------------------------------------------------

def action_url(bot) -> str:
    return f"http://127.0.0.1:{bot.env['ACTION_PORT']}"


def forged_call(sender: str) -> dict:
    return {"next_action": "action_ticket_status", "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "latest_message": {"text": "我的工单怎么样了"},
                        "events": [], "latest_input_channel": "rest"}}


def test_forged_action_calls_are_refused(running_bot):
    url = action_url(running_bot)
    assert httpx.post(f"{url}/webhook", json=forged_call("someone-else")).status_code == 401
    assert httpx.post(f"{url}/webhook", json=forged_call("x"), headers={TOKEN_HEADER: "guess"}).status_code == 401
    assert httpx.get(f"{url}/actions").status_code == 401
    token = running_bot.env["ACTION_SERVER_TOKEN"]
    assert httpx.get(f"{url}/actions", headers={TOKEN_HEADER: token}).status_code == 200


def test_a_deflate_bomb_is_refused_and_the_action_server_stays_small(running_bot):
    bomb = zlib.compress(b"[" + b" " * 300_000_000 + b"]", 9)
    headers = {TOKEN_HEADER: running_bot.env["ACTION_SERVER_TOKEN"], "Content-Encoding": "deflate",
               "Content-Type": "application/json"}
    pid = running_bot.stack.processes["actions"].pid

    def peak_kb() -> int:  # the process's high-water mark: earlier tests (spaCy's first load) may have raised it
        return int(next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                        if line.startswith("VmHWM")).split()[1])

    before = peak_kb()
    assert httpx.post(f"{action_url(running_bot)}/webhook", content=bomb, headers=headers, timeout=60).status_code == 413
    grown = peak_kb() - before
    assert grown < 100 * 1024, f"the bomb raised the action server's peak RSS by {grown // 1024} MB"


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_the_action_server_listens_on_loopback_only(running_bot):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with socket.socket() as client:
        client.settimeout(2)
        assert client.connect_ex((address, int(running_bot.env["ACTION_PORT"]))) != 0


# --- 1 and 5: faults; supervision ----------------------------------------------------------------------------------

def test_a_killed_action_server_is_answered_politely_and_restarted(running_bot):
    stack = running_bot.stack
    before = stack.restarts.get("actions", 0)
    os.killpg(stack.processes["actions"].pid, signal.SIGKILL)
    reply = running_bot.texts(f"e2e-killed-{uuid.uuid4().hex[:6]}", "开公司要多久")
    assert "稍后再试" in reply
    wait_all_up(running_bot)
    assert stack.restarts.get("actions", 0) == before + 1
    assert "started again" in (running_bot.log_dir / "actions.log").read_text(errors="replace")
    assert "0.5" in running_bot.texts(f"e2e-killed-after-{uuid.uuid4().hex[:6]}", "开公司要多久")


def test_a_killed_web_app_is_restarted_and_the_bot_keeps_answering(running_bot):
    stack = running_bot.stack
    before = stack.restarts.get("web", 0)
    os.killpg(stack.processes["web"].pid, signal.SIGKILL)
    assert "0.5" in running_bot.texts(f"e2e-webdown-{uuid.uuid4().hex[:6]}", "开公司要多久")
    wait_all_up(running_bot)
    assert stack.restarts.get("web", 0) == before + 1


def test_a_frozen_action_server_is_answered_within_seconds_and_replaced(running_bot):
    stack = running_bot.stack
    deadline = time.monotonic() + 30
    while not stack.seen_up("actions"):  # the supervisor watches a server for a freeze once it saw it up
        assert time.monotonic() < deadline
        time.sleep(0.5)
    before = stack.restarts.get("actions", 0)
    frozen = stack.processes["actions"].pid
    os.killpg(frozen, signal.SIGSTOP)
    try:
        started = time.monotonic()
        reply = running_bot.texts(f"e2e-frozen-{uuid.uuid4().hex[:6]}", "开公司要多久")
        waited = time.monotonic() - started
        assert "稍后再试" in reply and waited < 15, f"{waited:.1f} s"
        deadline = time.monotonic() + 90
        while stack.restarts.get("actions", 0) == before:  # the supervisor saw it frozen and replaced it
            assert time.monotonic() < deadline, "the frozen action server was not replaced"
            time.sleep(1)
    finally:
        try:
            os.killpg(frozen, signal.SIGCONT)
        except ProcessLookupError:
            pass
    wait_all_up(running_bot)
    assert "0.5" in running_bot.texts(f"e2e-frozen-after-{uuid.uuid4().hex[:6]}", "开公司要多久")


def test_a_locked_database_is_answered_politely(running_bot):
    path = running_bot.env["DATABASE_URL"].split("///", 1)[1]
    locker = sqlite3.connect(path, timeout=1, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        reply = running_bot.texts(f"e2e-locked-{uuid.uuid4().hex[:6]}", "开公司要多久")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert "稍后再试" in reply or "0.5" in reply  # answered either way; never silence
    assert "0.5" in running_bot.texts(f"e2e-locked-after-{uuid.uuid4().hex[:6]}", "开公司要多久")
