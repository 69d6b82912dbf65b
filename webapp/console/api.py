"""``GET /api/handoff/messages``: officer replies and notices waiting for a web chat user.

The web page polls it while a ticket is open, with the poll token the bot sent when the ticket was created
(``{"handoff": {"poll_token": …}}``), in the ``X-Handoff-Token`` header or the ``token`` query parameter. The token
is random (192 bits) and stored hashed; it identifies one ticket, so a sender can read only their own. Each message
is handed out once (whichever comes first: this poll, a push, or the user's next message).

Answer: ``{"ticket": "HZ…", "status": "open"|"assigned"|"resolved"|"closed", "messages": [{"id", "author":
"officer"|"system", "text", "officer"?}]}``; 404 for an unknown token. ``officer`` is the officer's name as users
may see it (``delivery.public_officer_name``: never an administrator's or account name), left out when there is none.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.handoff.delivery import public_officer_name
from core.handoff.models import AUTHOR_OFFICER
from core.handoff.repository import ticket_repository

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _take(token: str):
    with ticket_repository() as tickets:
        ticket = tickets.ticket_by_poll_token(token)
        if ticket is None:
            return None
        messages = []
        for message in tickets.take_undelivered(ticket, "poll"):
            item = {"id": message.id, "author": message.author, "text": message.text}
            name = public_officer_name(message.officer) if message.author == AUTHOR_OFFICER else ""
            if name:
                item["officer"] = name
            messages.append(item)
        return {"ticket": ticket.number, "status": ticket.status, "messages": messages}


async def poll_messages(request: Request) -> JSONResponse:
    token = request.headers.get("x-handoff-token") or request.query_params.get("token") or ""
    answer = await run_in_threadpool(_take, token.strip()) if token else None
    if answer is None:
        return JSONResponse({"error": "unknown token"}, status_code=404, headers=NO_STORE)
    return JSONResponse(answer, headers=NO_STORE)
