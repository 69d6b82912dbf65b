"""Faults on the scaled stack, each brought back before the test ends:

- the action server killed, then frozen (SIGSTOP): the user gets the short polite Chinese message at once or within
  ACTION_TIMEOUT (never silence or an empty answer), and the same message works once the server is back;
- PostgreSQL restarted under conversations: turns during the outage get the polite message quickly, the bot
  recovers by itself, every answered turn is stored, tickets opened before are still there and new ones open;
- Redis killed, then frozen: the polite message within a bounded time, recovery by itself when it is back, and the
  conversation's history intact.
No reply carries a stack trace.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import urllib.error
import uuid
from typing import Dict, List, Tuple

import psycopg2
import pytest

from scripts.scaled import Proc, ScaledStack
from tests.scaled.helpers import polite, say, stored_turns, texts, timed_say, wait_until

TICKET = re.compile(r"HZ\d{6}-\d{4,}")
ACTION_TIMEOUT = 8.0  # the guard's default (bot/channels/guard.py)


def _proc(stack: ScaledStack, name: str) -> Proc:
    return next(p for p in stack.procs if p.name == name)


def _sender(tag: str) -> str:
    return f"fault-{tag}-{uuid.uuid4().hex[:8]}"


def _clean(reply: str) -> None:
    for marker in ("Traceback", "Exception", "Error", "psycopg2", "redis", "sqlalchemy"):
        assert marker not in reply, reply


def _answered(reply: str) -> bool:
    return bool(reply.strip()) and not any(polite(k) in reply for k in ("unavailable", "overloaded", "busy"))


def _actions_healthy(stack: ScaledStack) -> bool:
    return wait_until(lambda: "0.5" in texts(say(stack.ports["rasa"], _sender("probe"), "开公司要多久", 30)), 90)


@pytest.fixture()
def actions(scaled: ScaledStack):
    proc = _proc(scaled, "actions")
    yield proc
    if proc.alive():
        proc.stop(signal.SIGCONT)
    else:
        proc.start()
    assert _actions_healthy(scaled)


def test_action_server_down_the_user_is_told_politely_and_can_send_again(scaled: ScaledStack, actions: Proc):
    sender = _sender("actions")
    assert "0.5" in texts(say(scaled.ports["rasa"], sender, "开公司要多久"))
    actions.stop(signal.SIGKILL)
    actions.process.wait(timeout=10)
    for port in scaled.ports["workers"]:  # every worker, not only the one nginx picks
        reply, seconds = timed_say(port, sender, "简易注销要公示多少天")
        assert texts(reply) == polite("unavailable") and seconds < 5, (texts(reply), seconds)
    actions.start()
    assert wait_until(lambda: "20" in texts(say(scaled.ports["rasa"], sender, "简易注销要公示多少天")), 90)
    assert "10" in texts(say(scaled.ports["rasa"], sender, "那个体户呢"))  # the context is there


def test_a_frozen_action_server_holds_a_turn_no_longer_than_the_action_timeout(scaled: ScaledStack, actions: Proc):
    sender = _sender("frozen")
    actions.stop(signal.SIGSTOP)
    reply, seconds = timed_say(scaled.ports["rasa"], sender, "开公司要多久")
    assert texts(reply) == polite("unavailable"), texts(reply)
    assert ACTION_TIMEOUT - 1 < seconds < ACTION_TIMEOUT + 4, seconds
    actions.stop(signal.SIGCONT)
    assert wait_until(lambda: "0.5" in texts(say(scaled.ports["rasa"], sender, "开公司要多久")), 30)


# ----------------------------------------------------------------------------------------------- PostgreSQL


def _open_ticket(port: int, sender: str) -> str:
    said = texts(say(port, sender, "转人工"))
    if "1/5" in said:
        said = texts(say(port, sender, "开办企业"))
    assert "2/5" in said, said
    for answer in ("确认", "陈先生", "138 1234 5678"):
        say(port, sender, answer)
    number = TICKET.search(texts(say(port, sender, "同意")))
    assert number, "no ticket number"
    return number.group(0)


def _tickets(stack: ScaledStack) -> List[str]:
    dsn = stack.tracker_dsn().replace("dbname=hzbot_tracker", "dbname=hzbot")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT number FROM handoff_tickets ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


CHATTER = ["开公司要多久", "简易注销要公示多少天", "那个体户呢", "住所自主申报是什么意思", "谢谢"]


class Chatter:
    """Conversations that go on during a fault; every (message, reply, seconds) is kept."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.said: Dict[str, List[Tuple[str, str, float]]] = {_sender(f"chat{i}"): [] for i in range(count)}
        self.stopping = threading.Event()
        self.errors: List[str] = []
        self.threads = [threading.Thread(target=self._talk, args=(s,), daemon=True) for s in self.said]

    def _talk(self, sender: str) -> None:
        n = 0
        while not self.stopping.is_set():
            text = CHATTER[n % len(CHATTER)]
            n += 1
            try:
                reply, seconds = timed_say(self.port, sender, text)
            except (urllib.error.URLError, OSError) as error:
                self.errors.append(f"{sender}: {error}")
                continue
            self.said[sender].append((text, texts(reply), seconds))
            time.sleep(0.2)

    def __enter__(self) -> Chatter:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _answered_turns_are_stored(stack: ScaledStack, chatter: Chatter) -> None:
    for sender, said in chatter.said.items():
        turns = [(text, "\n".join(replies)) for text, replies, _ in stored_turns(stack, sender)]
        stored = iter(turns)
        for text, reply, _ in said:
            if _answered(reply):  # each answered turn is in the tracker store, in order, with what the user saw
                assert any(t == text and r.replace("\n", "") == reply.replace("\n", "") for t, r in stored), \
                    (sender, text, [(t, r[:30]) for t, r, _ in said], [(t, r[:30]) for t, r in turns])


