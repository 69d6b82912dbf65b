"""The windowed SQL tracker store (bot/tracker_store.py) against Rasa's own SQLTrackerStore on the same
conversation: the same rows in the table, the same state and the same recent dialogue states after every turn,
across two worker processes' caches, after an unsaved turn, while what a message costs stays bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from bot.tracker_store import RECENT_STATES, WindowedSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


def _user(text: str, intent: str, t: float) -> UserUttered:
    ranking = [{"name": intent, "confidence": 0.9}] + [{"name": f"other_{i}", "confidence": 0.01} for i in range(9)]
    return UserUttered(text, {"name": intent, "confidence": 0.9}, [], {"intent_ranking": ranking}, timestamp=t)


def turn_events(n: int, t: float) -> List[Event]:
    """Turn ``n`` of a conversation: questions, a materials form over turns 10-14, a hand-off started at 20."""
    events: List[Event] = [ActionExecuted("action_listen", timestamp=t)]
    if n == 10:
        events += [_user("帮我核对一下材料", "check_materials", t), ActionExecuted("materials_form", timestamp=t),
                   ActiveLoop("materials_form", timestamp=t), SlotSet("requested_slot", "materials_procedure", t),
                   BotUttered("请问您要办理哪项业务？", {"buttons": [{"title": "设立", "payload": "/startup_process"}]}, t)]
    elif 10 < n < 14:  # turns inside the form that only rules predict: hidden from TED (hide_rule_turn)
        events = [ActionExecuted("action_listen", timestamp=t, hide_rule_turn=True)]
        events += [_user(f"回答{n}", "inform_condition", t),
                   ActionExecuted("materials_form", timestamp=t, hide_rule_turn=True),
                   SlotSet("requested_slot", f"mat_{n}", t), BotUttered(f"第{n}个问题", {}, t)]
    elif n == 14:
        events += [_user("自己办", "inform_condition", t), ActionExecuted("materials_form", timestamp=t),
                   ActiveLoop(None, timestamp=t), SlotSet("requested_slot", None, t),
                   ActionExecuted("action_materials_checklist", timestamp=t), BotUttered("清单……", {}, t)]
    elif n == 20:
        events += [_user("转人工", "request_human", t), ActionExecuted("action_handoff_start", timestamp=t),
                   BotUttered("好的，为您转接", {}, t)]
    else:
        events += [_user(f"问题{n}", "startup_process", t), ActionExecuted("action_answer", timestamp=t),
                   SlotSet("current_topic", f"topic{n % 4}", t), SlotSet("last_answer_intent", "startup_process", t),
                   BotUttered(f"答案{n}" * 20, {"buttons": [{"title": f"相关{n}", "payload": f"/faq{n}"}]}, t)]
    return events


def first_events(t: float) -> List[Event]:
    return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t)]


def sql_store(domain: Domain, path: Path, windowed: bool = True, **kwargs) -> SQLTrackerStore:
    if not windowed:
        return SQLTrackerStore(domain=domain, dialect="sqlite", db=str(path))
    return WindowedSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(path), keep_actions=["action_handoff_start"], **kwargs
    )


async def say(store: SQLTrackerStore, sender: str, events: List[Event]) -> None:
    """One message as Rasa handles it: retrieve (or create), append the turn's events, save."""
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    for event in events:
        tracker.update(event)
    await store.save(tracker)


def summary(tracker, domain: Domain):
    return {
        "slots": tracker.current_slot_values(),
        "loop": tracker.active_loop_name,
        "latest_action": tracker.latest_action_name,
        "latest_text": tracker.latest_message.text if tracker.latest_message else None,
        "states": tracker.past_states(domain)[-RECENT_STATES:],
        # what TED featurises: rule-only turns left out (an empty list here was an IndexError in the policy)
        "ml_states": tracker.past_states(domain, ignore_rule_only_turns=True)[-RECENT_STATES:],
        "user_messages": [e.text for e in tracker.events if isinstance(e, UserUttered)],
        "bot_messages": [e.text for e in tracker.events if isinstance(e, BotUttered)],
    }


def rows(path: Path) -> List[tuple]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return [
            (r[0], r[1], r[2], r[3])
            for r in connection.execute("SELECT type_name, intent_name, action_name, timestamp FROM events ORDER BY id")
        ]


