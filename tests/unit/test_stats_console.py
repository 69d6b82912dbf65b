"""The dashboard and the follow-up items in the console, in-process (Starlette's test client), over the seeded
conversations and tickets of tests/unit/test_stats.py. The same in a real browser: tests/e2e/test_stats_browser.py."""

from __future__ import annotations

import re

import pytest

from core import stats
from core.accounts.models import AuditEntry
from core.db import session_scope
from core.handoff.models import RatingFollowup
from tests.unit.test_handoff_console import csrf, officer_client
from tests.unit.test_stats import tickets_seeded, tracker  # noqa: F401 - fixtures


@pytest.fixture()
def seeded(tracker, tickets_seeded, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("TRACKER_DB_URL", str(tracker.url))
    return tracker


def test_officers_see_the_figures_with_plots_and_export_the_same(database, seeded):
    client = officer_client(database, "li")
    page = client.get("/console/stats?period=day&channel=all")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'id="kpi-conversations">3<', html) and re.search(r'id="kpi-messages">8<', html)
    assert html.count("<svg class=\"chart ") == 5 and "<polyline" in html and 'class="bar"' in html
    assert 'aria-label="满意度评价（好差评）：非常满意1；满意0；基本满意0；不满意0；非常不满意1"' in html
    assert 'href="/console/faq/unanswered?days=1"' in html
    assert "<form method=\"post\"" not in html.split("<main", 1)[1]  # read-only: no forms but the filters (GET)
    for identity in ("web-a", "wx-b", "陈先生", "13812345678"):
        assert identity not in html
    export = client.get("/console/stats.xlsx?period=day&channel=all")
    assert export.status_code == 200 and export.headers["content-disposition"].endswith('.xlsx"')
    sheets = stats.xlsx_tables(export.content)
    with session_scope() as session:
        tables = stats.compute(session, "day", "all", engine=seeded).tables()
    assert list(sheets) == [t.title for t in tables]
    assert dict((row[0], row[1]) for row in sheets["概览"][1:])["会话数"] == 3
    assert sheets["满意度评价（好差评）"][1] == ["非常满意", 1]


def test_bad_parameters_fall_back_and_editors_see_the_dashboard_but_not_follow_ups(database, seeded):
    client = officer_client(database, "zhao", role="editor")
    assert client.get("/console/stats?period=%3Cscript%3E&channel=x").status_code == 200
    assert client.get("/console/followups").status_code == 403


def test_staff_work_and_close_a_follow_up_item(database, seeded):
    client = officer_client(database, "li")
    page = client.get("/console/followups")
    assert page.status_code == 200 and "非常不满意" in page.text and "等太久了" in page.text
    with session_scope() as session:
        item_id = session.query(RatingFollowup).one().id
    token = csrf(page.text)
    empty = client.post(f"/console/followups/{item_id}", data={"csrf_token": token, "action": "close", "kind": "rectify"},
                        follow_redirects=False)
    assert "m=empty" in empty.headers["location"]
    done = client.post(
        f"/console/followups/{item_id}",
        data={"csrf_token": token, "action": "close", "kind": "rectify", "note": "已回访并调整排班"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with session_scope() as session:
        item = session.get(RatingFollowup, item_id)
        assert (item.status, item.kind, item.note) == ("closed", "rectify", "已回访并调整排班")
        assert session.query(AuditEntry).filter(AuditEntry.action == "followup_close").count() == 1
    closed = client.get("/console/followups?view=closed").text
    assert "已完成" in closed and "已回访并调整排班" in closed and "整改" in closed
    assert client.post(f"/console/followups/{item_id}", data={"action": "close"}).status_code == 403  # no CSRF token
