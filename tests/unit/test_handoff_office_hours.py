"""Office hours in China time with public holidays and make-up working days (core/handoff/office_hours.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.handoff.office_hours import Holidays, OfficeHours, format_moment, load_holidays, parse_spec

CHINA = ZoneInfo("Asia/Shanghai")
DEFAULT = "mon-fri 09:00-12:00,14:00-18:00"


def utc(year, month, day, hour, minute=0):
    """A China-time moment as the naive UTC the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA).astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture(scope="module")
def hours() -> OfficeHours:
    return OfficeHours.from_spec(DEFAULT)


@pytest.mark.parametrize(
    "moment, is_open",
    [
        (utc(2026, 11, 25, 9, 0), True),  # Wednesday, opening minute
        (utc(2026, 11, 25, 11, 59), True),
        (utc(2026, 11, 25, 12, 0), False),  # lunch
        (utc(2026, 11, 25, 14, 30), True),
        (utc(2026, 11, 25, 18, 0), False),
        (utc(2026, 11, 28, 10, 0), False),  # Saturday
        (utc(2026, 10, 1, 10, 0), False),  # National Day, a Thursday
        (utc(2026, 10, 10, 10, 0), True),  # Saturday worked in exchange (调休上班)
        (utc(2026, 2, 16, 10, 0), False),  # Spring Festival, a Monday
    ],
)
def test_open_or_closed(hours, moment, is_open):
    assert hours.is_open(moment) is is_open


@pytest.mark.parametrize(
    "moment, opening",
    [
        (utc(2026, 11, 25, 10, 0), datetime(2026, 11, 25, 10, 0, tzinfo=CHINA)),  # open: now
        (utc(2026, 11, 25, 12, 30), datetime(2026, 11, 25, 14, 0, tzinfo=CHINA)),  # after lunch
        (utc(2026, 11, 25, 7, 0), datetime(2026, 11, 25, 9, 0, tzinfo=CHINA)),
        (utc(2026, 11, 27, 19, 0), datetime(2026, 11, 30, 9, 0, tzinfo=CHINA)),  # Friday evening → Monday
        (utc(2026, 9, 30, 18, 30), datetime(2026, 10, 8, 9, 0, tzinfo=CHINA)),  # Golden Week
        (utc(2026, 10, 9, 20, 0), datetime(2026, 10, 10, 9, 0, tzinfo=CHINA)),  # the worked Saturday
        (
            utc(2026, 2, 13, 18, 0),
            datetime(2026, 2, 14, 9, 0, tzinfo=CHINA),
        ),  # Saturday before Spring Festival is worked
        (utc(2026, 2, 14, 18, 0), datetime(2026, 2, 24, 9, 0, tzinfo=CHINA)),
    ],
)
def test_next_opening(hours, moment, opening):
    assert hours.next_opening(moment) == opening


def test_a_timezone_aware_moment_works_too(hours):
    assert hours.is_open(datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc))  # 10:30 in Guangzhou


def test_messages_for_users(hours):
    assert hours.describe() == "周一至周五 9:00–12:00、14:00–18:00"
    assert format_moment(datetime(2026, 11, 30, 9, 0, tzinfo=CHINA)) == "11月30日（周一）9:00"
    weekend = OfficeHours.from_spec("mon-fri 09:00-17:00; sat 09:00-12:00")
    assert weekend.describe() == "周一至周五 9:00–17:00；周六 9:00–12:00"
    assert weekend.is_open(utc(2026, 11, 28, 10, 0))


def test_holiday_file_covers_its_years():
    holidays = load_holidays()
    assert {2025, 2026} <= holidays.years
    assert date(2025, 1, 28) in holidays.closed and date(2025, 2, 4) in holidays.closed
    assert date(2026, 9, 20) in holidays.workdays
    assert not holidays.closed & holidays.workdays


def test_without_holidays_only_weekends_close():
    plain = OfficeHours.from_spec(DEFAULT, holidays=Holidays())
    assert plain.is_open(utc(2026, 10, 1, 10, 0))


def test_nothing_open_within_the_horizon():
    never = OfficeHours.from_spec(
        "mon 09:00-10:00", holidays=Holidays(closed=frozenset(date(2026, 12, 1) + timedelta(days=i) for i in range(90)))
    )
    assert never.next_opening(utc(2026, 12, 1, 8, 0)) is None


@pytest.mark.parametrize(
    "spec",
    ["", "mon-fri", "mon-fri 9-12", "mon-fri 12:00-09:00", "xyz 09:00-10:00", "fri-mon 09:00-10:00", "mon 09:00-25:00"],
)
def test_malformed_specs_are_refused(spec):
    with pytest.raises(ValueError):
        parse_spec(spec)


def test_all_day_window():
    always = OfficeHours.from_spec("mon-sun 00:00-24:00", holidays=Holidays())
    assert always.is_open(utc(2026, 11, 29, 23, 59))
