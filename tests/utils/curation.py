"""Helpers for the curation tests: console accounts of each role, signing in, API credentials, entry data."""

from __future__ import annotations

import base64
import re
from typing import Any, Dict

from core.accounts import account_repository
from core.curation.repository import Actor

PASSWORD_SUFFIX = "-password-123"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

ADMIN = Actor("chief", "admin", ip="127.0.0.1")
EDITOR = Actor("editor1", "editor", ip="127.0.0.1")
OFFICER = Actor("officer1", "officer", ip="127.0.0.1")


def make_account(username: str, role: str) -> str:
    """A console account ``username`` with ``role``; returns its password."""
    password = username + PASSWORD_SUFFIX
    with account_repository() as accounts:
        if accounts.by_username(username) is None:
            accounts.create(username, username.title(), password, role)
    return password


def basic(username: str, password: str) -> Dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: Any, username: str, password: str) -> None:
    """Sign in through the console's login form (works with Starlette's TestClient and httpx.Client)."""
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]


def entry_data(**overrides: Any) -> Dict[str, Any]:
    """A complete, publishable staff entry about something no seed entry covers (a nursing room)."""
    data: Dict[str, Any] = {
        "topic": "startup",
        "question": "海珠区政务服务中心有没有母婴室",
        "paraphrases": ["政务中心有母婴室吗", "办事大厅哪里可以喂奶"],
        "answer": "有。海珠区政务服务中心一楼设有母婴室，办事期间可以免费使用，请向大厅引导员咨询具体位置。",
        "source": "海珠区政务服务中心便民服务公告",
        "rule_date": "2024-05",
        "reviewed": "2025-01-10",
        "status": "published",
    }
    data.update(overrides)
    return data


def form_data(data: Dict[str, Any]) -> Dict[str, str]:
    """``entry_data`` as the console's edit form sends it."""
    result = {("topic_id" if k == "topic" else k): v for k, v in data.items() if k != "status"}
    result["paraphrases"] = "\n".join(data.get("paraphrases") or [])
    return {k: str(v) for k, v in result.items()}
