"""The service dashboard (/console/stats, its .xlsx export) and the follow-up items of negative 好差评 ratings
(/console/followups). The figures are core/stats.py's; this module only reads parameters, draws and renders.

Every console account sees the dashboard, read-only (it holds no user's identity). Follow-up items name a ticket,
so only officers and administrators see and work them, as they do tickets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

from starlette.requests import Request
from starlette.responses import Response

from core import charts, ratings, stats
from core.accounts.models import Officer
from core.catalogue import message
from core.db import session_scope
from core.handoff.models import FOLLOWUP_CLOSED, FOLLOWUP_OPEN
from core.handoff.repository import TicketRepository
from core.settings import get_settings
from webapp.console.handler import SIGNED_IN, TICKET_STAFF, Call, page
from webapp.console.rendering import redirect
from webapp.console.views import office_hours

RATING_COLOURS = ("#15803d", "#4d7c0f", "#0b5cad", "#b45309", "#b42318")  # 非常满意 … 非常不满意
OUTCOME_COLOURS = ("#15803d", "#0b5cad", "#7e22ce", "#b42318", "#475569")
MAX_NOTE_CHARS = 1000


def _parameters(request: Request) -> Dict[str, str]:
    kind = request.query_params.get("period", "week")
    channel = request.query_params.get("channel", "all")
    return {"period": kind if kind in stats.PERIODS else "week", "channel": channel if channel in stats.CHANNELS else "all"}


def _figures(params: Dict[str, str]) -> stats.Figures:
    settings = get_settings()
    with session_scope() as session:
        hours = office_hours(TicketRepository(session))
        return stats.compute(
            session, params["period"], params["channel"], tz_name=settings.timezone, office_hours=hours
        )


def _charts(figures: stats.Figures) -> Dict[str, str]:
    c = figures.conversations
    labels = [v.label for v in c.volumes]
    outcome_items = [(stats.OUTCOME_LABELS[o].split("（")[0], (figures.share(o) or 0) * 100) for o in stats.OUTCOMES]
    return {
        "volume": charts.line_chart(
            message("stats.volume"),
            labels,
            [(message("stats.conversations"), [v.conversations for v in c.volumes]), (message("stats.user_messages"), [v.user_messages for v in c.volumes])],
        ),
        "outcomes": charts.bar_chart(message("stats.outcomes"), outcome_items, colours=OUTCOME_COLOURS, suffix="%"),
        "topics": charts.bar_chart(message("stats.topics"), figures.top_topics()),
        "entries": charts.bar_chart(message("stats.entries"), figures.top_entries(), colour="#0e7490"),
        "ratings": charts.bar_chart(
            message("stats.ratings"),
            [(level.label, figures.ratings.counts.get(level.score, 0)) for level in ratings.LEVELS],
            colours=RATING_COLOURS,
        ),
    }


@page(SIGNED_IN)
def stats_page(call: Call) -> Response:
    params = _parameters(call.request)
    figures = _figures(params)
    return call.render(
        "stats.html",
        figures=figures,
        tables={t.key: t for t in figures.tables()},
        charts=_charts(figures),
        params=params,
        PERIODS=stats.PERIODS, CHANNELS=stats.CHANNELS, OUTCOMES=stats.OUTCOMES, OUTCOME_LABELS=stats.OUTCOME_LABELS,
        pct=stats.pct, num=stats.num,
    )


@page(SIGNED_IN)
def stats_export(call: Call) -> Response:
    params = _parameters(call.request)
    content = stats.to_xlsx(_figures(params).tables())
    filename = f"service-stats-{params['period']}-{params['channel']}-{datetime.utcnow():%Y%m%d}.xlsx"
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# ---- follow-up items of negative ratings -------------------------------------------------------------------------


@page(TICKET_STAFF)
def followups_page(call: Call) -> Response:
    view = call.query.get("view", FOLLOWUP_OPEN)
    view = view if view in (FOLLOWUP_OPEN, FOLLOWUP_CLOSED) else FOLLOWUP_OPEN
    with session_scope() as session:
        repo = ratings.FollowupRepository(session)
        items: List[Any] = repo.items(view)
        return call.render(
            "followups.html",
            items=items,
            view=view,
            open_count=repo.count_open(),
            label_of=ratings.label_of,
            KIND_LABELS=ratings.KIND_LABELS,
            FOLLOWUP_STATUS_LABELS=ratings.FOLLOWUP_STATUS_LABELS,
        )


def _update_followup(call: Call, item_id: int, kind: str, note: str, action: str) -> bool:
    with session_scope() as session:
        repo = ratings.FollowupRepository(session)
        item = repo.item(item_id)
        officer = session.get(Officer, call.auth.officer_id)
        if item is None or officer is None:
            return False
        repo.update(item, officer, kind, note, action)
        detail = f"{ratings.KIND_LABELS.get(item.kind, item.kind)} #{item.id}"
        audited = "followup_close" if action == "close" else "followup_update"
        TicketRepository(session).audit(officer, audited, item.ticket, detail=detail, ip=call.ip)
        return True


@page(TICKET_STAFF, post=True)
def followup_update(call: Call) -> Response:
    kind = str(call.form.get("kind", ""))
    note = str(call.form.get("note", "")).strip()
    if len(note) > MAX_NOTE_CHARS:
        return redirect("/followups", m="too_long")
    action = str(call.form.get("action", "save"))
    action = action if action in ("save", "close", "reopen") else "save"
    close = action == "close"
    if close and not note:
        return redirect("/followups", m="empty")  # what was done is written down before the item closes
    if not _update_followup(call, int(call.params["item_id"]), kind, note, action):
        return redirect("/followups", m="not_allowed")
    return redirect("/followups", m="saved", view=FOLLOWUP_CLOSED if close else FOLLOWUP_OPEN)
