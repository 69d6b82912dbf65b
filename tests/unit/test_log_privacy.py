"""No personal data in the logs of a failing run: a ticket that cannot be stored (the database refuses the write)
and a REST message whose processing fails in Rasa's tracker store. Both failures are real SQLite errors."""

from __future__ import annotations

import json
import logging
import socket

import aiohttp
import pytest
from rasa.core.channels.channel import register
from rasa_sdk.executor import CollectingDispatcher
from sanic import Sanic
from sqlalchemy import create_engine, text

from actions.handoff.actions import ActionHandoffSubmit
from bot.channels.rest import RestInput
from core.db import get_engine
from core.handoff import names
from core.logs import install, redact
from tests.unit.test_handoff_actions import FORM, tracker

PHONE = FORM[names.PHONE]
NAME = FORM[names.CONTACT_NAME]
SUMMARY = FORM[names.SUMMARY]
Sanic.test_mode = True


def _refuse_writes(engine, table: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
        ))


async def test_a_ticket_that_cannot_be_stored_leaves_no_phone_or_name_in_the_logs(database, domain, caplog):
    _refuse_writes(get_engine(), "handoff_tickets")
    caplog.set_level(logging.DEBUG)
    errors = []
    try:
        await ActionHandoffSubmit().run(CollectingDispatcher(), tracker("同意", "affirm", slots=FORM), domain)
    except Exception as exc:  # noqa: BLE001 - logged as rasa-sdk's endpoint logs it, and sent back to Rasa as text
        logging.getLogger("rasa_sdk.endpoint").error("Exception occurred during execution of request", exc_info=exc)
        errors.append(str(exc))
    logged = caplog.text + "\n".join(errors)
    assert "disk is full" in logged  # the failure itself is logged…
    for personal in (PHONE, NAME, SUMMARY):  # …without the data of the ticket
        assert personal not in logged


@pytest.fixture()
def structlog_as_in_rasa():
    """structlog configured the way ``rasa run`` does (rendered, then handed to the logging module)."""
    import structlog
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.DEBUG)
    install()  # as importing bot/ does when Rasa loads the channels
    yield
    structlog.reset_defaults()


async def test_a_failed_rest_message_is_logged_without_its_text(structlog_as_in_rasa, caplog):
    """Rasa logs the whole message of a REST request that failed; its tracker store's engine shows SQL parameters."""
    tracker_store = create_engine("sqlite://")  # as Rasa's SQL tracker store makes it: parameters shown
    with tracker_store.begin() as connection:
        connection.execute(text("CREATE TABLE events (sender_id TEXT, data TEXT)"))
    _refuse_writes(tracker_store, "events")
    message = f"我叫{NAME}，电话 {PHONE}，想问{SUMMARY}"

    class FailingAgent:
        async def handle_message(self, user_message):  # noqa: ANN001
            with tracker_store.begin() as connection:
                connection.execute(text("INSERT INTO events VALUES (:sender, :data)"),
                                   {"sender": user_message.sender_id, "data": user_message.text})

    app = Sanic("log_privacy_rest", configure_logging=False)
    app.ctx.agent = FailingAgent()
    register([RestInput()], app, "/webhooks/")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    server = await app.create_server(sock=sock, return_asyncio_server=True)
    await server.startup()
    caplog.set_level(logging.DEBUG)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/rest/webhook"
            async with session.post(url, json={"sender": "user-7", "message": message}) as response:
                assert response.status == 200
    finally:
        server.close()
        await server.wait_closed()
    # the failure is logged (by Rasa's channel, or by the channel guard that answers the turn politely, naming the
    # innermost cause and where it was raised)
    assert "rest.message.received.failure" in caplog.text or "failed (IntegrityError" in caplog.text
    for personal in (PHONE, NAME, SUMMARY, message):
        assert personal not in caplog.text and json.dumps(personal)[1:-1] not in caplog.text  # (JSON escapes 汉字)


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("phone 13812345678 given", "phone [手机号] given"),
        ("电话：+86 138-1234-5678。", "电话：[手机号]。"),
        ("座机 020-83123456", "座机 [电话]"),
        ("身份证 44010619900101123X 号", "身份证 [身份证号] 号"),
        ('{"text": "我的电话是多少\\"呢", "event": "x"}', '{"text": "[已隐去]", "event": "x"}'),
        ("[SQL: INSERT]\n[parameters: ('陈先生', 'x')]\n(Background", "[SQL: INSERT]\n[parameters: [已隐去]]\n(Background"),
        ("msg_id 7300000000000000001 at 1764000000", "msg_id 7300000000000000001 at 1764000000"),
        ("ticket HZ-20261125-0001 2026-11-25 10:00", "ticket HZ-20261125-0001 2026-11-25 10:00"),
    ],
)
def test_redaction_masks_personal_data_and_keeps_the_rest(line, kept):
    assert redact(line) == kept
