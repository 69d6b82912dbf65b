"""Officer replies for a user who went back to the bot (bot/channels/handoff.py), on a temporary database.

Rasa's message handler is stood in for by a coroutine that answers like the bot; the REST channel's wiring runs
over HTTP in tests/e2e/test_handoff.py.
"""

from __future__ import annotations

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.handoff import with_officer_replies
from bot.channels.rest import RestInput
from core.accounts.models import Officer
from core.handoff.repository import ticket_repository
from tests.unit.test_handoff_repository import make_officer, open_ticket


async def bot_answers(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, "开公司一般0.5天办结。")


async def say(text: str, sender: str = "user-1") -> list:
    output = CollectingOutputChannel()
    await with_officer_replies(bot_answers)(UserMessage(text, output, sender, input_channel="rest"))
    return [m["text"] for m in output.messages]


async def test_replies_reach_a_user_back_with_the_bot_after_the_answer(database):
    ticket_id, number, _token = open_ticket()
    assert await say("开公司要多久") == ["开公司一般0.5天办结。"]  # nothing waiting, nobody left
    officer_id = make_officer("wang")
    with ticket_repository() as tickets:
        officer = tickets.session.get(Officer, officer_id)
        tickets.leave(tickets.ticket(ticket_id))
        tickets.claim(ticket_id, officer)
        tickets.reply(tickets.ticket(ticket_id), officer, "字号可以保留。")
    assert await say("开公司要多久") == [
        "开公司一般0.5天办结。",
        "👤 CBSO首席商事服务官：字号可以保留。",
        f"（以上是服务官对工单 {number} 的回复。想继续和服务官沟通，回复「转人工」。）",
    ]
    assert await say("开公司要多久") == ["开公司一般0.5天办结。"]  # each reply once
    assert await say("开公司要多久", sender="someone-else") == ["开公司一般0.5天办结。"]
    with ticket_repository() as tickets:
        ticket = tickets.ticket(ticket_id)
        tickets.resolve(ticket, ticket.assigned_officer, f"服务官已办结您的工单 {number}")
    said = await say("谢谢")
    assert said[-1] == f"服务官已办结您的工单 {number}"  # the notice, without the 转人工 line


async def test_a_user_chatting_with_the_officer_is_left_to_the_relay(database):
    ticket_id, _number, _token = open_ticket()
    officer_id = make_officer("wang")
    with ticket_repository() as tickets:
        officer = tickets.session.get(Officer, officer_id)
        tickets.claim(ticket_id, officer)
        tickets.reply(tickets.ticket(ticket_id), officer, "在的")
    assert await say("你好") == ["开公司一般0.5天办结。"]  # the relay form's validation sends it, not the channel


def test_the_rest_channel_keeps_its_name():
    assert RestInput.name() == "rest"


async def test_a_database_problem_costs_only_the_replies(caplog):
    from core import db
    db.configure("sqlite://")  # no tables
    assert await say("开公司要多久", sender="oSecretOpenId000000000001") == ["开公司一般0.5天办结。"]
    assert "could not be read" in caplog.text and "oSecretOpenId" not in caplog.text
