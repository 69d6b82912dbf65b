"""What the scaled-stack tests share: a REST client, the tracker store read back from PostgreSQL."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Tuple

import psycopg2

from bot.channels.guard import channel_messages
from scripts.scaled import ScaledStack

WECHAT = {"WECHAT_TOKEN": "scaled-wechat-token-7Qx2", "WECHAT_APPID": "wxscaled000000001",
          "WECHAT_APPSECRET": "scaled-app-secret-4Rt8", "WECHAT_API_BASE": "http://127.0.0.1:9",
          # every test client is 127.0.0.1: no per-address limit; a sender's limit above these conversations
          "THROTTLE_ADDRESS_PER_MINUTE": "0", "THROTTLE_SENDER_PER_MINUTE": "60"}


def say(port: int, sender: str, text: str, timeout: float = 60) -> List[Dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def timed_say(port: int, sender: str, text: str, timeout: float = 60) -> Tuple[List[Dict[str, Any]], float]:
    started = time.monotonic()
    answer = say(port, sender, text, timeout)
    return answer, time.monotonic() - started


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def polite(key: str) -> str:
    return channel_messages()[key]


def tracker_rows(stack: ScaledStack, sender: str) -> List[Tuple[int, str, Dict[str, Any]]]:
    """(id, type_name, data) of every stored event of ``sender``, in the order they were written."""
    with psycopg2.connect(stack.tracker_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, type_name, data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return [(row[0], row[1], json.loads(row[2])) for row in cursor.fetchall()]


def user_texts(stack: ScaledStack, sender: str) -> List[str]:
    return [data.get("text") for _, kind, data in tracker_rows(stack, sender) if kind == "user"]


def stored_turns(stack: ScaledStack, sender: str) -> List[Tuple[str, List[str], int]]:
    """Each stored user message with the bot texts after it (up to the next user message) and how many times the
    bot went back to listening in between (1 for a complete turn)."""
    turns: List[Tuple[str, List[str], int]] = []
    for _, kind, data in tracker_rows(stack, sender):
        if kind == "user":
            turns.append((data.get("text"), [], 0))
        elif turns and kind == "bot":
            turns[-1][1].append(data.get("text") or "")
        elif turns and kind == "action" and data.get("name") == "action_listen":
            text, said, listens = turns[-1]
            turns[-1] = (text, said, listens + 1)
    return turns


def wait_until(check, timeout: float, every: float = 0.5) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(every)
    return False
