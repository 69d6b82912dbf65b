"""The scaled stack (scripts/scaled.py) with real PostgreSQL, Redis and nginx: schema on PostgreSQL, one
conversation across two Rasa workers, concurrent conversations complete and in order, a worker killed with
kill -9 under load, WeChat numbered options answered on another worker.

Needs the Debian packages (make test installs them: scripts/ensure_scaled_deps.sh) and a trained model.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Dict, List

import xmltodict
from sqlalchemy import create_engine, inspect
from wechatpy.messages import TextMessage

from scripts.scaled import ScaledStack
from scripts.stack import ROOT
from tests.scaled.helpers import WECHAT, say, texts, user_texts
from tests.utils.wechat import build_message, signed_query

_msg_ids = itertools.count(int(time.time() * 1000))


def test_schema_changes_run_on_postgresql(scaled: ScaledStack):
    """`make db` migrates a new PostgreSQL database to the newest revision (every table of the models), and the
    newest migration goes down and up again there (on a database of its own, not the running bot's)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from core.db import Base, import_all_models
    from core.migrate import alembic_config

    import_all_models()
    assert create_engine(scaled.env["DATABASE_URL"]).dialect.name == "postgresql"
    password = scaled.secrets["PG_PASSWORD"]
    scaled.postgres.ensure_database("hzbot_schema", "hzbot", password)
    url = f"postgresql+psycopg2://hzbot:{password}@127.0.0.1:{scaled.ports['pg']}/hzbot_schema"
    setup_db = [sys.executable, "-m", "core.setup_db"]
    subprocess.run(setup_db, cwd=ROOT, env={**scaled.env, "DATABASE_URL": url}, check=True, capture_output=True)
    engine = create_engine(url)
    try:
        config = alembic_config(engine)
        head = ScriptDirectory.from_config(config).get_current_head()

        def revision() -> str:
            with engine.connect() as connection:
                return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

        assert revision() == head
        assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            entries = connection.exec_driver_sql("SELECT count(*) FROM knowledge_entries").scalar()
        with engine.begin() as connection:  # the migrations run on this connection (core/migrations/env.py)
            config.attributes["connection"] = connection
            command.downgrade(config, "-1")
        assert revision() != head
        subprocess.run(setup_db, cwd=ROOT, env={**scaled.env, "DATABASE_URL": url}, check=True, capture_output=True)
        assert revision() == head
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM knowledge_entries").scalar() == entries > 10
    finally:
        engine.dispose()


def test_one_conversation_across_two_workers_keeps_its_context(scaled: ScaledStack):
    first, second = scaled.ports["workers"]
    sender = f"scaled-{uuid.uuid4().hex[:8]}"
    assert "20" in texts(say(first, sender, "简易注销要公示多少天"))
    follow = texts(say(second, sender, "那个体户呢"))  # the other worker: context from PostgreSQL
    assert "10" in follow
    assert "0.5" in texts(say(first, sender, "开公司要多久"))  # and back: the first worker catches up
    assert user_texts(scaled, sender) == ["简易注销要公示多少天", "那个体户呢", "开公司要多久"]


def _conversation(port: int, sender: str, messages: List[str], replies: Dict[str, List[str]], errors: List[str],
                  resend: bool = False):
    for text in messages:
        for _attempt in range(2 if resend else 1):
            try:
                answer = texts(say(port, sender, text))
            except (urllib.error.URLError, OSError) as error:
                errors.append(f"{sender}: {error}")
                continue
            replies.setdefault(sender, []).append(answer)
            break


def _collapsed(values: List[str]) -> List[str]:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


MESSAGES = ["开公司要多久", "要什么材料", "简易注销要公示多少天", "那个体户呢", "谢谢"]


def test_concurrent_conversations_through_nginx_are_complete_in_order_and_not_mixed_up(scaled: ScaledStack):
    replies: Dict[str, List[str]] = {}
    errors: List[str] = []
    senders = [f"load-{i:03d}-{uuid.uuid4().hex[:6]}" for i in range(30)]
    threads = [threading.Thread(target=_conversation, args=(scaled.ports["rasa"], s, MESSAGES, replies, errors))
               for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    for sender in senders:
        assert user_texts(scaled, sender) == MESSAGES, sender  # every message once, in order
        assert len(replies[sender]) == len(MESSAGES) and all(replies[sender]), sender
        assert "10" in replies[sender][3]  # its own context, not another user's


def test_a_worker_killed_under_load_is_restarted_and_conversations_go_on(scaled: ScaledStack):
    sender = f"kill-{uuid.uuid4().hex[:8]}"
    assert "20" in texts(say(scaled.ports["rasa"], sender, "简易注销要公示多少天"))
    replies: Dict[str, List[str]] = {}
    errors: List[str] = []
    senders = [f"during-kill-{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]
    threads = [threading.Thread(target=_conversation, args=(scaled.ports["rasa"], s, MESSAGES, replies, errors, True))
               for s in senders]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    victim = next(p for p in scaled.procs if p.name == "rasa-1")
    os.killpg(victim.process.pid, signal.SIGKILL)
    assert victim.process.wait(timeout=10) == -signal.SIGKILL
    for thread in threads:
        thread.join(timeout=300)
    # only the message in flight on the killed worker may fail (the user sends it again; while the dead worker's
    # lock on the conversation lasts, the guard answers that with its polite "try again"): every other message is
    # answered by the worker still alive and stored once, in order
    assert len(errors) <= len(senders), errors
    for sender in senders:
        assert len(replies[sender]) == len(MESSAGES) and all(replies[sender]), sender
        stored = _collapsed(user_texts(scaled, sender))
        assert stored == [m for m in MESSAGES if m in stored] and len(MESSAGES) - len(stored) <= 1, (sender, stored)
    assert "rasa-1" in scaled.supervise_once(), [(p.name, p.process.poll()) for p in scaled.procs]
    scaled.wait_ready(timeout=300)
    first, _ = scaled.ports["workers"]
    assert "10" in texts(say(first, sender, "那个体户呢"))  # the restarted worker continues the conversation


def _wechat(port: int, openid: str, content: str) -> str:
    xml = build_message(TextMessage, id=next(_msg_ids), content=content, source=openid)
    query = urllib.parse.urlencode(signed_query(WECHAT["WECHAT_TOKEN"], openid=openid))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/wechat/webhook?{query}",
                                     data=xml.encode("utf-8"), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read().decode("utf-8")
    return (xmltodict.parse(body).get("xml") or {}).get("Content") or ""


def test_wechat_numbered_options_shown_by_one_worker_are_understood_by_the_other(scaled: ScaledStack):
    first, second = scaled.ports["workers"]
    openid = f"oScaled{uuid.uuid4().hex[:21]}"
    menu = _wechat(first, openid, "你好")
    assert "回复数字选择" in menu
    answer = _wechat(second, openid, "1")  # the first button: 开办企业流程
    assert "0.5" in answer or "开办" in answer
    assert user_texts(scaled, openid)[-1].startswith("/")  # the payload, not "1"


def test_rate_limits_are_shared_by_the_workers_through_redis(scaled: ScaledStack):
    import redis

    from bot.channels.rate_limits import RedisRateLimiter

    client = redis.Redis.from_url(scaled.env["REDIS_URL"])
    worker_a = RedisRateLimiter("test:sender", 3, 60.0, client)
    worker_b = RedisRateLimiter("test:sender", 3, 60.0, client)
    key = uuid.uuid4().hex
    assert [worker_a.allow(key), worker_b.allow(key), worker_a.allow(key)] == [True, True, True]
    assert not worker_b.allow(key) and not worker_a.allow(key)  # the fourth within the minute, on either worker
    assert worker_a.allow(key, now=time.time() + 61)  # a minute later
    down = RedisRateLimiter("test:sender", 1, 60.0, redis.Redis(port=9, socket_timeout=0.2,
                                                               socket_connect_timeout=0.2))
    assert down.allow(key) and down.allow(key)  # Redis unreachable: allowed, not locked out


def test_the_dashboard_reads_the_tracker_store_on_postgresql(scaled: ScaledStack, monkeypatch):
    """core/stats finds Rasa's PostgreSQL tracker store as the workers are given it (TRACKER_PG_*) and counts a new
    conversation held across both workers."""
    from core import db, stats

    for name in ("TRACKER_PG_HOST", "TRACKER_PG_PORT", "TRACKER_PG_DB", "TRACKER_PG_USER", "TRACKER_PG_PASSWORD"):
        monkeypatch.setenv(name, scaled.env[name])
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    assert stats.tracker_url().startswith("postgresql://")
    db.configure(scaled.env["DATABASE_URL"])
    try:
        def figures() -> stats.Figures:
            with db.session_scope() as session:
                return stats.compute(session, "day", "all")

        before = figures().conversations
        first, second = scaled.ports["workers"]
        sender = f"scaled-stats-{uuid.uuid4().hex[:8]}"
        say(first, sender, "开公司要多久")
        say(second, sender, "简易注销要公示多少天")
        after = figures().conversations
    finally:
        db.configure("sqlite://")
    assert after.conversations == before.conversations + 1
    assert after.user_messages == before.user_messages + 2
    assert after.outcomes[stats.ANSWERED] == before.outcomes[stats.ANSWERED] + 2
    assert len(after.latencies_ms) == len(before.latencies_ms) + 2
