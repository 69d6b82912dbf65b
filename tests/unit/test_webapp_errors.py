"""The web app's HTTP errors are short Chinese pages (JSON under the APIs), never Starlette's English defaults."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from webapp.app import create_app


@pytest.fixture()
def client(database):
    return TestClient(create_app(), raise_server_exceptions=False)


def test_an_unknown_page_is_a_chinese_404(client):
    response = client.get("/no-such-page<script>")
    assert response.status_code == 404
    assert 'lang="zh-CN"' in response.text and "页面不存在" in response.text and "Not Found" not in response.text
    assert "<script>" not in response.text


def test_a_wrong_method_is_a_chinese_405_that_keeps_the_allow_header(client):
    response = client.delete("/healthz")
    assert response.status_code == 405 and "不支持这种请求方式" in response.text
    assert "Method Not Allowed" not in response.text and "GET" in response.headers["allow"]


def test_api_errors_are_json(client):
    response = client.put("/api/handoff/messages")
    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed", "message": "不支持这种请求方式。"}
