"""The web chat page and its assets as the web app serves them (no browser; tests/e2e/test_webchat_e2e.py has one)."""

from __future__ import annotations

import json
import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from actions.names import MAX_MESSAGE_CHARS
from core.settings import PROJECT_ROOT, get_settings
from webapp.chat import routes as chat


@pytest.fixture()
def client(monkeypatch):
    monkeypatch.setenv("RASA_PORT", "15123")
    monkeypatch.delenv("CHAT_SOCKET_URL", raising=False)
    get_settings.cache_clear()
    app = Starlette(routes=[*chat.routes(), Mount("/static", StaticFiles(directory=PROJECT_ROOT / "webapp" / "static"))])
    yield TestClient(app, base_url="http://localhost:8000")
    get_settings.cache_clear()


def test_page_points_the_widget_at_rasa_and_serves_everything_locally(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="zh-CN">' in html and "海珠商事登记助手" in html
    assert 'data-socket-url="http://localhost:15123"' in html
    assert 'data-poll-url=""' in html  # no hand-off poll route in this app
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith("/static/chat/") or s == "data:," for s in sources), sources
    for source in sources:
        if source.startswith("/static/"):
            asset = client.get(source)
            assert asset.status_code == 200 and len(asset.content) > 1000, source
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "http://localhost:15123" in csp and "ws://localhost:15123" in csp


def test_socket_url_can_be_configured_for_a_reverse_proxy(client, monkeypatch):
    monkeypatch.setenv("CHAT_SOCKET_URL", "https://chat.example.gov.cn/")
    response = client.get("/")
    assert 'data-socket-url="https://chat.example.gov.cn"' in response.text
    assert "wss://chat.example.gov.cn" in response.headers["content-security-policy"]


def test_poll_url_comes_from_the_handoff_poll_route(monkeypatch):
    async def poll(_request):  # stands in for the hand-off part's endpoint
        return None

    app = Starlette(routes=[*chat.routes(), Route("/handoff/poll", poll, name=chat.HANDOFF_POLL_ROUTE)])
    assert 'data-poll-url="/handoff/poll"' in TestClient(app).get("/").text


def test_vendored_socketio_client_is_the_locked_version():
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/socket.io-client"]["version"]
    vendored = (PROJECT_ROOT / "webapp" / "static" / "chat" / "vendor" / "socket.io.min.js").read_text(encoding="utf-8")
    assert f"Socket.IO v{version}" in vendored[:200]


def test_widget_never_writes_html_from_messages():
    script = (PROJECT_ROOT / "webapp" / "static" / "chat" / "chat.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_text_box_takes_as_much_as_the_bot_reads(client):
    """2000 characters (actions.names.MAX_MESSAGE_CHARS), enforced by the widget so it can say when text was cut;
    no maxlength, which would cut pasted or dictated text silently."""
    html = client.get("/").text
    textarea = re.search(r"<textarea[^>]*>", html).group(0)
    assert f'data-max-chars="{MAX_MESSAGE_CHARS}"' in textarea and MAX_MESSAGE_CHARS == 2000
    assert "maxlength" not in textarea
    assert 'aria-describedby="hz-limit"' in textarea
    assert re.search(r'<div id="hz-limit" class="hz-limit" role="status" hidden>', html)


def test_font_stack_ends_with_the_colour_emoji_fonts():
    css = (PROJECT_ROOT / "webapp" / "static" / "chat" / "chat.css").read_text(encoding="utf-8")
    stack = re.search(r":root\s*\{[^}]*?font-family:\s*([^;]+);", css).group(1)
    families = [f.strip().strip('"') for f in stack.split(",")]
    emoji = ["Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"]
    assert all(f in families for f in emoji), families
    # after every text font: Noto Color Emoji also has digits, which must stay in the text font
    assert min(families.index(f) for f in emoji) > families.index("sans-serif") > families.index("WenQuanYi Zen Hei")


def test_ensure_browser_installs_the_emoji_font():
    script = (PROJECT_ROOT / "scripts" / "ensure_browser.sh").read_text(encoding="utf-8")
    assert 'has_font "Noto Color Emoji" || missing+=(fonts-noto-color-emoji)' in script
    assert 'has_font "WenQuanYi Zen Hei" || missing+=(fonts-wqy-zenhei)' in script
    assert 'apt-get install -y -qq --no-install-recommends "${missing[@]}"' in script


def test_a_forged_host_header_never_reaches_the_page_or_its_policy(client):
    response = client.get("/", headers={"Host": "evil.example:8000"})
    assert response.status_code == 200
    assert "evil.example" not in response.text and "evil.example" not in response.headers["content-security-policy"]
    assert 'data-socket-url="http://localhost:15123"' in response.text
    listed = client.get("/", headers={"Host": "127.0.0.1:8000"})  # a listed origin keeps its own host
    assert 'data-socket-url="http://127.0.0.1:15123"' in listed.text


def test_the_page_can_be_served_under_configured_origins(client, monkeypatch):
    monkeypatch.setenv("CHAT_ALLOWED_ORIGINS", "http://192.168.1.20:8000, https://chat.example.gov.cn")
    response = client.get("/", headers={"Host": "192.168.1.20:8000"})
    assert 'data-socket-url="http://192.168.1.20:15123"' in response.text
    assert "ws://192.168.1.20:15123" in response.headers["content-security-policy"]


def test_static_files_are_never_sniffed():
    from webapp.app import create_app

    app_client = TestClient(create_app())
    for path in ("/static/chat/chat.js", "/static/chat/chat.css"):
        response = app_client.get(path)
        assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"
