"""Curating the knowledge while the bot runs: an entry published through the console's JSON API or its forms is
answered by the running bot (REST channel) within 5 seconds, an edit within 5 seconds, and a retired entry stops
being answered — no retrain, no restart. Also: the API refuses requests without credentials, and bad input over
real HTTP never takes anything down."""

from __future__ import annotations

import itertools
import time
from typing import Callable

import httpx
import pytest

from tests.utils.curation import basic, csrf, entry_data, form_data, sign_in

ADMIN = ("admin", "e2e-admin-password-123")
DEADLINE = 5.0
_senders = itertools.count()


@pytest.fixture(scope="module")
def api(running_bot):
    with httpx.Client(base_url=running_bot.web_url, headers=basic(*ADMIN), timeout=30) as client:
        yield client


def ask(running_bot, text: str) -> str:
    """The bot's reply to ``text`` in a new conversation (so earlier fallbacks never lead to a hand-off)."""
    return running_bot.texts(f"e2e-curation-{next(_senders)}", text)


def seconds_until(condition: Callable[[], bool], deadline: float = DEADLINE) -> float:
    """Poll ``condition`` until it holds; the seconds it took, or fail after ``deadline``."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > deadline:
            pytest.fail(f"not seen within {deadline} s")
        time.sleep(0.2)


def test_publish_edit_retire_and_roll_back_reach_the_running_bot_within_five_seconds(running_bot, api):
    question = "政务中心有母婴室吗"
    assert "一楼设有母婴室" not in ask(running_bot, question)

    created = api.post("/console/api/faq", json=entry_data())
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    published = seconds_until(lambda: "一楼设有母婴室" in ask(running_bot, question))
    reply = ask(running_bot, "海珠区政务服务中心有没有母婴室")  # its standard question
    assert "一楼设有母婴室" in reply and "📖 来源：海珠区政务服务中心便民服务公告" in reply

    edited = api.put(f"/console/api/faq/{entry_id}", json={"answer": "有。母婴室已搬到政务服务中心二楼东侧。", "version": 1})
    assert edited.status_code == 200, edited.text
    changed = seconds_until(lambda: "二楼东侧" in ask(running_bot, question))
    assert "一楼设有母婴室" not in ask(running_bot, question)

    assert api.delete(f"/console/api/faq/{entry_id}").json()["status"] == "retired"
    retired = seconds_until(lambda: "母婴室" not in ask(running_bot, question))

    rolled = api.post(f"/console/api/faq/{entry_id}/rollback", json={"to_version": 1, "version": 3})
    assert rolled.status_code == 200, rolled.text
    restored = seconds_until(lambda: "一楼设有母婴室" in ask(running_bot, question))
    api.delete(f"/console/api/faq/{entry_id}")
    print(f"\nseconds until the bot followed: publish {published:.2f}, edit {changed:.2f}, "
          f"retire {retired:.2f}, rollback {restored:.2f}")


def test_an_entry_published_in_the_console_form_is_answered(running_bot):
    question = "海珠政务中心可以借用雨伞吗"
    data = entry_data(question=question, paraphrases=["政务中心能借雨伞吗"],
                      answer="可以。政务服务中心一楼服务台提供爱心雨伞，登记后借用，下次办事时归还即可。")
    with httpx.Client(base_url=running_bot.web_url, timeout=30) as browser:
        sign_in(browser, *ADMIN)
        page = browser.get("/console/faq/new")
        response = browser.post("/console/faq/new", data={**form_data(data), "csrf_token": csrf(page.text),
                                                           "action": "publish"})
        assert response.status_code == 303, response.text[:500]
        entry_id = response.headers["location"].split("/faq/entries/")[1].split("?")[0]
        seconds_until(lambda: "爱心雨伞" in ask(running_bot, "政务中心能借雨伞吗"))
        edit = browser.get(f"/console/faq/entries/{entry_id}")
        retire = {**form_data(data), "csrf_token": csrf(edit.text), "version": "1", "action": "retire"}
        assert browser.post(f"/console/faq/entries/{entry_id}", data=retire).status_code == 303
    seconds_until(lambda: "爱心雨伞" not in ask(running_bot, "政务中心能借雨伞吗"))


def test_the_api_refuses_requests_without_valid_credentials(running_bot):
    with httpx.Client(base_url=running_bot.web_url, timeout=30) as anonymous:
        assert anonymous.post("/console/api/faq", json=entry_data()).status_code == 401
        assert anonymous.get("/console/api/faq").status_code == 401
        wrong = anonymous.delete("/console/api/faq/startup.process", headers=basic("admin", "wrong-password-000"))
        assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    assert "0.5" in ask(running_bot, "开公司要多久")  # the seed entry is still answered


def test_a_concurrent_edit_over_http_is_refused(api):
    created = api.post("/console/api/faq", json=entry_data(question="政务中心有没有自助复印机", status="draft",
                                                             paraphrases=["有自助复印机吗"]))
    entry_id = created.json()["id"]
    assert api.put(f"/console/api/faq/{entry_id}", json={"answer": "有，一楼大厅有自助复印机。", "version": 1}).status_code == 200
    refused = api.put(f"/console/api/faq/{entry_id}", json={"answer": "没有复印机。", "version": 1})
    assert refused.status_code == 409 and refused.json()["current_version"] == 2


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b'{"question": "<script>alert(1)</script>", "answer": "x", "topic": "startup", "source": ""}',
        b'{"question": "\'; DROP TABLE knowledge_entries; --", "topic": "startup", "status": "draft"}',
        ('{"question": "' + "长" * 100000 + '"}').encode("utf-8"),
        b"[]",
    ],
    ids=["empty", "not-json", "markup", "sql-looking", "huge", "array"],
)
def test_bad_input_over_http_never_takes_anything_down(running_bot, api, body):
    response = api.post("/console/api/faq", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (201, 400, 413), response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    assert api.get("/console/api/faq?limit=1").status_code == 200
    assert httpx.get(f"{running_bot.web_url}/healthz", timeout=10).status_code == 200