def test_postgresql_restarted_under_conversations(scaled: ScaledStack):
    rasa = scaled.ports["rasa"]
    before = _open_ticket(rasa, _sender("ticket1"))
    with Chatter(rasa, 4) as chatter:
        time.sleep(3)
        scaled.postgres.stop()
        try:
            assert not scaled.postgres.running()
            for port in scaled.ports["workers"]:
                reply, seconds = timed_say(port, _sender("pgdown"), "开公司要多久")
                assert texts(reply) == polite("unavailable") and seconds < 10, (texts(reply), seconds)
            time.sleep(2)
        finally:
            scaled.postgres.start()
        began = time.monotonic()
        assert wait_until(lambda: "0.5" in texts(say(rasa, _sender("pgup"), "开公司要多久", 30)), 30)
        recovery = time.monotonic() - began
        time.sleep(3)
    assert not chatter.errors, chatter.errors[:3]
    print(f"\nrecovered {recovery:.1f} s after PostgreSQL was back; turns during the fault: "
          f"{sum(not _answered(r) for s in chatter.said.values() for _, r, _ in s)} polite, "
          f"{sum(_answered(r) for s in chatter.said.values() for _, r, _ in s)} answered")
    assert recovery < 5, recovery
    for sender, said in chatter.said.items():
        assert said and _answered(said[-1][1]), (sender, said[-3:])  # everyone is answered again
        for _, reply, seconds in said:
            _clean(reply)
            assert reply.strip() and seconds < 15, (sender, reply, seconds)
    _answered_turns_are_stored(scaled, chatter)
    after = _open_ticket(rasa, _sender("ticket2"))
    tickets = _tickets(scaled)
    assert before in tickets and after in tickets


# ---------------------------------------------------------------------------------------------------- Redis


@pytest.fixture()
def redis_proc(scaled: ScaledStack):
    proc = _proc(scaled, "redis")
    yield proc
    if proc.alive():
        proc.stop(signal.SIGCONT)
    else:
        proc.start()
    scaled._wait_port(scaled.ports["redis"], "redis", 20)


def test_redis_down_is_told_politely_and_the_bot_recovers_by_itself(scaled: ScaledStack, redis_proc: Proc):
    rasa = scaled.ports["rasa"]
    sender = _sender("redis")
    assert "20" in texts(say(rasa, sender, "简易注销要公示多少天"))
    redis_proc.stop(signal.SIGKILL)
    redis_proc.process.wait(timeout=10)
    for port in scaled.ports["workers"]:
        reply, seconds = timed_say(port, sender, "开公司要多久")
        _clean(texts(reply))
        assert texts(reply) == polite("unavailable") and seconds < 5, (texts(reply), seconds)
    redis_proc.start()
    assert wait_until(lambda: "0.5" in texts(say(rasa, _sender("redisup"), "开公司要多久", 30)), 20)
    assert "10" in texts(say(rasa, sender, "那个体户呢"))  # the history is intact
    assert [t for t, _, _ in stored_turns(scaled, sender)][-1] == "那个体户呢"


def test_a_frozen_redis_holds_a_worker_only_briefly(scaled: ScaledStack, redis_proc: Proc):
    rasa = scaled.ports["rasa"]
    redis_proc.stop(signal.SIGSTOP)
    try:
        reply, seconds = timed_say(rasa, _sender("redisfrozen"), "开公司要多久")
        assert texts(reply) == polite("unavailable") and seconds < 6, (texts(reply), seconds)
    finally:
        redis_proc.stop(signal.SIGCONT)
    assert wait_until(lambda: "0.5" in texts(say(rasa, _sender("redisthawed"), "开公司要多久", 30)), 20)
