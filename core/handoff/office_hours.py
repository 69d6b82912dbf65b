"""When CBSO officers work: the OFFICE_HOURS setting (or an administrator's override in the console), in China
time, closed on public holidays and open on make-up working days from ``knowledge/holidays/*.yml``.

The spec is one or more groups separated by ``;``: days (``mon``…``sun``, ranges like ``mon-fri`` or lists like
``mon,wed``) followed by time windows, e.g. ``mon-fri 09:00-12:00,14:00-18:00`` (the default). A make-up working
day (调休上班) on a weekend uses Monday's windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple
from zoneinfo import ZoneInfo

import yaml

from core.catalogue import message
from core.handoff.contact import vocabulary
from core.settings import KNOWLEDGE_DIR

HOLIDAYS_DIR = KNOWLEDGE_DIR / "holidays"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WORDS = vocabulary()  # knowledge/handoff/vocabulary.yml: the weekdays and the schedule in words
WEEKDAY_LABELS = tuple(str(day) for day in _WORDS["weekdays"])
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

Window = Tuple[int, int]  # minutes since midnight, end exclusive


@dataclass(frozen=True)
class Holidays:
    closed: FrozenSet[date] = frozenset()
    workdays: FrozenSet[date] = frozenset()
    years: FrozenSet[int] = frozenset()


def _dates(item: object) -> Iterable[date]:
    if isinstance(item, dict):
        start, end = _as_date(item["from"]), _as_date(item["to"])
        while start <= end:
            yield start
            start += timedelta(days=1)
    else:
        yield _as_date(item)


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def load_holidays(directory: Path = HOLIDAYS_DIR) -> Holidays:
    """Every ``*.yml`` in ``directory`` (cached until a file changes)."""
    files = tuple(sorted(directory.glob("*.yml"))) if directory.is_dir() else ()
    return _load_holidays(tuple((str(p), p.stat().st_mtime) for p in files))


@lru_cache(maxsize=4)
def _load_holidays(files: Tuple[Tuple[str, float], ...]) -> Holidays:
    closed, workdays, years = set(), set(), set()
    for path, _mtime in files:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for year, spec in (data.get("years") or {}).items():
            years.add(int(year))
            for item in spec.get("holidays") or []:
                closed.update(_dates(item))
            for item in spec.get("workdays") or []:
                workdays.update(_dates(item))
    return Holidays(frozenset(closed), frozenset(workdays), frozenset(years))


def _parse_days(text: str) -> List[int]:
    days: List[int] = []
    for part in text.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = DAY_NAMES.index(first[:3]), DAY_NAMES.index(last[:3])
            if b < a:
                raise ValueError(part)
            days.extend(range(a, b + 1))
        else:
            days.append(DAY_NAMES.index(part[:3]))
    return days


def _parse_windows(text: str) -> Tuple[Window, ...]:
    windows = []
    for part in text.split(","):
        match = _WINDOW.match(part.strip())
        if not match:
            raise ValueError(part)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if not (0 <= start < end <= 24 * 60) or m1 > 59 or m2 > 59:
            raise ValueError(part)
        windows.append((start, end))
    return tuple(sorted(windows))


def parse_spec(spec: str) -> Dict[int, Tuple[Window, ...]]:
    """``{weekday: windows}`` of a spec; raises ``ValueError`` with a readable message when it is malformed."""
    week: Dict[int, Tuple[Window, ...]] = {}
    groups = [g.strip() for g in (spec or "").split(";") if g.strip()]
    if not groups:
        raise ValueError(message("office_hours.empty"))
    for group in groups:
        days_text, _, windows_text = group.partition(" ")
        try:
            days = _parse_days(days_text)
            windows = _parse_windows(windows_text.replace(" ", ""))
        except (ValueError, IndexError) as exc:
            raise ValueError(message("office_hours.malformed", group=group)) from exc
        for day in days:
            week[day] = tuple(sorted(week.get(day, ()) + windows))
    return week


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


@dataclass(frozen=True)
class OfficeHours:
    week: Dict[int, Tuple[Window, ...]]
    holidays: Holidays = field(default_factory=Holidays)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    @classmethod
    def from_spec(cls, spec: str, tz_name: str = "Asia/Shanghai", holidays: Optional[Holidays] = None) -> OfficeHours:
        return cls(parse_spec(spec), holidays if holidays is not None else load_holidays(), ZoneInfo(tz_name))

    def windows_on(self, day: date) -> Tuple[Window, ...]:
        if day in self.holidays.closed:
            return ()
        if day in self.holidays.workdays and not self.week.get(day.weekday()):
            return self.week.get(0) or next((w for w in self.week.values() if w), ())
        return self.week.get(day.weekday(), ())

    def local(self, moment: datetime) -> datetime:
        """``moment`` (naive UTC or aware) in office time."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.tz)

    def is_open(self, moment: datetime) -> bool:
        now = self.local(moment)
        minute = now.hour * 60 + now.minute
        return any(start <= minute < end for start, end in self.windows_on(now.date()))

    def next_opening(self, moment: datetime, horizon_days: int = 60) -> Optional[datetime]:
        """``moment`` itself when open, else the start of the next window (aware, office time)."""
        now = self.local(moment)
        if self.is_open(now):
            return now
        minute = now.hour * 60 + now.minute
        for offset in range(horizon_days + 1):
            day = now.date() + timedelta(days=offset)
            for start, _end in self.windows_on(day):
                if offset > 0 or start > minute:
                    return datetime.combine(day, time(start // 60 % 24, start % 60), tzinfo=self.tz)
        return None

    def describe(self) -> str:
        """The schedule in words for users: ``周一至周五 9:00–12:00、14:00–18:00``."""
        parts: List[str] = []
        days = sorted(self.week)
        groups: List[List[int]] = []
        for day in days:
            if groups and groups[-1][-1] == day - 1 and self.week[groups[-1][-1]] == self.week[day]:
                groups[-1].append(day)
            else:
                groups.append([day])
        for group in groups:
            first, last = WEEKDAY_LABELS[group[0]], WEEKDAY_LABELS[group[-1]]
            if len(group) > 1:
                label = _WORDS["schedule_days"].format(first=first, last=last)
            else:
                label = _WORDS["schedule_day"].format(day=first)
            windows = "、".join(f"{_clock(a)}–{_clock(b)}" for a, b in self.week[group[0]])
            parts.append(f"{label} {windows}")
        return "；".join(parts)


def format_moment(moment: datetime) -> str:
    """``11月26日（周四）9:00`` for users."""
    return _WORDS["moment"].format(
        month=moment.month, day=moment.day, weekday=WEEKDAY_LABELS[moment.weekday()], hour=moment.hour, minute=moment.minute
    )
