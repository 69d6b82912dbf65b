"""Rasa's SQL tracker store, with per-turn work that does not grow with the conversation (endpoints.yml).

Rasa's `SQLTrackerStore` loads and deserialises every event of the current session at every message, counts them
again to save, and the tracker it returns — every event of the session — is what the policies replay several
times per turn and what every custom action call sends to the action server. At turn 40 that is ~400 events.

This store keeps every event in the same `events` table (nothing is lost or rewritten; Rasa's own store, the
console and exports read the same rows), but:

- **cache**: the tracker of a conversation stays in the process between its messages (LRU, `cache_size`). Each
  message costs one indexed query for rows another worker may have written since (`id > last seen id`), which
  are applied; a turn that failed before saving, or a new session, drops the cached tracker and reloads.
- **window**: the tracker handed to Rasa holds the last `window_turns` turns in full. Earlier turns are kept as
  their messages only — the user's (without the NLU ranking) and the bot's, so transcripts, user-turn counts and
  buttons shown stay complete — plus the actions named in `keep_actions`, followed by the state they led to
  (`SlotSet` for every slot set, the active loop, a pause). Policies look back a few turns (MemoizationPolicy
  `max_history` 3; rules are short), so predictions are unchanged. Every compacted tracker is checked against
  the full replay (slots, loop, pause, latest action and message) and the full tracker is used if they differ.
- **saving** inserts only the events appended since the tracker was loaded (no count query).
- **SQLite** runs in WAL mode (one fsync per commit, readers never block the writer).
- **PostgreSQL** (`make run-scaled`): a pooled connection is checked before use (after a database restart the
  first turn works instead of failing on a dead connection), and connecting and every statement are bounded by
  `TRACKER_DB_TIMEOUT` seconds (5): the store is called synchronously in the Rasa worker's event loop, so a slow
  database would otherwise hold every conversation of that worker.

**Fails closed.** Rasa wraps every tracker store in `FailSafeTrackerStore`, which on a database error logs it and
goes on with an empty in-memory tracker: the user is answered without the conversation's context, and the turn is
kept only in that process's memory (lost for the tracker store, the console and the other workers). Here the
error reaches the turn instead, and the channel guard answers it politely (bot/channels/guard.py); nothing is
answered that is not stored.

`retrieve_full_tracker` (Rasa's API, all sessions) still reads everything from the table.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses

logger = logging.getLogger(__name__)

ACTION_LISTEN = "action_listen"
ACTION_SESSION_START = "action_session_start"
# attributes this store sets on the trackers it hands out
_STORED = "_hz_stored_events"
_LAST_ID = "_hz_last_event_id"
_WINDOW = "_hz_window_start"  # index of the first event kept in full
# dialogue states that must be the same in the compacted tracker as in the full one (rules and MemoizationPolicy
# look back a few states; config.yml: max_history 3)
RECENT_STATES = 10

_EVENT_TYPES: Dict[str, type] = {}


def deserialise(data: Dict[str, Any]) -> Optional[Event]:
    """`Event.from_parameters` without looking the class up among all subclasses of `Event` every time."""
    if not _EVENT_TYPES:
        _EVENT_TYPES.update({cls.type_name: cls for cls in all_subclasses(Event) if getattr(cls, "type_name", None)})
    name = data.get("event")
    cls = _EVENT_TYPES.get(name) if name else None
    if cls is None:
        return Event.from_parameters(data)
    return cls._from_parameters(data)


def _slim_user(event: UserUttered) -> UserUttered:
    """The message as a transcript needs it: text, intent (no ranking), entities, channel, ids."""
    intent = {k: event.intent.get(k) for k in ("name", "confidence") if k in event.intent}
    slim = UserUttered(
        event.text, intent, event.entities, None, event.timestamp, event.input_channel, event.message_id,
        event.metadata, event.use_text_for_featurization,
    )
    return slim


def _state_summary(tracker: DialogueStateTracker) -> Dict[str, Any]:
    loop = tracker.active_loop
    latest = tracker.latest_message
    return {
        "slots": tracker.current_slot_values(),
        "slots_set": sorted(name for name, slot in tracker.slots.items() if slot.has_been_set),
        "loop": (loop.name, loop.is_interrupted, loop.rejected) if loop else None,
        "paused": tracker.is_paused(),
        "followup": tracker.followup_action,
        "latest_action": tracker.latest_action_name,
        "latest_message": (latest.text, latest.intent_name) if latest else None,
    }


class TrackerStoreUnavailable(Exception):
    """The tracker store could not be read or written (database down, restarting, too slow)."""


def _raise_unavailable(_store: Any, error: Exception) -> None:
    raise TrackerStoreUnavailable(f"{type(error).__name__}: {error}") from error


def fail_closed() -> None:
    """Rasa's `FailSafeTrackerStore` raises instead of falling back to an in-memory tracker (module docstring)."""
    from rasa.core.tracker_store import FailSafeTrackerStore

    FailSafeTrackerStore.on_tracker_store_error = _raise_unavailable  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _raise_unavailable  # type: ignore[method-assign]


class WindowedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with a per-process cache and a bounded window (see the module's docstring)."""

    def __init__(
        self,
        domain: Any = None,
        window_turns: int = 6,
        cache_size: int = 500,
        keep_actions: Optional[Iterable[str]] = None,
        **kwargs: Any,
    ) -> None:
        self.window_turns = max(2, int(window_turns))
        self.cache_size = max(0, int(cache_size))
        self.keep_actions = frozenset(keep_actions or ())
        self._cache: OrderedDict[str, DialogueStateTracker] = OrderedDict()
        fail_closed()
        super().__init__(domain=domain, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections opened by the parent's create_all get the pragmas next time
        elif self.engine.dialect.name == "postgresql":
            self._bound_postgresql()

    def _bound_postgresql(self) -> None:
        try:
            seconds = float(os.environ.get("TRACKER_DB_TIMEOUT") or 5)
        except ValueError:
            seconds = 5.0
        kwargs = create_engine_kwargs(self.engine.url)
        connect_args = dict(kwargs.pop("connect_args", {}))
        options = connect_args.get("options", "")
        connect_args["options"] = f"{options} -c statement_timeout={int(seconds * 1000)}".strip()
        connect_args["connect_timeout"] = max(1, round(seconds))
        parent_engine = self.engine
        self.engine = sa.create_engine(parent_engine.url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
        parent_engine.dispose()
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    # ------------------------------------------------------------------------------------------ retrieving

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        tracker = self._cache.get(sender_id)
        if tracker is not None:
            if len(tracker.events) == getattr(tracker, _STORED, -1) and self._catch_up(tracker):
                self._cache.move_to_end(sender_id)
                return tracker
            self._cache.pop(sender_id, None)
        return self._load(sender_id)

    def _catch_up(self, tracker: DialogueStateTracker) -> bool:
        """Apply rows written for this conversation since it was cached (by another worker); False if the cached
        tracker cannot be brought up to date that way (a new session)."""
        with self.session_scope() as session:
            rows = (
                session.query(self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.data)
                .filter(self.SQLEvent.sender_id == tracker.sender_id, self.SQLEvent.id > getattr(tracker, _LAST_ID))
                .order_by(self.SQLEvent.id)
                .all()
            )
        if not rows:
            return True
        if any(row.type_name == SessionStarted.type_name for row in rows):
            return False
        for row in rows:
            event = deserialise(json.loads(row.data))
            if event is not None:
                tracker.update(event)
        setattr(tracker, _STORED, len(tracker.events))
        setattr(tracker, _LAST_ID, rows[-1].id)
        return True

    def _load(self, sender_id: str) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
            data = [(row.id, row.data) for row in rows]
        if not data or not self.domain:
            return None
        events = [e for e in (deserialise(json.loads(d)) for _, d in data) if e is not None]
        tracker = self.compact(sender_id, events)
        self._remember(tracker, last_id=data[-1][0])
        return tracker

    # ------------------------------------------------------------------------------------------ compacting

    def _window_start(self, events: List[Event], turns: int) -> Optional[int]:
        """Index of the `action_listen` before the first of the last ``turns`` user messages, or None when there
        is nothing worth cutting (or no clean place to cut)."""
        users = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
        if len(users) <= turns:
            return None
        first = users[-turns]
        before = events[first - 1] if first > 0 else None
        if not (isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN):
            return None
        return first - 1

    def _kept(self, event: Event) -> Optional[Event]:
        if isinstance(event, UserUttered):
            return _slim_user(event)
        if isinstance(event, (BotUttered, SessionStarted)):
            return event
        if isinstance(event, ActionExecuted) and (
            event.action_name == ACTION_SESSION_START or event.action_name in self.keep_actions
        ):
            return event
        return None

    def compact(self, sender_id: str, events: List[Event]) -> DialogueStateTracker:
        """The tracker of ``events`` with only the last turns in full, or the full one when no cut gives exactly
        the same state and the same recent dialogue states (a long form hides its turns from the policies, so the
        window then reaches back to before it)."""
        full = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        setattr(full, _WINDOW, 0)
        if self._window_start(events, self.window_turns) is None:
            return full
        reference = self._fingerprint(full)
        turns = self.window_turns
        while True:
            start = self._window_start(events, turns)
            if start is None:
                return full
            compact = self._cut(sender_id, events, start, full)
            if compact is not None and self._fingerprint(compact) == reference:
                return compact
            turns *= 2

    def _fingerprint(self, tracker: DialogueStateTracker) -> tuple:
        """What the policies read: the state, the recent dialogue states, and the recent states TED featurises
        (rule-only turns left out: a window inside a long rule-driven form may hold none of those, which Rasa's
        featuriser cannot take)."""
        return (
            _state_summary(tracker),
            tracker.past_states(self.domain)[-RECENT_STATES:],
            tracker.past_states(self.domain, ignore_rule_only_turns=True)[-RECENT_STATES:],
        )

    def _cut(
        self, sender_id: str, events: List[Event], start: int, full: DialogueStateTracker
    ) -> Optional[DialogueStateTracker]:
        slots = self.domain.slots
        head = events[:start]
        if any(isinstance(e, (Restarted, UserUtteranceReverted, ActionReverted)) for e in head):
            return None
        before = DialogueStateTracker.from_events(sender_id, head, slots)
        if before.followup_action:
            return None
        moment = events[start].timestamp
        state: List[Event] = [
            SlotSet(name, slot.value, timestamp=moment) for name, slot in before.slots.items() if slot.has_been_set
        ]
        if before.active_loop is not None and before.active_loop.name:
            state.append(ActiveLoop(before.active_loop.name, timestamp=moment))
            if before.active_loop.is_interrupted:
                state.append(LoopInterrupted(True, timestamp=moment))
        if before.is_paused():
            state.append(ConversationPaused(timestamp=moment))
        kept = [k for k in (self._kept(e) for e in head) if k is not None]
        compact = DialogueStateTracker.from_events(sender_id, kept + state + events[start:], slots)
        setattr(compact, _WINDOW, len(kept) + len(state))
        if full.active_loop is not None and compact.active_loop is not None:
            compact.active_loop = full.active_loop  # the message that started the loop, in full
        return compact

    # ------------------------------------------------------------------------------------------ saving

    async def save(self, tracker: DialogueStateTracker) -> None:
        events = list(tracker.events)
        stored = getattr(tracker, _STORED, None)
        with self.session_scope() as session:
            if stored is None:  # a tracker this store did not hand out: Rasa's own rule
                stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            new = events[stored:]
            rows = []
            for event in new:
                data = event.as_dict()
                rows.append(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=((data.get("parse_data") or {}).get("intent") or {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.add_all(rows)
            session.flush()
            last_id = rows[-1].id if rows else getattr(tracker, _LAST_ID, None)
            session.commit()
        if self.event_broker is not None and new:
            await self._stream_new_events(self.event_broker, new, tracker.sender_id)
        if last_id is None:
            last_id = self._last_id(tracker.sender_id)
        restarted = any(isinstance(e, SessionStarted) for e in new) and any(
            not isinstance(e, (SessionStarted, ActionExecuted, SlotSet)) for e in events[: len(events) - len(new)]
        )
        if restarted:
            self._cache.pop(tracker.sender_id, None)  # a new session: the next message loads only that one
            return
        setattr(tracker, _STORED, len(events))
        full_turns = sum(1 for e in events[getattr(tracker, _WINDOW, 0):] if isinstance(e, UserUttered))
        if full_turns >= 2 * self.window_turns:
            tracker = self.compact(tracker.sender_id, events)
        self._remember(tracker, last_id)

    def _last_id(self, sender_id: str) -> int:
        with self.session_scope() as session:
            value = session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()
        return int(value or 0)

    def _remember(self, tracker: DialogueStateTracker, last_id: int) -> None:
        setattr(tracker, _STORED, len(tracker.events))
        setattr(tracker, _LAST_ID, last_id)
        if self.cache_size == 0:
            return
        self._cache[tracker.sender_id] = tracker
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