def test_same_rows_and_state_as_rasas_store_with_bounded_trackers(tmp_path: Path, domain: Domain):
    async def scenario():
        ours = sql_store(domain, tmp_path / "ours.db", window_turns=4)
        rasa = sql_store(domain, tmp_path / "rasa.db", windowed=False)
        sizes = []
        for n in range(1, 31):
            events = (first_events(1000.0) if n == 1 else []) + turn_events(n, 1000.0 + n)
            await say(ours, "u1", events)
            await say(rasa, "u1", events)
            fresh = await sql_store(domain, tmp_path / "ours.db", window_turns=4).retrieve("u1")  # no cache
            cached = await ours.retrieve("u1")
            reference = await rasa.retrieve("u1")
            assert summary(cached, domain) == summary(reference, domain), f"turn {n}"
            assert summary(fresh, domain) == summary(reference, domain), f"turn {n}"
            sizes.append(len(cached.events))
        assert rows(tmp_path / "ours.db") == rows(tmp_path / "rasa.db")
        full = await ours.retrieve_full_tracker("u1")
        assert len(full.events) == len(reference.events)
        # what a message carries stays bounded: turns 21-30 hold far fewer events than the full session
        assert max(sizes[20:]) < 0.6 * len(reference.events)
        # the hand-off's start is kept for the transcript
        assert any(isinstance(e, ActionExecuted) and e.action_name == "action_handoff_start" for e in cached.events)

    asyncio.run(scenario())


def test_two_workers_on_one_database_see_each_others_messages(tmp_path: Path, domain: Domain):
    async def scenario():
        worker_a = sql_store(domain, tmp_path / "shared.db", window_turns=3)
        worker_b = sql_store(domain, tmp_path / "shared.db", window_turns=3)
        rasa = sql_store(domain, tmp_path / "rasa.db", windowed=False)
        for n in range(1, 25):
            events = (first_events(50.0) if n == 1 else []) + turn_events(n, 50.0 + n)
            await say(worker_a if n % 3 else worker_b, "u2", events)
            await say(rasa, "u2", events)
            reference = summary(await rasa.retrieve("u2"), domain)
            assert summary(await worker_a.retrieve("u2"), domain) == reference, f"turn {n}"
            assert summary(await worker_b.retrieve("u2"), domain) == reference, f"turn {n}"
        assert rows(tmp_path / "shared.db") == rows(tmp_path / "rasa.db")

    asyncio.run(scenario())


def test_a_turn_that_failed_before_saving_is_not_remembered(tmp_path: Path, domain: Domain):
    async def scenario():
        store = sql_store(domain, tmp_path / "t.db", window_turns=3)
        for n in range(1, 10):
            await say(store, "u3", (first_events(10.0) if n == 1 else []) + turn_events(n, 10.0 + n))
        before = summary(await store.retrieve("u3"), domain)
        tracker = await store.retrieve("u3")
        tracker.update(SlotSet("current_topic", "never saved"))  # the turn fails here: no save
        assert summary(await store.retrieve("u3"), domain) == before

    asyncio.run(scenario())


def test_a_new_session_starts_from_its_own_events(tmp_path: Path, domain: Domain):
    async def scenario():
        store = sql_store(domain, tmp_path / "s.db", window_turns=3)
        for n in range(1, 12):
            await say(store, "u4", (first_events(10.0) if n == 1 else []) + turn_events(n, 10.0 + n))
        await say(store, "u4", first_events(5000.0) + turn_events(1, 5001.0))
        tracker = await store.retrieve("u4")
        assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["问题1"]
        assert len(rows(tmp_path / "s.db")) == sum(len(turn_events(n, 0)) for n in range(1, 12)) + 2 + 2 + len(turn_events(1, 0))

    asyncio.run(scenario())


def test_a_database_error_reaches_the_turn_instead_of_an_empty_in_memory_tracker(tmp_path: Path, domain: Domain):
    """Rasa's FailSafeTrackerStore answered from an empty in-memory tracker when the database failed (found by the
    PostgreSQL restart test, tests/scaled/test_scaled_faults.py): context lost and turns kept nowhere."""
    import sqlite3

    from rasa.core.tracker_store import FailSafeTrackerStore

    from bot.tracker_store import TrackerStoreUnavailable

    async def scenario():
        store = FailSafeTrackerStore(sql_store(domain, tmp_path / "t.db", cache_size=0))
        await say(store, "u5", first_events(1.0) + turn_events(1, 2.0))
        with sqlite3.connect(tmp_path / "t.db") as connection:
            connection.execute("ALTER TABLE events RENAME TO events_away")  # the database fails from here
        with pytest.raises(TrackerStoreUnavailable):
            await store.retrieve("u5")
        tracker = store._tracker_store.init_tracker("u5")
        tracker.update(UserUttered("在吗"))
        with pytest.raises(TrackerStoreUnavailable):
            await store.save(tracker)
        assert store._fallback_tracker_store is None  # nothing was kept in memory instead
        with sqlite3.connect(tmp_path / "t.db") as connection:
            connection.execute("ALTER TABLE events_away RENAME TO events")
        assert [e.text for e in (await store.retrieve("u5")).events if isinstance(e, UserUttered)] == ["问题1"]

    asyncio.run(scenario())
