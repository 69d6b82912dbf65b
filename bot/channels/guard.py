"""What every input channel does before and after a message reaches the bot (REST, socket.io, WeChat).

Before:
- the sender id is checked (``valid_sender``): a string of 1–128 characters, no control characters, no lone
  surrogates. A lone surrogate cannot be encoded for the SQL tracker store; Rasa turned that ``UnicodeEncodeError``
  (a ``ValueError``) into ``sys.exit`` (``SQLTrackerStore.session_scope``), stopping the server for everyone.
- the text is cleaned (``clean_text``): lone surrogates and control characters removed, cut at
  ``CHANNEL_MAX_TEXT_CHARS`` characters (4000 by default: the bot reads the first 2000 and says so for longer ones).
- throttling: at most ``THROTTLE_SENDER_PER_MINUTE`` messages per sender and ``THROTTLE_ADDRESS_PER_MINUTE`` per
  client address in any 60 seconds; more get a polite reply and never reach the bot or the tracker store.
- one conversation's messages are queued and handled one at a time, in order (so Rasa's lock store never refuses
  one with ``LockError``); more than ``CHANNEL_MAX_PENDING`` waiting get a polite "please wait" instead.

Admission: a Rasa process runs at most ``CHANNEL_MAX_TURNS`` turns at once (4 by default; 0: no limit), the others
wait their turn in arrival order. Under a flood the event loop would otherwise interleave every turn in flight, so
that each took as long as all of them together, and all would outlast the turn timeout at once. A turn that could
not start within ``CHANNEL_QUEUE_TIMEOUT`` seconds (30) is not run at all (nothing is stored) and its sender is asked
to send the message again a little later. The turn timeout counts from the start of the turn, not from its arrival.

After: a turn that failed, took longer than ``CHANNEL_TURN_TIMEOUT`` seconds or in which a custom action failed
(action server down, frozen or failing, database unavailable or locked: Rasa itself goes on and usually says
nothing) is answered with a short polite message (稍后再试 / 转人工). A turn the bot keeps silent on purpose (while
a hand-off ticket is open the bot relays without answering) stays silent. Custom actions time out after ``ACTION_TIMEOUT`` seconds (Rasa's
own timeout is a hard-coded 300 s: ``rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT``, set here at start). A turn
that raised or timed out was not stored: where the channel collects the answer before sending it (REST, WeChat's
passive reply) what the bot had said in it is dropped and only the polite message goes out.

The polite texts live in bot/channels/messages.yml. Nothing here logs a message's text or a full sender id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import traceback
import unicodedata
import weakref
from collections import OrderedDict, deque
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.rate_limits import shared_rate_limiter
from core.text import head_and_tail

log = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]
MESSAGES_FILE = Path(__file__).with_name("messages.yml")
MAX_SENDER_CHARS = 128
_KEPT_TEXT_CONTROLS = {"\n", "\t"}
_turn_failures: ContextVar[Optional[List[str]]] = ContextVar("turn_failures", default=None)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


@dataclass(frozen=True)
class GuardSettings:
    max_text_chars: int = 4000
    sender_per_minute: int = 20
    address_per_minute: int = 60
    max_pending: int = 5
    turn_timeout: float = 12.0
    action_timeout: float = 8.0
    max_turns: int = 4
    queue_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> GuardSettings:
        return cls(
            max_text_chars=int(_env_number("CHANNEL_MAX_TEXT_CHARS", cls.max_text_chars)),
            sender_per_minute=int(_env_number("THROTTLE_SENDER_PER_MINUTE", cls.sender_per_minute)),
            address_per_minute=int(_env_number("THROTTLE_ADDRESS_PER_MINUTE", cls.address_per_minute)),
            max_pending=int(_env_number("CHANNEL_MAX_PENDING", cls.max_pending)),
            turn_timeout=_env_number("CHANNEL_TURN_TIMEOUT", cls.turn_timeout),
            action_timeout=_env_number("ACTION_TIMEOUT", cls.action_timeout),
            max_turns=int(_env_number("CHANNEL_MAX_TURNS", cls.max_turns)),
            queue_timeout=_env_number("CHANNEL_QUEUE_TIMEOUT", cls.queue_timeout),
        )


@lru_cache(maxsize=1)
def channel_messages() -> Dict[str, str]:
    with MESSAGES_FILE.open(encoding="utf-8") as file:
        return {str(k): str(v) for k, v in (yaml.safe_load(file) or {}).items()}


def _bad_char(char: str) -> bool:
    code = ord(char)
    return 0xD800 <= code <= 0xDFFF or unicodedata.category(char) == "Cc"


def valid_sender(sender: Any) -> bool:
    """A sender id the tracker store can keep: 1–128 characters, no control characters, no lone surrogates."""
    return (
        isinstance(sender, str)
        and 0 < len(sender) <= MAX_SENDER_CHARS
        and sender.strip() == sender
        and not any(_bad_char(c) for c in sender)
    )


def clean_text(text: Any, max_chars: int) -> str:
    """The message text without lone surrogates and control characters (newlines and tabs kept), cut at max_chars
    keeping its beginning and its end (the question of a long message is usually at the end)."""
    if not isinstance(text, str):
        return ""
    text = head_and_tail(text, max_chars * 2)  # nothing beyond this is looked at
    if any(_bad_char(c) and c not in _KEPT_TEXT_CONTROLS for c in text):
        text = "".join(c for c in text if c in _KEPT_TEXT_CONTROLS or not _bad_char(c))
    return head_and_tail(text, max_chars)


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds; remembers at most ``max_keys`` keys (LRU)."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 20000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: OrderedDict[str, Deque[float]] = OrderedDict()

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        if self.limit <= 0:
            return True
        now = time.monotonic() if now is None else now
        times = self._seen.pop(key, None) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
        self._seen[key] = times
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return allowed


# one admission gate per event loop: every channel of a Rasa process shares it (tests run several loops)
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary())


def _gate(limit: int) -> Optional[asyncio.Semaphore]:
    if limit <= 0:
        return None
    by_limit = _gates.setdefault(asyncio.get_running_loop(), {})
    if limit not in by_limit:
        by_limit[limit] = asyncio.Semaphore(limit)
    return by_limit[limit]


async def _admitted(gate: asyncio.Semaphore, timeout: float) -> bool:
    """Wait for a free place among the turns running in this process, at most ``timeout`` seconds."""
    acquire = asyncio.ensure_future(gate.acquire())
    done, _ = await asyncio.wait({acquire}, timeout=timeout)
    if done:
        return True
    acquire.cancel()
    try:
        await acquire
    except asyncio.CancelledError:
        return False
    gate.release()  # acquired just as the time ran out: given back, the turn is refused all the same
    return False


def set_action_timeout(seconds: float) -> None:
    """Rasa waits 300 s for the action server (hard-coded); a user should wait a few seconds at most."""
    import rasa.core.actions.action as rasa_action

    rasa_action.DEFAULT_REQUEST_TIMEOUT = seconds


class ActionSkipped(Exception):
    """A custom action not run because an earlier one of the same turn failed (the turn is answered politely)."""


def watch_actions() -> None:
    """Let a turn know when one of its custom actions failed. Rasa logs the failure ("Bot will continue, but the
    actions events are lost") and the turn goes on, usually with no reply at all; the guard answers it instead.
    A turn the bot keeps silent on purpose (the hand-off relay) stays silent. Once one custom action of a turn
    failed, the turn's later custom actions fail at once: a frozen action server holds a turn for one
    ``ACTION_TIMEOUT``, not one per action Rasa goes on to predict."""
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction

    if getattr(RemoteAction.run, "watched_by_guard", False):
        return
    original = RemoteAction.run

    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        failures = _turn_failures.get()
        if failures:  # an earlier custom action of this turn failed: the next would wait for the same server
            failures.append(self.name())
            raise ActionSkipped(f"not run: custom action {failures[0]} failed earlier in this turn")
        try:
            return await original(self, *args, **kwargs)
        except ActionExecutionRejection:  # a form rejecting its slot: normal conversation flow
            raise
        except BaseException:
            if failures is not None:
                failures.append(self.name())
            raise

    run.watched_by_guard = True  # type: ignore[attr-defined]
    RemoteAction.run = run  # type: ignore[method-assign]


def _listen_after_circuit_break(tracker: Any, _output_channel: Any, _nlg: Any) -> None:
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted

    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))


def end_turns_cut_by_the_circuit_breaker() -> None:
    """Rasa stops a turn after 10 predicted actions ("Circuit breaker tripped") without going back to listening,
    and counts the actions since the last ``action_listen`` to decide it: every later turn of that conversation
    then trips at once and the bot never answers that user again. The turn cut short ends with ``action_listen``
    here (Rasa's ``on_circuit_break`` hook), so the next message starts a fresh count."""
    from rasa.core.processor import MessageProcessor

    if getattr(MessageProcessor.__init__, "watched_by_guard", False):
        return
    original = MessageProcessor.__init__

    def __init__(self: MessageProcessor, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.on_circuit_break is None:
            self.on_circuit_break = _listen_after_circuit_break

    __init__.watched_by_guard = True  # type: ignore[attr-defined]
    MessageProcessor.__init__ = __init__  # type: ignore[method-assign]


def _described(exc: BaseException) -> str:
    """The error's type, and for a wrapped one (Rasa's GraphComponentException) the innermost cause's type and
    where it was raised: enough to find it, and no message text (it may quote the user's words or ids)."""
    inner = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__
    if inner is exc:
        return type(exc).__name__
    frame = traceback.extract_tb(inner.__traceback__)[-1] if inner.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__} from {type(inner).__name__}{where}"


def _mask(sender: Any) -> str:
    return f"{str(sender)[:6]!r}…" if sender else "?"


class TurnGuard:
    """Checks, throttles, queues and watches the turns of one input channel (see the module docstring)."""

    def __init__(self, channel: str, settings: Optional[GuardSettings] = None) -> None:
        self.channel = channel
        self.settings = settings or GuardSettings.from_env()
        # counted in Redis when REDIS_URL is set, so that the limits hold across Rasa workers (make run-scaled)
        self.by_sender = (shared_rate_limiter(f"{channel}:sender", self.settings.sender_per_minute)
                          or RateLimiter(self.settings.sender_per_minute))
        self.by_address = (shared_rate_limiter(f"{channel}:address", self.settings.address_per_minute)
                           or RateLimiter(self.settings.address_per_minute))
        self._locks: Dict[str, asyncio.Lock] = {}
        self._pending: Dict[str, int] = {}
        set_action_timeout(self.settings.action_timeout)
        watch_actions()
        end_turns_cut_by_the_circuit_breaker()

    def text(self, key: str) -> str:
        return channel_messages()[key]

    def clean_text(self, text: Any) -> str:
        return clean_text(text, self.settings.max_text_chars)

    def refusal(self, sender: Any, address: Optional[str] = None) -> Optional[str]:
        """The key of the polite text refusing this message now (bad sender, throttled, queue full), or None."""
        if not valid_sender(sender):
            log.info("%s message refused: unusable sender id", self.channel)
            return "bad_sender"
        if address and not self.by_address.allow(address):
            log.info("%s message refused: address over %d/min", self.channel, self.settings.address_per_minute)
            return "too_fast"
        if not self.by_sender.allow(sender):
            log.info("%s message from %s refused: over %d/min", self.channel, _mask(sender),
                     self.settings.sender_per_minute)
            return "too_fast"
        if self._pending.get(sender, 0) >= self.settings.max_pending:
            log.info("%s message from %s refused: %d still waiting", self.channel, _mask(sender),
                     self.settings.max_pending)
            return "busy"
        return None

    async def say(self, message: UserMessage, key: str) -> None:
        if message.output_channel is None:
            return
        try:
            await message.output_channel.send_text_message(message.sender_id, self.text(key))
        except Exception as exc:  # noqa: BLE001 - the client is gone; nothing more to tell it
            log.warning("%s: polite %r reply not sent: %s", self.channel, key, type(exc).__name__)

    async def handle(self, message: UserMessage, on_new_message: Handler, address: Optional[str] = None) -> None:
        """Run one turn: refuse politely, or queue it behind the sender's earlier turns and watch it."""
        message.text = self.clean_text(message.text)
        refused = self.refusal(message.sender_id, address)
        if refused:
            await self.say(message, refused)
            return
        sender = message.sender_id
        self._pending[sender] = self._pending.get(sender, 0) + 1
        lock = self._locks.setdefault(sender, asyncio.Lock())
        try:
            async with lock:
                await self._watched(message, on_new_message)
        finally:
            self._pending[sender] -= 1
            if not self._pending[sender]:
                del self._pending[sender]
                self._locks.pop(sender, None)

    async def _watched(self, message: UserMessage, on_new_message: Handler) -> None:
        gate = _gate(self.settings.max_turns)
        if gate is not None and not await _admitted(gate, self.settings.queue_timeout):
            log.warning("%s turn of %s not started within %.0f s (too many at once): asked to send it again",
                        self.channel, _mask(message.sender_id), self.settings.queue_timeout)
            await self.say(message, "overloaded")
            return
        try:
            await self._run(message, on_new_message)
        finally:
            if gate is not None:
                gate.release()

    async def _run(self, message: UserMessage, on_new_message: Handler) -> None:
        failures: List[str] = []  # custom actions of this turn that failed (RemoteAction.run, see watch_actions)
        context_token = _turn_failures.set(failures)
        failed = None
        try:
            await asyncio.wait_for(on_new_message(message), timeout=self.settings.turn_timeout)
        except asyncio.TimeoutError:
            failed = f"no answer within {self.settings.turn_timeout:.0f} s"
        except Exception as exc:  # noqa: BLE001 - answered politely below; the text and ids stay out of the log
            failed = _described(exc)
        finally:
            _turn_failures.reset(context_token)
        if failed and isinstance(message.output_channel, CollectingOutputChannel):
            # the turn was not stored (it raised or was cut off before Rasa saved it): what the bot had said in it
            # is not sent, only that it failed, so that what a user was answered is always in the tracker store
            message.output_channel.messages.clear()
        if failures and not failed:
            failed = f"custom action {failures[0]} failed"
        if failed:
            log.warning("%s turn of %s failed (%s): answered that the service is unavailable",
                        self.channel, _mask(message.sender_id), failed)
            await self.say(message, "unavailable")
