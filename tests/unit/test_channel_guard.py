"""The input channels' guard (bot/channels/guard.py): sender ids the tracker store can keep, cleaned text, throttling,
per-sender queueing and a polite answer when the bot fails or says nothing. Rasa's message handler is stood in for
by coroutines; the channels' HTTP side runs in tests/e2e/test_security_e2e.py."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.guard import GuardSettings, RateLimiter, TurnGuard, channel_messages, clean_text, valid_sender


@pytest.mark.parametrize(
    "sender",
    ["a\ud800b", "\udfff", "", " x", "x\n", "a\x00b", "a\x1bb", "x" * 129, None, 12, ["a"], {"a": 1}],
)
def test_unusable_sender_ids_are_refused(sender):
    assert not valid_sender(sender)


@pytest.mark.parametrize("sender", ["user-1", "oTestUser0000000000000000001", "张三", "x" * 128, "a b"])
def test_ordinary_sender_ids_pass(sender):
    assert valid_sender(sender)


def test_lone_surrogate_sender_cannot_be_encoded_but_is_caught_first():
    with pytest.raises(UnicodeEncodeError):  # what stopped Rasa (SQLTrackerStore turned it into sys.exit)
        "a\ud800b".encode("utf-8")
    assert not valid_sender("a\ud800b")


def test_text_loses_lone_surrogates_and_control_characters_and_is_cut():
    assert clean_text("hi\ud800 there\x00\x07", 100) == "hi there"
    assert clean_text("第一行\n第二行\t", 100) == "第一行\n第二行\t"
    huge = clean_text("字" * 50_000_000, 4000)
    assert len(huge) == 4000 and huge.startswith("字" * 2600) and huge.endswith("字" * 1300)
    # a long case description keeps its end, where the question usually is
    story = "我在海珠开了一家奶茶店，" * 800 + "现在想注销，执照丢了要登报吗？"
    kept = clean_text(story, 4000)
    assert len(kept) == 4000 and kept.startswith("我在海珠") and kept.endswith("执照丢了要登报吗？")
    assert clean_text(None, 10) == "" and clean_text({"a": 1}, 10) == ""
    clean_text("a\ud800" * 100, 1000).encode("utf-8")  # never raises


def test_rate_limiter_counts_a_sliding_window():
    limiter = RateLimiter(limit=3, window=60)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)  # per key
    assert limiter.allow("a", now=61) and limiter.allow("a", now=61.5)  # 0 and 1 left the window
    assert not limiter.allow("a", now=61.7)  # 2, 61, 61.5


def test_rate_limiter_forgets_the_oldest_keys():
    limiter = RateLimiter(limit=1, window=60, max_keys=100)
    for i in range(1000):
        limiter.allow(f"k{i}", now=0)
    assert len(limiter._seen) == 100


def test_polite_texts_come_from_yaml():
    texts = channel_messages()
    assert {"bad_sender", "too_fast", "busy", "unavailable", "overloaded"} <= set(texts)
    assert "稍后再试" in texts["unavailable"] and "转人工" in texts["unavailable"]


def guard(**settings) -> TurnGuard:
    return TurnGuard("rest", GuardSettings(**settings))


async def run(g: TurnGuard, handler, sender: str = "user-1", text: str = "你好", address: str | None = None):
    output = CollectingOutputChannel()
    await g.handle(UserMessage(text, output, sender, input_channel="rest"), handler, address=address)
    return [m.get("text") for m in output.messages]


async def answers(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": f"收到：{message.text}"})


async def test_a_failing_turn_is_answered_politely():
    async def fails(message: UserMessage) -> None:
        raise RuntimeError("database is locked")

    assert await run(guard(), fails) == [channel_messages()["unavailable"]]


async def test_a_turn_the_bot_keeps_silent_on_purpose_stays_silent():
    async def silent(message: UserMessage) -> None:  # while a hand-off ticket is open the bot only relays
        return None

    assert await run(guard(), silent) == []


async def test_a_turn_whose_custom_action_failed_is_answered_politely():
    """Rasa's own RemoteAction against an action server that is not there: Rasa logs it and goes on with no reply
    (``_run_action`` swallows the error); the guard sees the failure and answers."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    async def bot_whose_action_server_is_down(message: UserMessage) -> None:
        action = RemoteAction("action_answer", EndpointConfig(url="http://127.0.0.1:9/webhook"))
        try:
            await action.run(message.output_channel, None, DialogueStateTracker(message.sender_id, []), Domain.empty())
        except Exception:  # noqa: BLE001 - what Rasa's processor does: "Bot will continue"
            pass

    assert await run(guard(), bot_whose_action_server_is_down) == [channel_messages()["unavailable"]]


async def test_a_frozen_turn_is_answered_after_the_timeout():
    async def frozen(message: UserMessage) -> None:
        await asyncio.sleep(60)

    started = asyncio.get_running_loop().time()
    assert await run(guard(turn_timeout=0.3), frozen) == [channel_messages()["unavailable"]]
    assert asyncio.get_running_loop().time() - started < 2


async def test_an_answered_turn_is_left_alone_and_the_text_is_cleaned():
    assert await run(guard(max_text_chars=5), answers, text="开公司\ud800要多久啊") == ["收到：开公司要多"]


async def test_a_bad_sender_never_reaches_the_bot():
    reached = []

    async def bot(message: UserMessage) -> None:
        reached.append(message)

    assert await run(guard(), bot, sender="a\ud800b") == [channel_messages()["bad_sender"]]
    assert reached == []


async def test_one_sender_is_throttled_with_a_polite_reply():
    g = guard(sender_per_minute=3)
    replies = [await run(g, answers, text=str(i)) for i in range(5)]
    assert replies[:3] == [["收到：0"], ["收到：1"], ["收到：2"]]
    assert replies[3:] == [[channel_messages()["too_fast"]]] * 2
    assert await run(g, answers, sender="user-2") == ["收到：你好"]  # others are not affected


async def test_one_address_is_throttled_across_senders():
    g = guard(address_per_minute=2)
    replies = [await run(g, answers, sender=f"s{i}", address="203.0.113.9") for i in range(3)]
    assert replies[2] == [channel_messages()["too_fast"]]
    assert await run(g, answers, sender="s9", address="198.51.100.1") == ["收到：你好"]


async def test_a_burst_of_one_sender_is_queued_in_order_or_told_to_wait():
    order = []

    async def slow(message: UserMessage) -> None:
        order.append(message.text)
        await asyncio.sleep(0.01)
        await answers(message)

    g = guard(sender_per_minute=1000, max_pending=10)
    results = await asyncio.gather(*(run(g, slow, text=str(i)) for i in range(50)))
    assert all(len(r) == 1 for r in results)  # every message got an answer
    answered = [r[0] for r in results if r[0].startswith("收到")]
    assert len(answered) == 10 and order == [str(i) for i in range(10)]
    assert [r[0] for r in results[10:]] == [channel_messages()["busy"]] * 40


async def test_a_flood_runs_a_few_turns_at_a_time_in_arrival_order():
    running, most, started = [0], [0], []

    async def bot(message: UserMessage) -> None:
        started.append(message.sender_id)
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0.02)
        running[0] -= 1
        await answers(message)

    g = guard(max_turns=3)
    senders = [f"s{i:02d}" for i in range(30)]
    results = await asyncio.gather(*(run(g, bot, sender=s) for s in senders))
    assert results == [["收到：你好"]] * 30
    assert most[0] == 3 and started == senders


async def test_a_turn_that_cannot_start_in_time_is_not_run_and_its_sender_asked_to_send_it_again():
    reached = []

    async def slow(message: UserMessage) -> None:
        reached.append(message.sender_id)
        await asyncio.sleep(0.5)
        await answers(message)

    g = guard(max_turns=1, queue_timeout=0.1)
    first, second = await asyncio.gather(run(g, slow, sender="a"), run(g, slow, sender="b"))
    assert first == ["收到：你好"] and second == [channel_messages()["overloaded"]]
    assert reached == ["a"]  # never reached the bot: nothing stored, nothing half done
    assert await run(g, slow, sender="b") == ["收到：你好"]  # the place was given back


async def test_the_turn_timeout_counts_from_the_start_of_the_turn_not_its_arrival():
    async def slow(message: UserMessage) -> None:
        await asyncio.sleep(0.2)
        await answers(message)

    g = guard(max_turns=1, turn_timeout=0.5)
    results = await asyncio.gather(*(run(g, slow, sender=f"s{i}") for i in range(5)))  # the last waits 0.8 s
    assert results == [["收到：你好"]] * 5


def test_a_turn_cut_by_rasas_circuit_breaker_ends_listening_so_the_next_one_is_answered():
    from types import SimpleNamespace

    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.channels.guard import _listen_after_circuit_break

    processor = SimpleNamespace(max_number_of_predictions=10)
    tracker = DialogueStateTracker.from_events("u", [UserUttered("嗯"), *[ActionExecuted("action_clarify")] * 10])
    assert MessageProcessor.is_action_limit_reached(processor, tracker, True)  # the turn that tripped it
    _listen_after_circuit_break(tracker, None, None)
    tracker.update(UserUttered("开公司要多久"))
    assert not MessageProcessor.is_action_limit_reached(processor, tracker, True)  # the next turn starts afresh


async def test_after_one_custom_action_failed_the_turns_later_ones_are_not_sent():
    """A frozen action server holds a turn for one ACTION_TIMEOUT, not one per action Rasa predicts after it."""
    from aiohttp import web
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    calls = []

    async def frozen(request: web.Request) -> web.Response:
        calls.append(request.path)
        await asyncio.sleep(30)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/webhook", frozen)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    errors = []

    async def bot(message: UserMessage) -> None:
        for name in ("action_answer", "action_clarify", "action_answer"):  # Rasa goes on predicting
            action = RemoteAction(name, EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"))
            try:
                await action.run(message.output_channel, None, DialogueStateTracker(message.sender_id, []),
                                 Domain.empty())
            except Exception as error:  # noqa: BLE001 - what Rasa's processor does: "Bot will continue"
                errors.append(type(error).__name__)

    try:
        started = asyncio.get_running_loop().time()
        assert await run(guard(action_timeout=0.5), bot) == [channel_messages()["unavailable"]]
        assert asyncio.get_running_loop().time() - started < 2
        assert len(calls) == 1 and errors[1:] == ["ActionSkipped", "ActionSkipped"]
    finally:
        await runner.cleanup()


async def test_what_a_turn_that_was_not_stored_said_is_not_sent():
    async def answers_then_fails(message: UserMessage) -> None:  # the tracker store failed when Rasa saved the turn
        await answers(message)
        raise RuntimeError("server closed the connection unexpectedly")

    assert await run(guard(), answers_then_fails) == [channel_messages()["unavailable"]]


def test_a_wrapped_failure_is_logged_with_its_innermost_cause_and_no_message_text():
    from bot.channels.guard import _described

    try:
        try:
            [][0]
        except IndexError as inner:
            raise RuntimeError("用户的原话 13812345678") from inner
    except RuntimeError as error:
        described = _described(error)
    assert described.startswith("RuntimeError from IndexError at test_channel_guard.py:")
    assert "1381234" not in described and "原话" not in described
